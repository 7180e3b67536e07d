"""Score citeqa's retrieval on a BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).

The corpus is indexed by the ordinary `build_index` (see `eval.bench_corpus`), queries go through
`Engine.search`, and a document's score is its best chunk's: documents are ranked by their first appearance in
the passage ranking. Metrics come from ranx, at document level, for each retrieval mode.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from citeqa.settings import Settings
from citeqa.eval.bench_corpus import BenchDoc, prepare_index
from citeqa.eval.metrics import RECALL_CURVE_KS, doc_ranking, ranked_run, retrieval_metrics
from citeqa.index.embedder import Embedder

MODES = ("bm25", "dense", "hybrid")
PASSAGE_DEPTH = 100  # passages fetched per query to rank documents


@dataclass
class BeirData:
    name: str
    docs: list[BenchDoc]
    queries: dict[str, str]  # only the queries that have judgements in the split
    qrels: dict[str, dict[str, int]]


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({exc})") from exc
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels: tab-separated query-id, corpus-id, score, with a header line; scores <= 0 are not relevant."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.rstrip("\r\n").split("\t")
            if not line.strip() or (lineno == 1 and fields[0] == "query-id"):
                continue
            if len(fields) != 3:
                raise ValueError(f"{path}:{lineno}: expected query-id<TAB>corpus-id<TAB>score, got {line!r}")
            query_id, doc_id, score = fields
            if int(score) > 0:
                qrels.setdefault(query_id, {})[doc_id] = int(score)
    return qrels


def load_beir(directory: Path, split: str = "test") -> BeirData:
    directory = Path(directory)
    for needed in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (directory / needed).exists():
            raise FileNotFoundError(f"{directory} is not a BEIR dataset folder: {needed} is missing")
    docs = [BenchDoc(str(d["_id"]), d.get("title") or "", d.get("text") or "") for d in read_jsonl(directory / "corpus.jsonl")]
    qrels = read_qrels(directory / "qrels" / f"{split}.tsv")
    all_queries = {str(q["_id"]): q["text"] for q in read_jsonl(directory / "queries.jsonl")}
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise ValueError(f"{len(missing)} judged queries are not in queries.jsonl, e.g. {missing[:3]}")
    queries = {qid: all_queries[qid] for qid in all_queries if qid in qrels}
    return BeirData(directory.name, docs, queries, qrels)


def run_beir(
    directory: Path,
    base: Settings,
    embedder: Embedder,
    modes: tuple[str, ...] = MODES,
    work_dir: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    """Index the dataset's corpus and score every judged query in each mode; returns a JSON-ready dict."""
    from citeqa.index.retriever import Retriever
    from citeqa.service.engine import Engine

    data = load_beir(directory)
    log(f"{data.name}: {len(data.docs)} documents, {len(data.queries)} judged queries; indexing")
    bench = prepare_index(data.docs, base, embedder, work_dir=work_dir, progress=progress)
    try:
        log(f"index {'reused' if bench.reused else 'built'}: {bench.chunks} chunks, {bench.sentences} sentences"
            f" ({bench.build_seconds:.0f}s to build)")
        engine = Engine(bench.settings, Retriever.open(bench.settings.index_config(), embedder))
        to_bench = bench.file_ids
        results: dict[str, dict] = {}
        for mode in modes:
            run: dict[str, list[str]] = {}
            for qid, text in tqdm(data.queries.items(), desc=f"beir {mode}", unit="q", disable=not progress):
                passages = engine.search(text, k=PASSAGE_DEPTH, mode=mode)
                run[qid] = [to_bench[d] for d in doc_ranking(passages)]
            results[mode] = retrieval_metrics(data.qrels, ranked_run(run))
    finally:
        if work_dir is None:
            shutil.rmtree(bench.settings.corpus_dir.parent, ignore_errors=True)
    return {
        "dataset": data.name,
        "path": str(directory),
        "documents": len(data.docs),
        "queries": len(data.queries),
        "qrels": sum(len(v) for v in data.qrels.values()),
        "chunk_size": base.chunk_size,
        "chunk_overlap": base.chunk_overlap,
        "index": {"chunks": bench.chunks, "sentences": bench.sentences, "build_seconds": bench.build_seconds,
                  "reused": bench.reused},
        "passage_depth": PASSAGE_DEPTH,
        "recall_curve_ks": list(RECALL_CURVE_KS),
        "modes": results,
    }
