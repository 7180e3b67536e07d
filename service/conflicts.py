"""Spot cited sentences from different sources that give different dates or amounts for the same thing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import Stemmer

from service.abstention import STOPWORDS, tokens
from service.models import Conflict, ConflictValue

_YEAR = re.compile(r"(?<![\d.])(1[89]\d\d|20\d\d)(?![\d.])")
_AMOUNT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?(mg|mcg|g|ml|hours?|days?|weeks?|months?|years?|%)\b", re.I)
MIN_SHARED_WORDS = 2  # without vectors, two sentences are about the same thing when they share this many words
MIN_TOPIC_SIMILARITY = 0.5  # with vectors, they must also be this close in meaning


@dataclass(frozen=True)
class Claim:
    """A cited sentence as the conflict check sees it."""

    text: str
    doc_id: str
    citations: tuple[int, ...]
    vector: np.ndarray | None = field(default=None, compare=False)


def _same_topic(a: Claim, b: Claim, shared: list[str]) -> bool:
    if a.vector is not None and b.vector is not None:
        return bool(shared) and float(np.dot(a.vector, b.vector)) >= MIN_TOPIC_SIMILARITY
    return len(shared) >= MIN_SHARED_WORDS


def _figures(text: str) -> tuple[set[str], set[str]]:
    years = set(_YEAR.findall(text))
    amounts = {f"{n} {u.lower().rstrip('s')}" for n, u in _AMOUNT.findall(text)}
    return years, amounts


def _shared_words(a: str, b: str, stemmer: Stemmer.Stemmer) -> list[str]:
    def words(text: str) -> dict[str, str]:
        out = {}
        for t in tokens(text):
            lowered = t.lower()
            if lowered not in STOPWORDS and len(lowered) > 3 and not lowered[0].isdigit():
                out.setdefault(stemmer.stemWord(lowered), lowered)
        return out

    wa, wb = words(a), words(b)
    return [wa[s] for s in wa if s in wb]


def find_conflicts(claims: list[Claim]) -> list[Conflict]:
    stemmer = Stemmer.Stemmer("english")
    conflicts: list[Conflict] = []
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    for i, a in enumerate(claims):
        for b in claims[i + 1 :]:
            if a.doc_id == b.doc_id or (a.citations, b.citations) in seen:
                continue
            (ya, ma), (yb, mb) = _figures(a.text), _figures(b.text)
            differing = [(kind, fa, fb) for kind, fa, fb in (("date", ya, yb), ("amount", ma, mb)) if fa and fb and fa != fb]
            if not differing:
                continue  # checked first: cheap, and most pairs stop here
            shared = _shared_words(a.text, b.text, stemmer)
            if not _same_topic(a, b, shared):
                continue
            kind, fa, fb = differing[0]
            seen.add((a.citations, b.citations))
            conflicts.append(
                Conflict(
                    topic=f"{kind} ({', '.join(shared[:3])})",
                    values=[
                        ConflictValue(value=", ".join(sorted(fa)), citations=list(a.citations)),
                        ConflictValue(value=", ".join(sorted(fb)), citations=list(b.citations)),
                    ],
                )
            )
    return conflicts


def has_figures(text: str) -> bool:
    years, amounts = _figures(text)
    return bool(years or amounts)
