"""The web chat's everyday comforts, each shown in a real headless Chromium against a real `citeqa serve`: copying an
answer with its sources, example questions, citation previews, one source entry per document, the chat kept across
a reload, dark mode, a link to the original article, 44 px touch targets and a sheet closed by a tap outside on a
phone, and plain words where a person reads them."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from citeqa.index.builder import build_index
from tests.service.conftest import ready_server
from tests.service.test_browser import ARTIFACTS, Chat, browser  # noqa: F401 (the module's browser fixture)

pytestmark = pytest.mark.browser

QUESTION = "How long does baclofen withdrawal last?"  # its answer cites one document twice
PHONE = {"width": 375, "height": 812}
TOUCH_PX = 44
UNLINKED = "what-is-baclofen"  # its publisher is unknown, so sources.toml gives it no address in linked_server


def plain(text: str) -> str:
    """What the page shows of corpus text: the source's own "[8]" markers left out, whitespace collapsed."""
    return " ".join(re.sub(r"\[(?:\d+|[a-z ]+needed)\]", "", text, flags=re.I).split())


def where(citation: dict) -> str:
    title, heading = " ".join(citation["title"].split()), " ".join((citation["heading"] or "").split())
    section = f", section \u201c{heading}\u201d" if heading and heading != title else ""
    return f"From the article \u201c{title}\u201d{section}"


