"""Generative mode against a real local HTTP server that speaks the chat-completions protocol."""

from __future__ import annotations

import logging
import time

import pytest

from citeqa.service.engine import Engine
from citeqa.service.answering.generative import parse_reply
from citeqa.service.answering.llm import RETRY_PAUSE_S, ChatBackendError, chat_backend
from citeqa.settings import Settings

MAX_RETRIES = Settings().llm_max_retries
from tests.service.conftest import free_port
from tests.service.llm_stub import LLMStub, completion, passages_of

QUESTION = "What is the half-life of baclofen?"
API_KEY = "sk-citeqa-test-5ecret"
TIMEOUT_S = 1.5
FAITHFUL = "Baclofen has a half-life of roughly 2–4 hours, so it needs to be given frequently through the day"


def half_life_passage(request: dict) -> int:
    return next(n for n, text in passages_of(request).items() if "half-life of baclofen" in text)


def other_passage(request: dict) -> int:
    return next(n for n, text in passages_of(request).items() if "half-life" not in text)


def reply(make_content, status: int = 200, delay: float = 0.0):
    return lambda request: (status, completion(make_content(request)), delay)


@pytest.fixture()
def llm():
    with LLMStub() as stub:
        yield stub


def llm_settings(base_url: str) -> Settings:
    return Settings(llm_base_url=base_url, llm_api_key=API_KEY, llm_timeout_s=TIMEOUT_S)


@pytest.fixture()
def ask_with(engine, citation_audit):
    """ask_with(base_url)(): the generative answer to QUESTION from an engine using that endpoint."""

    def make(base_url: str):
        settings = engine.settings.model_copy(
            update={"llm_base_url": base_url, "llm_api_key": API_KEY, "llm_timeout_s": TIMEOUT_S}
        )
        gen = Engine(settings, engine.retriever)

        def ask() -> object:
            answer = gen.answer(QUESTION, mode="generative")
            citation_audit.record(answer)
            return answer

        return ask

    return make


@pytest.fixture()
def generative(ask_with, llm):
    return ask_with(llm.base_url)


def assert_fell_back(answer, why: str) -> None:
    assert answer.mode == "extractive (generative fallback)"
    assert why in answer.reason
    assert "2–4 hours" in answer.answer and answer.citations  # the extractive answer still answers


def test_a_faithful_answer_is_kept_with_its_passage_cited(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL} [{half_life_passage(r)}]."))
    answer = generative()
    assert answer.mode == "generative" and not answer.abstained
    assert [s.text for s in answer.sentences] == [FAITHFUL + "."]
    [citation] = answer.citations
    assert citation.doc_id == "baclofen-encyclopedia" and "2–4 hours" in citation.quote
    request = llm.requests[-1]
    assert "ONLY the numbered passages" in request["messages"][0]["content"]
    assert QUESTION in request["messages"][-1]["content"] and len(passages_of(request)) >= 3
    assert request["temperature"] == 0 and "max_tokens" not in request
    assert llm.headers[-1]["authorization"] == f"Bearer {API_KEY}"


def test_a_hallucinated_sentence_is_dropped_and_the_rest_kept(generative, llm, caplog):
    caplog.set_level(logging.INFO, logger="citeqa")
    llm.script(reply(lambda r: f"{FAITHFUL} [{half_life_passage(r)}]. "
                               f"Baclofen also cures type 2 diabetes within a week [{half_life_passage(r)}]."))
    answer = generative()
    assert answer.mode == "generative" and len(answer.sentences) == 1
    assert any("diabetes" in r.text and r.kind == "sentence" for r in answer.removed)
    [logged] = [r for r in caplog.records if r.name == "citeqa.service.answering.generative"]
    assert logged.levelno == logging.INFO and "dropped 1 of 2 generated sentences" in logged.getMessage()
    assert "not supported by its citations" in logged.getMessage() and QUESTION not in logged.getMessage()


def test_a_changed_dose_is_dropped_and_the_answer_falls_back(generative, llm, caplog):
    llm.script(reply(lambda r: f"The half-life of baclofen is roughly 6–8 hours [{half_life_passage(r)}]."))
    answer = generative()
    assert_fell_back(answer, "survived the citation check")
    assert any("6–8" in r.text and "not in the cited source" in r.reason for r in answer.removed)
    assert any(r.levelno == logging.WARNING and "dropped 1 of 1" in r.getMessage() for r in caplog.records)


def test_a_citation_to_the_wrong_passage_is_dropped(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL} [{other_passage(r)}]."))
    answer = generative()
    assert_fell_back(answer, "survived the citation check")
    assert any(r.kind == "sentence" and "half-life" in r.text for r in answer.removed)


def test_a_sentence_without_a_marker_is_dropped(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL}."))
    answer = generative()
    assert_fell_back(answer, "survived the citation check")
    assert any("no citation" in r.reason for r in answer.removed)


