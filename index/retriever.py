"""Load a built index and search it: dense (FAISS), BM25, or both fused by reciprocal rank."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import faiss
import numpy as np

from citeqa.index import vector_store
from citeqa.index.bm25_store import BM25Store
from citeqa.index.documents import load_corpus
from citeqa.index.embedder import TextEncoder
from citeqa.index.fusion import reciprocal_rank_fusion
from citeqa.index.params import RETRIEVAL_MODES, IndexConfig, RetrievalMode
from citeqa.index.store import (
    DocumentRecord,
    IndexMismatchError,
    IndexMissingError,
    Manifest,
    current_build,
    read_manifest,
    read_units,
    read_vectors,
    stale_documents,
)
from citeqa.index.units import Chunk, Sentence

U = TypeVar("U", Chunk, Sentence)


@dataclass(frozen=True)
class Hit(Generic[U]):
    unit: U
    score: float  # fused RRF score in hybrid mode, else the single retriever's score
    dense_score: float  # cosine similarity to the query, whatever the mode
    bm25_score: float | None


class UnitIndex(Generic[U]):
    """One kind of unit with its vectors, FAISS index and BM25 index, all in the same row order."""

    def __init__(self, units: list[U], vectors: np.ndarray, dense: faiss.Index, bm25: BM25Store) -> None:
        self.units = units
        self.vectors = vectors
        self.dense = dense
        self.bm25 = bm25

    def search(
        self,
        query: str,
        query_vector: np.ndarray,
        k: int,
        mode: RetrievalMode,
        candidate_k: int,
        rrf_k: int,
        timings: dict[str, float] | None = None,
    ) -> list[Hit[U]]:
        """`timings`, when given, accumulates milliseconds spent in dense search, BM25 and fusion."""
        clock = _Clock(timings)
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        if not self.units:
            return []
        depth = max(k, candidate_k)
        dense_rows: list[int] = []
        bm25_scores: dict[int, float] = {}
        if mode in ("dense", "hybrid"):
            _, ids = vector_store.search(self.dense, query_vector[None, :], depth)
            dense_rows = [int(i) for i in ids[0] if i >= 0]
            clock.lap("dense_search")
        if mode in ("bm25", "hybrid"):
            bm25_scores = dict(self.bm25.search(query, depth))
            clock.lap("bm25")
        if mode == "dense":
            ranked = [(row, None) for row in dense_rows[:k]]
        elif mode == "bm25":
            ranked = [(row, score) for row, score in list(bm25_scores.items())[:k]]
        else:
            ranked = reciprocal_rank_fusion([dense_rows, list(bm25_scores)], k=rrf_k)[:k]
        rows = [row for row, _ in ranked]
        cosine = np.asarray(self.vectors[rows], dtype=np.float32) @ query_vector if rows else np.zeros(0)
        hits = []
        for (row, fused), sim in zip(ranked, cosine):
            score = float(sim) if mode == "dense" else float(fused)
            hits.append(Hit(self.units[row], score, float(sim), bm25_scores.get(row)))
        clock.lap("fusion")
        return hits


class _Clock:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + (now - self.last) * 1000
        self.last = now


class Retriever:
    """Everything a question needs from the index, loaded once and shared read-only."""

    def __init__(self, config: IndexConfig, embedder: TextEncoder, build_dir: Path, manifest: Manifest) -> None:
        self.config = config
        self.embedder = embedder
        self.build_dir = build_dir
        self.manifest = manifest
        chunks, sentences = read_units(build_dir)
        params = config.dense
        self.chunks = UnitIndex(
            chunks,
            np.asarray(read_vectors(build_dir, "chunk")),  # a plain view: slicing a memmap per question is slow
            vector_store.load(build_dir / "chunks.faiss", params),
            BM25Store.load(build_dir / "bm25_chunks"),
        )
        self.sentences = UnitIndex(
            sentences,
            np.asarray(read_vectors(build_dir, "sentence")),
            vector_store.load(build_dir / "sentences.faiss", params),
            BM25Store.load(build_dir / "bm25_sentences"),
        )
        self.sentence_rows: dict[str, int] = {u.sentence_id: row for row, u in enumerate(sentences)}
        self._sentence_starts: dict[str, tuple[list[int], list[int]]] = {}
        for record in manifest.documents:
            s0, s1 = record.sentence_rows
            rows = sorted(range(s0, s1), key=lambda r: sentences[r].start)
            self._sentence_starts[record.doc_id] = ([sentences[r].start for r in rows], rows)
        self.documents: dict[str, DocumentRecord] = {d.doc_id: d for d in manifest.documents}
        self.stale: list[str] = stale_documents(manifest, load_corpus(config.corpus_dir))

    @classmethod
    def open(cls, config: IndexConfig, embedder: TextEncoder) -> Retriever:
        build = current_build(config.index_dir)
        if build is None:
            raise IndexMissingError(f"no index in {config.index_dir}; run `citeqa index` to build it")
        manifest = read_manifest(build)
        if manifest.model_identity != embedder.identity or manifest.dimension != embedder.dimension:
            raise IndexMismatchError(
                f"the index in {config.index_dir} was built with model {manifest.model_identity!r} "
                f"(dimension {manifest.dimension}) but the configured model is {embedder.identity!r} "
                f"(dimension {embedder.dimension}); run `citeqa index --full` to rebuild it with the configured "
                f"model, or set CITEQA_MODEL={manifest.model}"
            )
        return cls(config, embedder, build, manifest)

    def embed(self, query: str) -> np.ndarray:
        return self.embedder.encode_one(query)

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        query_vector: np.ndarray | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit[Chunk]]:
        vector = self.embed(query) if query_vector is None else query_vector
        params = self.config.retrieval
        return self.chunks.search(
            query, vector, k or params.top_k, mode or params.mode, params.candidate_k, params.rrf_k, timings
        )

    def search_sentences(
        self,
        query: str,
        k: int,
        mode: RetrievalMode | None = None,
        query_vector: np.ndarray | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit[Sentence]]:
        vector = self.embed(query) if query_vector is None else query_vector
        params = self.config.retrieval
        return self.sentences.search(
            query, vector, k, mode or params.mode, params.candidate_k, params.rrf_k, timings
        )

    def sentence_rows_within(self, doc_id: str, start: int, end: int) -> list[int]:
        """Rows of the sentences of `doc_id` that overlap start:end, in document order."""
        starts, rows = self._sentence_starts.get(doc_id, ([], []))
        i = max(0, bisect.bisect_right(starts, start) - 1)
        out = []
        while i < len(rows) and starts[i] < end:
            if self.sentences.units[rows[i]].end > start:
                out.append(rows[i])
            i += 1
        return out

    def sentence_neighbours(self, row: int, before: int = 1, after: int = 1) -> tuple[list[int], list[int]]:
        """Rows of the sentences just before and just after sentence `row` in its document, nearest first."""
        unit = self.sentences.units[row]
        starts, rows = self._sentence_starts.get(unit.doc_id, ([], []))
        i = bisect.bisect_left(starts, unit.start)
        while i < len(rows) and rows[i] != row:
            i += 1
        if i == len(rows):
            return [], []
        return rows[max(0, i - before) : i][::-1], rows[i + 1 : i + 1 + after]

    def title(self, doc_id: str) -> str:
        record = self.documents.get(doc_id)
        return record.title if record else doc_id
