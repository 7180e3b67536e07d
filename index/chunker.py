"""Split a document's content (furniture cut out) into overlapping chunks with exact character offsets."""

from __future__ import annotations

import bisect

from langchain_text_splitters import RecursiveCharacterTextSplitter

from citeqa.index.cleaning import Span, content_segments
from citeqa.index.documents import Document
from citeqa.index.units import Chunk


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    if chunk_overlap >= chunk_size:
        raise ValueError(f"chunk overlap ({chunk_overlap}) must be smaller than chunk size ({chunk_size})")
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def heading_at(headings: list[Span], position: int, text: str) -> str | None:
    """The nearest heading that starts at or before `position`."""
    starts = [h.start for h in headings]
    i = bisect.bisect_right(starts, position) - 1
    return text[headings[i].start : headings[i].end].strip() if i >= 0 else None


def locate(segment: str, piece: str, hint: int) -> int:
    """Where `piece` sits in `segment`; the splitter's own start index is trusted only when it checks out."""
    if 0 <= hint and segment[hint : hint + len(piece)] == piece:
        return hint
    found = segment.find(piece, max(0, hint - len(piece)))
    if found < 0:
        found = segment.find(piece)
    if found < 0:
        raise ValueError("chunk text not found in its segment")
    return found


MIN_CHUNK_CHARS = 80


def chunk_document(
    doc: Document, furniture: list[Span], headings: list[Span], chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    splitter = make_splitter(chunk_size, chunk_overlap)
    spans: list[tuple[int, int]] = []
    for seg_start, seg_end in content_segments(doc.text, furniture):
        segment = doc.text[seg_start:seg_end]
        pieces = []
        for piece in splitter.create_documents([segment]):
            if piece.page_content.strip():
                start = seg_start + locate(segment, piece.page_content, piece.metadata.get("start_index", -1))
                pieces.append((start, start + len(piece.page_content)))
        spans.extend(_merge_small(pieces))
    return [
        Chunk(
            chunk_id=f"{doc.doc_id}#c{i:04d}",
            doc_id=doc.doc_id,
            start=start,
            end=end,
            text=doc.text[start:end],
            heading=heading_at(headings, start, doc.text),
        )
        for i, (start, end) in enumerate(spans)
    ]


def _merge_small(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fold a piece too small to stand alone (typically a lone heading) into the next one of its segment."""
    out: list[tuple[int, int]] = []
    carry: int | None = None
    for i, (start, end) in enumerate(pieces):
        if carry is not None:
            start, carry = min(start, carry), None
        if end - start < MIN_CHUNK_CHARS and i + 1 < len(pieces):
            carry = start
            continue
        out.append((start, end))
    return out
