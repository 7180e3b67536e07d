"""The reader: re-rank evidence sentences for what the question asks, and say when the corpus does not say it.

Similarity alone answers "the sentences most like the question". The reader adds what a person checks when
reading: is this sentence (or what it refers back to) about the thing asked about, does it carry the kind of
answer asked for (a count, a dose, a date, a name), and does it say the attribute asked for (a dose, a
half-life)? Headings, captions and lead-ins never stand as answers. Every rule here is about questions and
sentences in general; none names a word of any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from citeqa.index.retriever import Retriever
from citeqa.index.text import REFERENCE_MARKER, content_stems
from citeqa.index.units import Sentence
from citeqa.service.answering.evidence import Evidence
from citeqa.service.answering.params import AnsweringParams
from citeqa.service.answering.question import AnswerType, QuestionPart
from citeqa.service.answering.short_answer import best_span, carries_type, counts_people_or_things

# Answer types whose answer is a span of a particular shape: a sentence without one cannot answer.
SHAPED_TYPES: frozenset[AnswerType] = frozenset(
    {"number", "amount", "date", "duration", "frequency", "person", "organisation", "named"}
)
# Those whose shape is reliable enough to refuse on: figures, dates and people. A named thing is often written
# in lower case ("a drug such as ..."), so a missing capitalised name proves nothing.
REFUSABLE_TYPES: frozenset[AnswerType] = frozenset({"number", "amount", "date", "duration", "frequency", "person"})
# Types close enough that a sentence of one answers a question of the other ("When is it worst?" is answered by
# "within 72 hours"; "Who ran the trial?" by a research group's name).
TYPE_FAMILIES: dict[AnswerType, tuple[AnswerType, ...]] = {
    "number": ("number", "amount"), "amount": ("amount",),  # a bare count is no dose
    "date": ("date", "duration"), "duration": ("duration", "date", "frequency"), "frequency": ("frequency", "duration"),
    "person": ("person", "organisation", "named"), "organisation": ("organisation", "person", "named"),
    "named": ("named", "organisation", "person"),
}
TYPE_WORDS: dict[AnswerType, str] = {
    "number": "figure", "amount": "amount", "date": "date", "duration": "duration", "frequency": "frequency",
    "person": "name", "organisation": "organisation", "named": "name",
}

# A sentence that leans on the one before it for its subject ("It was first synthesized...", "The trial...").
_REFERRING_START = re.compile(
    r"^\W*(?:it|its|this|that|these|those|they|their|he|she|his|her|such|both|the (?:[\w-]+ ){0,2}"
    r"(?:drug|medication|medicine|compound|substance|study|studies|trial|trials|researchers?|authors?|team|"
    r"patients?|participants?|subjects?|results?|findings?))\b",
    re.I,
)
_REFERENCE_HOPS = 3
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def family(part: QuestionPart) -> tuple[AnswerType, ...]:
    """The answer types that answer this part: "When is it worst?" is answered by a time span, "When was it
    approved?" only by a date; "How many patients?" only by a count, never by a dose."""
    if part.answer_type == "date" and part.asks_past_event:
        return ("date",)
    if part.answer_type == "number" and counts_people_or_things(part.asks_for[:1]):
        return ("number",)
    return TYPE_FAMILIES[part.answer_type]


def carries_family(text: str, kinds: tuple[AnswerType, ...]) -> bool:
    """The text holds a span of one of these types (cheap: no check against the question)."""
    return any(carries_type(text, kind) for kind in kinds)


