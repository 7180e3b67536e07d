"""answer(question): retrieve, pick evidence sentences, compose a cited answer or abstain, then check it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from citeqa.settings import AnswerMode, RetrievalMode, Settings
from index.retriever import Hit, Retriever
from index.units import Chunk
from service import generative
from service.abstention import CorpusVocabulary, missing_key_terms
from service.citations import SupportJudge, check_answer, compose
from service.conflicts import Claim, find_conflicts, has_figures
from service.evidence import (
    RELATIVE_FLOOR,
    Evidence,
    StemCache,
    collect_candidates,
    display_text,
    rank_evidence,
    select_evidence,
)
from service.models import Answer, AnswerSentence, Citation, Passage
from service.search import to_passage
from service.sources import SourceStore

SENTENCE_CANDIDATES = 30


@dataclass(frozen=True)
class AnswerContext:
    """What answering needs besides the question; built once per engine."""

    settings: Settings
    retriever: Retriever
    sources: SourceStore
    vocabulary: CorpusVocabulary
    judge: SupportJudge
    embed: Callable[[str], np.ndarray]
    stems: StemCache


def answer_question(
    question: str, ctx: AnswerContext, mode: AnswerMode, max_sentences: int, retrieval_mode: RetrievalMode
) -> Answer:
    timings: dict[str, float] = {}
    started = lap = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + (now - lap) * 1000
        lap = now

    settings, retriever = ctx.settings, ctx.retriever
    query_vector = ctx.embed(question)
    tick("embed")
    passages = retriever.search(question, settings.answer_passages, retrieval_mode, query_vector, timings)
    related = [to_passage(h, retriever) for h in passages]
    missing = missing_key_terms(question, ctx.vocabulary)
    ranked: list[Evidence] = []
    if not missing:  # a missing key term settles it: no evidence to rank
        candidates = collect_candidates(retriever, question, query_vector, passages, SENTENCE_CANDIDATES, timings)
        lap = time.perf_counter()
        ranked = rank_evidence(retriever, question, query_vector, candidates, ctx.vocabulary.idf, ctx.stems)
    best = ranked[0].cosine if ranked else 0.0
    if missing:
        terms = ", ".join(f"“{t}”" for t in missing)
        answer = abstain(question, f"The corpus never mentions {terms}, so it cannot answer this.", related)
    elif best < settings.min_sentence_similarity:
        answer = abstain(
            question,
            f"Nothing in the corpus answers this closely enough (best evidence similarity {best:.2f}, "
            f"below the {settings.min_sentence_similarity:.2f} bar).",
            related,
        )
    else:
        chosen = select_evidence(ranked, retriever, max_sentences, settings.min_sentence_similarity,
                                 settings.duplicate_similarity)
        chosen += conflict_counterparts(chosen, ranked, settings.min_sentence_similarity, retriever)
        answer = extractive_answer(question, chosen, ctx)
    tick("sentence_selection")

    if mode == "generative" and not answer.abstained:
        answer = generative_answer(question, passages, answer, ctx, max_sentences)
        tick("generation")

    answer = check_answer(answer, ctx.sources, ctx.judge)
    if answer.abstained and not answer.related:
        answer = answer.model_copy(update={"related": related})
    tick("check")
    timings["total"] = (time.perf_counter() - started) * 1000
    return answer.model_copy(update={"timings_ms": {k: round(v, 3) for k, v in timings.items()}})


def abstain(question: str, reason: str, related: list[Passage]) -> Answer:
    return Answer(
        question=question,
        answer=f"Not in the corpus: {reason} The passages below are the closest ones; they are not an answer.",
        abstained=True,
        reason=reason,
        related=related,
    )


def conflict_counterparts(
    chosen: list[Evidence], ranked: list[Evidence], min_similarity: float, retriever: Retriever
) -> list[Evidence]:
    """A relevant sentence from another source that gives a different date or amount joins the answer."""
    if not chosen:
        return []
    floor = ranked[0].score - 2 * RELATIVE_FLOOR
    taken = {e.sentence.sentence_id for c in chosen for e in [c, *c.also]}
    claims = {c.sentence.sentence_id: claim_of(c, (i,), retriever) for i, c in enumerate(chosen)}
    extra: list[Evidence] = []
    for c in chosen:
        if not has_figures(c.sentence.text):
            continue  # only dates and amounts can disagree
        mine = claims[c.sentence.sentence_id]
        if any(find_conflicts([mine, other]) for key, other in claims.items() if key != c.sentence.sentence_id):
            continue  # the answer already shows this disagreement
        for candidate in ranked:
            if candidate.score < floor or candidate.cosine < min_similarity:
                break
            s = candidate.sentence
            if s.sentence_id in taken or s.doc_id == c.sentence.doc_id or not has_figures(s.text):
                continue
            if find_conflicts([mine, claim_of(candidate, (-1,), retriever)]):
                extra.append(candidate)
                taken.add(s.sentence_id)
                break
    return extra


def claim_of(evidence: Evidence, citations: tuple[int, ...], retriever: Retriever) -> Claim:
    s = evidence.sentence
    return Claim(display_text(s), s.doc_id, citations, np.asarray(retriever.sentences.vectors[evidence.row]))


def extractive_answer(question: str, chosen: list[Evidence], ctx: AnswerContext) -> Answer:
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    claims: list[Claim] = []
    for evidence in chosen:
        numbers = [len(citations) + i for i, _ in enumerate([evidence, *evidence.also], start=1)]
        for n, e in zip(numbers, [evidence, *evidence.also]):
            citations.append(cite(n, e, ctx))
        sentences.append(AnswerSentence(text=display_text(evidence.sentence), citations=numbers))
        claims.append(claim_of(evidence, tuple(numbers), ctx.retriever))
    return Answer(
        question=question,
        answer=compose(sentences),
        sentences=sentences,
        citations=citations,
        conflicts=find_conflicts(claims),
        mode="extractive",
    )


def cite(n: int, evidence: Evidence, ctx: AnswerContext) -> Citation:
    s = evidence.sentence
    record = ctx.retriever.documents[s.doc_id]
    quote = ctx.sources.span(s.doc_id, s.start, s.end)
    return Citation(
        n=n, doc_id=s.doc_id, title=record.title, publisher=record.publisher, chunk_id=s.chunk_id,
        start=s.start, end=s.end, quote=s.text if quote is None else quote, score=round(evidence.score, 4),
    )


def generative_answer(
    question: str, passages: list[Hit[Chunk]], extractive: Answer, ctx: AnswerContext, max_sentences: int
) -> Answer:
    """Ask the language model; on any failure, or if nothing it says survives the check, keep the extractive answer."""
    settings = ctx.settings

    def fallback(why: str) -> Answer:
        return extractive.model_copy(update={"mode": "extractive (generative fallback)", "reason": why})

    if not settings.llm_base_url:
        return fallback("generative mode needs CITEQA_LLM_BASE_URL; answered extractively")
    texts = [h.unit.text for h in passages]
    try:
        reply = generative.complete(
            settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_s,
            generative.build_messages(question, texts, max_sentences),
        )
    except generative.GenerativeError as exc:
        return fallback(f"{exc}; answered extractively")
    if generative.NOT_IN_CORPUS in reply.upper():
        return fallback("the language model found no answer in the passages; answered extractively")

    citations = []
    for n, hit in enumerate(passages, start=1):
        c = hit.unit
        record = ctx.retriever.documents[c.doc_id]
        quote = ctx.sources.span(c.doc_id, c.start, c.end)
        citations.append(Citation(
            n=n, doc_id=c.doc_id, title=record.title, publisher=record.publisher, chunk_id=c.chunk_id,
            start=c.start, end=c.end, quote=c.text if quote is None else quote, score=round(hit.score, 6),
        ))
    sentences = [AnswerSentence(text=g.text, citations=g.markers) for g in generative.parse_reply(reply)]
    draft = Answer(question=question, answer=reply, sentences=sentences[: max_sentences + 2], citations=citations,
                   mode="generative")
    checked = check_answer(draft, ctx.sources, ctx.judge)
    if not checked.sentences:
        return fallback("no sentence of the language model's answer survived the citation check; answered extractively") \
            .model_copy(update={"removed": checked.removed})
    claims = [Claim(s.text, checked.citations[s.citations[0] - 1].doc_id, tuple(s.citations)) for s in checked.sentences]
    return checked.model_copy(update={"conflicts": find_conflicts(claims)})
