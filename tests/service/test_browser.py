"""The web chat in a real headless Chromium (Debian's, never a downloaded one) against a real `citeqa serve`."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
# Hang guard for one wait in the page (answering on a 2-core machine takes seconds); never a speed claim.
WAIT_MS = 180_000


def unavailable(reason: str) -> None:
    if os.environ.get("CITEQA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and CITEQA_REQUIRE_BROWSER=1 requires the browser tests to run")
    pytest.skip(f"{reason}: browser tests skipped (install it with `apt-get install chromium`)")


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        unavailable("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Chat:
    """One page of the chat, recording dialogs, page errors and console errors."""

    def __init__(self, browser, server: str, width: int = 1280, height: int = 900, **context_options) -> None:
        self.width = width
        self.context = browser.new_context(viewport={"width": width, "height": height}, **context_options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", self._on_console)
        self.page.goto(server + "/")

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_console(self, message) -> None:
        # Chromium logs every non-2xx response this way; the tests that cause one check the page instead.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"console: {message.text}")

    def ask(self, question: str) -> tuple[dict | None, object]:
        """Type the question, send it, wait for the reply; returns (the Answer JSON the page got, the message)."""
        page = self.page
        before = page.locator(".message.assistant").count()
        page.fill("#question", question)
        with page.expect_response(lambda r: r.url.endswith("/v1/ask")) as response:
            page.click("#send")
        reply = page.locator(".message.assistant").nth(before)
        reply.wait_for()
        page.locator("#busy").wait_for(state="hidden")
        res = response.value
        return (res.json() if res.ok else None), reply

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def chat(browser, server):
    chat = Chat(browser, server)
    yield chat
    chat.close()
    assert not chat.errors, chat.errors


def test_answer_and_citation_highlight(chat, citation_audit):
    answer, reply = chat.ask("What is the half-life of baclofen?")
    citation_audit.record(answer)
    page = chat.page
    assert answer["abstained"] is False and answer["citations"]
    assert "abstained" not in (reply.get_attribute("class") or "")
    sentences = reply.locator(".answer-text > span.sentence")
    assert sentences.all_text_contents() == [s["text"] for s in answer["sentences"]]
    # one entry per document, each cited span listed under its document
    assert reply.locator("ol.source-list > li").count() == len({c["doc_id"] for c in answer["citations"]})
    assert reply.locator("ol.source-list button.source-link").count() == len(answer["citations"])
    assert page.locator(".message.user .message-text").last.text_content() == "What is the half-life of baclofen?"

    by_n = {c["n"]: c for c in answer["citations"]}
    markers = reply.locator(".answer-text button.cite-marker")
    assert markers.count() == sum(len(s["citations"]) for s in answer["sentences"])
    for i in range(markers.count()):
        marker = markers.nth(i)
        citation = by_n[int(marker.get_attribute("data-n"))]
        marker.click()
        highlight = page.locator("#source-text mark#highlight")
        highlight.wait_for(state="visible")
        assert page.locator("#source-panel").is_visible()
        assert highlight.text_content() == citation["quote"]
        assert page.locator("#source-title").text_content() == citation["title"]
        # only the citation that holds the short answer marks it inside the quote
        holds_short = (answer["short_answer"] or {}).get("citation") == citation["n"]
        assert page.locator("#highlight > #short-answer-highlight").count() == holds_short
        assert page.locator("#source-legend").is_visible() == holds_short
        assert page.locator("#source-range").text_content().startswith(f"From the article \u201c{citation['title']}\u201d")
        page.click("#source-close")
        page.locator("#source-panel").wait_for(state="hidden")


@pytest.fixture(params=[1280, 375], ids=["wide", "phone"])
def reader_chat(browser, reader_server, request):
    """The chat against a server with the reader on, at a desktop and at a phone width."""
    width = request.param
    chat = Chat(browser, reader_server, width=width, height=900 if width > 600 else 812)
    yield chat
    chat.close()
    assert not chat.errors, chat.errors


def child_classes(locator) -> list[str]:
    return locator.evaluate("node => Array.from(node.children).map(child => child.className)")


def test_short_answer_first_and_marked_inside_its_quote(reader_chat, citation_audit):
    answer, reply = reader_chat.ask("What is the half-life of baclofen?")
    citation_audit.record(answer)
    page = reader_chat.page
    short = answer["short_answer"]
    assert short is not None, "the reader gave no short answer to a question the corpus answers"
    assert answer["corrections"] == []

    # first in the message, above the sentences, in larger type than them
    assert child_classes(reply)[:2] == ["short-answer", "answer-body"]
    shown = reply.locator(".short-answer .short-answer-text")
    assert shown.text_content() == short["text"] and shown.is_visible()
    size = "node => parseFloat(getComputedStyle(node).fontSize)"
    assert shown.evaluate(size) > reply.locator(".answer-text .sentence").first.evaluate(size)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-short-answer-{reader_chat.width}.png"), full_page=False)

    citation = {c["n"]: c for c in answer["citations"]}[short["citation"]]
    reply.locator(".short-answer button.cite-marker").click()
    inner = page.locator("#source-text mark#highlight > mark#short-answer-highlight")
    inner.wait_for(state="visible")
    assert inner.text_content() == short["text"]
    highlight = page.locator("#source-text mark#highlight")
    assert highlight.text_content() == citation["quote"]  # still the whole verbatim quote
    before = highlight.evaluate("node => node.firstChild.textContent")
    assert before == citation["quote"][: short["start"] - citation["start"]]
    legend = page.locator("#source-legend")
    assert legend.is_visible() and short["text"] in legend.text_content()
    page.screenshot(path=str(ARTIFACTS / f"chat-short-answer-{reader_chat.width}-source.png"), full_page=False)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {reader_chat.width}px wide"


def test_a_corrected_question_says_how_it_was_read(reader_chat, citation_audit):
    question = "how long is the half-life of baclofn"
    answer, reply = reader_chat.ask(question)
    citation_audit.record(answer)
    assert answer["corrections"], "the reader did not correct the misspelt word"
    expected = "Reading " + "; ".join(f"'{c['original']}' as '{c['corrected']}'" for c in answer["corrections"])
    assert all(question[c["start"] : c["end"]] == c["original"] for c in answer["corrections"])
    notice = reply.locator("p.corrections")
    assert notice.is_visible() and notice.text_content() == expected
    assert child_classes(reply)[0] == "corrections"  # before the answer it qualifies
    page = reader_chat.page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-corrected-{reader_chat.width}.png"), full_page=False)


def test_abstention_shows_related_passages(chat, citation_audit, settings):
    answer, reply = chat.ask("Does baclofen interact with grapefruit juice?")
    citation_audit.record(answer)
    assert answer["abstained"] is True and answer["related"]
    page = chat.page
    abstained = page.locator(".message.assistant.abstained")
    abstained.wait_for(state="visible")
    assert abstained.locator(".abstain-reason").text_content() == answer["reason"]
    assert abstained.locator(".related-label").is_visible()
    related = abstained.locator("button.related-passage")
    assert related.count() == len(answer["related"])
    assert abstained.locator("button.cite-marker").count() == 0
    related.first.click()
    highlight = page.locator("#source-text mark#highlight")
    highlight.wait_for(state="visible")
    first = answer["related"][0]
    text = (settings.corpus_dir / f"{first['doc_id']}.txt").read_bytes().decode("utf-8")
    assert highlight.text_content() == text[first["start"] : first["end"]]


def test_markup_in_a_question_is_shown_as_text(chat, citation_audit):
    question = "<img src=x onerror=alert(1)>"
    answer, reply = chat.ask(question)
    if answer is not None:
        citation_audit.record(answer)
    page = chat.page
    assert page.locator(".message.user .message-text").last.text_content() == question
    assert page.locator("#conversation img").count() == 0
    assert chat.dialogs == []


def test_server_errors_are_shown_in_the_chat(chat):
    answer, reply = chat.ask("why " * 300)  # 1200 characters: over the server's 1000-character limit
    assert answer is None
    assert "error" in reply.get_attribute("class")
    assert "limit is 1000" in reply.text_content()
    # the question is given back for editing
    assert chat.page.input_value("#question").startswith("why why")


@pytest.mark.parametrize("width", [1280, 375])
def test_screenshots(browser, server, citation_audit, width):
    ARTIFACTS.mkdir(exist_ok=True)
    chat = Chat(browser, server, width=width, height=900 if width > 600 else 812)
    try:
        answer, reply = chat.ask("How long does baclofen withdrawal last?")
        citation_audit.record(answer)
        chat.page.screenshot(path=str(ARTIFACTS / f"chat-{width}.png"), full_page=False)
        marker = reply.locator("button.cite-marker").first
        marker.click()
        chat.page.locator("#source-text mark#highlight").wait_for(state="visible")
        chat.page.screenshot(path=str(ARTIFACTS / f"chat-{width}-source.png"), full_page=False)
        overflow = chat.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px wide"
        assert (ARTIFACTS / f"chat-{width}-source.png").stat().st_size > 0
    finally:
        chat.close()
    assert not chat.errors, chat.errors
