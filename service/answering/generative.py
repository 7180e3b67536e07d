"""Generative answers: a language model writes the answer from the numbered evidence passages only.

Its reply is parsed into sentences with [n] markers and every sentence goes through the same citation check
as an extractive answer. Any failure, or nothing surviving the check, keeps the extractive answer with the
reason. Which model answers is decided by `llm.chat_backend`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pysbd

from citeqa.index.retriever import Hit
from citeqa.index.units import Chunk
from citeqa.service.answering.citations import check_answer, citation_for
from citeqa.service.answering.conflicts import Claim, find_conflicts
from citeqa.service.answering.llm import ChatBackendError
from citeqa.service.models import Answer, AnswerSentence

if TYPE_CHECKING:  # pipeline.py imports this module
    from citeqa.service.answering.pipeline import AnswerContext

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d+)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+\])+[.]?")
NOT_IN_CORPUS = "NOT IN CORPUS"

SYSTEM_PROMPT = (
    "You answer questions using ONLY the numbered passages you are given, never outside knowledge. "
    "End every sentence with the number(s) of the passage(s) that support it, like [1] or [2][3]. "
    "Copy numbers, doses, units and dates exactly as the passages give them. "
    f"If the passages do not answer the question, reply exactly: {NOT_IN_CORPUS}. "
    "Answer in at most {max_sentences} short sentences."
)


@dataclass(frozen=True)
class GeneratedSentence:
    text: str  # without its markers
    markers: list[int]


def build_messages(question: str, passages: list[str], max_sentences: int) -> list[dict[str, str]]:
    numbered = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    return [
        {"role": "system", "content": SYSTEM_PROMPT.replace("{max_sentences}", str(max_sentences))},
        {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {question}"},
    ]


def parse_reply(reply: str) -> list[GeneratedSentence]:
    """Sentences with their [n] markers; a marker that trails a sentence end belongs to that sentence."""
    segmenter = pysbd.Segmenter(language="en", clean=False)
    raw = [s.strip() for s in segmenter.segment(reply.strip()) if s.strip()]
    merged: list[str] = []
    for piece in raw:
        lead = _LEADING_MARKERS.match(piece)
        if merged and lead:  # "... dose. [2] Next sentence": the marker belongs to the sentence before
            merged[-1] += " " + lead.group(0)
            piece = piece[lead.end() :].strip()
        if piece:
            merged.append(piece)
    out = []
    for piece in merged:
        markers = [int(m) for m in _MARKER.findall(piece)]
        text = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", piece)).strip()
        text = re.sub(r"\s{2,}", " ", text)
        if text:
            out.append(GeneratedSentence(text, list(dict.fromkeys(markers))))
    return out


def generative_answer(
    question: str, passages: list[Hit[Chunk]], extractive: Answer, ctx: AnswerContext, max_sentences: int
) -> Answer:
    """Ask the language model; on any failure, or if nothing it says survives the check, keep the extractive answer.

    Logs name the endpoint and what went wrong, never the question or the API key.
    """

    def fallback(why: str) -> Answer:
        return extractive.model_copy(update={"mode": "extractive (generative fallback)", "reason": why})

    if ctx.backend is None:
        return fallback("generative mode needs CITEQA_LLM_BASE_URL; answered extractively")
    try:
        reply = ctx.backend.complete(build_messages(question, [h.unit.text for h in passages], max_sentences))
    except ChatBackendError as exc:
        log.warning("language model failed (%s), answered extractively: %s", exc.kind, exc)
        return fallback(f"{exc}; answered extractively")
    if NOT_IN_CORPUS in reply.upper():
        log.info("the language model found no answer in %d passages; answered extractively", len(passages))
        return fallback("the language model found no answer in the passages; answered extractively")

    citations = [citation_for(n, h.unit, h.score, ctx.retriever, ctx.sources) for n, h in enumerate(passages, start=1)]
    sentences = [AnswerSentence(text=g.text, citations=g.markers) for g in parse_reply(reply)]
    draft = Answer(question=question, answer=reply, sentences=sentences[: max_sentences + 2], citations=citations,
                   mode="generative")
    checked = check_answer(draft, ctx.sources, ctx.judge)
    dropped = [r.reason for r in checked.removed if r.kind == "sentence"]
    if dropped:
        log.log(logging.INFO if checked.sentences else logging.WARNING,
                "the citation check dropped %d of %d generated sentences: %s",
                len(dropped), len(draft.sentences), " | ".join(dropped))
    if not checked.sentences:
        return fallback("no sentence of the language model's answer survived the citation check; answered extractively") \
            .model_copy(update={"removed": checked.removed})
    claims = [Claim(s.text, checked.citations[s.citations[0] - 1].doc_id, tuple(s.citations)) for s in checked.sentences]
    return checked.model_copy(update={"conflicts": find_conflicts(claims, ctx.params)})
