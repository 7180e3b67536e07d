"""On-disk layout of a built index, its manifest, and the atomic swap that publishes a new build.

`<index_dir>/current` is a symlink to `<index_dir>/builds/<name>`. A build is written in full under a fresh
name and published by replacing the symlink with os.replace, which is atomic: a crash at any moment leaves
either the previous build or the new one current, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from citeqa.index.documents import Document
from citeqa.index.units import Chunk, Sentence

FORMAT_VERSION = 1
CURRENT = "current"
BUILDS = "builds"


class IndexProblem(RuntimeError):
    """Base for index problems that a person fixes by running a command; the message names it."""


class IndexMissingError(IndexProblem):
    pass


class IndexMismatchError(IndexProblem):
    pass


class DocumentRecord(BaseModel):
    doc_id: str
    file: str
    title: str
    publisher: str | None = None
    url: str | None = None
    note: str | None = None
    sha256: str
    size: int
    chunk_rows: tuple[int, int]
    sentence_rows: tuple[int, int]
    furniture: list[tuple[int, int, str]] = []


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    model: str
    model_identity: str
    dimension: int
    settings: dict[str, object]
    dense_index: str
    corpus_dir: str
    built_at: str
    build_seconds: float = 0.0
    library_versions: dict[str, str]
    documents: list[DocumentRecord]
    counts: dict[str, int]

    def document(self, doc_id: str) -> DocumentRecord | None:
        return next((d for d in self.documents if d.doc_id == doc_id), None)


def library_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("faiss-cpu", "sentence-transformers", "torch", "bm25s", "langchain-text-splitters", "pysbd", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.exists():
        return None
    return link.resolve()


def new_build_dir(index_dir: Path) -> Path:
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=builds))


def publish(index_dir: Path, build_dir: Path) -> None:
    """Point `current` at `build_dir` atomically, then remove builds nothing points to."""
    link = index_dir / CURRENT
    tmp_link = index_dir / f".{CURRENT}.{os.getpid()}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(BUILDS) / build_dir.name, tmp_link)
    os.replace(tmp_link, link)
    _fsync_dir(index_dir)
    for old in (index_dir / BUILDS).iterdir():
        if old.resolve() != build_dir.resolve():
            shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def write_units(build_dir: Path, chunks: list[Chunk], sentences: list[Sentence]) -> None:
    write_json(build_dir / "chunks.json", [c.to_dict() for c in chunks])
    write_json(build_dir / "sentences.json", [s.to_dict() for s in sentences])


def read_units(build_dir: Path) -> tuple[list[Chunk], list[Sentence]]:
    chunks = [Chunk(**c) for c in json.loads((build_dir / "chunks.json").read_text(encoding="utf-8"))]
    sentences = [Sentence(**s) for s in json.loads((build_dir / "sentences.json").read_text(encoding="utf-8"))]
    return chunks, sentences


def write_vectors(build_dir: Path, name: str, vectors: np.ndarray) -> None:
    np.save(build_dir / f"{name}_vectors.npy", vectors)


def read_vectors(build_dir: Path, name: str) -> np.ndarray:
    return np.load(build_dir / f"{name}_vectors.npy", mmap_mode="r")


def write_manifest(build_dir: Path, manifest: Manifest) -> None:
    """Written last: a build directory without a manifest is an unfinished build."""
    (build_dir / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")


def read_manifest(build_dir: Path) -> Manifest:
    path = build_dir / "manifest.json"
    if not path.exists():
        raise IndexMissingError(f"{build_dir} has no manifest (an unfinished build); run `citeqa index --full`")
    return Manifest.model_validate_json(path.read_text(encoding="utf-8"))


def stale_documents(manifest: Manifest, documents: list[Document]) -> list[str]:
    """Why the index no longer matches the corpus on disk; empty when it does."""
    indexed = {d.doc_id: d.sha256 for d in manifest.documents}
    on_disk = {d.doc_id: d.sha256 for d in documents}
    reasons = [f"{doc_id} changed" for doc_id, sha in on_disk.items() if doc_id in indexed and indexed[doc_id] != sha]
    reasons += [f"{doc_id} added" for doc_id in on_disk if doc_id not in indexed]
    reasons += [f"{doc_id} deleted" for doc_id in indexed if doc_id not in on_disk]
    return sorted(reasons)
