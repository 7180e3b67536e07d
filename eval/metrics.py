"""Metric plumbing: relevance judgements from expected quotes, rankings for ranx, and the answer-level figures.

Ranking metrics (recall@k, MRR@10, nDCG@10) are computed by ranx from binary judgements. A run lists ids best
first; it is handed to ranx with strictly decreasing scores so that ranx ranks exactly in that order.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

RETRIEVAL_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
RECALL_CURVE_KS = (1, 3, 5, 10, 20)


# --- rankings and ranx


def doc_ranking(passages: Iterable) -> list[str]:
    """Documents in order of their first (best) passage: a document scores as its best chunk."""
    seen: dict[str, None] = {}
    for p in passages:
        seen.setdefault(p.doc_id, None)
    return list(seen)


def ranked_run(ranking: dict[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """{query: [id, ...] best first} -> {query: {id: score}} with strictly decreasing scores (duplicates keep the first)."""
    run: dict[str, dict[str, float]] = {}
    for qid, ids in ranking.items():
        scores: dict[str, float] = {}
        for item in ids:
            if item not in scores:
                scores[item] = float(len(ids) - len(scores))
        run[qid] = scores
    return run


def retrieval_metrics(
    qrels: dict[str, dict[str, int]],
    run: dict[str, dict[str, float]],
    metrics: Sequence[str] = RETRIEVAL_METRICS,
    curve_ks: Sequence[int] = RECALL_CURVE_KS,
) -> dict:
    """Mean metrics over the judged queries (those with at least one relevant id), per-query values, recall curve.

    A judged query missing from `run` counts as retrieving nothing; run entries for unjudged queries are ignored.
    """
    from ranx import Qrels, Run, evaluate

    judged = {q: {d: int(r) for d, r in rels.items()} for q, rels in qrels.items() if any(r > 0 for r in rels.values())}
    if not judged:
        return {"queries": 0, **{m: None for m in metrics}, "recall_curve": {}, "per_query": {}}
    curve = [f"recall@{k}" for k in curve_ks]
    names = list(dict.fromkeys([*metrics, *curve]))
    ranx_qrels = Qrels(judged)
    ranx_run = Run({q: dict(run.get(q, {})) for q in judged})
    means = evaluate(ranx_qrels, ranx_run, names, save_results_in_run=True)
    if len(names) == 1:
        means = {names[0]: means}
    per_query = {q: {m: float(ranx_run.scores[m][q]) for m in metrics} for q in judged}
    return {
        "queries": len(judged),
        **{m: float(means[m]) for m in metrics},
        "recall_curve": {str(k): float(means[f"recall@{k}"]) for k in curve_ks},
        "per_query": per_query,
    }


# --- spans: expected quotes located in the source texts


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


def quote_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Every (possibly overlapping) occurrence of `quote` in `text`."""
    spans, pos = [], text.find(quote) if quote else -1
    while pos >= 0:
        spans.append((pos, pos + len(quote)))
        pos = text.find(quote, pos + 1)
    return spans


def expected_spans(expected_docs: Sequence[str], expected_quotes: Sequence[str], texts: dict[str, str]) -> list[Span]:
    """Where each expected quote occurs in the expected documents."""
    return [
        Span(doc, s, e)
        for doc in expected_docs
        if doc in texts
        for quote in expected_quotes
        for s, e in quote_spans(texts[doc], quote)
    ]


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def relevant_chunk_ids(chunks: Sequence, spans: Sequence[Span]) -> tuple[set[str], int]:
    """Passage judgements: the chunks whose text contains an expected quote.

    A quote cut by a chunk boundary is in no chunk whole; for such a quote the chunks holding the largest part of
    it count instead, so the question stays judged. Returns (chunk ids, number of quotes judged that way).
    """
    by_doc: dict[str, list] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    relevant: set[str] = set()
    split = 0
    for span in spans:
        candidates = by_doc.get(span.doc_id, [])
        whole = [c.chunk_id for c in candidates if c.start <= span.start and span.end <= c.end]
        if whole:
            relevant.update(whole)
            continue
        shared = {c.chunk_id: min(c.end, span.end) - max(c.start, span.start) for c in candidates}
        best = max(shared.values(), default=0)
        if best > 0:
            split += 1
            relevant.update(cid for cid, n in shared.items() if n == best)
    return relevant, split


# --- answers


