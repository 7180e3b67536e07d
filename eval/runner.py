"""Evaluate an Engine on a question set (eval/questions.jsonl): retrieval through `Engine.search`, answers
through `Engine.answer`, exactly as a user or the HTTP API would call them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm import tqdm

from citeqa.settings import PROJECT_ROOT
from eval.metrics import (
    RETRIEVAL_METRICS,
    abstention_scores,
    citation_on_expected,
    citation_verbatim,
    doc_ranking,
    expected_spans,
    key_fact_found,
    percentiles_ms,
    ranked_run,
    ratio,
    relevant_chunk_ids,
    retrieval_metrics,
)

DEFAULT_SET = PROJECT_ROOT / "eval" / "questions.jsonl"
FIELDS = ("id", "question", "expected_docs", "expected_quotes", "key_fact", "category", "answerable")


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


def evaluate_engine(
    engine,
    questions: list[dict],
    retrieval_mode: str | None = None,
    progress: bool = True,
    label: str | None = None,
) -> dict:
    """Run every question through search and answer; returns summary figures and per-question records."""
    mode = retrieval_mode or engine.settings.retrieval_mode
    depth = max(10, engine.settings.candidate_k)  # so hybrid fuses the same candidate lists as a default query
    texts = corpus_texts(engine)
    chunks = engine.retriever.chunks.units
    doc_qrels: dict[str, dict[str, int]] = {}
    passage_qrels: dict[str, dict[str, int]] = {}
    doc_rank: dict[str, list[str]] = {}
    passage_rank: dict[str, list[str]] = {}
    records: list[dict] = []
    search_s: list[float] = []
    answer_s: list[float] = []
    split_quotes = 0

    for q in tqdm(questions, desc=label or f"eval {mode}", unit="q", disable=not progress, leave=False):
        spans = expected_spans(q["expected_docs"], q["expected_quotes"], texts)
        t0 = time.perf_counter()
        passages = engine.search(q["question"], k=depth, mode=mode)
        search_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        answer = engine.answer(q["question"], retrieval_mode=mode)
        answer_s.append(time.perf_counter() - t0)

        record = {"id": q["id"], "category": q["category"], "answerable": q["answerable"],
                  "abstained": answer.abstained, "answer": answer.answer,
                  "latency_ms": round(answer_s[-1] * 1000, 1)}
        if q["answerable"]:
            relevant, split = relevant_chunk_ids(chunks, spans)
            split_quotes += split
            doc_qrels[q["id"]] = {d: 1 for d in q["expected_docs"]}
            if relevant:
                passage_qrels[q["id"]] = {cid: 1 for cid in relevant}
            doc_rank[q["id"]] = doc_ranking(passages)
            passage_rank[q["id"]] = [p.chunk_id for p in passages]
            cited = {c.doc_id for c in answer.citations}
            record.update(
                key_fact=key_fact_found(answer.answer, q["key_fact"]),
                cites_expected_doc=bool(cited & set(q["expected_docs"])),
                cites_all_expected_docs=set(q["expected_docs"]) <= cited,
                citations_on_expected=sum(citation_on_expected(c, spans) for c in answer.citations),
                judged_passages=len(relevant),
            )
        record.update(
            citations=len(answer.citations),
            citations_verbatim=sum(citation_verbatim(c, texts) for c in answer.citations),
            cited=[f"{c.doc_id}:{c.start}-{c.end}" for c in answer.citations],
        )
        records.append(record)

    doc_metrics = retrieval_metrics(doc_qrels, ranked_run(doc_rank))
    passage_metrics = retrieval_metrics(passage_qrels, ranked_run(passage_rank))
    for r in records:
        if r["id"] in doc_metrics["per_query"]:
            r["document_retrieval"] = doc_metrics["per_query"][r["id"]]
        if r["id"] in passage_metrics["per_query"]:
            r["passage_retrieval"] = passage_metrics["per_query"][r["id"]]
    answerable = [r for r in records if r["answerable"]]
    n_citations = sum(r["citations"] for r in answerable)
    all_citations = sum(r["citations"] for r in records)
    summary = {
        "label": label or mode,
        "retrieval_mode": mode,
        "chunk_size": engine.settings.chunk_size,
        "chunk_overlap": engine.settings.chunk_overlap,
        "questions": len(records),
        "answerable": len(answerable),
        "passage_depth": depth,
        "retrieval": {
            "document": {k: v for k, v in doc_metrics.items() if k != "per_query"},
            "passage": {**{k: v for k, v in passage_metrics.items() if k != "per_query"},
                        "unjudged_questions": len(doc_qrels) - len(passage_qrels), "split_quotes": split_quotes},
        },
        "answer": {
            "expected_doc_citation_rate": ratio(sum(r["cites_expected_doc"] for r in answerable), len(answerable)),
            "all_expected_docs_cited_rate": ratio(sum(r["cites_all_expected_docs"] for r in answerable), len(answerable)),
            "key_fact_rate": ratio(sum(r["key_fact"] for r in answerable), len(answerable)),
            "citation_precision": ratio(sum(r["citations_on_expected"] for r in answerable), n_citations),
            "citation_verbatim_rate": ratio(sum(r["citations_verbatim"] for r in records), all_citations),
            "citations": all_citations,
            "answered_rate": ratio(sum(not r["abstained"] for r in answerable), len(answerable)),
        },
        "abstention": abstention_scores([r["abstained"] for r in records], [r["answerable"] for r in records]),
        "latency_ms": {"answer": percentiles_ms(answer_s), "search": percentiles_ms(search_s)},
        "by_category": by_category(records),
    }
    return {"summary": summary, "questions": records}


def by_category(records: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for category in sorted({r["category"] for r in records}):
        rows = [r for r in records if r["category"] == category]
        answerable = [r for r in rows if r["answerable"]]
        out[category] = {
            "questions": len(rows),
            "abstained": sum(r["abstained"] for r in rows),
            "key_fact_rate": ratio(sum(r["key_fact"] for r in answerable), len(answerable)),
            "expected_doc_citation_rate": ratio(sum(r["cites_expected_doc"] for r in answerable), len(answerable)),
            "document_recall@5": ratio(sum(r.get("document_retrieval", {}).get("recall@5", 0) for r in answerable),
                                       len(answerable)),
        }
    return out


def headline(summary: dict) -> dict[str, float | None]:
    """The flat figures a comparison table shows."""
    d, p, a, ab = (summary["retrieval"]["document"], summary["retrieval"]["passage"], summary["answer"],
                   summary["abstention"])
    return {
        "doc R@1": d["recall@1"], "doc R@5": d["recall@5"], "doc MRR@10": d["mrr@10"], "doc nDCG@10": d["ndcg@10"],
        "psg R@1": p["recall@1"], "psg R@5": p["recall@5"], "psg R@10": p["recall@10"], "psg MRR@10": p["mrr@10"],
        "psg nDCG@10": p["ndcg@10"],
        "key fact": a["key_fact_rate"], "cites exp. doc": a["expected_doc_citation_rate"],
        "cit. precision": a["citation_precision"], "verbatim": a["citation_verbatim_rate"],
        "abst. P": ab["precision"], "abst. R": ab["recall"], "abst. F1": ab["f1"],
        "p50 ms": _ms(summary["latency_ms"]["answer"]["p50"]), "p95 ms": _ms(summary["latency_ms"]["answer"]["p95"]),
    }


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


__all__ = ["DEFAULT_SET", "RETRIEVAL_METRICS", "evaluate_engine", "headline", "load_questions"]
