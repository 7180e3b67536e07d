"""The message text a chat client shows for an answer: the answer, then a numbered source list, so every [n] in
the text has its source in the text itself (a plain chat client reads only `content`).

A length limit (`max_tokens`) or a stop sequence drops whole pieces from the end, never part of a sentence: a
half sentence could lose its [n], and a claim without its citation is what citeqa exists to prevent.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from citeqa.index.retriever import Retriever
from citeqa.index.text import REFERENCE_MARKER
from citeqa.service.answering.citations import compose
from citeqa.service.models import Answer, Citation

MARKER = re.compile(r"\[(\d+)\]")
SOURCES_HEADING = "Sources:"
ABSTENTION_FALLBACK = "The documents in the corpus do not answer this question."


def word_count(text: str) -> int:
    """citeqa's token estimate: words, as `usage` reports them."""
    return len(text.split())


def plain(text: str) -> str:
    """Corpus text fit for one line of the list: the source's own reference markers ("[8]") left out so that every
    [n] in the reply is citeqa's own, and line breaks and runs of spaces read as one space."""
    return " ".join(REFERENCE_MARKER.sub("", text).split())


def citation_places(citations: Sequence[Citation], retriever: Retriever) -> dict[int, str]:
    """Where each citation is, in words: its section; "introduction" under the title or before the first section;
    its characters only in a document without sections."""
    places = {}
    for c in citations:
        heading = c.heading
        if heading and heading.strip() != c.title.strip():
            places[c.n] = f"section “{plain(heading)}”"
        elif heading or has_sections(retriever, c.doc_id):
            places[c.n] = "introduction"
        else:
            places[c.n] = characters(c)
    return places


def has_sections(retriever: Retriever, doc_id: str) -> bool:
    units = retriever.sentences.units
    return any(units[row].heading for row in retriever.sentence_rows_within(doc_id, 0, sys.maxsize))


def characters(citation: Citation) -> str:
    return f"characters {citation.start}–{citation.end}"


def source_line(citation: Citation, place: str) -> str:
    return f"- [{citation.n}] {plain(citation.title)} ({citation.doc_id}), {place}: “{plain(citation.quote)}”"


@dataclass(frozen=True)
class Piece:
    """A part of the reply that is kept or dropped whole, with what separates it from the part before."""

    text: str
    joiner: str = " "


def answer_pieces(answer: Answer) -> list[Piece]:
    """The short answer, then each cited sentence (the first carrying any lead-in, such as a spelling notice),
    then what part of the question went unanswered; or, for an abstention, why the corpus cannot answer."""
    text = answer.answer.strip()
    if answer.abstained:
        # The answer text up to its reason (with any spelling notice), without the passages it points to next,
        # which a chat reply does not show.
        reason = (answer.reason or "").strip() or ABSTENTION_FALLBACK
        at = text.find(reason)
        return [Piece(text[: at + len(reason)] if at >= 0 else f"Not in the corpus: {reason}", "")]
    pieces: list[Piece] = []
    if answer.short_answer:
        pieces.append(Piece(f"**{answer.short_answer.text}** [{answer.short_answer.citation}]", ""))
    sentences = [compose([s]) for s in answer.sentences]
    body = " ".join(sentences)
    if sentences and text.endswith(body):
        lead = text[: len(text) - len(body)]
        pieces += [Piece(lead + sentences[0], "\n\n")] + [Piece(s) for s in sentences[1:]]
    elif text:  # not made of its sentences (never expected): kept whole rather than guessed apart
        pieces.append(Piece(text, "\n\n"))
    if answer.reason:
        pieces.append(Piece(answer.reason.strip(), "\n\n"))
    return pieces


@dataclass(frozen=True)
class ChatReply:
    content: str
    finish_reason: str  # "stop", or "length" when max_tokens dropped part of the answer


def chat_reply(
    answer: Answer,
    places: dict[int, str],
    max_tokens: int | None = None,
    stop: Sequence[str] = (),
) -> ChatReply:
    """The answer's pieces up to the first one holding a stop sequence, and as many as fit in `max_tokens` words
    together with their sources; then the source list of exactly the [n] markers kept."""
    pieces = answer_pieces(answer)
    for i, piece in enumerate(pieces):
        if any(s and s in piece.text for s in stop):
            pieces = pieces[:i]
            break
    citations = {c.n: c for c in answer.citations}
    finish_reason = "stop"
    for kept in range(len(pieces), -1, -1):
        content = render(pieces[:kept], citations, places)
        if max_tokens is None or word_count(content) <= max_tokens:
            break
        finish_reason = "length"
    return ChatReply(content, finish_reason)


def render(pieces: list[Piece], citations: dict[int, Citation], places: dict[int, str]) -> str:
    text = "".join(p.joiner + p.text if i else p.text for i, p in enumerate(pieces))
    # a marker without its citation cannot be listed, so it is not shown either (the check never leaves one)
    text = MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in citations else "", text)
    cited = sorted({int(n) for n in MARKER.findall(text)})
    if not cited:
        return text
    sources = "\n".join(source_line(citations[n], places.get(n) or characters(citations[n])) for n in cited)
    return f"{text}\n\n{SOURCES_HEADING}\n{sources}"
