"""What the index needs to know, as plain parameter objects.

The index is a library: the builder and the retriever take these, not the app-wide `Settings` (which also holds
the LLM key and the port). `citeqa.settings.Settings` builds them from `CITEQA_*` variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

RetrievalMode = Literal["hybrid", "dense", "bm25"]
DenseIndexKind = Literal["auto", "flat", "hnsw", "ivfsq", "ivfpq"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class ChunkingParams:
    """How documents are cut into passages; a change invalidates every stored vector."""

    chunk_size: int = 600
    chunk_overlap: int = 100


@dataclass(frozen=True)
class DenseIndexParams:
    """Which FAISS index: `auto` picks exact search below `hnsw_min_units`, HNSW up to `ivf_min_units`, then IVF-SQ8."""

    kind: DenseIndexKind = "auto"
    hnsw_min_units: int = 20_000
    ivf_min_units: int = 2_000_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128
    ivf_nlist: int = 0  # 0 = 4*sqrt(n)
    ivf_nprobe: int = 32
    pq_m: int = 48


@dataclass(frozen=True)
class RetrievalParams:
    """Defaults of a search: how many passages, which retrievers, and how deep each looks before fusion."""

    mode: RetrievalMode = "hybrid"
    top_k: int = 5
    candidate_k: int = 50  # per retriever, before fusion
    rrf_k: int = 60


@dataclass(frozen=True)
class IndexConfig:
    """Where the corpus and the index live, and how the index is built and searched."""

    corpus_dir: Path
    index_dir: Path
    chunking: ChunkingParams = field(default_factory=ChunkingParams)
    dense: DenseIndexParams = field(default_factory=DenseIndexParams)
    retrieval: RetrievalParams = field(default_factory=RetrievalParams)
