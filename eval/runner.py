"""Evaluate an Engine on a question set (eval/questions.jsonl): retrieval through `Engine.search`, answers
through `Engine.answer`, exactly as a user or the HTTP API would call them.

Every question is asked once; the figures are then summarised over all of them and over each part of the fixed
dev/test split (eval/split.py) present, so the parts are read side by side from one run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from tqdm import tqdm

from citeqa.eval.metrics import (
    RETRIEVAL_METRICS,
    Span,
    abstention_scores,
    citation_on_expected,
    citation_verbatim,
    doc_ranking,
    expected_spans,
    irrelevant_sentences,
    key_fact_found,
    key_fact_in_first_sentence,
    percentiles_ms,
    ranked_run,
    ratio,
    relevant_chunk_ids,
    retrieval_metrics,
    short_answer_exact,
    short_answer_f1,
    short_answer_verbatim,
)
from citeqa.eval.intervals import category_intervals, question_intervals
from citeqa.eval.split import PARTS, part_of

# shipped inside the installed package, wherever that is (a wheel installs unzipped, so this is a file on disk)
DEFAULT_SET = Path(files("citeqa.eval") / "questions.jsonl")
FIELDS = ("id", "question", "expected_docs", "expected_quotes", "key_fact", "category", "answerable")
# Optional fields:
# - short_answer: the minimal span that answers, verbatim inside an expected quote, for numbers, doses, dates,
#   durations and names. A quantity keeps its unit and any bound that changes it ("60 mg/day", "more than 33%",
#   "between 15 mg and 80 mg per day"), not hedges ("roughly"); a count is the number alone ("62") unless the
#   question asks for a breakdown ("nine men and three women"); a date as written ("1977", "1970s"); a name
#   without title or "et al." ("Norman Bowery", "Gerra, Zaimovic, Giusti").
# - abstention_acceptable: true for false premises (the corpus contradicts the question): the correcting
#   sentence is the expected answer, abstaining is not counted wrong (left out of abstention P/R, wrong refusals).
# Categories (tests/eval/test_questions.py): fact, number/date, list, comparison, multi-document,
# conflicting-sources, unanswerable, and the ways people ask: lay, typo, how-many, who, when, two-part,
# false-premise, near-miss-unanswerable (on topic, names what the corpus names, asks what it does not give).


def load_questions(path: Path = DEFAULT_SET) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc})") from exc
            missing = [f for f in FIELDS if f not in row]
            if missing:
                raise ValueError(f"{path}:{lineno}: question {row.get('id')!r} lacks {', '.join(missing)}")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no questions")
    return rows


def corpus_texts(engine) -> dict[str, str]:
    """The indexed documents' texts, read from disk here rather than taken from the engine, for the verbatim check."""
    texts = {}
    for record in engine.retriever.manifest.documents:
        path = Path(engine.settings.corpus_dir) / record.file
        try:
            texts[record.doc_id] = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return texts


@dataclass
class Rankings:
    """Per-question judgements, rankings and timings, kept out of the JSON records so any subset can be scored."""

    doc_qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    passage_qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    doc_rank: dict[str, list[str]] = field(default_factory=dict)
    passage_rank: dict[str, list[str]] = field(default_factory=dict)
    search_s: dict[str, float] = field(default_factory=dict)
    answer_s: dict[str, float] = field(default_factory=dict)

    def retrieval(self, ids: set[str]) -> tuple[dict, dict]:
        """(document level, passage level) ranx figures over the questions `ids`."""
        def only(d: dict) -> dict:
            return {q: v for q, v in d.items() if q in ids}

        return (retrieval_metrics(only(self.doc_qrels), ranked_run(only(self.doc_rank))),
                retrieval_metrics(only(self.passage_qrels), ranked_run(only(self.passage_rank))))


