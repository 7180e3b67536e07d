"""Find page furniture and headings by the shape of a line, without editing the text.

Furniture (ad-verification lines, counters, comment and newsletter prompts, call-to-action lines with a phone
number, bibliography lines) is returned as spans that chunking skips. The text is never rewritten, so every
offset still indexes the verbatim file. The rules describe kinds of lines, not particular documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from citeqa.index.text import BULLET, LIST_MARKER, REFERENCE, YEAR

_PHONE = r"(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}"

FURNITURE_RULES: dict[str, re.Pattern[str]] = {
    # ads.txt records ("google.com, pub-123, DIRECT, ...") and site-verification tokens
    "ad-verification": re.compile(
        r"\bpub-\d{6,}\b|\b[\w-]*site-verification\s*:|\bclickcease\b|^\s*[\w.-]+\.\w+,\s*[\w-]+,\s*(DIRECT|RESELLER)\b",
        re.I,
    ),
    "counter": re.compile(r"^\s*(hit|visitor|visit|page\s*view)s?\s+counter\s*$", re.I),
    "comment-prompt": re.compile(
        r"^\s*(leave|post|add|write) a (comment|reply)\b|email address will not be published|\bakismet\b"
        r"|\bcomments? section\b|^\s*\d*\s*comments?\s*$|^\s*\*\s*indicates required",
        re.I,
    ),
    "subscription-prompt": re.compile(
        r"^\s*(subscribe|sign up|join)\b.{0,60}$|\bnewsletter\b.{0,40}$|^.{0,40}\(100% free\)\s*$|^\s*related posts:?\s*$",
        re.I,
    ),
    "byline": re.compile(r"^\s*(avatar photo|publish(ed)? date\b|share this( article)?:?\s*$)", re.I),
    "call-to-action": re.compile(
        rf"\bcall\b[^.!?\n]{{0,40}}{_PHONE}|{_PHONE}[^.!?\n]{{0,40}}\b(call|today|now)\b"
        r"|^\s*call (us|our \w+)\b[^.!?\n]*\btoday\b",
        re.I,
    ),
    # Wikipedia-style reference lines ("^ abc Author (2001). ...") and bare source links
    "bibliography": re.compile(
        # (a DOI or PMID alone does not make a line a reference: abstracts and prose cite them too)
        rf"^\s*\^|^\s*(?:{BULLET}\s*)?(source|sources|retrieved from)\s*:\s*https?://|^\s*https?://\S+\s*$",
        re.I,
    ),
}

_SECTION_NUMBER = re.compile(r"^\d+(?:\.\d+)*\.?\s+\S")  # flush left; indented "1." is a step
_SECTION_NUMBER_PREFIX = re.compile(r"^\d+(?:\.\d+)*\.?\s+")
_TRAILING_REFERENCES = re.compile(rf"(?:{REFERENCE})+$")
_INNER_SENTENCE_END = re.compile(rf"[a-z0-9)\]][.!?](?:{REFERENCE})*\s+[A-Z]")
_YEAR_TITLE = re.compile(rf"^\s*{YEAR}:\s+\S")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # excludes the newline
    text: str


def lines_of(text: str) -> list[Line]:
    out: list[Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        out.append(Line(pos, pos + len(body), body))
        pos += len(raw)
    return out


def furniture_kind(line: str) -> str | None:
    if not line.strip():
        return None
    for kind, pattern in FURNITURE_RULES.items():
        if pattern.search(line):
            return kind
    return None


def find_furniture(text: str) -> list[Span]:
    """Spans of whole lines that are page furniture, in document order."""
    spans = []
    for line in lines_of(text):
        kind = furniture_kind(line.text)
        if kind:
            spans.append(Span(line.start, line.end, kind))
    return spans


def is_heading(line: str) -> bool:
    """A short line that titles what follows: no sentence-final period, not a bullet, not furniture."""
    stripped = line.strip()
    if _YEAR_TITLE.match(stripped) and len(stripped) <= 240:
        return True  # "2003: Title of the trial." introduces the section about that trial
    if not stripped or len(stripped) > 120 or LIST_MARKER.match(line) and not _SECTION_NUMBER.match(line):
        return False
    words = stripped.split()
    bare = _TRAILING_REFERENCES.sub("", stripped)  # "...in 1977.[8]" ends with a full stop
    if len(words) > 14 or not bare or bare[-1] in ".,;:!" or not (stripped[0].isupper() or stripped[0].isdigit()):
        return False
    if _INNER_SENTENCE_END.search(_SECTION_NUMBER_PREFIX.sub("", bare)):
        return False  # two sentences on one line are a paragraph, however short ("3. Title" is one)
    return furniture_kind(line) is None


def find_headings(text: str) -> list[Span]:
    return [Span(ln.start, ln.end, "heading") for ln in lines_of(text) if is_heading(ln.text)]


def content_segments(text: str, furniture: list[Span]) -> list[tuple[int, int]]:
    """The (start, end) ranges left once furniture spans are cut out."""
    segments = []
    pos = 0
    for span in sorted(furniture, key=lambda s: s.start):
        if span.start > pos and text[pos : span.start].strip():
            segments.append((pos, span.start))
        pos = max(pos, span.end)
    if pos < len(text) and text[pos:].strip():
        segments.append((pos, len(text)))
    return segments
