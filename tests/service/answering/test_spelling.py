"""Near-spellings of corpus words: clear cases on small hand-written corpora, and precision and recall on a
labelled set of questions against the shipped corpus.

data/spelling.jsonl: one question a line with the corrections it must get, as [written, read as] pairs in
order; an empty list means nothing may change (words the corpus lacks: drugs, foods, places, animals, names).
A question is a tuning one when the crc32 of its text is even, held out when odd; the thresholds in
spelling.py were set on the tuning half only. Figures: `.venv/bin/python -m tests.service.answering.test_spelling`.
"""

from __future__ import annotations

import json
import time
import tracemalloc
import zlib
from collections import Counter
from dataclasses import dataclass

import pytest

from citeqa.index.text import tokens
from citeqa.service.answering.spelling import Correction, SpellingCorrector
from tests.paths import ROOT

LABELLED = ROOT / "tests" / "service" / "answering" / "data" / "spelling.jsonl"


def corpus_counts(texts: list[str]) -> Counter[str]:
    return Counter(token.lower() for text in texts for token in tokens(text))


def small_corrector(*texts: str) -> SpellingCorrector:
    return SpellingCorrector.from_corpus(corpus_counts(list(texts)))


def shipped_corrector() -> SpellingCorrector:
    texts = [path.read_text("utf-8") for path in sorted((ROOT / "corpus").glob("*.txt"))]
    return SpellingCorrector.from_corpus(corpus_counts(texts))


@dataclass(frozen=True)
class Labelled:
    question: str
    corrections: tuple[tuple[str, str], ...]

    @property
    def held_out(self) -> bool:
        return zlib.crc32(self.question.encode("utf-8")) % 2 == 1


def labelled() -> list[Labelled]:
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line.strip()]
    return [Labelled(r["question"], tuple(tuple(pair) for pair in r["corrections"])) for r in rows]


@dataclass(frozen=True)
class Score:
    questions: int
    made: int
    expected: int
    right: int
    wrong: list[str]

    @property
    def precision(self) -> float:
        return self.right / self.made if self.made else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected if self.expected else 1.0


def score(corrector: SpellingCorrector, items: list[Labelled]) -> Score:
    made = expected = right = 0
    wrong = []
    for item in items:
        got = Counter((c.original, c.corrected) for c in corrector.correct(item.question).corrections)
        want = Counter(item.corrections)
        made, expected, right = made + got.total(), expected + want.total(), right + (got & want).total()
        if got != want:
            wrong.append(f"{item.question!r}: made {dict(got - want)}, missed {dict(want - got)}")
    return Score(len(items), made, expected, right, wrong)


@pytest.fixture(scope="module")
def shipped() -> SpellingCorrector:
    return shipped_corrector()


# --- small hand-written corpora -----------------------------------------------------------------------------

CORPUS = (
    "Baclofen withdrawal can cause seizures and hallucinations. Spasticity improves with baclofen. "
    "The usual dose is 5 mg three times a day; the cost is low. Oxazepam and tizanidine were compared. "
    "Dr. Norman reported side-effects in Kemstro users in human trials."
)


def test_typos_of_corpus_words_are_read_as_those_words_with_offsets() -> None:
    corrector = small_corrector(CORPUS)
    question = "how long is baclofn withdrawl"
    result = corrector.correct(question)
    assert result.text == "how long is baclofen withdrawal"
    assert result.corrections == (
        Correction("baclofn", "baclofen", 12, 19),
        Correction("withdrawl", "withdrawal", 20, 29),
    )
    assert all(question[c.start : c.end] == c.original for c in result.corrections)
    assert result.corrections[0].notice() == "reading 'baclofn' as 'baclofen'"


@pytest.mark.parametrize(
    ("written", "read_as"),
    [
        ("sezures", "seizures"),
        ("spasticty", "spasticity"),
        ("tizanadine", "tizanidine"),
        ("oxazepan", "oxazepam"),
        ("baclophen", "baclofen"),  # two edits, allowed for a long word the web never writes
        ("halucinations", "hallucinations"),
        ("efects", "effects"),  # the corpus wrote "side-effects": each part of a hyphenated word counts
    ],
)
def test_misspellings_are_corrected(written: str, read_as: str) -> None:
    assert small_corrector(CORPUS).correct(f"what about {written}?").text == f"what about {read_as}?"