def citation_on_expected(citation, spans: Sequence[Span]) -> bool:
    """The citation's span overlaps an expected quote's span in the same document."""
    return any(s.doc_id == citation.doc_id and overlaps(citation.start, citation.end, s.start, s.end) for s in spans)


def citation_verbatim(citation, texts: dict[str, str]) -> bool:
    text = texts.get(citation.doc_id)
    return text is not None and 0 <= citation.start < citation.end <= len(text) and text[citation.start : citation.end] == citation.quote


def key_fact_found(answer_text: str, key_fact: str) -> bool:
    return bool(key_fact.strip()) and key_fact.strip().lower() in answer_text.lower()


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool], undefined: float | None = 0.0) -> dict:
    """Positive = abstained, truth = not answerable. A precision or recall without a denominator (nothing abstained,
    nothing unanswerable) is reported as `undefined`: 0 for the gated overall figures, None in per-category tables."""
    tp = sum(1 for a, ok in zip(abstained, answerable) if a and not ok)
    fp = sum(1 for a, ok in zip(abstained, answerable) if a and ok)
    fn = sum(1 for a, ok in zip(abstained, answerable) if not a and not ok)
    precision = tp / (tp + fp) if tp + fp else undefined
    recall = tp / (tp + fn) if tp + fn else undefined
    if precision is None or recall is None:
        f1 = undefined
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_positives": tp, "false_positives": fp,
            "false_negatives": fn}


# --- the reader's figures (issue 14): short answers and the sentences of an answer

# hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus sign, small/full-width hyphen-minus
_DASHES = re.compile(r"\s*[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]\s*")


def normalise_span(text: str) -> str:
    """What exact match compares: NFKC, case-folded, every dash an ASCII hyphen with no space around it, runs of
    whitespace one space, no surrounding whitespace and no trailing sentence punctuation (. , ; :)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_DASHES.sub("-", folded).split()).rstrip(".,;:").rstrip()


def short_answer_exact(expected: str, given: str | None) -> bool:
    """Exact match after `normalise_span`; no short answer is a miss."""
    return given is not None and normalise_span(given) == normalise_span(expected)


def short_answer_f1(expected: str, given: str | None) -> float:
    """Token-overlap F1 (as SQuAD scores spans), tokens split at whitespace and hyphens of the normalised spans:
    partial credit where exact match is all or nothing ("2 of 5" against "2")."""
    if given is None:
        return 0.0
    want, got = _tokens(expected), _tokens(given)
    common = sum((Counter(want) & Counter(got)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s-]+", normalise_span(text)) if t]


def short_answer_verbatim(short_answer, texts: dict[str, str]) -> bool:
    """The short answer's text is its document's text at its span, as every citation's quote must be."""
    text = texts.get(short_answer.doc_id)
    return (text is not None and 0 <= short_answer.start < short_answer.end <= len(text)
            and text[short_answer.start : short_answer.end] == short_answer.text)


def key_fact_in_first_sentence(answer, key_fact: str) -> bool:
    """The first sentence of a given answer (its first `sentences` entry, what a reader sees first) holds the key
    fact; an abstention or an answer without sentences does not."""
    return not answer.abstained and bool(answer.sentences) and key_fact_found(answer.sentences[0].text, key_fact)


def irrelevant_sentences(answer, spans: Sequence[Span], key_fact: str) -> int:
    """Answer sentences that bring nothing expected: none of the citations the sentence carries overlaps an expected
    quote's span (same document, at least one shared character) and its text does not contain the key fact."""
    by_number = {c.n: c for c in answer.citations}
    return sum(
        1
        for s in answer.sentences
        if not any(citation_on_expected(by_number[n], spans) for n in s.citations if n in by_number)
        and not key_fact_found(s.text, key_fact)
    )


def percentiles_ms(seconds: Sequence[float]) -> dict:
    if not seconds:
        return {"p50": None, "p95": None, "n": 0}
    values = np.asarray(seconds, dtype=float) * 1000.0
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1),
            "n": len(values)}


# --- sentence offsets (SciFact-original)


def sentences_overlapping(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the sentences (sorted, non-overlapping (start, end) offsets) that share a character with start:end."""
    starts = [s for s, _ in offsets]
    i = max(0, bisect.bisect_right(starts, start) - 1)
    out = []
    while i < len(offsets) and offsets[i][0] < end:
        if overlaps(offsets[i][0], offsets[i][1], start, end):
            out.append(i)
        i += 1
    return out
