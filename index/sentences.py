"""Split document content into citable sentences with exact offsets.

pysbd does the sentence boundaries (abbreviations such as "e.g." and "Dr.", decimals such as "2.5 mg",
parentheses such as "(n = 17)"). Lines are split first, so headings without a period and bullet items never
run into their neighbours. A lead-in ending in ":" followed by short bullet items becomes one "list" unit,
because "• dizziness" alone is not evidence for anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pysbd

from citeqa.index.chunker import heading_at
from citeqa.index.cleaning import Line, Span, content_segments, is_heading, lines_of
from citeqa.index.documents import Document
from citeqa.index.text import LIST_MARKER, REFERENCE
from citeqa.index.units import Chunk, Sentence

_REFERENCE_MARKERS = re.compile(rf"(?:\s*{REFERENCE})+")  # used with match(pos): anchored there
# "...in 1977.[8] It is..." : pysbd keeps this together; a reference marker after a full stop ends the sentence
_BOUNDARY_AFTER_REFERENCE = re.compile(rf"[.!?][\"”’)]?(?:{REFERENCE})+\s+(?=[A-Z“\"(])")
SHORT_ITEM_WORDS = 12


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    kind: str = "sentence"


def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_line(text: str, line: Line, segmenter: pysbd.Segmenter) -> list[_Piece]:
    """Sentences of one line, with bullet or step markers left outside the span."""
    marker = LIST_MARKER.match(line.text)
    body_start = line.start + (marker.end() if marker else 0)
    body = text[body_start : line.end]
    pieces: list[_Piece] = []
    pos = 0
    for sentence in segmenter.segment(body):
        found = body.find(sentence, pos) if sentence else -1
        if found < 0:
            continue
        pos = found + len(sentence)
        cut = body_start + found
        for boundary in _BOUNDARY_AFTER_REFERENCE.finditer(text, cut, body_start + pos):
            pieces.append(_Piece(*_trim(text, cut, boundary.end())))
            cut = boundary.end()
        start, end = _trim(text, cut, body_start + pos)
        if start < end:
            pieces.append(_Piece(start, end))
    return _attach_reference_markers(text, pieces)


def _attach_reference_markers(text: str, pieces: list[_Piece]) -> list[_Piece]:
    """Move "[8]" from the head of a sentence back to the sentence it annotates."""
    out: list[_Piece] = []
    for piece in pieces:
        head = _REFERENCE_MARKERS.match(text, piece.start, piece.end)
        if out and head and head.end() > piece.start:
            out[-1] = _Piece(out[-1].start, head.end(), out[-1].kind)
            start, end = _trim(text, head.end(), piece.end)
            if start < end:
                out.append(_Piece(start, end))
        else:
            out.append(piece)
    return out


def _is_short_item(line: Line) -> bool:
    """A bullet that names a thing ("• dizziness") rather than saying something in sentences."""
    marker = LIST_MARKER.match(line.text)
    if not marker:
        return False
    item = line.text[marker.end() :].strip()
    return len(item.split()) <= SHORT_ITEM_WORDS and not re.search(r"[.!?](\s|$)", item)


def _is_numbered(line: Line) -> bool:
    marker = LIST_MARKER.match(line.text)
    return bool(marker) and marker.group(0).strip()[0].isdigit()


def _same_list(a: Line, b: Line) -> bool:
    """Bullets and numbered steps are different lists."""
    return _is_numbered(a) == _is_numbered(b)


def split_segment(text: str, seg_start: int, seg_end: int, segmenter: pysbd.Segmenter) -> list[_Piece]:
    lines = [ln for ln in lines_of(text) if ln.start >= seg_start and ln.end <= seg_end and ln.text.strip()]
    pieces: list[_Piece] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if is_heading(line.text):
            i += 1
            continue
        if _is_short_item(line):
            j = i
            while j + 1 < len(lines) and _is_short_item(lines[j + 1]) and _same_list(line, lines[j + 1]):
                j += 1
            first = LIST_MARKER.match(line.text)
            start = line.start + first.end()
            # join a lead-in sentence ending in ":" (or a heading just above) to the list it introduces
            if pieces and text[pieces[-1].end - 1] == ":":
                start = pieces.pop().start
            elif i > 0 and is_heading(lines[i - 1].text):
                start = lines[i - 1].start
            pieces.append(_Piece(start, lines[j].end, "list"))
            i = j + 1
            continue
        pieces.extend(split_line(text, line, segmenter))
        i += 1
    return pieces


def split_sentences(doc: Document, furniture: list[Span], headings: list[Span], chunks: list[Chunk]) -> list[Sentence]:
    """Every sentence of the document's content, each assigned to the first chunk that holds it whole."""
    segmenter = _segmenter()
    sentences: list[Sentence] = []
    for seg_start, seg_end in content_segments(doc.text, furniture):
        for piece in split_segment(doc.text, seg_start, seg_end, segmenter):
            sentences.append(
                Sentence(
                    sentence_id=f"{doc.doc_id}#s{len(sentences):04d}",
                    doc_id=doc.doc_id,
                    chunk_id=_owning_chunk(chunks, piece.start, piece.end),
                    start=piece.start,
                    end=piece.end,
                    text=doc.text[piece.start : piece.end],
                    heading=heading_at(headings, piece.start, doc.text),
                    kind=piece.kind,  # type: ignore[arg-type]
                )
            )
    return sentences


def _owning_chunk(chunks: list[Chunk], start: int, end: int) -> str:
    best, best_overlap = "", -1
    for chunk in chunks:
        if chunk.start <= start and end <= chunk.end:
            return chunk.chunk_id
        overlap = min(end, chunk.end) - max(start, chunk.start)
        if overlap > best_overlap:
            best, best_overlap = chunk.chunk_id, overlap
    return best
