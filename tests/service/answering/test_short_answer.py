"""The short answer span: clear cases that could fail, and the measured accuracy on a labelled set.

The labelled set (data/short_answers.jsonl) holds sentences from the five corpus files and sentences written in
their style, each with a question, its answer type, focus and asked-for words, and the expected span (null where no
span answers). A fixed rule splits it into a tuning half and a held-out half; the rules were tuned on the first.
Rows with "batch": 2 were written after the rules were frozen on batch 1 and scored once before any change
(exact 73/86, null precision 10/14); the general faults that showed were then fixed, so they now count as seen.

Measure (prints both halves, per answer type, and every miss with -v):
    .venv/bin/python -m tests.service.answering.test_short_answer [-v]
"""

from __future__ import annotations

import hashlib
import json
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from citeqa.index.text import REFERENCE_MARKER
from citeqa.service.answering.question import AnswerType
from citeqa.service.answering.short_answer import Span, best_span, candidate_spans, carries_type

DATA = Path(__file__).parent / "data" / "short_answers.jsonl"
ANSWER_TYPES: tuple[str, ...] = typing.get_args(AnswerType)
SPAN_TYPES = ("number", "amount", "date", "duration", "frequency", "person", "organisation", "named")

# Measured with this module's main: held-out exact match 0.979 (143/146), null precision 28/29.
HELD_OUT_EXACT_FLOOR = 0.95
HELD_OUT_NULL_PRECISION_FLOOR = 0.93
TUNING_EXACT_FLOOR = 0.97


def load_examples() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def half(example: dict) -> str:
    """The fixed split: the first byte of a hash of type, question and sentence, even for tuning."""
    key = "\t".join((example["answer_type"], example["question"], example["sentence"]))
    return "tuning" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "held-out"


@dataclass(frozen=True)
class Scores:
    n: int
    exact: int
    contains: int
    predicted_null: int
    correct_null: int
    misses: tuple[tuple[dict, str | None], ...]

    @property
    def exact_rate(self) -> float:
        return self.exact / self.n

    @property
    def contains_rate(self) -> float:
        return self.contains / self.n

    @property
    def null_precision(self) -> float:
        return self.correct_null / self.predicted_null if self.predicted_null else 1.0


def measure(examples: list[dict]) -> Scores:
    exact = contains = predicted_null = correct_null = 0
    misses = []
    for ex in examples:
        span = best_span(ex["sentence"], ex["answer_type"], ex["focus"], ex["asks_for"])
        got, expected = (span.text if span else None), ex["expected"]
        exact += got == expected
        contains += got == expected or (got is not None and expected is not None and expected in got)
        if got is None:
            predicted_null += 1
            correct_null += expected is None
        if got != expected:
            misses.append((ex, got))
    return Scores(len(examples), exact, contains, predicted_null, correct_null, tuple(misses))


# ---------------------------------------------------------------------------------------------------------------
# The labelled set and the measured accuracy


def test_labelled_set_is_sound():
    examples = load_examples()
    assert len(examples) >= 150
    for ex in examples:
        assert ex["answer_type"] in ANSWER_TYPES, ex
        assert ex["expected"] is None or ex["expected"] in ex["sentence"], ex
    halves = {h: [ex for ex in examples if half(ex) == h] for h in ("tuning", "held-out")}
    assert min(len(v) for v in halves.values()) >= 60
    for examples_of_half in halves.values():  # each half has nulls to score and every span type
        assert sum(ex["expected"] is None for ex in examples_of_half) >= 10
        assert {ex["answer_type"] for ex in examples_of_half} >= set(SPAN_TYPES)
    corpus_sentences = {ex["sentence"] for ex in examples if ex["source"].startswith("corpus/")}
    corpus_text = "".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parents[3] / "corpus").glob("*.txt"))
    assert len(corpus_sentences) >= 50
    assert all(s in corpus_text for s in corpus_sentences)


def test_held_out_accuracy_stays_at_the_measured_level():
    scores = measure([ex for ex in load_examples() if half(ex) == "held-out"])
    misses = [(ex["question"], ex["expected"], got) for ex, got in scores.misses]
    assert scores.exact_rate >= HELD_OUT_EXACT_FLOOR, misses
    assert scores.null_precision >= HELD_OUT_NULL_PRECISION_FLOOR, misses


def test_tuning_accuracy_stays_at_the_measured_level():
    scores = measure([ex for ex in load_examples() if half(ex) == "tuning"])
    assert scores.exact_rate >= TUNING_EXACT_FLOOR, [(ex["question"], ex["expected"], got) for ex, got in scores.misses]


# ---------------------------------------------------------------------------------------------------------------
# Clear cases