@pytest.mark.parametrize(
    "question",
    [
        "Can my dogs take it?",  # one edit from the corpus's "does", and an English word
        "Is grapefruit a problem for a child in Canada?",
        "Does it cost much?",
        "Is lorazepam like oxazepam?",  # better known on the web than the corpus word two edits away
        "Can Narcan help?",  # two edits from the corpus's "Norman", and a word the web knows
        "Is the dosage 10mg or 5 mg for b12?",  # numbers and words glued to digits
        "Is teh dose ok?",  # three letters or fewer are never guessed at
        "Were the seizures and hallucinations severe?",  # corpus words stand
        "Was Dr. Hyman there?",  # one edit from "human", but a short word the web writes may be a name
    ],
)
def test_words_that_are_words_stay(question: str) -> None:
    assert small_corrector(CORPUS, "Does it help? It does.").correct(question).text == question


def test_casing_follows_the_question() -> None:
    corrector = small_corrector(CORPUS)
    assert corrector.correct("BACLOFN WITHDRAWL").text == "BACLOFEN WITHDRAWAL"
    assert corrector.correct("Baclofn helps").text == "Baclofen helps"
    assert corrector.correct("Kemtro or baclofn's effect?").text == "Kemstro or baclofen's effect?"
    assert corrector.correct("anti-spasticty drugs").text == "anti-spasticity drugs"


def test_chat_shorthand_is_read_as_english_but_not_abbreviations() -> None:
    corrector = small_corrector(CORPUS)
    assert corrector.correct("r u ok on baclofen, pls tell me wat ur dose is").text == (
        "are you ok on baclofen, please tell me what your dose is"
    )
    assert corrector.correct("Im sure hw it works").text == "I'm sure how it works"
    for question in ("Is it sold in the U.S.?", "Is IM injection possible?", "Is R used?"):
        assert corrector.correct(question).corrections == ()
    assert small_corrector("Wat Arun is a temple.").correct("is wat arun old").text == "is wat arun old"


def test_without_a_near_corpus_word_nothing_changes() -> None:
    result = small_corrector("Aspirin thins blood.").correct("how long is baclofn withdrawl")
    assert result.text == "how long is baclofn withdrawl"
    assert result.corrections == ()


# --- the shipped corpus and the labelled set ----------------------------------------------------------------


def test_shipped_corpus_reads_the_issue_examples(shipped: SpellingCorrector) -> None:
    assert shipped.correct("how long is baclofn withdrawl").text == "how long is baclofen withdrawal"
    assert shipped.correct("sezures and spasticty").text == "seizures and spasticity"
    for question in ("my dog", "grapefruit", "a child", "Canada", "the cost"):
        assert shipped.correct(question).text == question


def test_labelled_set_is_large_and_valid() -> None:
    items = labelled()
    assert len(items) >= 120
    assert sum(i.held_out for i in items) >= 60 and sum(not i.held_out for i in items) >= 60
    for item in items:
        for written, _ in item.corrections:
            assert written in item.question


def test_tuning_half(shipped: SpellingCorrector) -> None:
    result = score(shipped, [i for i in labelled() if not i.held_out])
    assert result.precision >= 0.97, result.wrong
    assert result.recall >= 0.95, result.wrong


def test_held_out_half(shipped: SpellingCorrector) -> None:
    result = score(shipped, [i for i in labelled() if i.held_out])
    assert result.precision >= 0.95, result.wrong
    assert result.recall >= 0.9, result.wrong


def test_correcting_is_fast(shipped: SpellingCorrector) -> None:
    questions = [i.question for i in labelled()]
    start = time.perf_counter()
    for question in questions * 5:
        shipped.correct(question)
    assert (time.perf_counter() - start) / (5 * len(questions)) < 0.002  # measured ~20 µs; a lookup gone linear fails


def report() -> None:
    """Print the figures the module docstring of spelling.py refers to."""
    from wordfreq import zipf_frequency

    zipf_frequency("warm", "en")  # wordfreq's tables are shared with the abstention rule: not counted here
    tracemalloc.start()
    corrector = shipped_corrector()
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    started = time.perf_counter()
    shipped_corrector()  # timed apart: tracing slows building several times over
    built = time.perf_counter() - started
    items = labelled()
    halves = {"tuning": [i for i in items if not i.held_out], "held-out": [i for i in items if i.held_out]}
    for name, part in halves.items():
        s = score(corrector, part)
        print(f"{name}: {s.questions} questions, {s.expected} corrections expected, {s.made} made, {s.right} right:"
              f" precision {s.precision:.3f}, recall {s.recall:.3f}")
        for line in s.wrong:
            print("   ", line)
    questions = [i.question for i in items]
    started = time.perf_counter()
    for _ in range(50):
        for question in questions:
            corrector.correct(question)
    per_question = (time.perf_counter() - started) / (50 * len(questions))
    print(f"{per_question * 1e6:.1f} µs per question; built in {built * 1e3:.0f} ms; {memory / 1e6:.1f} MB")


if __name__ == "__main__":
    report()
