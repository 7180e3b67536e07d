"""Scale benchmark: dense index kinds and BM25 at 100k-1M units, and a real citeqa index of a synthetic corpus.

    .venv/bin/python -m bench.scale                      # 100k and 1M vectors/texts, minutes (run with nohup)
    .venv/bin/python -m bench.scale --sizes 100000       # one size
    .venv/bin/python -m bench.scale --service-chunks 100000  # also build/load/serve a 100k-chunk citeqa index
    .venv/bin/python -m bench.scale --tiny               # seconds: what the tests run

Dense: 384-dim clustered unit vectors (bench.synthetic); recall@10 is measured against exact search of the
same vectors. Flat, HNSW and IVF-PQ are built by `index.vector_store.build_dense_index` (the service's code and
parameters); IVF-SQ8 (8-bit scalar quantization) is measured as a candidate the service does not offer yet.
Query latency is one query at a time (as the service searches) with k=50 (candidate_k), single process.

Writes bench/results/scale.json (atomically) and prints the table.
"""

from __future__ import annotations

import argparse
import gc
import math
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from bench.common import (
    RESULTS,
    machine,
    mib,
    peak_rss,
    percentile,
    rss,
    table,
    write_json_atomic,
)
from bench.synthetic import HashingEmbedder, TextSpace, clustered_vectors, write_corpus
from citeqa.index import vector_store

K_RECALL = 10
K_SEARCH = 50  # the service asks each retriever for candidate_k=50


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = K_RECALL) -> float:
    hits = sum(len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth))
    return hits / (k * len(truth))