def is_answer_sentence(sentence: Sentence) -> bool:
    """False for what is not a statement: a heading or title-case line, a caption fragment, a bare lead-in."""
    text = REFERENCE_MARKER.sub("", sentence.text).strip()
    if sentence.kind == "list":
        return True
    if text.endswith(":"):
        return False  # a lead-in says nothing without what follows
    words = _WORD.findall(text)
    if len(words) < 4:
        return False
    if sentence.heading and text.rstrip(".:") == sentence.heading.strip().rstrip(".:"):
        return False
    long_words = [w for w in words if len(w) > 3]
    capitalised = sum(w[0].isupper() for w in long_words)
    if len(words) <= 12 and long_words and capitalised / len(long_words) >= 0.6 and not text.endswith((".", "?", "!")):
        return False  # "Drug Withdrawal Symptoms and Timeline"
    if not text.endswith((".", "?", "!", ")", "”", '"')) and len(words) < 10 and text[:1].islower():
        return False  # an image caption ("close up of pills on white background")
    return True


class SentenceJudgements:
    """What the reader judges of a corpus sentence on its own, kept per engine: the same sentences come up for
    many questions (bounded, least recently used out)."""

    def __init__(self, maxsize: int = 65_536) -> None:
        self.is_answer = lru_cache(maxsize=maxsize)(is_answer_sentence)
        self.carries = lru_cache(maxsize=maxsize)(carries_family)


@dataclass(frozen=True)
class Reading:
    """One evidence sentence as the reader judged it for one part of the question."""

    evidence: Evidence
    about: float  # IDF-weighted share of the main focus in the sentence or what it leans on
    focus: float  # ... of every focus phrase
    asks: float  # share of the asked-for attribute's words found in the sentence or its context
    typed: bool | None  # carries an answer of the asked type; None when the type has no shape
    score: float
    main: float = 1.0  # share of the main focus phrase, however common its words


@dataclass(frozen=True)
class ReaderChoice:
    readings: list[Reading]  # best first; empty when the reader abstains
    abstain_reason: str | None = None