def span_text(sentence: str, answer_type: AnswerType, focus=(), asks_for=()) -> str | None:
    span = best_span(sentence, answer_type, focus, asks_for)
    return span.text if span else None


@pytest.mark.parametrize(
    ("sentence", "answer_type", "focus", "asks_for", "expected"),
    [
        # the issue's own examples
        ("The maximum recommended dosage is 100 mg.", "amount", ["maximum"], ["dose"], "100 mg"),
        ("The half-life is roughly 2–4 hours; it is given often.", "duration", [], ["half-life"], "roughly 2–4 hours"),
        ("It was made at Acme, by the Swiss chemist Hans Weber, in 1962.[37][38]", "person", [], [], "Hans Weber"),
        # a count next to the asked-for noun, and two counts the question asks for together
        ("The trial included nine men and three women.", "number", ["trial"], ["women"], "three women"),
        ("The trial included nine men and three women.", "number", [], ["men", "women"], "nine men and three women"),
        ("The trial enrolled 40 men; women were excluded.", "number", ["enrolled"], ["women"], None),
        ("Only 2 of 5 patients completed the taper.", "number", ["completed"], ["patients"], "2 of 5 patients"),
        ("Of the 48 children randomised, 45 completed follow-up.", "number", ["completed"], ["children"], "45"),
        ("DSM-5 lists 11 criteria for the disorder.", "number", [], ["criteria"], "11 criteria"),
        ("The tablets come in packs of 28 and 84.", "number", [], ["patients"], None),
        # amounts: ranges, rates, the right kind of unit
        ("Most take between 15 mg and 80 mg per day.", "amount", [], ["dose"], "between 15 mg and 80 mg per day"),
        ("Patients received up to 80 mg/day.", "amount", [], ["dose"], "up to 80 mg/day"),
        ("Start with 5 mg three times a day.", "amount", [], ["dose"], "5 mg"),
        ("It is a white powder with a molecular weight of 213.66 g/mol.", "amount", ["gain"], ["weight"], None),
        ("It is a white powder with a molecular weight of 213.66 g/mol.", "amount", [], ["molecular weight"],
         "213.66 g/mol"),
        ("Patients gained a mean of 2.4 kg over 12 weeks.", "amount", ["gained"], ["weight"], "2.4 kg"),
        ("Ninety pills retail for $10 to $20.", "amount", [], ["cost"], "$10 to $20"),
        # dates: decades, months, ranges, years that are not dates
        ("It was first made in the early 1960s by a chemist.", "date", ["made"], [], "early 1960s"),
        ("The drug was withdrawn in March 2004.", "date", ["withdrawn"], [], "March 2004"),
        ("Inquiries between 2001 and 2004 found it useful.", "date", [], [], "between 2001 and 2004"),
        ("Each capsule contains 2000 mg of oil.", "date", [], [], None),
        ("The study enrolled 1999 participants.", "date", [], [], None),
        ("Seizures were described in case reports.[2011]", "date", [], [], None),
        # durations and frequencies, words and Unicode dashes inside one span
        ("The pump is replaced every five to seven years or so.", "duration", [], [], "five to seven years or so"),
        ("The pump is replaced every five to seven years or so.", "frequency", [], [],
         "every five to seven years or so"),
        ("Peak withdrawal (72 hours – 1 week): symptoms worsen.", "duration", [], [], "72 hours – 1 week"),
        ("Take one tablet three times a day with food.", "duration", [], [], None),
        ("Take one tablet three times a day with food.", "frequency", [], [], "three times a day"),
        ("Patients aged 12 years and older may use it.", "duration", [], [], None),
        ("A maximum daily dose of 80 mg should not be exceeded.", "frequency", [], [], None),
        ("Three times as many patients relapsed on placebo.", "frequency", [], [], None),
        ("Give 10 mg every 8 hours.", "frequency", [], [], "every 8 hours"),
        # names: titles, colleagues, author lists; capitals that are not a person's name
        ("The drug was developed by Dr. Olivier Martin in Paris.", "person", ["developed"], [], "Dr. Olivier Martin"),
        ("Moretti and colleagues reported the first trial.", "person", ["trial"], [], "Moretti and colleagues"),
        ("Rossi, Bianchi, Conti, et al. (2001) ran a study.", "person", [], [], "Rossi, Bianchi, Conti, et al."),
        ("It was approved for medical use in the United States in 1977.", "person", ["approved"], [], None),
        ("However, most patients tolerated it well.", "person", [], [], None),
        ("Parkinson's disease is a contraindication.", "person", [], [], None),
        ("It was approved by the US Food and Drug Administration (FDA) in 1977.", "organisation", ["approved"], [],
         "US Food and Drug Administration"),
        ("In 2016, the FDA issued a safety alert about CNS depressants.", "organisation", ["alert"], [], "FDA"),
        ("It acts on the central nervous system (CNS) to relax muscle.", "organisation", [], [], None),
        ("It was first synthesized at Ciba-Geigy in 1962.", "organisation", [], [], "Ciba-Geigy"),
        ("Mood was rated with the Hamilton Depression Rating Scale (HAM-D).", "named", ["mood"], ["scale"],
         "Hamilton Depression Rating Scale"),
        ("Withdrawal was rated with the CIWA-Ar on day 3.", "named", [], ["scale"], "CIWA-Ar"),
        ("Known under the brand names Relaxo and Spasmex, it relaxes muscle.", "named", [], ["brand names"], "Relaxo"),
        ("Insomnia: Many people sleep poorly during withdrawal.", "named", [], [], None),
    ],
)  # fmt: skip
def test_clear_cases(sentence, answer_type, focus, asks_for, expected):
    assert span_text(sentence, answer_type, focus, asks_for) == expected