def evaluate_engine(
    engine,
    questions: list[dict],
    retrieval_mode: str | None = None,
    progress: bool = True,
    label: str | None = None,
) -> dict:
    """Run every question through search and answer; returns the summary over all questions, one per split part
    present ("splits"), and per-question records."""
    mode = retrieval_mode or engine.settings.retrieval_mode
    depth = max(10, engine.settings.candidate_k)  # so hybrid fuses the same candidate lists as a default query
    texts = corpus_texts(engine)
    chunks = engine.retriever.chunks.units
    rankings = Rankings()
    records: list[dict] = []

    for q in tqdm(questions, desc=label or f"eval {mode}", unit="q", disable=not progress, leave=False):
        qid = q["id"]
        spans = expected_spans(q["expected_docs"], q["expected_quotes"], texts)
        t0 = time.perf_counter()
        passages = engine.search(q["question"], k=depth, mode=mode)
        rankings.search_s[qid] = time.perf_counter() - t0
        t0 = time.perf_counter()
        answer = engine.answer(q["question"], retrieval_mode=mode)
        rankings.answer_s[qid] = time.perf_counter() - t0

        record = answer_record(q, answer, texts, spans)
        record["latency_ms"] = round(rankings.answer_s[qid] * 1000, 1)
        if q["answerable"]:
            relevant, split = relevant_chunk_ids(chunks, spans)
            rankings.doc_qrels[qid] = {d: 1 for d in q["expected_docs"]}
            if relevant:
                rankings.passage_qrels[qid] = {cid: 1 for cid in relevant}
            rankings.doc_rank[qid] = doc_ranking(passages)
            rankings.passage_rank[qid] = [p.chunk_id for p in passages]
            record.update(judged_passages=len(relevant), quotes_cut_by_chunks=split)
        records.append(record)

    doc_metrics, passage_metrics = rankings.retrieval({r["id"] for r in records})
    for r in records:
        if r["id"] in doc_metrics["per_query"]:
            r["document_retrieval"] = doc_metrics["per_query"][r["id"]]
        if r["id"] in passage_metrics["per_query"]:
            r["passage_retrieval"] = passage_metrics["per_query"][r["id"]]
    base = {"label": label or mode, "retrieval_mode": mode, "chunk_size": engine.settings.chunk_size,
            "chunk_overlap": engine.settings.chunk_overlap, "passage_depth": depth}
    splits = {part: summarize([r for r in records if r["split"] == part], rankings, base)
              for part in PARTS if any(r["split"] == part for r in records)}
    return {"summary": summarize(records, rankings, base), "splits": splits, "questions": records}


def answer_record(q: dict, answer, texts: dict[str, str], spans: list[Span]) -> dict:
    """What one answer to question `q` earned, as the JSON record of the question (`spans`: where its expected
    quotes are in `texts`); retrieval figures and latency are added by the caller."""
    record = {"id": q["id"], "split": part_of(q["id"]), "category": q["category"], "question": q["question"],
              "answerable": q["answerable"], "abstention_acceptable": bool(q.get("abstention_acceptable")),
              "expected_docs": q["expected_docs"], "expected_quotes": q["expected_quotes"],
              "expected_key_fact": q["key_fact"], "abstained": answer.abstained, "answer": answer.answer,
              "reason": answer.reason}
    if q["answerable"]:
        cited = {c.doc_id for c in answer.citations}
        record.update(
            key_fact=key_fact_found(answer.answer, q["key_fact"]),
            key_fact_first_sentence=key_fact_in_first_sentence(answer, q["key_fact"]),
            cites_expected_doc=bool(cited & set(q["expected_docs"])),
            cites_all_expected_docs=set(q["expected_docs"]) <= cited,
            citations_on_expected=sum(citation_on_expected(c, spans) for c in answer.citations),
            sentences=len(answer.sentences),
            irrelevant_sentences=irrelevant_sentences(answer, spans, q["key_fact"]),
        )
    short = answer.short_answer
    if q.get("short_answer") is not None:
        record.update(
            short_answer_expected=q["short_answer"],
            short_answer_exact=short_answer_exact(q["short_answer"], short.text if short else None),
            short_answer_f1=round(short_answer_f1(q["short_answer"], short.text if short else None), 4),
        )
    record.update(
        short_answer=None if short is None else short.text,
        short_answer_verbatim=None if short is None else short_answer_verbatim(short, texts),
        citations=len(answer.citations),
        citations_verbatim=sum(citation_verbatim(c, texts) for c in answer.citations),
        cited=[f"{c.doc_id}:{c.start}-{c.end}" for c in answer.citations],
    )
    return record


