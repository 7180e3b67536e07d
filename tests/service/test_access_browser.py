"""The web chat against a server that needs an API key, in a real headless Chromium: it asks for the key once,
in its own dialog, says so when the key is wrong, and keeps the key for the rest of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import ready_server
from tests.service.test_browser import Chat, browser  # noqa: F401 (the module's browser fixture)

pytestmark = pytest.mark.browser

KEY = "sk-citeqa-browser-3e4f"


@pytest.fixture(scope="module")
def keyed_server(settings, tmp_path_factory) -> Iterator[str]:
    servers = ready_server(settings, tmp_path_factory.mktemp("keyed-web"),
                           {"CITEQA_API_KEY": KEY, "CITEQA_EMBED_PROCESSES": "0"})
    try:
        yield next(servers).url
    finally:
        servers.close()


def send(chat: Chat, question: str) -> None:
    chat.page.fill("#question", question)
    chat.page.click("#send")


def test_the_chat_asks_for_the_key_once_and_keeps_it_for_the_session(browser, keyed_server):  # noqa: F811
    chat = Chat(browser, keyed_server)
    page = chat.page
    try:
        send(chat, "What is the half-life of baclofen?")
        dialog = page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        assert page.locator("#key-error").text_content() == ""
        page.fill("#key-input", "sk-not-this-one")
        page.click("#key-form button[type=submit]")
        page.locator("#key-error").filter(has_text="not accepted").wait_for()  # asked again, saying why

        with page.expect_response(lambda r: r.url.endswith("/v1/ask") and r.status == 200) as answered:
            page.fill("#key-input", KEY)
            page.click("#key-form button[type=submit]")
        assert answered.value.request.headers["authorization"] == f"Bearer {KEY}"
        page.locator(".message.assistant .answer-text").first.wait_for()
        assert not dialog.is_visible()
        assert page.evaluate("sessionStorage.getItem('citeqa.apiKey')") == KEY
        assert KEY not in page.evaluate("JSON.stringify(localStorage)")  # kept for the session only

        # the next question, and a citation's document, go with the key and without asking again
        with page.expect_response(lambda r: r.url.endswith("/v1/ask")) as second:
            send(chat, "How long does baclofen withdrawal last?")
        assert second.value.status == 200 and not dialog.is_visible()
        page.locator(".message.assistant").nth(1).wait_for()
        page.locator("#busy").wait_for(state="hidden")
        assert chat.dialogs == []  # no native prompt()/alert() was used
    finally:
        chat.close()
    assert not chat.errors, chat.errors


def test_cancelling_the_key_dialog_says_what_is_needed(browser, keyed_server):  # noqa: F811
    chat = Chat(browser, keyed_server)
    page = chat.page
    try:
        send(chat, "What is baclofen used for?")
        page.locator("#key-dialog").wait_for(state="visible")
        page.click("#key-cancel")
        page.locator(".message").filter(has_text="needs an access key").first.wait_for()
        page.locator("#busy").wait_for(state="hidden")
    finally:
        chat.close()
    assert not chat.errors, chat.errors
