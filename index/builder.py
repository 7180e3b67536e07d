"""Build the index: clean, chunk, split, embed, store; re-embed only documents whose bytes changed."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from citeqa.index import vector_store
from citeqa.index.bm25_store import BM25Store
from citeqa.index.chunker import chunk_document
from citeqa.index.cleaning import find_furniture, find_headings
from citeqa.index.documents import Document, load_corpus
from citeqa.index.embedder import TextEncoder
from citeqa.index.params import ChunkingParams, IndexConfig
from citeqa.index.sentences import split_sentences
from citeqa.index.store import (
    DocumentRecord,
    IndexProblem,
    Manifest,
    current_build,
    library_versions,
    new_build_dir,
    now_iso,
    publish,
    read_manifest,
    read_units,
    read_vectors,
    write_manifest,
    write_units,
    write_vectors,
)
from citeqa.index.units import Chunk, Sentence

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    build_dir: Path
    embedded: list[str] = field(default_factory=list)  # documents (re-)embedded in this build
    reused: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0


def units_code_version() -> str:
    """A digest of the code that cuts documents into units: editing it must invalidate reused units."""
    from citeqa.index import chunker, cleaning, sentences, text

    digest = hashlib.sha256()
    for module in (text, cleaning, chunker, sentences):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def chunk_settings(chunking: ChunkingParams) -> dict[str, object]:
    """Settings and code that change what units exist; a change in any of them forces re-embedding."""
    return {
        "chunk_size": chunking.chunk_size,
        "chunk_overlap": chunking.chunk_overlap,
        "units_code": units_code_version(),
    }


def chunk_embedding_text(chunk: Chunk, title: str) -> str:
    """Title and heading give a passage its context (which drug article, which section) for both retrievers."""
    heading = f" — {chunk.heading}" if chunk.heading and chunk.heading != title else ""
    return f"{title}{heading}\n{chunk.text}"


@dataclass
class _DocUnits:
    doc: Document
    furniture: list[tuple[int, int, str]]
    chunks: list[Chunk]
    sentences: list[Sentence]
    chunk_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def split_document(doc: Document, chunking: ChunkingParams) -> _DocUnits:
    furniture = find_furniture(doc.text)
    headings = find_headings(doc.text)
    chunks = chunk_document(doc, furniture, headings, chunking.chunk_size, chunking.chunk_overlap)
    sentences = split_sentences(doc, furniture, headings, chunks)
    return _DocUnits(doc, [(s.start, s.end, s.kind) for s in furniture], chunks, sentences)


def _reusable(index_dir: Path, chunking: ChunkingParams, embedder: TextEncoder) -> tuple[Manifest, Path] | None:
    build = current_build(index_dir)
    if build is None:
        return None
    try:
        manifest = read_manifest(build)
    except (IndexProblem, ValueError) as exc:
        log.info("full rebuild: the manifest of the previous build %s is unreadable (%s)", build.name, exc)
        return None
    wanted = chunk_settings(chunking)
    stored = {k: manifest.settings.get(k) for k in wanted}
    if manifest.model_identity != embedder.identity or manifest.dimension != embedder.dimension:
        why = (f"the embedding model changed ({manifest.model_identity}, {manifest.dimension} dimensions -> "
               f"{embedder.identity}, {embedder.dimension} dimensions)")
    elif stored != wanted:
        why = ", ".join(f"{k} changed ({stored[k]} -> {v})" for k, v in wanted.items() if stored[k] != v)
    else:
        return manifest, build
    log.info("full rebuild: the previous build %s cannot be reused: %s", build.name, why)
    return None


def build_index(
    config: IndexConfig,
    embedder: TextEncoder,
    full: bool = False,
    progress: bool = False,
    fail_after_embedding: Callable[[], None] | None = None,
) -> BuildReport:
    """Write a new build beside the current one and publish it atomically; the old one serves until then.

    `fail_after_embedding` is a test hook that raises midway, to show a failed build changes nothing.
    """
    started = time.perf_counter()
    documents = load_corpus(config.corpus_dir)
    previous = None if full else _reusable(config.index_dir, config.chunking, embedder)
    old_docs = {d.doc_id: d for d in previous[0].documents} if previous else {}
    build_dir = new_build_dir(config.index_dir)
    report = BuildReport(build_dir=build_dir)
    try:
        units = [split_document(doc, config.chunking) for doc in documents]
        if previous:
            old_chunks, old_sentences = read_units(previous[1])
            old_cv, old_sv = read_vectors(previous[1], "chunk"), read_vectors(previous[1], "sentence")
        for du in units:
            record = old_docs.get(du.doc.doc_id)
            if previous and record and record.sha256 == du.doc.sha256:
                (c0, c1), (s0, s1) = record.chunk_rows, record.sentence_rows
                du.chunks, du.sentences = old_chunks[c0:c1], old_sentences[s0:s1]
                du.chunk_vectors, du.sentence_vectors = np.array(old_cv[c0:c1]), np.array(old_sv[s0:s1])
                report.reused.append(du.doc.doc_id)
        report.dropped = sorted(set(old_docs) - {d.doc_id for d in documents})

        to_embed = [du for du in units if du.chunk_vectors is None]
        texts = [chunk_embedding_text(c, du.doc.title) for du in to_embed for c in du.chunks]
        texts += [s.text for du in to_embed for s in du.sentences]
        t0 = time.perf_counter()
        vectors = embedder.encode(texts, progress=progress)
        report.encode_seconds = time.perf_counter() - t0
        n_chunk_texts = sum(len(du.chunks) for du in to_embed)
        chunk_vecs, sent_vecs = vectors[:n_chunk_texts], vectors[n_chunk_texts:]
        ci = si = 0
        for du in to_embed:
            du.chunk_vectors = chunk_vecs[ci : ci + len(du.chunks)]
            du.sentence_vectors = sent_vecs[si : si + len(du.sentences)]
            ci, si = ci + len(du.chunks), si + len(du.sentences)
            report.embedded.append(du.doc.doc_id)
        if fail_after_embedding:
            fail_after_embedding()

        manifest = _write_build(build_dir, units, config, embedder)
        manifest.build_seconds = round(time.perf_counter() - started, 3)
        write_manifest(build_dir, manifest)
        publish(config.index_dir, build_dir)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    report.chunks, report.sentences = manifest.counts["chunks"], manifest.counts["sentences"]
    report.seconds = time.perf_counter() - started
    return report


def _write_build(build_dir: Path, units: list[_DocUnits], config: IndexConfig, embedder: TextEncoder) -> Manifest:
    chunks = [c for du in units for c in du.chunks]
    sentences = [s for du in units for s in du.sentences]
    dim = embedder.dimension
    chunk_vectors = np.concatenate([du.chunk_vectors for du in units]) if units else np.zeros((0, dim), np.float32)
    sentence_vectors = np.concatenate([du.sentence_vectors for du in units]) if units else np.zeros((0, dim), np.float32)

    records, c0, s0 = [], 0, 0
    for du in units:
        c1, s1 = c0 + len(du.chunks), s0 + len(du.sentences)
        records.append(
            DocumentRecord(
                doc_id=du.doc.doc_id,
                file=du.doc.path.name,
                title=du.doc.title,
                publisher=du.doc.publisher,
                url=du.doc.url,
                note=du.doc.note,
                sha256=du.doc.sha256,
                size=du.doc.size,
                chunk_rows=(c0, c1),
                sentence_rows=(s0, s1),
                furniture=du.furniture,
            )
        )
        c0, s0 = c1, s1

    write_units(build_dir, chunks, sentences)
    write_vectors(build_dir, "chunk", chunk_vectors)
    write_vectors(build_dir, "sentence", sentence_vectors)
    params = config.dense
    chunk_index = vector_store.build_dense_index(chunk_vectors, params)
    vector_store.save(chunk_index, build_dir / "chunks.faiss")
    vector_store.save(vector_store.build_dense_index(sentence_vectors, params), build_dir / "sentences.faiss")
    titles = {du.doc.doc_id: du.doc.title for du in units}
    BM25Store.build([chunk_embedding_text(c, titles[c.doc_id]) for c in chunks]).save(build_dir / "bm25_chunks")
    BM25Store.build([s.text for s in sentences]).save(build_dir / "bm25_sentences")

    return Manifest(
        model=embedder.model_name,
        model_identity=embedder.identity,
        dimension=dim,
        settings={**chunk_settings(config.chunking), "dense_index_setting": config.dense.kind},
        dense_index=vector_store.index_kind(chunk_index),
        corpus_dir=str(config.corpus_dir),
        built_at=now_iso(),
        library_versions=library_versions(),
        documents=records,
        counts={"documents": len(units), "chunks": len(chunks), "sentences": len(sentences)},
    )
