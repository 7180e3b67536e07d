"""Spot cited sentences from different sources that give different dates or amounts for the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from citeqa.index.text import amounts, content_words, years
from citeqa.service.answering.params import AnsweringParams
from citeqa.service.models import Conflict, ConflictValue


@dataclass(frozen=True)
class Claim:
    """A cited sentence as the conflict check sees it."""

    text: str
    doc_id: str
    citations: tuple[int, ...]
    vector: np.ndarray | None = field(default=None, compare=False)


def _same_topic(a: Claim, b: Claim, shared: list[str], params: AnsweringParams) -> bool:
    """With vectors: a shared word and close meaning; without: enough shared words."""
    if a.vector is not None and b.vector is not None:
        return bool(shared) and float(np.dot(a.vector, b.vector)) >= params.conflict_topic_similarity
    return len(shared) >= params.conflict_min_shared_words


def _figures(text: str) -> tuple[set[str], set[str]]:
    return years(text), {f"{number} {unit}" for number, unit in amounts(text)}


def _shared_words(a: str, b: str) -> list[str]:
    """Content words both texts use, as `a` writes them. Figures are left out (they are what differs), and so
    are three-letter words: shared words are counted unweighted here, and "day" (of "mg/day") or "low" would
    make any two dosing sentences look like one topic."""
    wa, wb = (content_words(text, numbers=False, min_chars=4) for text in (a, b))
    return [word for stem, word in wa.items() if stem in wb]


def find_conflicts(claims: list[Claim], params: AnsweringParams = AnsweringParams()) -> list[Conflict]:
    conflicts: list[Conflict] = []
    seen: set[frozenset[tuple[int, ...]]] = set()  # pairs of citations already reported, either way round
    for i, a in enumerate(claims):
        for b in claims[i + 1 :]:
            if a.doc_id == b.doc_id or frozenset((a.citations, b.citations)) in seen:
                continue
            (ya, ma), (yb, mb) = _figures(a.text), _figures(b.text)
            differing = [(kind, fa, fb) for kind, fa, fb in (("date", ya, yb), ("amount", ma, mb)) if fa and fb and fa != fb]
            if not differing:
                continue  # checked first: cheap, and most pairs stop here
            shared = _shared_words(a.text, b.text)
            if not _same_topic(a, b, shared, params):
                continue
            kind, fa, fb = differing[0]
            seen.add(frozenset((a.citations, b.citations)))
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
    return any(_figures(text))
