"""The citation check: verbatim quotes, support for every sentence, and what it removes."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.service.answering.citations import SupportJudge, check_answer
from citeqa.service.models import Answer, AnswerSentence, Citation

HALF_LIFE = "The half-life of baclofen is roughly 2–4 hours"


@pytest.fixture(scope="module")
def judge(engine) -> SupportJudge:
    return engine.judge


def citation_for(engine, phrase: str, n: int = 1) -> Citation:
    """A correct citation of the sentence containing `phrase`, built from the index, not by hand."""
    sentence = next(s for s in engine.retriever.sentences.units if phrase in s.text)
    record = engine.retriever.documents[sentence.doc_id]
    return Citation(n=n, doc_id=sentence.doc_id, title=record.title, chunk_id=sentence.chunk_id,
                    start=sentence.start, end=sentence.end, quote=sentence.text, score=1.0)


def answer_with(sentences: list[tuple[str, list[int]]], citations: list[Citation]) -> Answer:
    return Answer(question="q", answer="", sentences=[AnswerSentence(text=t, citations=c) for t, c in sentences],
                  citations=citations)


def test_a_correct_extract_passes_untouched(engine, judge):
    c = citation_for(engine, HALF_LIFE)
    checked = check_answer(answer_with([(c.quote, [1])], [c]), engine.sources, judge)
    assert checked.removed == [] and checked.citations == [c]
    assert checked.answer.endswith("[1]") and not checked.abstained


def test_a_tampered_quote_is_removed_and_its_sentence_with_it(engine, judge):
    c = citation_for(engine, HALF_LIFE)
    tampered = c.model_copy(update={"quote": c.quote.replace("2–4", "6–8")})
    checked = check_answer(answer_with([(tampered.quote, [1])], [tampered]), engine.sources, judge)
    assert checked.citations == [] and checked.sentences == [] and checked.abstained
    assert [r.kind for r in checked.removed] == ["citation", "sentence"]
    assert "differs from the source" in checked.removed[0].reason


def test_a_shifted_offset_is_removed(engine, judge):
    c = citation_for(engine, HALF_LIFE)
    shifted = c.model_copy(update={"start": c.start + 1, "end": c.end + 1})
    checked = check_answer(answer_with([(c.quote, [1])], [shifted]), engine.sources, judge)
    assert checked.citations == [] and checked.removed[0].kind == "citation"


def test_an_out_of_range_span_or_unknown_document_is_removed(engine, judge):
    c = citation_for(engine, HALF_LIFE)
    for bad in (c.model_copy(update={"start": 10**7, "end": 10**7 + 5}), c.model_copy(update={"doc_id": "nope"})):
        checked = check_answer(answer_with([(c.quote, [1])], [bad]), engine.sources, judge)
        assert checked.citations == [] and checked.removed[0].kind == "citation"


def test_a_sentence_citing_a_passage_that_does_not_support_it_is_removed(engine, judge):
    half_life = citation_for(engine, HALF_LIFE, n=1)
    overdose = citation_for(engine, "Symptoms of Overdose", n=2)
    checked = check_answer(
        answer_with([(half_life.quote, [1]), ("Baclofen overdose causes blurred vision.", [1])], [half_life, overdose]),
        engine.sources, judge,
    )
    assert [s.text for s in checked.sentences] == [half_life.quote]
    assert checked.removed[-1].kind == "sentence" and "Baclofen overdose" in checked.removed[-1].text
    assert [c.n for c in checked.citations] == [1]  # the unused citation is dropped, the rest renumbered


def test_a_changed_number_is_caught(judge, engine):
    c = citation_for(engine, "the maximum recommended dosage for baclofen is 100 mg")
    assert judge("The maximum recommended dosage for baclofen is 100 mg.", c.quote).ok
    verdict = judge("The maximum recommended dosage for baclofen is 150 mg.", c.quote)
    assert not verdict.ok and "150" in verdict.reason


def test_paraphrase_needs_overlap_meaning_and_same_negation(judge, engine):
    c = citation_for(engine, HALF_LIFE)
    assert judge("Baclofen's half-life is roughly 2–4 hours, so it is given several times a day.", c.quote).ok
    assert not judge("The half-life of baclofen is not roughly 2–4 hours.", c.quote).ok
    assert not judge("Baclofen cures diabetes within hours.", c.quote).ok


def test_citations_are_renumbered_and_markers_follow(engine, judge):
    a = citation_for(engine, HALF_LIFE, n=1)
    b = citation_for(engine, "In 1971 baclofen was reintroduced", n=2)
    bad = a.model_copy(update={"n": 3, "quote": "invented"})
    checked = check_answer(answer_with([(b.quote, [2, 3])], [a, b, bad]), engine.sources, judge)
    assert [c.n for c in checked.citations] == [1] and checked.citations[0].doc_id == b.doc_id
    assert checked.sentences[0].citations == [1] and checked.answer.endswith("[1]")


def same_meaning(texts: list[str]) -> np.ndarray:
    """A stand-in for the model where only the figures and words are under test: every text means the same."""
    return np.full((len(texts), 2), 2**-0.5, dtype=np.float32)


@pytest.mark.parametrize(
    ("sentence", "quote", "why"),
    [
        ("Patients lost 10 kg on average.", "Patients lost 10 lb on average.", "unit(s) kg"),
        ("Cravings fell by 40% in the trial.", "Cravings fell by 40 points in the trial.", "unit(s) %"),
        ("Each vial held 50 µg of baclofen.", "Each vial held 50 mg of baclofen.", "unit(s) mcg"),
        ("Up to 1,200 mg were given.", "Up to 120 mg were given.", "number(s) 1200"),
    ],
)
def test_a_unit_or_number_the_quote_lacks_is_caught(sentence, quote, why):
    verdict = SupportJudge(same_meaning, 0.55, 0.5)(sentence, quote)
    assert not verdict.ok and verdict.reason.startswith(why)


def test_one_unit_written_two_ways_is_the_same_unit():
    judge = SupportJudge(same_meaning, 0.55, 0.5)
    assert judge("Withdrawal symptoms peak after 72 hrs.", "Withdrawal symptoms peak after 72 hours.").ok
    assert judge("Each vial held 50 µg of baclofen.", "Each vial held 50 mcg of baclofen.").ok
