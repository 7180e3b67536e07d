"""Generative mode against a real local HTTP server that speaks the chat-completions protocol."""

from __future__ import annotations

import pytest

from service.engine import Engine
from service.generative import parse_reply
from tests.service.llm_stub import LLMStub, completion, passages_of

QUESTION = "What is the half-life of baclofen?"
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


@pytest.fixture()
def generative(engine, llm, citation_audit):
    settings = engine.settings.model_copy(update={"llm_base_url": llm.base_url, "llm_timeout_s": 1.5})
    gen = Engine(settings, engine.retriever)

    def ask() -> object:
        answer = gen.answer(QUESTION, mode="generative")
        citation_audit.record(answer)
        return answer

    return ask


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


def test_a_hallucinated_sentence_is_dropped_and_the_rest_kept(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL} [{half_life_passage(r)}]. "
                               f"Baclofen also cures type 2 diabetes within a week [{half_life_passage(r)}]."))
    answer = generative()
    assert answer.mode == "generative" and len(answer.sentences) == 1
    assert any("diabetes" in r.text and r.kind == "sentence" for r in answer.removed)


def test_a_changed_dose_is_dropped_and_the_answer_falls_back(generative, llm):
    llm.script(reply(lambda r: f"The half-life of baclofen is roughly 6–8 hours [{half_life_passage(r)}]."))
    answer = generative()
    assert_fell_back(answer, "survived the citation check")
    assert any("6–8" in r.text and "not in the cited source" in r.reason for r in answer.removed)


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


def test_an_http_error_falls_back(generative, llm):
    llm.script(lambda r: (500, b'{"error": "overloaded"}', 0.0))
    assert_fell_back(generative(), "HTTP 500")


def test_a_timeout_falls_back(generative, llm):
    llm.script(reply(lambda r: f"{FAITHFUL} [1].", delay=4.0))
    assert_fell_back(generative(), "timed out")


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