class Reader:
    def __init__(
        self,
        retriever: Retriever,
        stems: Callable[[str], frozenset[str]],
        idf: Callable[[str], float],
        is_specific: Callable[[str], bool],
        judgements: SentenceJudgements,
        params: AnsweringParams,
    ) -> None:
        """`is_specific(stem)`: the corpus mentions it rarely enough that checking every mention is meaningful
        (a drug named in two paragraphs, not the subject of every article)."""
        self.retriever = retriever
        self.stems = stems
        self.idf = idf
        self.is_specific = is_specific
        self.judgements = judgements
        self.params = params

    def specific_focus(self, part: QuestionPart) -> dict[str, float]:
        """The rarely mentioned words of the main focus: only about these can the reader say "the corpus has
        nothing on it"; a question about the corpus's general subject is never refused for its focus."""
        return {s: w for s, w in self._weights(part.focus[:1]).items() if self.is_specific(s)}

    def context(self, row: int) -> str:
        """What a sentence is read with: its document's title, its heading, and the sentence before it when it
        refers back (an encyclopedia article's "It is used to treat..." is about the article's subject)."""
        sentence = self.retriever.sentences.units[row]
        parts = [self.retriever.title(sentence.doc_id), sentence.heading or ""]
        leaning = sentence
        for _ in range(_REFERENCE_HOPS):  # "The trial included..." after "This group also found..." after "...Flannery"
            if not _REFERRING_START.match(leaning.text):
                break
            before, _ = self.retriever.sentence_neighbours(row, before=1, after=0)
            if not before:
                break
            row = before[0]
            leaning = self.retriever.sentences.units[row]
            parts.append(leaning.text)
        return " ".join(parts)

    def _weights(self, phrases: tuple[str, ...]) -> dict[str, float]:
        weights: dict[str, float] = {}
        for phrase in phrases:
            for stem in content_stems(phrase):
                weights[stem] = self.idf(stem)
        return weights

    def read(self, ranked: list[Evidence], part: QuestionPart) -> list[Reading]:
        """Every answer-worthy candidate, scored for this part of the question, best first."""
        p = self.params
        main = self.specific_focus(part)
        first = self._weights(part.focus[:1])
        focus = self._weights(part.focus)
        # "how long", "how many": the question's cue, which the answer type already stands for
        asks = self._weights(tuple(a for a in part.asks_for if not a.lower().startswith("how ")))
        shaped = part.answer_type in SHAPED_TYPES
        readings = []
        for e in ranked:
            if not self.judgements.is_answer(e.sentence):
                continue
            around = self.stems(e.sentence.text) | self.stems(self.context(e.row))
            typed = self.judgements.carries(e.sentence.text, family(part)) if shaped else None
            asked = _share(asks, around)
            score = (
                e.score
                + p.reader_focus_weight * _share(focus, around)
                + p.reader_asks_weight * asked
                + (p.reader_type_weight if typed else 0.0)
            )
            readings.append(
                Reading(e, _share(main, around), _share(focus, around), asked, typed, score, _share(first, around))
            )
        readings.sort(key=lambda r: -r.score)
        return readings

    def value_neighbour(self, row: int, part: QuestionPart) -> int | None:
        """The sentence right after `row` when it carries the asked-for value ("...Flannery's study." is followed by
        "The trial included nine men and three women"), else None."""
        _, after = self.retriever.sentence_neighbours(row, before=0, after=1)
        for next_row in after:
            sentence = self.retriever.sentences.units[next_row]
            if self.judgements.is_answer(sentence) and answers_part(sentence.text, part):
                return next_row
        return None

    def _answers(self, reading: Reading, part: QuestionPart) -> bool:
        """The sentence, or the one right after it, holds a span that answers (a count of what was asked about,
        a unit that measures what was asked), not just any figure."""
        if part.answer_type == "person" and reading.asks < 0.5 and reading.evidence.cosine < self.params.reader_name_cosine:
            return False  # a name next to the focus is no answer to "who developed it?" unless it says so (or
            # says it in other words: "synthesized by" for "who invented")
        if reading.typed and answers_part(reading.evidence.sentence.text, part):
            return True
        return self.value_neighbour(reading.evidence.row, part) is not None

    def choose(self, readings: list[Reading], part: QuestionPart) -> ReaderChoice:
        """Keep the readings that answer; abstain, saying why, when none is about the focus or of the asked type."""
        p = self.params
        if not readings:
            return ReaderChoice([], "no sentence of the corpus reads as an answer to this")
        about = [r for r in readings if r.about >= p.reader_min_focus and r.main > 0]
        if not about:
            return ReaderChoice([], f"the corpus has no sentence about {describe(part.focus[:1])}")
        if part.answer_type in SHAPED_TYPES:
            # the cheap shape test ranked them; the answer itself must fit the question (a count of what was
            # asked about, a unit that measures what was asked), so the best few are checked for a real span
            typed = [r for r in about[: p.reader_span_checks] if self._answers(r, part)]
            if not typed and part.answer_type in REFUSABLE_TYPES and (part.answer_type == "person" or self.specific_focus(part)):
                return ReaderChoice(
                    [], f"the corpus mentions {describe(part.focus[:1])} but gives no {TYPE_WORDS[part.answer_type]} "
                    "for it"
                )
            about = typed + [r for r in about if not r.typed]
        best = about[0].score
        return ReaderChoice([r for r in about if r.score >= best - p.reader_score_gap])


def answers_part(text: str, part: QuestionPart) -> bool:
    """The text holds a span of the asked type (or a close one) that fits the question's focus and attribute."""
    return any(best_span(text, kind, part.focus, part.asks_for) is not None for kind in family(part))


def _share(weights: dict[str, float], stems: frozenset[str]) -> float:
    """IDF-weighted share of `weights`' stems found in `stems`; 1.0 when there is nothing to find."""
    total = sum(weights.values())
    return sum(w for s, w in weights.items() if s in stems) / total if total else 1.0


def describe(phrases: tuple[str, ...]) -> str:
    return " / ".join(f"“{p}”" for p in phrases) if phrases else "what is asked"


def with_reader_scores(readings: list[Reading]) -> list[Evidence]:
    """Evidence re-scored by the reader, for the selection step (merging repeats, stopping at the floor)."""
    return [replace(r.evidence, score=r.score, also=[]) for r in readings]