def test_a_marker_to_a_passage_that_was_not_sent_is_dropped(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL} [42]."))
    assert_fell_back(generative(), "survived the citation check")


def test_a_malformed_body_falls_back(generative, llm):
    llm.script(lambda r: (200, b"this is not json", 0.0))
    assert_fell_back(generative(), "not a chat completion")
    llm.script(lambda r: (200, b'{"choices": []}', 0.0))
    assert_fell_back(generative(), "not a chat completion")
    llm.script(lambda r: (200, b'{"choices": [{"message": {"role": "assistant", "content": null}}]}', 0.0))
    assert_fell_back(generative(), "empty reply")
    assert len(llm.requests) == 3  # a malformed reply is not retried


def test_a_server_error_is_retried_once_then_falls_back(generative, llm):
    for _ in range(MAX_RETRIES + 1):
        llm.script(lambda r: (500, b'{"error": "overloaded"}', 0.0))
    assert_fell_back(generative(), "HTTP 500")
    assert len(llm.requests) == MAX_RETRIES + 1


def test_a_server_error_then_a_good_reply_keeps_the_generative_answer(generative, llm):
    llm.script(lambda r: (503, b'{"error": "loading model"}', 0.0))
    llm.script(reply(lambda r: f"{FAITHFUL} [{half_life_passage(r)}]."))
    answer = generative()
    assert answer.mode == "generative" and [s.text for s in answer.sentences] == [FAITHFUL + "."]
    assert len(llm.requests) == 2


def test_a_rejected_key_is_not_retried_and_the_reason_says_which_setting(generative, llm):
    llm.script(lambda r: (401, b'{"error": {"message": "Incorrect API key provided: sk-citeqa-test-5ecret"}}', 0.0))
    answer = generative()
    assert_fell_back(answer, "HTTP 401")
    assert "CITEQA_LLM_API_KEY" in answer.reason and API_KEY not in answer.reason
    assert len(llm.requests) == 1


def test_a_timeout_falls_back_without_a_retry(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL} [1].", delay=4.0))
    started = time.monotonic()
    assert_fell_back(generative(), "timed out")
    assert time.monotonic() - started < TIMEOUT_S * (MAX_RETRIES + 1)
    assert len(llm.requests) == 1


def test_a_retry_never_runs_past_the_timeout(llm):
    for _ in range(MAX_RETRIES + 1):
        llm.script(lambda r: (500, b'{"error": "overloaded"}', 0.6 * TIMEOUT_S))
    backend = chat_backend(llm_settings(llm.base_url))
    started = time.monotonic()
    with pytest.raises(ChatBackendError) as failed:
        backend.complete([{"role": "user", "content": QUESTION}])
    backend.close()
    assert time.monotonic() - started < TIMEOUT_S + RETRY_PAUSE_S
    assert failed.value.kind == "http_status" and len(llm.requests) == 1  # too little time left to retry


def test_max_tokens_reaches_the_endpoint(llm):
    llm.script(reply(lambda r: "Two to four hours [1]."))
    backend = chat_backend(llm_settings(llm.base_url))
    assert backend.complete([{"role": "user", "content": QUESTION}], max_tokens=64) == "Two to four hours [1]."
    backend.close()
    assert llm.requests[-1]["max_tokens"] == 64 and llm.requests[-1]["model"] == Settings().llm_model


def test_an_outage_is_logged_without_the_question_or_the_key(ask_with, caplog):
    caplog.set_level(logging.INFO)  # every logger, the SDK's and httpx's included
    port = free_port()  # nothing listens there
    answer = ask_with(f"http://operator:pa55word@127.0.0.1:{port}/v1?key=abc")()
    assert_fell_back(answer, f"cannot reach the language model at http://127.0.0.1:{port}/v1")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("citeqa.service")]
    assert warnings and all(f"127.0.0.1:{port}/v1" in r.getMessage() for r in warnings)
    for text in [r.getMessage() for r in caplog.records] + [answer.reason]:
        assert QUESTION not in text and API_KEY not in text and "pa55word" not in text and "key=abc" not in text


def test_the_model_saying_not_in_corpus_falls_back(generative, llm):
    llm.script(reply(lambda r: "NOT IN CORPUS"))
    assert_fell_back(generative(), "found no answer")


def test_no_endpoint_configured_falls_back(engine):
    answer = engine.answer(QUESTION, mode="generative")
    assert answer.mode == "extractive (generative fallback)" and "CITEQA_LLM_BASE_URL" in answer.reason


def test_reply_parsing_keeps_markers_with_their_sentence():
    parsed = parse_reply("It lasts 2–4 hours [1][2]. It is renally excreted. [3] No marker here.")
    assert [(p.text, p.markers) for p in parsed] == [
        ("It lasts 2–4 hours.", [1, 2]), ("It is renally excreted.", [3]), ("No marker here.", []),
    ]