def test_a_span_is_verbatim_with_offsets_into_the_sentence():
    sentence = "Participants received baclofen (40 mg/day maximum) or clonidine (0.8 mg/day in divided doses)."
    span = best_span(sentence, "amount", ["clonidine"], ["dose"])
    assert span == Span(sentence.index("0.8"), sentence.index("0.8") + len("0.8 mg/day"), "0.8 mg/day")


def test_candidates_are_verbatim_in_order_and_never_hold_a_reference_marker():
    for ex in load_examples():
        sentence = ex["sentence"]
        markers = [(m.start(), m.end()) for m in REFERENCE_MARKER.finditer(sentence)]
        for answer_type in SPAN_TYPES:
            spans = candidate_spans(sentence, answer_type)
            assert [s.start for s in spans] == sorted(s.start for s in spans)
            for s in spans:
                assert sentence[s.start : s.end] == s.text and s.text == s.text.strip()
                assert not any(s.start < end and start < s.end for start, end in markers), (s, sentence)


def test_candidate_spans_lists_every_span_of_the_type():
    sentence = "They started with 5 mg three times daily before upping the dosage to 10 mg over four weeks."
    assert [s.text for s in candidate_spans(sentence, "amount")] == ["5 mg", "10 mg"]
    assert [s.text for s in candidate_spans(sentence, "frequency")] == ["three times daily"]
    assert [s.text for s in candidate_spans(sentence, "duration")] == ["over four weeks"]


@pytest.mark.parametrize("answer_type", ["yes_no", "list", "procedure", "reason", "definition", "other"])
def test_types_without_a_short_span_give_none(answer_type):
    sentence = "The 12-week trial included nine men and three women given 10 mg three times a day."
    assert candidate_spans(sentence, answer_type) == []
    assert best_span(sentence, answer_type) is None
    assert not carries_type(sentence, answer_type)


def test_carries_type_is_evidence_of_the_type():
    assert carries_type("The half-life is roughly 2–4 hours.", "duration")
    assert not carries_type("The half-life is roughly 2–4 hours.", "date")
    assert carries_type("It was approved in 1977.", "date")
    assert not carries_type("Common side effects include sleepiness and dizziness.[8]", "number")


def test_an_unknown_answer_type_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown answer type 'colour'"):
        candidate_spans("It is white.", "colour")  # type: ignore[arg-type]


def test_long_adversarial_input_gives_verbatim_spans():
    # speed is measured by `python -m tests.service.answering.test_short_answer`, never asserted here
    long_input = " ".join(str(i) for i in range(600)) + " " + "Smith, " * 300 + "et al."
    for answer_type in SPAN_TYPES:
        for span in candidate_spans(long_input, answer_type):
            assert long_input[span.start : span.end] == span.text


# ---------------------------------------------------------------------------------------------------------------


def main(verbose: bool) -> None:
    examples = load_examples()
    for name in ("tuning", "held-out"):
        chosen = [ex for ex in examples if half(ex) == name]
        s = measure(chosen)
        print(
            f"{name:9s} n={s.n:3d}  exact={s.exact_rate:.3f} ({s.exact}/{s.n})  contains={s.contains_rate:.3f}"
            f"  null precision={s.null_precision:.3f} ({s.correct_null}/{s.predicted_null})"
        )
        for answer_type in ANSWER_TYPES:
            of_type = [ex for ex in chosen if ex["answer_type"] == answer_type]
            if of_type and answer_type in SPAN_TYPES:
                t = measure(of_type)
                print(f"    {answer_type:12s} n={t.n:3d}  exact={t.exact_rate:.3f}")
        if verbose:
            for ex, got in s.misses:
                print(f"  MISS [{ex['answer_type']}] {ex['question']}\n       expected {ex['expected']!r}, got {got!r}")


if __name__ == "__main__":
    main(verbose="-v" in sys.argv[1:])