def single_query_ms(index: faiss.Index, queries: np.ndarray, k: int = K_SEARCH) -> tuple[float, np.ndarray]:
    """p50 latency of one-at-a-time searches (ms) and the ids found."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    times = []
    index.search(queries[:1], k)  # warm
    for i in range(len(queries)):
        t0 = time.perf_counter()
        _, row = index.search(queries[i : i + 1], k)
        times.append(time.perf_counter() - t0)
        ids[i] = row[0]
    return percentile(times, 50) * 1000, ids


def index_bytes(index: faiss.Index, tmp: Path) -> tuple[int, float]:
    """Size on disk (≈ in memory for these kinds) and seconds to load it back (part of a cold start)."""
    path = tmp / "probe.faiss"
    faiss.write_index(index, str(path))
    size = path.stat().st_size
    t0 = time.perf_counter()
    loaded = faiss.read_index(str(path))
    seconds = time.perf_counter() - t0
    del loaded
    path.unlink()
    return size, seconds


def build_ivfsq8(vectors: np.ndarray, nprobe: int) -> faiss.Index:
    n, dim = vectors.shape
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    train = vectors if n <= 256 * nlist else vectors[np.random.default_rng(0).choice(n, 256 * nlist, replace=False)]
    index.train(train)
    index.add(vectors)
    index.nprobe = min(nprobe, nlist)
    return index


def dense_benchmark(n: int, n_queries: int, kinds: list[str], tmp: Path, log) -> list[dict]:
    t0 = time.perf_counter()
    base, queries = clustered_vectors(n, dim=384, n_queries=n_queries, seed=n % 1000)
    log(f"[dense n={n:,}] generated {base.nbytes / 2**20:,.0f} MiB of vectors in {time.perf_counter() - t0:.1f}s")
    params = vector_store.DenseIndexParams()
    truth = None
    rows = []
    for kind in ["flat", *[k for k in kinds if k != "flat"]]:
        gc.collect()
        rss0 = rss()
        t0 = time.perf_counter()
        if kind == "ivfsq8":
            index = build_ivfsq8(base, params.ivf_nprobe)
        else:
            index = vector_store.build_dense_index(base, vector_store.DenseIndexParams(kind=kind))
        build_s = time.perf_counter() - t0
        rss_delta = max(0, rss() - rss0)
        size, load_s = index_bytes(index, tmp)
        p50, ids = single_query_ms(index, queries)
        default_threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        p50_1t, _ = single_query_ms(index, queries)
        faiss.omp_set_num_threads(default_threads)
        if kind == "flat":
            truth = ids
        row = {
            "n": n, "kind": kind, "build_s": round(build_s, 2), "index_mib": mib(size), "rss_delta_mib": mib(rss_delta),
            "load_s": round(load_s, 2), "query_p50_ms": round(p50, 3), "query_p50_ms_1thread": round(p50_1t, 3),
            "recall_at_10": round(recall_at(ids, truth), 4),
            "setting": _setting(index),
        }
        # the search-time knob: what recall costs in latency
        sweep = []
        inner = faiss.downcast_index(index)
        if isinstance(inner, faiss.IndexHNSW):
            for ef in (64, 128, 256):
                inner.hnsw.efSearch = ef
                sp, sids = single_query_ms(index, queries)
                sweep.append({"efSearch": inner.hnsw.efSearch, "query_p50_ms": round(sp, 3), "recall_at_10": round(recall_at(sids, truth), 4)})
        elif isinstance(inner, faiss.IndexIVF):
            for nprobe in sorted({min(p, inner.nlist) for p in (8, 32, 64, 128)}):
                inner.nprobe = nprobe
                sp, sids = single_query_ms(index, queries)
                sweep.append({"nprobe": inner.nprobe, "query_p50_ms": round(sp, 3), "recall_at_10": round(recall_at(sids, truth), 4)})
        if sweep:
            row["sweep"] = sweep
        rows.append(row)
        log(f"[dense n={n:,}] {kind}: {row}")
        del index, inner
    return rows


def _setting(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        return f"M={inner.hnsw.nb_neighbors(1)} efC={inner.hnsw.efConstruction} efS={inner.hnsw.efSearch}"
    if isinstance(inner, faiss.IndexIVFPQ):
        return f"nlist={inner.nlist} nprobe={inner.nprobe} pq_m={inner.pq.M}"
    if isinstance(inner, faiss.IndexIVF):
        return f"nlist={inner.nlist} nprobe={inner.nprobe} sq8"
    return "exact"


def bm25_benchmark(n: int, n_queries: int, tmp: Path, log) -> dict:
    from citeqa.index.bm25_store import BM25Store

    space = TextSpace(seed=n % 1000)
    t0 = time.perf_counter()
    texts = space.texts(n, words=90)
    queries = space.queries(n_queries)
    gen_s = time.perf_counter() - t0
    gc.collect()
    rss0 = rss()
    t0 = time.perf_counter()
    store = BM25Store.build(texts)
    build_s = time.perf_counter() - t0
    rss_delta = max(0, rss() - rss0)
    path = tmp / "bm25"
    store.save(path)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    del store
    gc.collect()
    t0 = time.perf_counter()
    loaded = BM25Store.load(path)
    load_s = time.perf_counter() - t0
    loaded.search(queries[0], K_SEARCH)
    times = []  # bm25s's own top-k
    for q in queries:
        t1 = time.perf_counter()
        bm25s_topk(loaded, q, K_SEARCH)
        times.append(time.perf_counter() - t1)
    fast_times, hits = [], 0  # BM25Store.search, what citeqa runs
    for q in queries:
        t1 = time.perf_counter()
        found = loaded.search(q, K_SEARCH)
        fast_times.append(time.perf_counter() - t1)
        hits += bool(found)
    same = sum(  # same top-k scores (ids may differ only between documents with equal scores)
        np.allclose(sorted(s for _, s in loaded.search(q, K_SEARCH)), sorted(s for _, s in bm25s_topk(loaded, q, K_SEARCH)), rtol=1e-5)
        for q in queries[:50]
    ) / min(50, len(queries))
    shutil.rmtree(path, ignore_errors=True)
    row = {
        "n": n, "texts_generated_s": round(gen_s, 1), "index_s": round(build_s, 2), "rss_delta_mib": mib(rss_delta),
        "disk_mib": mib(size), "load_s": round(load_s, 2), "query_p50_ms": round(percentile(times, 50) * 1000, 3),
        "query_p95_ms": round(percentile(times, 95) * 1000, 3), "queries_with_hits": hits / len(queries),
        "query_p50_ms_fast_topk": round(percentile(fast_times, 50) * 1000, 3), "fast_topk_same_results": round(same, 3),
        "avg_words": 90,
    }
    log(f"[bm25 n={n:,}] {row}")
    return row


def bm25s_topk(store, query: str, k: int) -> list[tuple[int, float]]:
    """The same query through bm25s's own top-k (`BM25.retrieve`), which `BM25Store.search` used before it took
    the top-k over the non-zero scores itself: numpy's introselect degrades on the mostly-zero ties. Kept to
    measure that difference."""
    import bm25s
    import Stemmer

    retriever = store._retriever
    tokens = bm25s.tokenize([query], stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False, return_ids=False)[0]
    tokens = [t for t in tokens if t in retriever.vocab_dict]
    if not tokens:
        return []
    ids, scores = retriever.retrieve([tokens], k=min(k, int(retriever.scores["num_docs"])), show_progress=False)
    return [(int(d), float(x)) for d, x in zip(ids[0], scores[0]) if x > 0]


# --- a real citeqa index of a synthetic corpus, built through the normal builder and served


CHARS_PER_CHUNK = 405  # measured: the chunker cuts this corpus at ~405 new characters per 600-character chunk


def service_benchmark(
    n_chunks: int, hnsw_min: int, ivf_min: int, tmp: Path, log, serve: bool, requests: int
) -> dict:
    from citeqa.settings import Settings
    from citeqa.index.builder import build_index
    from citeqa.index.embedder import model_identity
    from citeqa.index.retriever import Retriever

    corpus, index_dir = tmp / "corpus", tmp / "index"
    t0 = time.perf_counter()
    n_docs = write_corpus(corpus, n_chunks * CHARS_PER_CHUNK)
    log(f"[service] wrote {n_docs} synthetic documents ({n_chunks * CHARS_PER_CHUNK / 1e6:.1f} M chars) in {time.perf_counter() - t0:.1f}s")
    env = {
        "CITEQA_CORPUS_DIR": str(corpus), "CITEQA_INDEX_DIR": str(index_dir), "CITEQA_DENSE_INDEX": "auto",
        "CITEQA_HNSW_MIN_UNITS": str(hnsw_min), "CITEQA_IVF_MIN_UNITS": str(ivf_min),
    }
    settings = Settings(
        corpus_dir=corpus, index_dir=index_dir, dense_index="auto", hnsw_min_units=hnsw_min, ivf_min_units=ivf_min
    )
    # The stand-in embedder borrows the real model's identity so that the service accepts the index.
    embedder = HashingEmbedder(dimension=384, identity=model_identity(settings.model))
    rss0 = rss()
    t0 = time.perf_counter()
    report = build_index(settings.index_config(), embedder, full=True)
    build_s = time.perf_counter() - t0
    log(f"[service] built {report.chunks:,} chunks / {report.sentences:,} sentences in {build_s:.1f}s (encode {report.encode_seconds:.1f}s)")
    build_peak = peak_rss()
    del embedder
    gc.collect()

    t0 = time.perf_counter()
    loader = HashingEmbedder(dimension=384, identity=model_identity(settings.model))
    retriever = Retriever.open(settings.index_config(), loader)
    open_s = time.perf_counter() - t0
    kinds = {"chunks": vector_store.index_kind(retriever.chunks.dense), "sentences": vector_store.index_kind(retriever.sentences.dense)}
    questions = corpus_questions(retriever.chunks.units, 50)
    times = []
    for q in questions:
        t1 = time.perf_counter()
        v = loader.encode_one(q)
        retriever.search(q, query_vector=v)
        retriever.search_sentences(q, 20, query_vector=v)
        times.append(time.perf_counter() - t1)
    result = {
        "chunks": report.chunks, "sentences": report.sentences, "documents": n_docs,
        "corpus_mib": mib(sum(p.stat().st_size for p in corpus.glob("*.txt"))),
        "thresholds": {"hnsw_min_units": hnsw_min, "ivf_min_units": ivf_min},
        "dense_kinds": kinds, "build_s": round(build_s, 1), "build_encode_s_standin": round(report.encode_seconds, 1),
        "build_other_s": round(build_s - report.encode_seconds, 1),
        "index_disk_mib": mib(sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())),
        "builder_peak_rss_mib": mib(build_peak), "builder_rss_growth_mib": mib(max(0, build_peak - rss0)),
        "retriever_open_s": round(open_s, 2),
        "retrieve_p50_ms": round(percentile(times, 50) * 1000, 2), "retrieve_p95_ms": round(percentile(times, 95) * 1000, 2),
    }
    log(f"[service] opened in {open_s:.1f}s, kinds {kinds}; hybrid chunk+sentence retrieval p50 {result['retrieve_p50_ms']} ms")
    del retriever, loader
    gc.collect()
    if serve:
        result["served"] = serve_check(env, questions, requests, tmp, log)
    return result


def corpus_questions(chunks: list, n: int, seed: int = 9) -> list[str]:
    """Keyword questions of 3-6 words taken from random chunks, so BM25 knows at least their words.

    (Questions whose words are all unknown to the index are kept out on purpose: `BM25Store.search` raises on
    them, see the report on issue 6.)
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = chunks[int(rng.integers(0, len(chunks)))].text.replace(".", " ").split()
        k = int(rng.integers(3, 7))
        start = int(rng.integers(0, max(1, len(words) - k)))
        out.append(" ".join(words[start : start + k]).lower() + "?")
    return out


