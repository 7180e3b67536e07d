"""Verbatim corpus texts, trusted only while their sha256 matches the index manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from citeqa.index.documents import CorpusError, read_verbatim
from citeqa.index.store import DocumentRecord, Manifest


@dataclass(frozen=True)
class SourceDocument:
    record: DocumentRecord
    text: str | None  # None when the file is gone or its bytes no longer match the manifest
    problem: str | None = None


class SourceStore:
    """The texts citations are checked against, read once at start-up."""

    def __init__(self, corpus_dir: Path, manifest: Manifest) -> None:
        self._docs: dict[str, SourceDocument] = {}
        for record in manifest.documents:
            path = corpus_dir / record.file
            try:
                text, digest = read_verbatim(path)
            except (OSError, CorpusError) as exc:
                self._docs[record.doc_id] = SourceDocument(record, None, f"cannot read {path}: {exc}")
                continue
            if digest != record.sha256:
                self._docs[record.doc_id] = SourceDocument(
                    record, None, f"{path.name} changed since it was indexed (sha256 mismatch); run `citeqa index`"
                )
            else:
                self._docs[record.doc_id] = SourceDocument(record, text)

    def get(self, doc_id: str) -> SourceDocument | None:
        return self._docs.get(doc_id)

    def records(self) -> list[DocumentRecord]:
        return [d.record for d in self._docs.values()]

    def content_texts(self) -> list[str]:
        """Each readable document with its page furniture blanked out (what answers may draw on)."""
        out = []
        for doc in self._docs.values():
            if doc.text is None:
                continue
            text = doc.text
            for start, end, _ in sorted(doc.record.furniture, reverse=True):
                text = text[:start] + " " * (end - start) + text[end:]
            out.append(text)
        return out

    def span(self, doc_id: str, start: int, end: int) -> str | None:
        """The verbatim text at start:end, or None if the document is unknown, changed, or the span is out of range."""
        doc = self._docs.get(doc_id)
        if doc is None or doc.text is None or not (0 <= start < end <= len(doc.text)):
            return None
        return doc.text[start:end]
