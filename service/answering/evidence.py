"""Choose the sentences that answer a question from the top passages, and merge repeats across sources."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from citeqa.index.retriever import Hit, Retriever
from citeqa.index.text import LIST_MARKER, REFERENCE_MARKER, content_stems, numbers
from citeqa.index.units import Chunk, Sentence
from citeqa.service.answering.params import AnsweringParams


@dataclass
class Evidence:
    sentence: Sentence
    row: int  # row in the sentence index
    cosine: float
    score: float
    also: list[Evidence] = field(default_factory=list)  # near-duplicates from other places, cited too

    @property
    def numbers(self) -> set[str]:
        return numbers(self.sentence.text)


def display_text(sentence: Sentence) -> str:
    """How a sentence reads in an answer: reference markers dropped, list items joined, spaces tidied."""
    text = sentence.text
    if sentence.kind == "list":
        lines = [ln for ln in text.splitlines() if ln.strip()]
        lead = lines[0].strip()
        items = [LIST_MARKER.sub("", ln).strip() for ln in lines[1:]]
        if LIST_MARKER.match(lines[0]):
            lead, items = "", [LIST_MARKER.sub("", ln).strip() for ln in lines]
        if lead and not lead.endswith(":"):
            lead += ":"
        text = f"{lead} {', '.join(items)}".strip()
        if not text.endswith((".", "!", "?")):
            text += "."
    text = REFERENCE_MARKER.sub("", text)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


class StemCache:
    """Content stems of a text, computed once and kept (bounded, least recently used out).

    Ranking reads the same corpus sentences and headings for many questions; stemming them afresh for each
    answer was the largest Python cost of `/v1/ask` (about 2 ms of its 4.7 ms of Python).
    """

    def __init__(self, maxsize: int = 200_000) -> None:
        self._stems = lru_cache(maxsize=maxsize)(content_stems)

    def __call__(self, text: str) -> frozenset[str]:
        return self._stems(text)


def collect_candidates(
    retriever: Retriever,
    question: str,
    query_vector: np.ndarray,
    passages: list[Hit[Chunk]],
    params: AnsweringParams,
) -> dict[int, float]:
    """Sentence rows inside the top passages plus the best sentences overall, with a passage-rank boost."""
    boost: dict[int, float] = {}
    for rank, hit in enumerate(passages, start=1):
        chunk = hit.unit
        for row in retriever.sentence_rows_within(chunk.doc_id, chunk.start, chunk.end):
            boost[row] = max(boost.get(row, 0.0), params.passage_weight / rank)
    for hit in retriever.search_sentences(question, params.sentence_candidates, "hybrid", query_vector):
        boost.setdefault(retriever.sentence_rows[hit.unit.sentence_id], 0.0)
    return boost


def rank_evidence(
    retriever: Retriever,
    question: str,
    query_vector: np.ndarray,
    candidates: dict[int, float],
    idf: Callable[[str], float],
    stems: Callable[[str], frozenset[str]],
    params: AnsweringParams,
) -> list[Evidence]:
    """Cosine to the question plus IDF-weighted word overlap (the heading's words count less)."""
    q_weights = {stem: idf(stem) for stem in content_stems(question)}
    total = sum(q_weights.values())
    rows = list(candidates)
    if not rows:
        return []
    cosines = np.asarray(retriever.sentences.vectors[rows], dtype=np.float32) @ query_vector
    ranked = []
    for row, cosine in zip(rows, cosines):
        sentence = retriever.sentences.units[row]
        own = stems(sentence.text)
        context = stems(sentence.heading or "") - own
        matched = sum(w for s, w in q_weights.items() if s in own) + params.heading_weight * sum(
            w for s, w in q_weights.items() if s in context
        )
        lexical = matched / total if total else 0.0
        score = float(cosine) + params.lexical_weight * lexical + candidates[row]
        ranked.append(Evidence(sentence, row, float(cosine), score))
    ranked.sort(key=lambda e: -e.score)
    return ranked


def select_evidence(
    ranked: list[Evidence], retriever: Retriever, max_sentences: int, params: AnsweringParams
) -> list[Evidence]:
    """Best sentences first; a near-duplicate of a chosen sentence becomes an extra citation of it."""
    if not ranked:
        return []
    floor = ranked[0].score - params.relative_floor
    min_similarity, duplicate_similarity = params.min_sentence_similarity, params.duplicate_similarity
    chosen: list[Evidence] = []
    for candidate in ranked:
        if candidate.score < floor or candidate.cosine < min_similarity:
            break
        if any(candidate.sentence.sentence_id == c.sentence.sentence_id for c in chosen):
            continue
        if candidate.sentence.kind == "sentence" and candidate.sentence.text.rstrip().endswith(":"):
            continue  # a lead-in ("...follows a pattern:") says nothing without what follows
        twin = _near_duplicate(candidate, chosen, retriever, duplicate_similarity)
        if twin is not None:
            if twin.sentence.doc_id != candidate.sentence.doc_id:
                twin.also.append(candidate)
            continue
        if _overlaps(candidate, chosen):
            continue
        if len(chosen) < max_sentences:
            chosen.append(candidate)
    return chosen


def _overlaps(candidate: Evidence, chosen: list[Evidence]) -> bool:
    s = candidate.sentence
    return any(c.sentence.doc_id == s.doc_id and c.sentence.start < s.end and s.start < c.sentence.end for c in chosen)


def _near_duplicate(
    candidate: Evidence, chosen: list[Evidence], retriever: Retriever, threshold: float
) -> Evidence | None:
    """Same fact, same figures: sentences that differ in their numbers are never merged (that is a conflict)."""
    vectors = retriever.sentences.vectors
    for c in chosen:
        similarity = float(np.dot(vectors[candidate.row], vectors[c.row]))
        if similarity >= threshold and candidate.numbers == c.numbers:
            return c
    return None