def luminance(css_color: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def small_targets(page) -> list[str]:
    """Every visible control smaller than a fingertip, as 'class WxH'."""
    controls = page.locator("button:visible, a[href]:visible, summary:visible, textarea:visible")
    small = []
    for i in range(controls.count()):
        control = controls.nth(i)
        box = control.bounding_box()
        if box and (box["width"] < TOUCH_PX or box["height"] < TOUCH_PX):
            name = control.get_attribute("class") or control.get_attribute("id") or "?"
            small.append(f"{name} {box['width']:.0f}x{box['height']:.0f}")
    return small


@pytest.fixture
def open_chat(browser, server) -> Iterator:  # noqa: F811 (the browser fixture imported above)
    """open_chat(**context options) -> Chat on the shared server; every page is closed and checked for errors."""
    chats = []

    def opened(**options) -> Chat:
        chats.append(Chat(browser, server, **options))
        return chats[-1]

    yield opened
    for chat in chats:
        chat.close()
    for chat in chats:
        assert not chat.errors, chat.errors


def test_copy_puts_the_answer_and_each_documents_quoted_spans_on_the_clipboard(open_chat, citation_audit):
    chat = open_chat(permissions=["clipboard-read", "clipboard-write"])
    answer, reply = chat.ask(QUESTION)
    citation_audit.record(answer)
    copy = reply.locator("button.copy-answer")
    copy.click()
    reply.locator("button.copy-answer", has_text="Copied").wait_for()
    copied = chat.page.evaluate("() => navigator.clipboard.readText()")
    body, sources = copied.split("\n\nSources:\n")
    for sentence in answer["sentences"]:
        assert f"{sentence['text']} {''.join(f'[{n}]' for n in sentence['citations'])}" in body
    for citation in answer["citations"]:
        assert f"[{citation['n']}] " in sources and f"\u201c{plain(citation['quote'])}\u201d" in sources
    documents = {c["title"] + (f" \u2014 {c['publisher']}" if c["publisher"] else "") for c in answer["citations"]}
    for document in documents:
        assert sources.splitlines().count(document) == 1  # each document named once, its spans under it


def test_example_questions_ask_themselves(open_chat, citation_audit):
    chat = open_chat()
    page = chat.page
    examples = page.locator("#empty-hint button.example-question")
    assert examples.count() >= 2 and examples.first.is_visible()
    example = examples.nth(1).text_content()
    with page.expect_response(lambda r: r.url.endswith("/v1/ask")) as response:
        examples.nth(1).click()
    page.locator(".message.assistant").first.wait_for()
    citation_audit.record(response.value.json())
    assert page.locator(".message.user .message-text").all_text_contents() == [example]
    assert response.value.json()["question"] == example
    assert page.locator("#empty-hint").count() == 0


def test_hovering_or_focusing_a_citation_previews_where_it_is_and_what_it_says(open_chat, citation_audit):
    chat = open_chat()
    answer, reply = chat.ask(QUESTION)
    citation_audit.record(answer)
    page = chat.page
    by_n = {c["n"]: c for c in answer["citations"]}
    preview = page.locator("#cite-preview")
    markers = reply.locator(".answer-text button.cite-marker")
    for i in range(markers.count()):
        marker = markers.nth(i)
        citation = by_n[int(marker.get_attribute("data-n"))]
        marker.hover()
        preview.wait_for(state="visible")
        assert page.locator(".cite-preview-where").text_content() == where(citation)
        shown = page.locator(".cite-preview-quote").text_content().strip("\u201c\u201d…")
        assert plain(citation["quote"]).startswith(shown)
        assert marker.get_attribute("aria-describedby") == "cite-preview"
        page.mouse.move(1, 1)
        preview.wait_for(state="hidden")
    markers.first.focus()  # keyboard users get the same preview
    preview.wait_for(state="visible")
    page.keyboard.press("Escape")
    preview.wait_for(state="hidden")


def test_one_source_entry_per_document_with_its_spans_under_it(open_chat, citation_audit):
    chat = open_chat()
    answer, reply = chat.ask(QUESTION)
    citation_audit.record(answer)
    spans_of: dict[str, list[int]] = {}
    for citation in answer["citations"]:
        spans_of.setdefault(citation["doc_id"], []).append(citation["n"])
    assert max(len(ns) for ns in spans_of.values()) >= 2, "pick a question that cites one document twice"
    entries = reply.locator("ol.source-list > li.source-doc")
    assert [entries.nth(i).get_attribute("data-doc-id") for i in range(entries.count())] == list(spans_of)
    by_n = {c["n"]: c for c in answer["citations"]}
    for i, (doc_id, numbers) in enumerate(spans_of.items()):
        entry = entries.nth(i)
        assert entry.locator(".source-doc-head .source-item-title").text_content() == by_n[numbers[0]]["title"]
        spans = entry.locator("button.source-link")
        assert [int(spans.nth(j).get_attribute("data-n")) for j in range(spans.count())] == numbers
    # a span in the list opens its own quote
    last = answer["citations"][-1]
    reply.locator(f"button.source-link[data-n='{last['n']}']").click()
    highlight = chat.page.locator("#source-text mark#highlight")
    highlight.wait_for(state="visible")
    assert highlight.text_content() == last["quote"]


def test_the_chat_survives_a_reload_until_a_new_chat_is_started(open_chat, citation_audit):
    chat = open_chat()
    page = chat.page
    answer, _ = chat.ask(QUESTION)
    citation_audit.record(answer)
    page.reload()
    reply = page.locator(".message.assistant")
    reply.first.wait_for()
    assert page.locator(".message.user .message-text").all_text_contents() == [QUESTION]
    assert reply.count() == 1
    assert reply.locator(".answer-text > span.sentence").all_text_contents() == [s["text"] for s in answer["sentences"]]
    reply.locator("button.cite-marker").first.click()  # the restored answer's citations still open their quotes
    first = {c["n"]: c for c in answer["citations"]}[answer["sentences"][0]["citations"][0]]
    assert page.locator("#source-text mark#highlight").text_content() == first["quote"]
    page.keyboard.press("Escape")

    page.click("#new-chat")
    assert page.locator("#conversation .message").count() == 0
    assert page.locator("#empty-hint button.example-question").first.is_visible()
    assert page.evaluate("() => localStorage.getItem('citeqa.chat')") is None
    assert page.evaluate("() => document.activeElement.id") == "question"
    page.reload()
    page.locator("#empty-hint").wait_for()
    assert page.locator("#conversation .message").count() == 0


def test_dark_mode_follows_the_system_setting(open_chat, citation_audit):
    colours = "() => [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).color]"
    light = open_chat(color_scheme="light")
    light_bg, light_text = light.page.evaluate(colours)
    dark = open_chat(color_scheme="dark")
    answer, reply = dark.ask(QUESTION)
    citation_audit.record(answer)
    dark_bg, dark_text = dark.page.evaluate(colours)
    assert luminance(light_bg) > 0.9 and luminance(light_text) < 0.2
    assert luminance(dark_bg) < 0.1 and luminance(dark_text) > 0.8
    surface = reply.evaluate("node => [getComputedStyle(node).backgroundColor, getComputedStyle(node).color]")
    assert luminance(surface[0]) < 0.2 and luminance(surface[1]) > 0.8  # the answer itself is dark too
    ARTIFACTS.mkdir(exist_ok=True)
    dark.page.screenshot(path=str(ARTIFACTS / "chat-dark-1280.png"), full_page=False)


def test_on_a_phone_every_target_is_44px_and_a_tap_outside_closes_the_source_sheet(open_chat, citation_audit):
    chat = open_chat(width=PHONE["width"], height=PHONE["height"], has_touch=True, color_scheme="dark")
    page = chat.page
    assert small_targets(page) == []  # the empty chat: new chat, example questions, send
    answer, reply = chat.ask(QUESTION)
    citation_audit.record(answer)
    assert reply.locator("button.cite-marker").count() and reply.locator("button.copy-answer").count()
    assert small_targets(page) == []  # citation markers, source spans, copy
    reply.locator("button.cite-marker").first.tap()
    page.locator("#source-text mark#highlight").wait_for(state="visible")
    assert small_targets(page) == []  # the sheet's close button too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-dark-375-source.png"), full_page=False)
    sheet_top = page.locator("#source-panel").bounding_box()["y"]
    assert sheet_top > 20
    assert page.evaluate("y => document.elementFromPoint(180, y).id", sheet_top / 2) == "sheet-backdrop"
    page.touchscreen.tap(180, sheet_top / 2)
    page.locator("#source-panel").wait_for(state="hidden")
    assert page.locator("#sheet-backdrop").is_hidden()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_people_read_places_and_problems_in_plain_words(open_chat, citation_audit):
    chat = open_chat()
    page = chat.page
    answer, reply = chat.ask("What is the half-life of baclofen?")
    citation_audit.record(answer)
    assert all("heading" in c for c in answer["citations"])
    assert any(c["heading"] and c["heading"].strip() != c["title"].strip() for c in answer["citations"])
    for citation in answer["citations"]:
        reply.locator(f"button.source-link[data-n='{citation['n']}']").click()
        page.locator("#source-text mark#highlight").wait_for(state="visible")
        assert page.locator("#source-range").text_content() == where(citation)
    assert "characters" not in page.locator("body").inner_text()

    _, error = chat.ask("why " * 300)  # over the server's 1,000-character limit
    assert re.fullmatch(
        r"Your question is 1\d{3} characters long; the limit is 1000\. Shorten it and send it again\.",
        error.locator(".message-text").text_content(),
    )
    assert "CITEQA_" not in page.locator("body").inner_text()


@pytest.fixture(scope="module")
def linked_server(settings, embedder, tmp_path_factory) -> Iterator[str]:
    """A `citeqa serve` over the shipped corpus whose sources.toml gives every document but one its address."""
    root = tmp_path_factory.mktemp("linked")
    corpus = root / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    metadata = corpus / "sources.toml"
    metadata.write_text(
        re.sub(
            r"^\[([\w-]+)\]\n",
            lambda m: m.group(0) if m.group(1) == UNLINKED else f'{m.group(0)}url = "https://example.org/{m.group(1)}"\n',
            metadata.read_text(encoding="utf-8"),
            flags=re.M,
        ),
        encoding="utf-8",
    )
    index = root / "index"
    shutil.copytree(settings.index_dir, index, symlinks=True)
    linked = settings.model_copy(update={"corpus_dir": corpus, "index_dir": index})
    report = build_index(linked.index_config(), embedder)
    assert report.embedded == []  # only the metadata changed: every document's vectors are reused
    for process in ready_server(linked, root):
        yield process.url


def test_a_source_links_to_the_original_article_when_its_address_is_known(browser, linked_server, citation_audit):  # noqa: F811
    import httpx

    documents = {d["doc_id"]: d for d in httpx.get(f"{linked_server}/v1/documents", timeout=30).json()}
    assert documents[UNLINKED]["url"] is None
    assert all(d["url"] == f"https://example.org/{doc_id}" for doc_id, d in documents.items() if doc_id != UNLINKED)

    chat = Chat(browser, linked_server)
    try:
        answer, reply = chat.ask("What is baclofen used for?")
        citation_audit.record(answer)
        page = chat.page
        link = page.locator("#source-url")
        assert any(c["doc_id"] != UNLINKED for c in answer["citations"])
        for citation in answer["citations"]:
            reply.locator(f"button.source-link[data-n='{citation['n']}']").click()
            page.locator("#source-text mark#highlight").wait_for(state="visible")
            url = documents[citation["doc_id"]]["url"]
            assert link.is_visible() == (url is not None)
            if url:
                assert link.get_attribute("href") == url and link.get_attribute("target") == "_blank"
                assert "noopener" in link.get_attribute("rel")
    finally:
        chat.close()
    assert not chat.errors, chat.errors
