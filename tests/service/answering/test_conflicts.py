"""The conflict check on hand-made claims: different dates or amounts for one thing, from different sources."""

from __future__ import annotations

import math

import numpy as np
import pytest

from citeqa.service.answering.conflicts import Claim, find_conflicts, has_figures
from citeqa.service.answering.params import AnsweringParams

LIFT = "After eight weeks of baclofen the patients could lift {} with the weaker arm."
DOSE = "The study gave each patient {} of intrathecal baclofen as the test dose."


def claim(text: str, doc_id: str, n: int, vector: np.ndarray | None = None) -> Claim:
    return Claim(text, doc_id, (n,), vector)


def unit_vector(degrees: float) -> np.ndarray:
    """A 2-d unit vector; two of them have cosine cos(difference of their angles)."""
    return np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))], dtype=np.float32)


@pytest.mark.parametrize(
    ("template", "a", "b"),
    [(LIFT, "10 kg", "12 kg"), (DOSE, "5 mcg", "8 mcg"), (DOSE, "50 µg", "80 mcg"), (LIFT, "40%", "60%")],
)
def test_different_amounts_for_the_same_thing_in_different_documents_conflict(template, a, b):
    conflicts = find_conflicts([claim(template.format(a), "doc-a", 1), claim(template.format(b), "doc-b", 2)])
    assert len(conflicts) == 1
    assert conflicts[0].topic.startswith("amount (")
    assert [(v.value, v.citations) for v in conflicts[0].values] == [
        (a.replace("µg", "mcg").replace("%", " %"), [1]),
        (b.replace("%", " %"), [2]),
    ]


@pytest.mark.parametrize(("a", "b"), [("10 kg", "10 kg"), ("10 kg", "10 KG"), ("5 mcg", "5 µg"), ("1,000 mg", "1000 mg")])
def test_the_same_amount_written_either_way_is_no_conflict(a, b):
    assert find_conflicts([claim(DOSE.format(a), "doc-a", 1), claim(DOSE.format(b), "doc-b", 2)]) == []


def test_different_years_for_the_same_event_conflict():
    a = claim("In 1962 Heinrich Keberle first synthesized baclofen.", "doc-a", 1)
    b = claim("Heinrich Keberle first synthesized baclofen in 1961 at Ciba-Geigy.", "doc-b", 2)
    [conflict] = find_conflicts([a, b])
    assert conflict.topic.startswith("date (") and [v.value for v in conflict.values] == ["1962", "1961"]


def test_the_same_document_disagreeing_with_itself_is_not_reported():
    assert find_conflicts([claim(LIFT.format("10 kg"), "doc-a", 1), claim(LIFT.format("12 kg"), "doc-a", 2)]) == []


def test_different_topics_with_different_figures_do_not_conflict():
    a = claim("Baclofen was approved in 1977 in the US.", "doc-a", 1)
    b = claim("The clinic opened its new wing in 1995 with great fanfare.", "doc-b", 2)
    c = claim("Patients lifted 12 kg.", "doc-c", 3)  # one shared word is not a topic without vectors
    d = claim("Patients slept 8 hours.", "doc-d", 4)
    assert find_conflicts([a, b]) == [] and find_conflicts([c, d]) == []


def test_a_pair_is_reported_once_however_often_it_is_compared():
    claims = [claim(LIFT.format("10 kg"), "doc-a", 1), claim(LIFT.format("12 kg"), "doc-b", 2)]
    assert len(find_conflicts(claims + claims)) == 1


def test_with_vectors_the_similarity_bar_decides_the_topic():
    # These share only one content word ("baclofen"): without vectors that is too few to be one topic.
    a_text = "Baclofen tablets contain 10 mg."
    b_text = "Each baclofen pill holds 20 mg."
    assert find_conflicts([claim(a_text, "doc-a", 1), claim(b_text, "doc-b", 2)]) == []

    params = AnsweringParams(conflict_topic_similarity=0.8)
    close = [claim(a_text, "doc-a", 1, unit_vector(0)), claim(b_text, "doc-b", 2, unit_vector(20))]  # cosine 0.94
    far = [claim(a_text, "doc-a", 1, unit_vector(0)), claim(b_text, "doc-b", 2, unit_vector(60))]  # cosine 0.5
    [conflict] = find_conflicts(close, params)
    assert [v.value for v in conflict.values] == ["10 mg", "20 mg"]
    assert find_conflicts(far, params) == []
    assert len(find_conflicts(far, AnsweringParams(conflict_topic_similarity=0.45))) == 1


def test_with_vectors_close_meaning_still_needs_a_shared_word():
    a = claim("Spasticity eased with 20 mg.", "doc-a", 1, unit_vector(0))
    b = claim("Muscle stiffness improved on 60 mg.", "doc-b", 2, unit_vector(0))
    assert find_conflicts([a, b]) == []


def test_has_figures():
    assert has_figures("Approved in 1977 in the US.") and has_figures("Take 10 kg.") and has_figures("Up by 40%.")
    assert not has_figures("Take it twice a day.") and not has_figures("Page 12 of the leaflet.")
