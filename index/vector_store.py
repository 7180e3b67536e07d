"""FAISS inner-product index over normalized vectors: exact, HNSW, IVF-SQ8 or IVF-PQ, chosen by setting or size."""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

from citeqa.index.params import DenseIndexParams


def choose_kind(params: DenseIndexParams, n: int) -> str:
    """Exact search until it gets slow, then HNSW; IVF-SQ8 once HNSW's memory (~1.7 GB a million) is too much."""
    if params.kind != "auto":
        return params.kind
    if n >= params.ivf_min_units:
        return "ivfsq"
    if n >= params.hnsw_min_units:
        return "hnsw"
    return "flat"


def build_dense_index(vectors: np.ndarray, params: DenseIndexParams) -> faiss.Index:
    n, dim = vectors.shape
    kind = choose_kind(params, n)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.hnsw_ef_construction
        index.hnsw.efSearch = params.hnsw_ef_search
    elif kind in ("ivfsq", "ivfpq"):
        nlist = params.ivf_nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivfsq":
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        else:
            pq_m = params.pq_m if dim % params.pq_m == 0 else _largest_divisor_at_most(dim, params.pq_m)
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        train = vectors if n <= 256 * nlist else vectors[np.random.default_rng(0).choice(n, 256 * nlist, replace=False)]
        index.train(train)
        index.nprobe = min(params.ivf_nprobe, nlist)
    else:
        raise ValueError(f"unknown dense index kind {kind!r}; use auto, flat, hnsw, ivfsq or ivfpq")
    if n:
        index.add(vectors)
    return index


def _largest_divisor_at_most(n: int, cap: int) -> int:
    return max(d for d in range(1, cap + 1) if n % d == 0)


def index_kind(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(inner, faiss.IndexIVFScalarQuantizer):
        return "ivfsq"
    return "flat"


def tune_for_search(index: faiss.Index, params: DenseIndexParams) -> None:
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSWFlat):
        inner.hnsw.efSearch = params.hnsw_ef_search
    elif isinstance(inner, faiss.IndexIVF):
        inner.nprobe = min(params.ivf_nprobe, inner.nlist)


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of shape (len(queries), k'); k' is capped at the index size; missing ids are dropped later."""
    k = max(1, min(k, index.ntotal))
    if index.ntotal == 0:
        empty = np.zeros((len(queries), 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path, params: DenseIndexParams) -> faiss.Index:
    index = faiss.read_index(str(path))
    tune_for_search(index, params)
    return index
