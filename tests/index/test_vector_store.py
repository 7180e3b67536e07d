"""Dense index kinds: chosen by corpus size, and each one finds the nearest vectors."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.index import vector_store
from citeqa.index.vector_store import DenseIndexParams, build_dense_index, choose_kind, index_kind


def test_auto_picks_the_kind_by_size():
    params = DenseIndexParams(kind="auto", hnsw_min_units=20_000, ivf_min_units=2_000_000)
    assert [choose_kind(params, n) for n in (10, 19_999, 20_000, 1_999_999, 2_000_000)] == [
        "flat", "flat", "hnsw", "hnsw", "ivfsq",
    ]
    assert choose_kind(DenseIndexParams(kind="ivfpq"), 10) == "ivfpq"


@pytest.mark.parametrize(("kind", "min_recall"), [("flat", 1.0), ("hnsw", 0.95), ("ivfsq", 0.9), ("ivfpq", 0.3)])
def test_each_kind_finds_the_nearest_vectors(kind, min_recall, tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    params = DenseIndexParams(kind=kind, ivf_nprobe=16)
    index = build_dense_index(vectors, params)
    assert index_kind(index) == kind and index.ntotal == 3000
    vector_store.save(index, tmp_path / "x.faiss")
    loaded = vector_store.load(tmp_path / "x.faiss", params)
    queries = vectors[:50] + rng.normal(scale=0.05, size=(50, 32)).astype(np.float32)
    _, found = vector_store.search(loaded, queries, 1)
    recall = float(np.mean(found[:, 0] == np.arange(50)))
    assert recall >= min_recall, f"{kind}: recall@1 {recall}"


def test_search_caps_k_at_the_index_size():
    index = build_dense_index(np.eye(3, 8, dtype=np.float32), DenseIndexParams(kind="flat"))
    scores, ids = vector_store.search(index, np.eye(1, 8, dtype=np.float32), 10)
    assert ids.shape == (1, 3) and ids[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0)
