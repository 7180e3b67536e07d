"""Bootstrap 95% intervals for the eval figures: a percentile bootstrap over questions.

A figure such as "key fact in answer 0.546" over 100 questions is about ±0.1 at 95%, so a default must not be
chosen on a one-question difference; every rate in a report therefore carries its interval.

Each figure is written as a ratio of sums over questions: a question contributes a numerator and a denominator
(key fact found: 1 of 1 when answerable, 0 of 0 otherwise; citation precision: its citations on an expected
quote of all its citations). Resampling the questions and recomputing the ratio gives the interval, so pooled
figures (abstention precision, citation precision) are resampled whole, never averaged per question.
The resampling is scipy.stats.bootstrap's (percentile method); resamples in which a figure has no question in its
denominator (a small category drawn without an answerable question) are left out of that figure's percentiles.
The seed is fixed, so a report is reproducible.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
METHOD = (f"percentile bootstrap over questions ({RESAMPLES} resamples of scipy.stats.bootstrap, seed {SEED}), "
          f"{CONFIDENCE:.0%}")

# A question's (numerator, denominator) for one figure; (0, 0) when the figure is not taken over it.
Contribution = Callable[[dict], tuple[float, float]]
Interval = tuple[float, float]


def share(member: Callable[[dict], bool], value: Callable[[dict], float]) -> Contribution:
    """The mean of `value` (True counts 1) over the questions `member` accepts."""
    return lambda r: (float(value(r)), 1.0) if member(r) else (0.0, 0.0)


def pooled(member: Callable[[dict], bool], numerator: Callable[[dict], float],
           denominator: Callable[[dict], float]) -> Contribution:
    """Sums pooled over the questions `member` accepts (citations, sentences): sum of numerators / sum of
    denominators."""
    return lambda r: (float(numerator(r)), float(denominator(r))) if member(r) else (0.0, 0.0)


# --- the question set: which questions each figure is taken over (runner.Groups, DEFINITIONS in report.py)


def _answerable(r: dict) -> bool:
    return r["answerable"]


def _given(r: dict) -> bool:
    return r["answerable"] and not r["abstained"]


def _refusable(r: dict) -> bool:
    return r["answerable"] and not r["abstention_acceptable"]


def _judged(r: dict) -> bool:  # abstention figures leave out questions whose abstention is acceptable
    return not r["abstention_acceptable"]


def _everyone(r: dict) -> bool:
    return True


def _right_abstention(r: dict) -> bool:
    return r["abstained"] and not r["answerable"]


def _retrieval(level: str, metric: str) -> Contribution:
    return share(lambda r: f"{level}_retrieval" in r, lambda r: r[f"{level}_retrieval"][metric])


# dotted summary key -> contribution; every rate of runner.summarize with its questions
QUESTION_FIGURES: dict[str, Contribution] = {
    "answer.key_fact_rate": share(_answerable, lambda r: r["key_fact"]),
    "answer.key_fact_first_sentence_rate": share(_answerable, lambda r: r["key_fact_first_sentence"]),
    "answer.short_answer_exact_match": share(lambda r: "short_answer_expected" in r,
                                             lambda r: r["short_answer_exact"]),
    "answer.short_answer_f1": share(lambda r: "short_answer_expected" in r, lambda r: r["short_answer_f1"]),
    "answer.short_answer_verbatim_rate": share(lambda r: r["short_answer"] is not None,
                                               lambda r: r["short_answer_verbatim"]),
    "answer.irrelevant_sentences_per_answer": share(_given, lambda r: r["irrelevant_sentences"]),
    "answer.irrelevant_sentence_share": pooled(_given, lambda r: r["irrelevant_sentences"],
                                               lambda r: r["sentences"]),
    "answer.expected_doc_citation_rate": share(_answerable, lambda r: r["cites_expected_doc"]),
    "answer.all_expected_docs_cited_rate": share(_answerable, lambda r: r["cites_all_expected_docs"]),
    "answer.citation_precision": pooled(_answerable, lambda r: r["citations_on_expected"],
                                        lambda r: r["citations"]),
    "answer.citation_verbatim_rate": pooled(_everyone, lambda r: r["citations_verbatim"], lambda r: r["citations"]),
    "answer.answered_rate": share(_answerable, lambda r: not r["abstained"]),
    "answer.wrong_refusal_rate": share(_refusable, lambda r: r["abstained"]),
    # positive = abstained, truth = not answerable; F1 = 2TP / (2TP + FP + FN) = 2TP / (abstained + unanswerable)
    "abstention.precision": pooled(_judged, _right_abstention, lambda r: r["abstained"]),
    "abstention.recall": pooled(_judged, _right_abstention, lambda r: not r["answerable"]),
    "abstention.f1": pooled(_judged, lambda r: 2 * _right_abstention(r),
                            lambda r: r["abstained"] + (not r["answerable"])),
    **{f"retrieval.{level}.{m}": _retrieval(level, m) for level in ("document", "passage")
       for m in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")},
}

# runner.by_category key -> contribution
CATEGORY_FIGURES: dict[str, Contribution] = {
    "key_fact_rate": QUESTION_FIGURES["answer.key_fact_rate"],
    "key_fact_first_sentence_rate": QUESTION_FIGURES["answer.key_fact_first_sentence_rate"],
    "short_answer_exact_match": QUESTION_FIGURES["answer.short_answer_exact_match"],
    "expected_doc_citation_rate": QUESTION_FIGURES["answer.expected_doc_citation_rate"],
    "document_recall@5": share(_answerable, lambda r: r.get("document_retrieval", {}).get("recall@5", 0.0)),
    "irrelevant_sentences_per_answer": QUESTION_FIGURES["answer.irrelevant_sentences_per_answer"],
    "abstention_precision": QUESTION_FIGURES["abstention.precision"],
    "abstention_recall": QUESTION_FIGURES["abstention.recall"],
    "wrong_refusal_rate": QUESTION_FIGURES["answer.wrong_refusal_rate"],
}

# SciFact claims (eval/scifact.py): evidence claims and NEI claims
SCIFACT_FIGURES: dict[str, Contribution] = {
    "evidence_answered_rate": share(lambda r: r["evidence"], lambda r: not r["abstained"]),
    "evidence_abstention_rate": share(lambda r: r["evidence"], lambda r: r["abstained"]),
    "document_hit_rate": share(lambda r: r["evidence"], lambda r: r["cites_evidence_doc"]),
    "sentence_hit_rate": share(lambda r: r["evidence"], lambda r: r["citations_on_gold"] > 0),
    "sentence_citation_precision": pooled(lambda r: r["evidence"], lambda r: r["citations_on_gold"],
                                          lambda r: r["citations"]),
    "sentence_citation_recall": pooled(lambda r: r["evidence"], lambda r: r["gold_sentences_cited"],
                                       lambda r: r["gold_sentences"]),
    "citation_verbatim_rate": pooled(_everyone, lambda r: r["citations_verbatim"], lambda r: r["citations"]),
    "nei_abstention_rate": share(lambda r: not r["evidence"], lambda r: r["abstained"]),
}


# --- arrays and the bootstrap


def contributions(records: Sequence[dict], figures: Mapping[str, Contribution]) -> tuple[np.ndarray, np.ndarray]:
    """(numerators, denominators), each figures x questions. A figure whose per-question fields a record lacks
    (a report written before the figure existed) gets no denominator at all, so it stays undefined."""
    num = np.zeros((len(figures), len(records)))
    den = np.zeros((len(figures), len(records)))
    for i, contribution in enumerate(figures.values()):
        try:
            for j, record in enumerate(records):
                num[i, j], den[i, j] = contribution(record)
        except KeyError:
            num[i], den[i] = 0.0, 0.0
    return num, den


def ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Sum of numerators / sum of denominators along the last axis; NaN where nothing is in the denominator."""
    n, d = num.sum(axis=-1), den.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)