KEY_FACT_MISSING = "key fact missing"
REFUSED = "refused though answerable"
NOT_ABSTAINED = "should have abstained"


def failure(record: dict) -> str | None:
    """Why a question fails, or None when it passes: an answerable question fails when its answer lacks the key
    fact or it was refused (unless abstaining is acceptable: a false premise); an unanswerable one when answered."""
    if not record["answerable"]:
        return None if record["abstained"] else NOT_ABSTAINED
    if record["abstained"]:
        return None if record["abstention_acceptable"] else REFUSED
    return None if record["key_fact"] else KEY_FACT_MISSING


@dataclass(frozen=True)
class Groups:
    """The questions each answer figure is taken over (see DEFINITIONS in eval/report.py)."""

    answerable: list[dict]
    given: list[dict]  # answerable and answered
    refusable: list[dict]  # answerable, and abstaining would be wrong
    with_short: list[dict]  # with an expected short answer
    judged_abstention: list[dict]  # all but those whose abstention is acceptable

    @classmethod
    def of(cls, records: list[dict]) -> Groups:
        answerable = [r for r in records if r["answerable"]]
        return cls(answerable, [r for r in answerable if not r["abstained"]],
                   [r for r in answerable if not r["abstention_acceptable"]],
                   [r for r in records if "short_answer_expected" in r],
                   [r for r in records if not r["abstention_acceptable"]])


def mean(rows: list[dict], key: str) -> float | None:
    """The mean of a per-question figure (True counts 1) over `rows`; None over no rows."""
    return ratio(sum(r[key] for r in rows), len(rows))


def summarize(records: list[dict], rankings: Rankings, base: dict) -> dict:
    """The figures over `records` (all questions or one split part; each record already holds its per-question
    retrieval figures). What each figure means: `DEFINITIONS` in eval/report.py, listed in every markdown report."""
    ids = {r["id"] for r in records}
    doc_metrics, passage_metrics = rankings.retrieval(ids)
    g = Groups.of(records)
    short_given = [r for r in records if r["short_answer"] is not None]
    all_citations = sum(r["citations"] for r in records)
    parts = sorted({r["split"] for r in records})
    return {
        **base,
        "split": parts[0] if len(parts) == 1 else "all",
        "questions": len(records),
        "answerable": len(g.answerable),
        "retrieval": {
            "document": {k: v for k, v in doc_metrics.items() if k != "per_query"},
            "passage": {**{k: v for k, v in passage_metrics.items() if k != "per_query"},
                        "unjudged_questions": len(ids & rankings.doc_qrels.keys())
                        - len(ids & rankings.passage_qrels.keys()),
                        "split_quotes": sum(r.get("quotes_cut_by_chunks", 0) for r in records)},
        },
        "answer": {
            "expected_doc_citation_rate": mean(g.answerable, "cites_expected_doc"),
            "all_expected_docs_cited_rate": mean(g.answerable, "cites_all_expected_docs"),
            "key_fact_rate": mean(g.answerable, "key_fact"),
            "key_fact_first_sentence_rate": mean(g.answerable, "key_fact_first_sentence"),
            "short_answer_exact_match": mean(g.with_short, "short_answer_exact"),
            "short_answer_f1": mean(g.with_short, "short_answer_f1"),
            "short_answer_questions": len(g.with_short),
            "short_answers_given": len(short_given),
            "short_answer_verbatim_rate": mean(short_given, "short_answer_verbatim"),
            "irrelevant_sentences_per_answer": mean(g.given, "irrelevant_sentences"),
            "irrelevant_sentence_share": ratio(sum(r["irrelevant_sentences"] for r in g.given),
                                               sum(r["sentences"] for r in g.given)),
            "citation_precision": ratio(sum(r["citations_on_expected"] for r in g.answerable),
                                        sum(r["citations"] for r in g.answerable)),
            "citation_verbatim_rate": ratio(sum(r["citations_verbatim"] for r in records), all_citations),
            "citations": all_citations,
            "answered_rate": ratio(len(g.given), len(g.answerable)),
            "wrong_refusal_rate": mean(g.refusable, "abstained"),
        },
        "abstention": abstention_scores([r["abstained"] for r in g.judged_abstention],
                                        [r["answerable"] for r in g.judged_abstention]),
        "latency_ms": {"answer": percentiles_ms([rankings.answer_s[i] for i in ids if i in rankings.answer_s]),
                       "search": percentiles_ms([rankings.search_s[i] for i in ids if i in rankings.search_s])},
        "by_category": by_category(records),
        "intervals": question_intervals(records),  # bootstrap 95% interval of every rate above, by dotted key
    }


