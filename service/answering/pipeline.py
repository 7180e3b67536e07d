"""answer(question): retrieve, pick evidence sentences, compose a cited answer or abstain, then check it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from citeqa.settings import AnswerMode, RetrievalMode
from citeqa.index.retriever import Retriever
from citeqa.service.answering.abstention import CorpusVocabulary, missing_key_terms
from citeqa.service.answering.citations import SupportJudge, check_answer, citation_for, compose
from citeqa.service.answering.conflicts import Claim, find_conflicts, has_figures
from citeqa.service.answering.evidence import (
    Evidence,
    StemCache,
    collect_candidates,
    display_text,
    rank_evidence,
    select_evidence,
)
from citeqa.service.answering.generative import generative_answer
from citeqa.service.answering.llm import ChatBackend
from citeqa.service.answering.params import AnsweringParams
from citeqa.service.answering.question import QuestionAnalysis, QuestionPart, analyze
from citeqa.service.answering.reader import (
    SHAPED_TYPES,
    Reader,
    SentenceJudgements,
    answers_part,
    with_reader_scores,
)
from citeqa.service.answering.short_answer import best_span
from citeqa.service.answering.spelling import CorrectedQuestion, SpellingCorrector
from citeqa.service.models import Answer, AnswerSentence, Citation, Correction, Passage, ShortAnswer
from citeqa.service.search import to_passage
from citeqa.service.sources import SourceStore


@dataclass(frozen=True)
class AnswerContext:
    """What answering needs besides the question; built once per engine."""

    params: AnsweringParams
    retriever: Retriever
    sources: SourceStore
    vocabulary: CorpusVocabulary
    judge: SupportJudge
    embed: Callable[[str], np.ndarray]
    stems: StemCache
    speller: SpellingCorrector | None  # present when the reader is on
    judgements: SentenceJudgements
    backend: ChatBackend | None  # the language model for generative mode, when one is configured


def answer_question(
    question: str, ctx: AnswerContext, mode: AnswerMode, max_sentences: int, retrieval_mode: RetrievalMode
) -> Answer:
    # Every stage is a lap of one clock, so the stages add up to the total.
    timings: dict[str, float] = {}
    started = lap = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + (now - lap) * 1000
        lap = now

    params, retriever = ctx.params, ctx.retriever
    corrected = ctx.speller.correct(question) if ctx.speller is not None else CorrectedQuestion(question, ())
    asked = corrected.text  # what is searched and read; the answer keeps the question as written
    analysis = analyze(asked) if params.reader else None
    tick("question_analysis")
    query_vector = ctx.embed(asked)
    tick("embed")
    passages = retriever.search(asked, params.passages, retrieval_mode, query_vector)
    related = [to_passage(h, retriever) for h in passages]
    tick("passage_search")
    missing = missing_key_terms(asked, ctx.vocabulary, params.rare_zipf)
    tick("key_terms")
    ranked: list[Evidence] = []
    if not missing:  # a missing key term settles it: no evidence to rank
        candidates = collect_candidates(retriever, asked, query_vector, passages, params)
        tick("candidates")
        ranked = rank_evidence(retriever, asked, query_vector, candidates, ctx.vocabulary.idf, ctx.stems, params)
        tick("ranking")
    best = ranked[0].cosine if ranked else 0.0
    if missing:
        terms = ", ".join(f"“{t}”" for t in missing)
        answer = abstain(question, f"The corpus never mentions {terms}, so it cannot answer this.", related)
    elif best < params.min_sentence_similarity:
        answer = abstain(
            question,
            f"Nothing in the corpus answers this closely enough (best evidence similarity {best:.2f}, "
            f"below the {params.min_sentence_similarity:.2f} bar).",
            related,
        )
    elif analysis is not None:  # the reader is on
        answer = read_answer(question, analysis, ranked, ctx, max_sentences, related)
    else:
        chosen = select_evidence(ranked, retriever, max_sentences, params)
        chosen += conflict_counterparts(chosen, ranked, params, retriever)
        answer = extractive_answer(question, chosen, ctx)
    tick("reading")

    if mode == "generative" and not answer.abstained:
        answer = generative_answer(question, passages, answer, ctx, max_sentences)
        tick("generation")

    answer = check_answer(answer, ctx.sources, ctx.judge)
    if analysis is not None:
        answer = with_short_answer(answer, analysis, ctx)
    if corrected.corrections:  # the answer says how it read the question
        notice = "; ".join(c.notice() for c in corrected.corrections)
        answer = answer.model_copy(update={
            "answer": f"({notice[:1].upper()}{notice[1:]}.) {answer.answer}",
            "asked": asked,
            "corrections": [Correction(**asdict(c)) for c in corrected.corrections],
        })
    if answer.abstained and not answer.related:
        answer = answer.model_copy(update={"related": related})
    tick("check")
    timings["total"] = (lap - started) * 1000
    return answer.model_copy(update={"timings_ms": {k: round(v, 3) for k, v in timings.items()}})


def read_answer(
    question: str,
    analysis: QuestionAnalysis,
    ranked: list[Evidence],
    ctx: AnswerContext,
    max_sentences: int,
    related: list[Passage],
) -> Answer:
    """The reader's answer: for each part of the question, the sentences that answer it, or why none does."""
    reader = Reader(
        ctx.retriever, ctx.stems, ctx.vocabulary.idf, ctx.vocabulary.is_specific, ctx.judgements, ctx.params
    )
    chosen: list[Evidence] = []
    missing: list[str] = []
    per_part = max(1, max_sentences // len(analysis.parts))
    # the reader has already judged relevance and kept what is close to its best: selection only merges repeats
    selection = replace(ctx.params, min_sentence_similarity=-1.0, relative_floor=ctx.params.reader_score_gap)
    for part in analysis.parts:
        choice = reader.choose(reader.read(ranked, part), part)
        if choice.abstain_reason:
            missing.append(choice.abstain_reason)
            continue
        picked = select_evidence(with_reader_scores(choice.readings), ctx.retriever, per_part, selection)
        picked = [e for e in picked if all(e.sentence.sentence_id != c.sentence.sentence_id for c in chosen)]
        chosen += picked + value_neighbours(picked[:1], part, reader)
    if not chosen:
        why = missing[0] if missing else "no sentence of the corpus is close enough to the question"
        return abstain(question, f"{why[:1].upper()}{why[1:]}.", related)
    chosen += conflict_counterparts(chosen, ranked, ctx.params, ctx.retriever)
    answer = extractive_answer(question, chosen, ctx)
    if missing:
        answer = answer.model_copy(update={"reason": "Part of the question is not answered: " + "; ".join(missing) + "."})
    return answer


def value_neighbours(chosen: list[Evidence], part: QuestionPart, reader: Reader) -> list[Evidence]:
    """The sentence right after the best one joins it when it holds the asked-for value the best one lacks."""
    if not chosen or part.answer_type not in SHAPED_TYPES:
        return []
    first = chosen[0]
    if answers_part(first.sentence.text, part):
        return []
    row = reader.value_neighbour(first.row, part)
    if row is None:
        return []
    return [Evidence(reader.retriever.sentences.units[row], row, first.cosine, first.score)]


def with_short_answer(answer: Answer, analysis: QuestionAnalysis, ctx: AnswerContext) -> Answer:
    """The span of the first cited sentence that answers, verified verbatim at its offsets in the document."""
    if answer.abstained or not answer.sentences or not answer.sentences[0].citations:
        return answer
    citation = answer.citations[answer.sentences[0].citations[0] - 1]
    part = analysis.parts[0]
    span = best_span(citation.quote, part.answer_type, part.focus, part.asks_for)
    if span is None:
        return answer
    start, end = citation.start + span.start, citation.start + span.end
    if ctx.sources.span(citation.doc_id, start, end) != span.text:
        return answer  # never a short answer that is not the document's own text
    short = ShortAnswer(text=span.text, citation=citation.n, doc_id=citation.doc_id, start=start, end=end)
    return answer.model_copy(update={"short_answer": short})


def abstain(question: str, reason: str, related: list[Passage]) -> Answer:
    return Answer(
        question=question,
        answer=f"Not in the corpus: {reason} The passages below are the closest ones; they are not an answer.",
        abstained=True,
        reason=reason,
        related=related,
    )


def conflict_counterparts(
    chosen: list[Evidence], ranked: list[Evidence], params: AnsweringParams, retriever: Retriever
) -> list[Evidence]:
    """A relevant sentence from another source that gives a different date or amount joins the answer."""
    if not chosen:
        return []
    floor = ranked[0].score - 2 * params.relative_floor
    min_similarity = params.min_sentence_similarity
    taken = {e.sentence.sentence_id for c in chosen for e in [c, *c.also]}
    claims = {c.sentence.sentence_id: claim_of(c, (i,), retriever) for i, c in enumerate(chosen)}
    extra: list[Evidence] = []
    for c in chosen:
        if not has_figures(c.sentence.text):
            continue  # only dates and amounts can disagree
        mine = claims[c.sentence.sentence_id]
        if any(find_conflicts([mine, other], params) for key, other in claims.items() if key != c.sentence.sentence_id):
            continue  # the answer already shows this disagreement
        for candidate in ranked:
            if candidate.score < floor or candidate.cosine < min_similarity:
                break
            s = candidate.sentence
            if s.sentence_id in taken or s.doc_id == c.sentence.doc_id or not has_figures(s.text):
                continue
            if find_conflicts([mine, claim_of(candidate, (-1,), retriever)], params):
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
        conflicts=find_conflicts(claims, ctx.params),
        mode="extractive",
    )


def cite(n: int, evidence: Evidence, ctx: AnswerContext) -> Citation:
    return citation_for(n, evidence.sentence, evidence.score, ctx.retriever, ctx.sources)

