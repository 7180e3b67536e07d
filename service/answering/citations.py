"""The citation check every answer passes before it leaves, whatever produced it.

1. A citation stands only if its `quote` is exactly the text at `start:end` of a corpus file whose sha256
   matches the index manifest (SourceStore holds only such files).
2. A sentence stands only if at least one of its remaining citations supports it: the sentence is an extract
   of the quote, or it shares enough content words and meaning with it, and every number, unit and negation
   in the sentence also appears in the quote.
Whatever is taken out is listed in `removed` with the reason; citations are renumbered 1..n afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from citeqa.index.text import REFERENCE_MARKER, amounts, content_stems, numbers
from citeqa.index.retriever import Retriever
from citeqa.index.units import Chunk, Sentence
from citeqa.service.models import Answer, AnswerSentence, Citation, Removal
from citeqa.service.sources import SourceStore

_NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|wasn't|weren't|unlikely|insufficient|ineffective)\b|n't\b", re.I)


@dataclass(frozen=True)
class Support:
    ok: bool
    reason: str = ""


def normalize(text: str) -> str:
    text = REFERENCE_MARKER.sub(" ", text.replace("’", "'").replace("–", "-").replace("—", "-"))
    return " ".join(re.findall(r"[a-z0-9]+(?:[.'-][a-z0-9]+)*", text.lower()))


def units_in(text: str) -> set[str]:
    return {unit for _, unit in amounts(text)}


def has_negation(text: str) -> bool:
    return bool(_NEGATION.search(text))


class SupportJudge:
    """Is a sentence backed by a quote? Exact extracts pass at once; anything else must clear every bar."""

    def __init__(self, embed_many: Callable[[list[str]], np.ndarray], min_similarity: float, min_overlap: float) -> None:
        self._embed_many = embed_many
        self.min_similarity = min_similarity
        self.min_overlap = min_overlap

    def __call__(self, sentence: str, quote: str) -> Support:
        s_norm, q_norm = normalize(sentence), normalize(quote)
        if s_norm and s_norm in q_norm:
            return Support(True, "extract")
        missing_numbers = numbers(sentence) - numbers(quote)
        if missing_numbers:
            return Support(False, f"number(s) {', '.join(sorted(missing_numbers))} not in the cited source")
        missing_units = units_in(sentence) - units_in(quote)
        if missing_units:
            return Support(False, f"unit(s) {', '.join(sorted(missing_units))} not in the cited source")
        if has_negation(sentence) != has_negation(quote):
            return Support(False, "negation differs from the cited source")
        stems = content_stems(sentence, numbers=False)  # its numbers were checked above
        overlap = len(stems & content_stems(quote, numbers=False)) / len(stems) if stems else 0.0
        if overlap < self.min_overlap:
            return Support(False, f"only {overlap:.0%} of its content words are in the cited source")
        vectors = self._embed_many([sentence, quote])
        similarity = float(np.dot(vectors[0], vectors[1]))
        if similarity < self.min_similarity:
            return Support(False, f"meaning too far from the cited source (similarity {similarity:.2f})")
        return Support(True, f"overlap {overlap:.0%}, similarity {similarity:.2f}")


def compose(sentences: list[AnswerSentence]) -> str:
    return " ".join(f"{s.text} {''.join(f'[{n}]' for n in s.citations)}" for s in sentences)


def check_answer(answer: Answer, sources: SourceStore, judge: SupportJudge) -> Answer:
    removed = list(answer.removed)
    valid: dict[int, Citation] = {}
    for c in answer.citations:
        verbatim = sources.span(c.doc_id, c.start, c.end)
        if verbatim is None:
            doc = sources.get(c.doc_id)
            why = doc.problem if doc and doc.problem else f"no verbatim source for {c.doc_id} {c.start}:{c.end}"
            removed.append(Removal(kind="citation", citation=c.n, text=c.quote, reason=why))
        elif verbatim != c.quote:
            removed.append(
                Removal(kind="citation", citation=c.n, text=c.quote,
                        reason=f"quote differs from the source text at {c.doc_id} {c.start}:{c.end}")
            )
        else:
            valid[c.n] = c

    kept: list[AnswerSentence] = []
    for sentence in answer.sentences:
        supporting, reasons = [], []
        for n in sentence.citations:
            if n not in valid:
                reasons.append(f"[{n}] was removed or does not exist")
                continue
            verdict = judge(sentence.text, valid[n].quote)
            if verdict.ok:
                supporting.append(n)
            else:
                reasons.append(f"[{n}] {verdict.reason}")
        if supporting:
            kept.append(AnswerSentence(text=sentence.text, citations=supporting))
        else:
            why = "; ".join(reasons) if reasons else "it has no citation"
            removed.append(Removal(kind="sentence", text=sentence.text, reason=f"not supported by its citations: {why}"))

    renumber = {old: new for new, old in enumerate(sorted({n for s in kept for n in s.citations}), start=1)}
    citations = [valid[old].model_copy(update={"n": new}) for old, new in renumber.items()]
    sentences = [AnswerSentence(text=s.text, citations=[renumber[n] for n in s.citations]) for s in kept]
    conflicts = []
    for conflict in answer.conflicts:
        values = [v.model_copy(update={"citations": [renumber[n] for n in v.citations if n in renumber]}) for v in conflict.values]
        if sum(1 for v in values if v.citations) >= 2:
            conflicts.append(conflict.model_copy(update={"values": [v for v in values if v.citations]}))

    update: dict = {"sentences": sentences, "citations": citations, "removed": removed, "conflicts": conflicts}
    if not sentences and not answer.abstained:
        update |= {
            "abstained": True,
            "reason": "no sentence of the answer survived the citation check",
            "answer": "",
        }
    else:
        update["answer"] = compose(sentences) if sentences else answer.answer
    return answer.model_copy(update=update)


def citation_for(n: int, unit: Chunk | Sentence, score: float, retriever: Retriever, sources: SourceStore) -> Citation:
    """Citation n of a passage or sentence, its quote read from the verified source file."""
    record = retriever.documents[unit.doc_id]
    quote = sources.span(unit.doc_id, unit.start, unit.end)
    return Citation(
        n=n, doc_id=unit.doc_id, title=record.title, publisher=record.publisher, chunk_id=unit.chunk_id,
        start=unit.start, end=unit.end, quote=unit.text if quote is None else quote,
        heading=unit.heading, score=round(score, 4),
    )