def by_category(records: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for category in sorted({r["category"] for r in records}):
        rows = [r for r in records if r["category"] == category]
        g = Groups.of(rows)
        abstention = abstention_scores([r["abstained"] for r in g.judged_abstention],
                                       [r["answerable"] for r in g.judged_abstention], undefined=None)
        out[category] = {
            "questions": len(rows),
            "answerable": len(g.answerable),
            "abstained": sum(r["abstained"] for r in rows),
            "key_fact_rate": mean(g.answerable, "key_fact"),
            "key_fact_first_sentence_rate": mean(g.answerable, "key_fact_first_sentence"),
            "short_answer_exact_match": mean(g.with_short, "short_answer_exact"),
            "expected_doc_citation_rate": mean(g.answerable, "cites_expected_doc"),
            "document_recall@5": ratio(sum(r.get("document_retrieval", {}).get("recall@5", 0) for r in g.answerable),
                                       len(g.answerable)),
            "irrelevant_sentences_per_answer": mean(g.given, "irrelevant_sentences"),
            "abstention_precision": abstention["precision"],
            "abstention_recall": abstention["recall"],
            "wrong_refusal_rate": mean(g.refusable, "abstained"),
            "intervals": category_intervals(rows),
        }
    return out


# (column, dotted key in a summary) of a comparison table
HEADLINE = (
    ("doc R@1", "retrieval.document.recall@1"), ("doc R@5", "retrieval.document.recall@5"),
    ("doc MRR@10", "retrieval.document.mrr@10"), ("doc nDCG@10", "retrieval.document.ndcg@10"),
    ("psg R@1", "retrieval.passage.recall@1"), ("psg R@5", "retrieval.passage.recall@5"),
    ("psg R@10", "retrieval.passage.recall@10"), ("psg MRR@10", "retrieval.passage.mrr@10"),
    ("psg nDCG@10", "retrieval.passage.ndcg@10"),
    ("key fact", "answer.key_fact_rate"), ("key fact 1st", "answer.key_fact_first_sentence_rate"),
    ("short EM", "answer.short_answer_exact_match"), ("cites exp. doc", "answer.expected_doc_citation_rate"),
    ("cit. precision", "answer.citation_precision"), ("verbatim", "answer.citation_verbatim_rate"),
    ("irrel./answer", "answer.irrelevant_sentences_per_answer"),
    ("abst. P", "abstention.precision"), ("abst. R", "abstention.recall"), ("abst. F1", "abstention.f1"),
    ("wrong refusals", "answer.wrong_refusal_rate"),
    ("p50 ms", "latency_ms.answer.p50"), ("p95 ms", "latency_ms.answer.p95"),
)


def figure(summary: dict, dotted: str):
    """The value at a dotted key of a summary; None when absent (a report written before the figure existed)."""
    node = summary
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def headline(summary: dict) -> dict[str, float | None]:
    """The flat figures a comparison table shows (latency rounded to whole milliseconds)."""
    return {column: _ms(figure(summary, key)) if key.startswith("latency_ms.") else figure(summary, key)
            for column, key in HEADLINE}


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


__all__ = ["DEFAULT_SET", "HEADLINE", "RETRIEVAL_METRICS", "answer_record", "evaluate_engine", "failure", "figure",
           "headline", "load_questions", "summarize"]
