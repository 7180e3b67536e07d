"""Load a folder of .txt/.md files byte-exact, with optional `sources.toml` metadata.

Offsets everywhere in citeqa are character offsets into `Document.text`, which is the file's bytes decoded
as UTF-8 with no newline translation, so `text[start:end]` is always the verbatim source.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".txt", ".md")
METADATA_FILE = "sources.toml"


class CorpusError(ValueError):
    """The corpus folder cannot be used as given."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: Path
    text: str
    sha256: str
    title: str
    publisher: str | None = None
    note: str | None = None
    url: str | None = None  # where the original is published

    @property
    def size(self) -> int:
        return len(self.text)


def read_verbatim(path: Path) -> tuple[str, str]:
    """Return (text, sha256 of the bytes); decoding never rewrites newlines."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path} is not UTF-8 text ({exc}); convert it to UTF-8 and run `citeqa index` again") from exc
    return text, hashlib.sha256(data).hexdigest()


def first_heading(text: str) -> str | None:
    """The first non-empty line, without Markdown '#' marks, as a fallback title."""
    for line in text.splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped[:200]
    return None


def load_metadata(corpus_dir: Path) -> dict[str, dict[str, str]]:
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CorpusError(f"{path} is not valid TOML: {exc}") from exc
    return {key: value for key, value in data.items() if isinstance(value, dict)}


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; set CITEQA_CORPUS_DIR to a folder of .txt/.md files")
    files = sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    stems = [p.stem for p in files]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise CorpusError(f"two files share the document id(s) {clashes} in {corpus_dir}; rename one of each pair")
    return files


def load_document(path: Path, metadata: dict[str, str] | None = None) -> Document:
    metadata = metadata or {}
    text, digest = read_verbatim(path)
    return Document(
        doc_id=path.stem,
        path=path,
        text=text,
        sha256=digest,
        title=metadata.get("title") or first_heading(text) or path.stem,
        publisher=metadata.get("publisher"),
        note=metadata.get("note"),
        url=metadata.get("url"),
    )


def load_corpus(corpus_dir: Path) -> list[Document]:
    metadata = load_metadata(corpus_dir)
    documents = [load_document(p, metadata.get(p.stem)) for p in corpus_files(corpus_dir)]
    if not documents:
        raise CorpusError(f"corpus folder {corpus_dir} holds no .txt or .md files")
    return documents