def resample_counts(n: int, statistic: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The bootstrap distribution of `statistic(counts)`, where counts (resamples x n) says how often each of the
    n questions was drawn; `statistic` returns figures x resamples. Drawn by scipy.stats.bootstrap."""
    from scipy.stats import DegenerateDataWarning, bootstrap

    def on_indices(indices: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.atleast_2d(indices.astype(int))
        counts = np.zeros((idx.shape[0], n))
        np.add.at(counts, (np.arange(idx.shape[0])[:, None], idx), 1.0)
        out = statistic(counts)
        return out[:, 0] if indices.ndim == 1 else out

    with warnings.catch_warnings():
        # a figure equal in every resample (citations verbatim: always 1) is an interval of one point, not a problem
        warnings.simplefilter("ignore", DegenerateDataWarning)
        result = bootstrap((np.arange(n),), on_indices, vectorized=True, paired=False, method="percentile",
                           n_resamples=RESAMPLES, confidence_level=CONFIDENCE, rng=SEED, batch=500)
    return np.atleast_2d(result.bootstrap_distribution)


def percentile_interval(distribution: np.ndarray) -> Interval | None:
    """The central CONFIDENCE interval of one figure's resampled values, undefined resamples left out."""
    defined = distribution[~np.isnan(distribution)]
    if not defined.size:
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_intervals(num: np.ndarray, den: np.ndarray) -> list[Interval | None]:
    """The interval of each figure's ratio of sums (rows of `num` / `den`, questions along the columns)."""
    k, n = num.shape
    if n < 2:
        return [None] * k
    distribution = resample_counts(n, lambda counts: _weighted_ratios(counts, num, den))
    point = ratios(num, den)
    return [None if np.isnan(point[i]) else percentile_interval(distribution[i]) for i in range(k)]


def _weighted_ratios(counts: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """figures x resamples: each resample's ratio of sums, a question counted as often as it was drawn."""
    n, d = num @ counts.T, den @ counts.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)


def intervals(records: Sequence[dict], figures: Mapping[str, Contribution]) -> dict[str, list[float] | None]:
    """{figure: [low, high]} (None where the figure is undefined), ready for JSON."""
    num, den = contributions(records, figures)
    found = bootstrap_intervals(num, den)
    return {key: None if iv is None else [round(iv[0], 4), round(iv[1], 4)] for key, iv in zip(figures, found)}


def question_intervals(records: Sequence[dict]) -> dict[str, list[float] | None]:
    return intervals(records, QUESTION_FIGURES)


def category_intervals(records: Sequence[dict]) -> dict[str, list[float] | None]:
    return intervals(records, CATEGORY_FIGURES)


def scifact_intervals(claims: Sequence[dict]) -> dict[str, list[float] | None]:
    return intervals(claims, SCIFACT_FIGURES)


def beir_intervals(mode_result: dict, metrics: Sequence[str]) -> dict[str, list[float] | None]:
    """Intervals of a BEIR mode's mean metrics over its judged queries (`per_query` of retrieval_metrics)."""
    per_query = list(mode_result.get("per_query", {}).values())
    return intervals(per_query, {m: share(_everyone, lambda r, m=m: r[m]) for m in metrics})


__all__ = ["CATEGORY_FIGURES", "CONFIDENCE", "METHOD", "QUESTION_FIGURES", "RESAMPLES", "SCIFACT_FIGURES",
           "beir_intervals", "bootstrap_intervals", "category_intervals", "contributions", "intervals",
           "percentile_interval", "pooled", "question_intervals", "ratios", "resample_counts", "scifact_intervals",
           "share"]
