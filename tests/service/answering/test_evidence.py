"""Choosing evidence sentences, on hand-made sentences, scores and vectors (no model, no index)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from citeqa.index.units import Sentence
from citeqa.service.answering.evidence import Evidence, display_text, select_evidence
from citeqa.service.answering.params import AnsweringParams

PARAMS = AnsweringParams(relative_floor=0.2, min_sentence_similarity=0.5, duplicate_similarity=0.85)


def sentence(text: str, doc_id: str = "doc-a", start: int = 0, kind: str = "sentence", n: int = 0) -> Sentence:
    return Sentence(f"{doc_id}#s{n:04d}", doc_id, f"{doc_id}#c0000", start, start + len(text), text, None, kind)


class FakeRetriever:
    """What select_evidence reads of a retriever: one unit vector per sentence row."""

    def __init__(self, vectors: list[list[float]]) -> None:
        array = np.asarray(vectors, dtype=np.float32)
        self.sentences = SimpleNamespace(vectors=array / np.linalg.norm(array, axis=1, keepdims=True))


def ranked(*rows: tuple[Sentence, float, float]) -> list[Evidence]:
    """Evidence in the given order; row i of the fake retriever holds the vector of the i-th sentence."""
    return [Evidence(s, row, cosine, score) for row, (s, cosine, score) in enumerate(rows)]


def texts(chosen: list[Evidence]) -> list[str]:
    return [e.sentence.text for e in chosen]


# --- display_text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Side effects include:\n  • drowsiness\n  • dizziness[4]", "Side effects include: drowsiness, dizziness."),
        ("Common side effects\n- drowsiness\n- nausea", "Common side effects: drowsiness, nausea."),
        ("• drowsiness\n• dizziness\n• fatigue", "drowsiness, dizziness, fatigue."),
        ("To stop safely:\n  1. Lower the dose\n  2) See your doctor!", "To stop safely: Lower the dose, See your doctor!"),
    ],
)
def test_a_list_unit_reads_as_one_sentence(text, shown):
    assert display_text(sentence(text, kind="list")) == shown


def test_reference_markers_are_dropped_but_editorial_brackets_and_bullets_in_sentences_stay():
    s = sentence("Baclofen was approved in 1977.[8][12] It is\xa0generic [citation needed] and  cheap.")
    assert display_text(s) == "Baclofen was approved in 1977. It is generic and cheap."
    s = sentence("Many develop a low-grade [or possibly a high] fever.[3]")
    assert display_text(s) == "Many develop a low-grade [or possibly a high] fever."


def test_evidence_numbers_ignore_reference_markers():
    assert Evidence(sentence("Up to 1,000 mg was approved in 1977.[8]"), 0, 0.9, 1.0).numbers == {"1000", "1977"}


# --- select_evidence ------------------------------------------------------------------------------------


def test_sentences_far_below_the_best_score_are_left_out():
    a, b, c = (sentence(t, d) for t, d in [("Alpha 1.", "d1"), ("Beta 2.", "d2"), ("Gamma 3.", "d3")])
    evidence = ranked((a, 0.9, 1.0), (b, 0.9, 0.85), (c, 0.9, 0.75))
    retriever = FakeRetriever([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert texts(select_evidence(evidence, retriever, 3, PARAMS)) == ["Alpha 1.", "Beta 2."]
    wider = replace(PARAMS, relative_floor=0.3)
    assert texts(select_evidence(evidence, retriever, 3, wider)) == ["Alpha 1.", "Beta 2.", "Gamma 3."]
    assert texts(select_evidence(evidence, retriever, 1, wider)) == ["Alpha 1."]


def test_a_sentence_below_the_similarity_bar_stops_the_answer_whatever_its_score():
    a, b = sentence("Alpha 1.", "d1"), sentence("Beta 2.", "d2")
    evidence = ranked((a, 0.9, 1.0), (b, 0.45, 0.99))
    assert texts(select_evidence(evidence, FakeRetriever([[1, 0], [0, 1]]), 3, PARAMS)) == ["Alpha 1."]
    assert select_evidence([], FakeRetriever([[1, 0]]), 3, PARAMS) == []


def test_a_lead_in_ending_with_a_colon_is_skipped():
    lead = sentence("Withdrawal follows a pattern:", "d1")
    fact = sentence("Symptoms peak at 72 hours.", "d1", start=40)
    chosen = select_evidence(ranked((lead, 0.9, 1.0), (fact, 0.8, 0.95)), FakeRetriever([[1, 0], [0, 1]]), 3, PARAMS)
    assert texts(chosen) == ["Symptoms peak at 72 hours."]


def test_a_near_duplicate_from_another_document_becomes_an_extra_citation():
    first = sentence("Baclofen's half-life is 2 to 4 hours.", "d1")
    twin = sentence("The half-life of baclofen is 2 to 4 hours.", "d2")
    other = sentence("It is taken three times a day.", "d3")
    evidence = ranked((first, 0.9, 1.0), (twin, 0.9, 0.95), (other, 0.8, 0.9))
    chosen = select_evidence(evidence, FakeRetriever([[1, 0], [0.95, 0.05], [0, 1]]), 3, PARAMS)
    assert texts(chosen) == [first.text, other.text]
    assert [e.sentence.doc_id for e in chosen[0].also] == ["d2"]


def test_a_near_duplicate_from_the_same_document_is_dropped_not_cited_twice():
    first = sentence("Baclofen's half-life is 2 to 4 hours.", "d1")
    repeat = sentence("Again: the half-life of baclofen is 2 to 4 hours.", "d1", start=500, n=1)
    chosen = select_evidence(ranked((first, 0.9, 1.0), (repeat, 0.9, 0.95)), FakeRetriever([[1, 0], [1, 0]]), 3, PARAMS)
    assert texts(chosen) == [first.text] and chosen[0].also == []


def test_sentences_with_different_numbers_are_never_merged_however_similar():
    a = sentence("Patients took 60 mg a day.", "d1")
    b = sentence("Patients took 80 mg a day.", "d2")
    chosen = select_evidence(ranked((a, 0.9, 1.0), (b, 0.9, 0.95)), FakeRetriever([[1, 0], [1, 0]]), 3, PARAMS)
    assert texts(chosen) == [a.text, b.text] and chosen[0].also == []


def test_the_duplicate_bar_decides_what_counts_as_the_same_sentence():
    a, b = sentence("Baclofen relaxes muscles.", "d1"), sentence("Baclofen eases spasms.", "d2")
    evidence = ranked((a, 0.9, 1.0), (b, 0.9, 0.95))
    retriever = FakeRetriever([[1, 0], [0.8, 0.6]])  # cosine 0.8
    assert len(select_evidence(evidence, retriever, 3, PARAMS)) == 2
    for e in evidence:
        e.also.clear()
    merged = select_evidence(evidence, retriever, 3, replace(PARAMS, duplicate_similarity=0.75))
    assert texts(merged) == [a.text] and merged[0].also[0].sentence is b


def test_overlapping_spans_of_one_document_are_not_both_taken():
    outer = sentence("Baclofen is a muscle relaxant and an antispastic agent.", "d1", start=100)
    inner = sentence("a muscle relaxant and an antispastic agent.", "d1", start=112, n=1)
    later = sentence("Take it with food.", "d1", start=200, n=2)
    elsewhere = sentence("Baclofen relaxes muscle.", "d2", start=100)  # same offsets, another document
    evidence = ranked((outer, 0.9, 1.0), (inner, 0.9, 0.99), (later, 0.9, 0.98), (elsewhere, 0.9, 0.97))
    chosen = select_evidence(evidence, FakeRetriever([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0.6, 0.8]]), 4, PARAMS)
    assert texts(chosen) == [outer.text, later.text, elsewhere.text]


def test_the_same_sentence_ranked_twice_is_taken_once():
    a = sentence("Alpha 1.", "d1")
    evidence = [Evidence(a, 0, 0.9, 1.0), Evidence(a, 0, 0.9, 0.99)]
    assert len(select_evidence(evidence, FakeRetriever([[1, 0]]), 3, PARAMS)) == 1