def serve_check(env: dict[str, str], questions: list[str], requests: int, tmp: Path, log) -> dict:
    """Start `citeqa serve` on the synthetic index (real model for questions) and ask it sequentially."""
    import httpx

    from bench.common import Server

    with Server(env, tmp / "serve.log") as server:
        ready = server.start(timeout=900)
        log(f"[service] citeqa serve ready in {ready:.1f}s")
        times, statuses, stages = [], {}, {}
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            for i in range(requests):
                t0 = time.perf_counter()
                r = client.post("/v1/ask", json={"question": questions[i % len(questions)]})
                times.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    for name, ms in r.json().get("timings_ms", {}).items():
                        stages.setdefault(name, []).append(ms)
        out = {
            "cold_start_s": round(ready, 2), "requests": requests, "statuses": {str(k): v for k, v in statuses.items()},
            "ask_p50_ms": round(percentile(times, 50) * 1000, 1), "ask_p95_ms": round(percentile(times, 95) * 1000, 1),
            "server_peak_rss_mib": mib(server.peak_rss()),
            "stages_p50_ms": {name: round(percentile(v, 50), 2) for name, v in stages.items()},
        }
    log(f"[service] served: {out}")
    return out


def recommend(dense_rows: list[dict], floor_ms: float | None) -> dict:
    """hnsw_min_units: where exact search (linear in n) would cost a fifth of a question's encode time."""
    flat = [r for r in dense_rows if r["kind"] == "flat"]
    if not flat:
        return {}
    largest = max(flat, key=lambda r: r["n"])  # small n is dominated by per-call overhead
    ns_per_unit = min(largest["query_p50_ms"], largest["query_p50_ms_1thread"]) * 1e6 / largest["n"]
    budget_ms = 0.2 * floor_ms if floor_ms else 2.0
    return {
        "flat_ns_per_unit_per_query": round(ns_per_unit, 2),
        "budget_ms": round(budget_ms, 2),
        "flat_units_within_budget": int(budget_ms * 1e6 / ns_per_unit),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--kinds", nargs="+", default=["flat", "hnsw", "ivfpq", "ivfsq8"])
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--service-chunks", type=int, default=0, help="also build+load a citeqa index of this many chunks")
    ap.add_argument("--serve", action="store_true", help="with --service-chunks: also start `citeqa serve` on it")
    ap.add_argument("--serve-requests", type=int, default=50)
    ap.add_argument("--hnsw-min-units", type=int, default=50_000)
    ap.add_argument("--ivf-min-units", type=int, default=5_000_000)
    ap.add_argument("--floor-ms", type=float, default=None, help="single-question encode time, for the recommendation")
    ap.add_argument("--tiny", action="store_true", help="2,000 vectors/texts and a small service check: seconds")
    ap.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--merge", type=Path, nargs="+", default=None,
                    help="only combine earlier result files (e.g. a 100k, a 1M and a service run) into --out")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out, args.floor_ms)
    if args.tiny:
        args.sizes, args.queries = [2_000], 50
        args.service_chunks = args.service_chunks or 300
        args.hnsw_min_units, args.ivf_min_units = 1_000, 100_000  # so that `auto` picks both kinds

    def log(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="citeqa-scale-", dir=args.workdir))
    started = time.perf_counter()
    result: dict = {"machine": machine(), "faiss_threads": faiss.omp_get_max_threads(), "dense": [], "bm25": []}
    try:
        for n in args.sizes:
            result["dense"].extend(dense_benchmark(n, args.queries, args.kinds, tmp, log))
            if not args.no_bm25:
                result["bm25"].append(bm25_benchmark(n, args.queries, tmp, log))
        if args.service_chunks:
            sdir = tmp / "service"
            sdir.mkdir()
            result["service"] = service_benchmark(
                args.service_chunks, args.hnsw_min_units, args.ivf_min_units, sdir, log, args.serve, args.serve_requests
            )
        result["recommendation"] = recommend(result["dense"], args.floor_ms)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mib"] = mib(peak_rss())
    write_json_atomic(args.out, result)
    args.out.with_suffix(".txt").write_text(render(result) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwrote {args.out}")
    return result


def merge(paths: list[Path], out: Path, floor_ms: float | None) -> dict:
    import json

    parts = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    result: dict = {"merged_from": [p.name for p in paths], "runs": [{k: part.get(k) for k in ("machine", "seconds", "peak_rss_mib")} for part in parts],
                    "dense": [], "bm25": []}
    for part in parts:
        result["dense"].extend(part.get("dense", []))
        result["bm25"].extend(part.get("bm25", []))
        if part.get("service"):
            result["service"] = part["service"]
    result["dense"].sort(key=lambda r: r["n"])
    result["bm25"].sort(key=lambda r: r["n"])
    result["recommendation"] = recommend(result["dense"], floor_ms)
    write_json_atomic(out, result)
    out.with_suffix(".txt").write_text(render(result) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwrote {out}")
    return result


def render(result: dict) -> str:
    out = []
    if result["dense"]:
        out.append("Dense indexes (384-dim clustered unit vectors, one query at a time, k=50; recall@10 vs exact)")
        out.append(table(
            ["n", "kind", "setting", "build s", "index MiB", "load s", "query p50 ms", "p50 ms, 1 thread", "recall@10"],
            [[f"{r['n']:,}", r["kind"], r["setting"], r["build_s"], r["index_mib"], r["load_s"], r["query_p50_ms"],
              r["query_p50_ms_1thread"], r["recall_at_10"]] for r in result["dense"]],
        ))
    sweeps = [(r, s) for r in result["dense"] for s in r.get("sweep", [])]
    if sweeps:
        out.append("\nSearch-time knob (efSearch for HNSW, nprobe for IVF)")
        out.append(table(
            ["n", "kind", "knob", "query p50 ms", "recall@10"],
            [[f"{r['n']:,}", r["kind"], f"efSearch={s['efSearch']}" if "efSearch" in s else f"nprobe={s['nprobe']}", s["query_p50_ms"], s["recall_at_10"]] for r, s in sweeps],
        ))
    if result["bm25"]:
        out.append("\nBM25 (bm25s, synthetic Zipfian text of ~90 words a unit, k=50)")
        out.append(table(
            ["n", "index s", "RSS growth MiB", "disk MiB", "load s", "bm25s top-k p50 ms", "p95 ms", "citeqa top-k p50 ms", "same hits"],
            [[f"{r['n']:,}", r["index_s"], r["rss_delta_mib"], r["disk_mib"], r["load_s"], r["query_p50_ms"], r["query_p95_ms"],
              r["query_p50_ms_fast_topk"], r["fast_topk_same_results"]] for r in result["bm25"]],
        ))
    svc = result.get("service")
    if svc:
        out.append("\nA citeqa index of a synthetic corpus through the normal builder (dense_index=auto; stand-in hashing embedder)")
        rows = [
            ["chunks / sentences", f"{svc['chunks']:,} / {svc['sentences']:,}"],
            ["thresholds", f"hnsw_min_units={svc['thresholds']['hnsw_min_units']:,} ivf_min_units={svc['thresholds']['ivf_min_units']:,}"],
            ["dense kinds chosen", f"chunks={svc['dense_kinds']['chunks']} sentences={svc['dense_kinds']['sentences']}"],
            ["build s (stand-in encode s)", f"{svc['build_s']} ({svc['build_encode_s_standin']})"],
            ["index on disk MiB", svc["index_disk_mib"]],
            ["Retriever.open s", svc["retriever_open_s"]],
            ["retrieval p50 / p95 ms", f"{svc['retrieve_p50_ms']} / {svc['retrieve_p95_ms']}"],
        ]
        served = svc.get("served")
        if served:
            rows += [
                ["citeqa serve cold start s", served["cold_start_s"]],
                ["/v1/ask p50 / p95 ms", f"{served['ask_p50_ms']} / {served['ask_p95_ms']}"],
                ["statuses", served["statuses"]],
                ["server peak RSS MiB", served["server_peak_rss_mib"]],
            ]
            if served.get("stages_p50_ms"):
                rows.append(["/v1/ask stage p50 ms", ", ".join(f"{k} {v}" for k, v in served["stages_p50_ms"].items())])
        out.append(table(["what", "value"], rows))
    rec = result.get("recommendation")
    if rec:
        out.append(
            f"\nExact search costs {rec['flat_ns_per_unit_per_query']} ns per unit per query: "
            f"{rec['flat_units_within_budget']:,} units fit a {rec['budget_ms']} ms budget."
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()
