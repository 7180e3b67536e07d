"""`citeqa eval --scifact DIR`: SciFact in its original format, with evidence sentences.

Each abstract becomes a document whose text is its sentences, stripped and joined by single spaces (the BEIR
text of the same abstract, so both benchmarks can share one index), with the title as metadata. The offsets of
every sentence in that text are kept, so a citation's span maps back to the exact sentence indices it overlaps.

Each dev claim is given to `Engine.answer`. For claims with evidence: document hit rate (cites an evidence
document), sentence-level citation precision (share of citations overlapping a gold evidence sentence of that
document) and recall (share of gold (document, sentence) pairs some citation overlaps). For claims without
evidence (NEI): how often the answerer abstains.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from citeqa.settings import Settings
from citeqa.eval.beir import read_jsonl
from citeqa.eval.bench_corpus import BenchDoc, prepare_index
from citeqa.eval.metrics import percentiles_ms, ratio, sentences_overlapping
from citeqa.index.embedder import Embedder


@dataclass
class Abstract:
    doc: BenchDoc
    offsets: list[tuple[int, int]]  # sentence i is doc.text[start:end]


def build_abstract(doc_id: str, title: str, sentences: list[str]) -> Abstract:
    parts, offsets, pos = [], [], 0
    for sentence in sentences:
        s = sentence.strip()
        if parts:
            pos += 1  # the joining space
        offsets.append((pos, pos + len(s)))
        parts.append(s)
        pos += len(s)
    text = " ".join(parts)
    assert all(text[a:b] == p for (a, b), p in zip(offsets, parts))
    return Abstract(BenchDoc(doc_id, title, text), offsets)


def load_corpus(path: Path) -> dict[str, Abstract]:
    return {str(d["doc_id"]): build_abstract(str(d["doc_id"]), d.get("title") or "", d["abstract"])
            for d in read_jsonl(path)}


def gold_sentences(claim: dict) -> dict[str, set[int]]:
    """Evidence document -> union of the sentence indices of its evidence sets."""
    return {doc: {i for ev in sets for i in ev["sentences"]} for doc, sets in (claim.get("evidence") or {}).items()}


def score_claim(claim: dict, answer, abstracts: dict[str, Abstract], to_bench: dict[str, str]) -> dict:
    gold = gold_sentences(claim)
    cited_pairs: set[tuple[str, int]] = set()
    on_gold = verbatim = 0
    cited_docs = set()
    for c in answer.citations:
        bench_id = to_bench.get(c.doc_id, c.doc_id)
        cited_docs.add(bench_id)
        abstract = abstracts.get(bench_id)
        if abstract is None:
            continue
        verbatim += abstract.doc.text[c.start : c.end] == c.quote
        hit = sentences_overlapping(abstract.offsets, c.start, c.end)
        cited_pairs.update((bench_id, i) for i in hit)
        on_gold += any(i in gold.get(bench_id, ()) for i in hit)
    gold_pairs = {(d, i) for d, idx in gold.items() for i in idx}
    return {
        "id": claim["id"],
        "evidence": bool(gold),
        "abstained": answer.abstained,
        "citations": len(answer.citations),
        "citations_verbatim": verbatim,
        "citations_on_gold": on_gold,
        "gold_sentences": len(gold_pairs),
        "gold_sentences_cited": len(gold_pairs & cited_pairs),
        "cites_evidence_doc": bool(cited_docs & set(gold)),
        "cited": sorted(f"{d}:{i}" for d, i in cited_pairs),
    }


def summarize(records: list[dict], seconds: list[float]) -> dict:
    ev = [r for r in records if r["evidence"]]
    nei = [r for r in records if not r["evidence"]]
    cites = sum(r["citations"] for r in ev)
    return {
        "claims": len(records),
        "evidence_claims": len(ev),
        "nei_claims": len(nei),
        "evidence_answered_rate": ratio(sum(not r["abstained"] for r in ev), len(ev)),
        "evidence_abstention_rate": ratio(sum(r["abstained"] for r in ev), len(ev)),
        "document_hit_rate": ratio(sum(r["cites_evidence_doc"] for r in ev), len(ev)),
        "sentence_hit_rate": ratio(sum(r["citations_on_gold"] > 0 for r in ev), len(ev)),
        "sentence_citation_precision": ratio(sum(r["citations_on_gold"] for r in ev), cites),
        "sentence_citation_recall": ratio(sum(r["gold_sentences_cited"] for r in ev),
                                          sum(r["gold_sentences"] for r in ev)),
        "citations": sum(r["citations"] for r in records),
        "citation_verbatim_rate": ratio(sum(r["citations_verbatim"] for r in records),
                                        sum(r["citations"] for r in records)),
        "nei_abstention_rate": ratio(sum(r["abstained"] for r in nei), len(nei)),
        "latency_ms": percentiles_ms(seconds),
    }


def run_scifact(
    directory: Path,
    base: Settings,
    embedder: Embedder,
    split: str = "dev",
    limit: int | None = None,
    work_dir: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    from citeqa.index.retriever import Retriever
    from citeqa.service.engine import Engine

    directory = Path(directory)
    claims_path = directory / f"claims_{split}.jsonl"
    for needed in (directory / "corpus.jsonl", claims_path):
        if not needed.exists():
            raise FileNotFoundError(f"{directory} is not a SciFact folder: {needed.name} is missing")
    abstracts = load_corpus(directory / "corpus.jsonl")
    claims = read_jsonl(claims_path)
    if claims and "evidence" not in claims[0]:
        raise ValueError(f"{claims_path.name} has no evidence labels; use the dev or train split")
    claims = claims[:limit] if limit else claims
    log(f"SciFact {split}: {len(claims)} claims over {len(abstracts)} abstracts; indexing")
    bench = prepare_index([a.doc for a in abstracts.values()], base, embedder, work_dir=work_dir, progress=progress)
    try:
        log(f"index {'reused' if bench.reused else 'built'}: {bench.chunks} chunks, {bench.sentences} sentences")
        engine = Engine(bench.settings, Retriever.open(bench.settings.index_config(), embedder))
        records, seconds = [], []
        for claim in tqdm(claims, desc=f"scifact {split}", unit="claim", disable=not progress):
            t0 = time.perf_counter()
            answer = engine.answer(claim["claim"])
            seconds.append(time.perf_counter() - t0)
            records.append(score_claim(claim, answer, abstracts, bench.file_ids))
    finally:
        if work_dir is None:
            shutil.rmtree(bench.settings.corpus_dir.parent, ignore_errors=True)
    return {
        "path": str(directory),
        "split": split,
        "documents": len(abstracts),
        "retrieval_mode": base.retrieval_mode,
        "chunk_size": base.chunk_size,
        "chunk_overlap": base.chunk_overlap,
        "index": {"chunks": bench.chunks, "sentences": bench.sentences, "reused": bench.reused},
        "summary": summarize(records, seconds),
        "claims": records,
    }
