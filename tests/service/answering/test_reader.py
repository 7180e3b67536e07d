"""The reader (CITEQA_READER=true): the questions of issue 14 on the shipped corpus, and the rules on hand-made
sentences. The reader is opt-in until it beats the similarity-only answer on the eval set's test part."""

from __future__ import annotations

import pytest

from citeqa.index.units import Sentence
from citeqa.service.answering.question import analyze
from citeqa.service.answering.reader import family, is_answer_sentence
from citeqa.service.engine import Engine


@pytest.fixture(scope="module")
def reader(engine, citation_audit) -> Engine:
    """The session's engine with the reader on, at the settings the README measures it with; every answer goes
    through the citation audit."""
    settings = engine.settings.model_copy(update={"reader": True, "lexical_weight": 0.5, "min_sentence_similarity": 0.35})
    return citation_audit.audited(Engine(settings, engine.retriever))


def sentence(text: str, heading: str | None = None, kind: str = "sentence") -> Sentence:
    return Sentence("d#s0", "d", "d#c0", 0, len(text), text, heading, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "Baclofen Withdrawal Symptoms and Timeline",  # a title-case heading
        "Factors Influencing Withdrawal:",  # a lead-in
        "close up of pills on white background",  # an image caption
        "Overview.",
    ],
)
def test_headings_captions_and_lead_ins_never_stand_as_answers(text):
    assert not is_answer_sentence(sentence(text))


@pytest.mark.parametrize(
    "text",
    ["The half-life of the drug is roughly 2–4 hours.", "It was approved in 1977.[8]", "Side effects: dizziness"],
)
def test_statements_do_stand_as_answers(text):
    assert is_answer_sentence(sentence(text, kind="list" if text.startswith("Side") else "sentence"))


def test_the_short_answer_is_the_verbatim_span_that_answers(reader):
    answer = reader.answer("What is the half-life of baclofen?")
    short = answer.short_answer
    assert short is not None and "2–4 hours" in short.text
    cited = answer.citations[short.citation - 1]
    assert cited.start <= short.start < short.end <= cited.end
    assert cited.quote[short.start - cited.start : short.end - cited.start] == short.text
    assert short.citation in answer.sentences[0].citations


def test_a_dose_for_a_drug_the_corpus_only_names_is_refused_with_the_reason(reader):
    answer = reader.answer("What is the usual dose of lofexidine?")
    assert answer.abstained and answer.citations == []
    assert "lofexidine" in answer.reason and "amount" in answer.reason


def test_who_questions_get_a_name_only_when_the_corpus_says_who(reader):
    found = reader.answer("Who first synthesized baclofen?")
    assert found.short_answer is not None and found.short_answer.text in found.citations[0].quote
    assert "Keberle" in found.short_answer.text
    unknown = reader.answer("Who developed clonidine?")  # trial authors stand next to its name: no answer
    assert unknown.abstained and "clonidine" in unknown.reason
    worded = reader.answer("Who invented baclofen?")  # the corpus says "synthesized by", not "invented"
    assert worded.short_answer is not None and "Keberle" in worded.short_answer.text


def test_who_with_a_modal_asks_for_a_group_not_a_name():
    part = analyze("Who should not take baclofen?").parts[0]
    assert part.answer_type != "person"


def test_how_many_people_asks_for_a_count_not_a_dose():
    assert family(analyze("How many patients dropped out of the trial?").parts[0]) == ("number",)


def test_when_was_asks_for_a_date_not_a_time_span():
    assert family(analyze("When was it approved?").parts[0]) == ("date",)
    assert "duration" in family(analyze("When are withdrawal symptoms at their worst?").parts[0])


def test_a_sentence_is_read_with_the_sentences_it_leans_on(reader):
    """"The 12-week clinical trial included nine men and three women" follows "This group of researchers also
    found…", which follows the sentence naming Flannery's study: two steps back."""
    answer = reader.answer("How many men and women were in the Flannery alcohol trial?")
    assert not answer.abstained and answer.short_answer is not None
    assert answer.short_answer.text == "nine men and three women"


def test_typos_of_corpus_words_are_read_as_those_words_and_the_answer_says_so(reader, engine):
    answer = reader.answer("how long is the half-life of baclofn")
    assert [(c.original, c.corrected) for c in answer.corrections] == [("baclofn", "baclofen")]
    assert answer.answer.startswith("(Reading 'baclofn' as 'baclofen'.)")
    assert not answer.abstained and "2–4 hours" in answer.answer
    assert engine.answer("how long is the half-life of baclofn").corrections == []  # only the reader corrects


def test_every_answer_sentence_is_a_statement(reader):
    for question in ("When are baclofen withdrawal symptoms at their peak?", "What is post-acute withdrawal syndrome?"):
        answer = reader.answer(question)
        assert not answer.abstained
        for s in answer.sentences:
            cited = answer.citations[s.citations[0] - 1]
            unit = next(u for u in reader.retriever.sentences.units if u.doc_id == cited.doc_id and u.start == cited.start)
            assert is_answer_sentence(unit), s.text
