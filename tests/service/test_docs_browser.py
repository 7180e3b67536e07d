"""/docs in a real headless Chromium: Swagger UI renders the OpenAPI 3.1 schema, from local assets only, under
the page's own Content-Security-Policy."""

from __future__ import annotations

import pytest

from tests.service.test_browser import WAIT_MS, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def docs_page(browser, server: str):  # noqa: F811
    """The rendered /docs, with every request the page made and every console error and page error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.violations.push(e.violatedDirective));"
    )
    response = page.goto(server + "/docs")
    assert "'sha256-" in response.headers["content-security-policy"]  # the page runs under its own policy
    # the first operation, or Swagger UI's message that it cannot read the schema
    page.locator(".opblock").or_(page.get_by_text("Unable to render")).first.wait_for()
    yield page, requests, errors
    context.close()


def check_clean(page, errors: list[str]) -> None:
    assert not errors, errors
    assert page.evaluate("window.violations") == [], "the page broke its Content-Security-Policy"


def test_docs_render_every_operation(docs_page, server):
    page, requests, errors = docs_page
    body = page.locator("body").inner_text()
    assert "Unable to render" not in body and "could not render" not in body.lower()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    paths = {p.replace("\u200b", "").strip() for p in paths}  # Swagger UI breaks long paths with zero-width spaces
    for path in ("/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/models", "/v1/documents/{doc_id}", "/healthz"):
        assert path in paths, f"{path} not rendered; rendered: {sorted(paths)}"
    assert "OAS 3.1" in page.locator(".info").inner_text()
    # offline: the page and its assets come from the server itself, and nothing broke the CSP or a script
    assert requests and all(url.startswith(server) for url in requests), requests
    check_clean(page, errors)


def test_docs_show_how_chat_completions_treats_openai_fields(docs_page):
    page, _, errors = docs_page
    path = page.locator(".opblock-summary-path", has_text="/v1/chat/completions")
    operation = page.locator(".opblock-post", has=path)
    operation.locator(".opblock-summary").click()
    description = operation.locator(".opblock-description-wrapper").first
    description.wait_for()
    text = description.inner_text()
    for field in ("max_tokens", "stop", "temperature", "response_format", "logprobs", "system"):
        assert field in text, f"{field} not explained in the rendered description"
    check_clean(page, errors)
