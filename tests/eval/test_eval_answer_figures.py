"""The reader's figures (issue 14) on small hand-made answers: short-answer exact match and F1, key fact in the
first sentence, irrelevant sentences, wrong refusals and abstention per category, summarised per split part."""

from __future__ import annotations

import pytest

from citeqa.eval.metrics import (
    Span,
    abstention_scores,
    expected_spans,
    irrelevant_sentences,
    key_fact_in_first_sentence,
    normalise_span,
    short_answer_exact,
    short_answer_f1,
    short_answer_verbatim,
)
from citeqa.eval.runner import Rankings, answer_record, summarize
from citeqa.eval.split import part_of
from citeqa.service.models import Answer, AnswerSentence, Citation, ShortAnswer

DOC = ("Baclofen was approved in 1977. The half-life is roughly 2\u20134 hours. It is taken three times daily. "
       "Pumps are replaced every five to seven years.")
TEXTS = {"doc": DOC, "other": DOC}


def span_of(doc: str, phrase: str) -> tuple[int, int]:
    start = TEXTS[doc].index(phrase)
    return start, start + len(phrase)


def cite(n: int, phrase: str, doc: str = "doc") -> Citation:
    start, end = span_of(doc, phrase)
    return Citation(n=n, doc_id=doc, title=doc, chunk_id=f"{doc}#c0000", start=start, end=end,
                    quote=TEXTS[doc][start:end], score=1.0)


def short(phrase: str, doc: str = "doc", text: str | None = None) -> ShortAnswer:
    start, end = span_of(doc, phrase)
    return ShortAnswer(text=phrase if text is None else text, citation=1, doc_id=doc, start=start, end=end)


def answer(*sentences: tuple[str, list[int]], citations: list[Citation] = (), short_answer=None,
           abstained: bool = False) -> Answer:
    parts = [AnswerSentence(text=t, citations=c) for t, c in sentences]
    return Answer(question="q", answer=" ".join(f"{p.text} {''.join(f'[{n}]' for n in p.citations)}" for p in parts),
                  sentences=parts, citations=list(citations), short_answer=short_answer, abstained=abstained)


def question(qid: str, category: str = "fact", answerable: bool = True, quotes=("roughly 2\u20134 hours",),
             key_fact: str = "2\u20134 hours", **extra) -> dict:
    return {"id": qid, "question": "?", "expected_docs": ["doc"] if answerable else [],
            "expected_quotes": list(quotes) if answerable else [], "key_fact": key_fact if answerable else "",
            "category": category, "answerable": answerable, **extra}


# --- normalising and matching short answers


@pytest.mark.parametrize("given", ["2\u20134 hours", "2-4 Hours", " 2 \u2013 4  hours. ", "2\u22124\u00a0hours",
                                   "2\u20144 hours;"])
def test_exact_match_ignores_case_whitespace_dashes_and_trailing_punctuation(given):
    assert short_answer_exact("2\u20134 hours", given)


@pytest.mark.parametrize("given", [None, "24 hours", "2\u20134", "roughly 2\u20134 hours", "2\u20134 hours later"])
def test_exact_match_misses_anything_else(given):
    assert not short_answer_exact("2\u20134 hours", given)


def test_normalise_keeps_what_changes_the_value():
    assert normalise_span("$0.22") == "$0.22" and normalise_span("213.66 g/mol.") == "213.66 g/mol"
    assert normalise_span("Norman  BOWERY") == "norman bowery"
    assert normalise_span("6 million") != normalise_span("6million")


def test_f1_gives_partial_credit_and_none_for_a_miss():
    assert short_answer_f1("2", "2 of 5") == pytest.approx(0.5)  # precision 1/3, recall 1
    assert short_answer_f1("five to seven years", "five to seven years") == 1.0
    assert short_answer_f1("72 hours \u2013 1 week", "72 hours-1 week") == 1.0
    assert short_answer_f1("1977", "1962") == 0.0
    assert short_answer_f1("1977", None) == 0.0


def test_short_answer_verbatim_checks_text_against_the_span():
    assert short_answer_verbatim(short("1977"), TEXTS)
    assert not short_answer_verbatim(short("1977", text="1978"), TEXTS)
    assert not short_answer_verbatim(short("1977").model_copy(update={"doc_id": "missing"}), TEXTS)


# --- the sentences of an answer


def test_key_fact_must_be_in_the_first_sentence():
    first = answer(("The half-life is roughly 2\u20134 hours.", [1]), ("It is taken three times daily.", [2]),
                   citations=[cite(1, "roughly 2\u20134 hours"), cite(2, "three times daily")])
    second = answer(("It is taken three times daily.", [1]), ("The half-life is roughly 2\u20134 hours.", [2]),
                    citations=[cite(1, "three times daily"), cite(2, "roughly 2\u20134 hours")])
    assert key_fact_in_first_sentence(first, "2\u20134 hours")
    assert not key_fact_in_first_sentence(second, "2\u20134 hours")
    assert not key_fact_in_first_sentence(first.model_copy(update={"abstained": True}), "2\u20134 hours")
    assert not key_fact_in_first_sentence(answer(), "2\u20134 hours")


def test_irrelevant_sentences_cite_no_expected_span_and_lack_the_key_fact():
    spans = expected_spans(["doc"], ["roughly 2\u20134 hours"], TEXTS)
    a = answer(
        ("Its half-life is short.", [1]),  # cites the expected span: relevant
        ("Doses come 2\u20134 hours apart.", [2]),  # holds the key fact: relevant
        ("It is taken three times daily.", [2]),  # neither: irrelevant
        ("Baclofen was approved in 1977.", [3]),  # cites another span of the document: irrelevant
        ("A sentence citing nothing that exists.", [9]),  # a dangling number: irrelevant
        citations=[cite(1, "roughly 2\u20134 hours"), cite(2, "three times daily"), cite(3, "approved in 1977")],
    )
    assert irrelevant_sentences(a, spans, "2\u20134 hours") == 3


def test_a_citation_in_another_document_is_not_on_the_expected_span():
    spans = [Span("doc", *span_of("doc", "roughly 2\u20134 hours"))]
    a = answer(("Its half-life is short.", [1]), citations=[cite(1, "roughly 2\u20134 hours", doc="other")])
    assert irrelevant_sentences(a, spans, "2\u20134 hours") == 1


def test_undefined_abstention_scores_can_be_none():
    s = abstention_scores([False, False], [True, True], undefined=None)
    assert s["precision"] is None and s["recall"] is None and s["f1"] is None
    assert abstention_scores([True], [True], undefined=None)["precision"] == 0.0  # defined: one wrong abstention


# --- records and summaries


def dev_and_test_ids(n: int) -> tuple[list[str], list[str]]:
    ids = [f"unit-{i}" for i in range(40)]
    return [i for i in ids if part_of(i) == "dev"][:n], [i for i in ids if part_of(i) == "test"][:n]


def test_summary_figures_on_hand_made_answers():
    dev, test = dev_and_test_ids(3)
    good = answer(("The half-life is roughly 2\u20134 hours.", [1]), ("It is taken three times daily.", [2]),
                  citations=[cite(1, "roughly 2\u20134 hours"), cite(2, "three times daily")],
                  short_answer=short("2\u20134 hours"))
    buried = answer(("It is taken three times daily.", [1]), ("The half-life is roughly 2\u20134 hours.", [2]),
                    citations=[cite(1, "three times daily"), cite(2, "roughly 2\u20134 hours")])
    refused = answer(abstained=True)
    cases = [
        (question(dev[0], "when", short_answer="2\u20134 hours"), good),
        (question(dev[1], "when", short_answer="2\u20134 hours"), buried),  # no short answer: a miss
        (question(dev[2], "false-premise", abstention_acceptable=True), refused),  # acceptable abstention
        (question(test[0], "fact"), refused),  # wrong refusal
        (question(test[1], "near-miss-unanswerable", answerable=False), refused),  # right abstention
        (question(test[2], "near-miss-unanswerable", answerable=False), buried),  # answered the unanswerable
    ]
    records = [answer_record(q, a, TEXTS, expected_spans(q["expected_docs"], q["expected_quotes"], TEXTS))
               for q, a in cases]
    base = {"label": "unit", "retrieval_mode": "hybrid", "chunk_size": 600, "chunk_overlap": 100, "passage_depth": 10}
    s = summarize(records, Rankings(), base)
    a, ab = s["answer"], s["abstention"]
    assert (s["split"], s["questions"], s["answerable"]) == ("all", 6, 4)
    assert a["key_fact_rate"] == pytest.approx(2 / 4)
    assert a["key_fact_first_sentence_rate"] == pytest.approx(1 / 4)
    assert a["short_answer_exact_match"] == pytest.approx(1 / 2) and a["short_answer_questions"] == 2
    assert a["short_answers_given"] == 1 and a["short_answer_verbatim_rate"] == 1.0
    assert a["irrelevant_sentences_per_answer"] == pytest.approx(1.0)  # one per answered answerable question
    assert a["irrelevant_sentence_share"] == pytest.approx(2 / 4)
    assert a["wrong_refusal_rate"] == pytest.approx(1 / 3)  # the false premise is left out
    assert a["answered_rate"] == pytest.approx(2 / 4)
    # abstention: the false premise left out; 1 right, 1 wrong abstention, 1 unanswerable answered
    assert (ab["true_positives"], ab["false_positives"], ab["false_negatives"]) == (1, 1, 1)
    cats = s["by_category"]
    assert cats["near-miss-unanswerable"]["abstention_recall"] == pytest.approx(1 / 2)
    assert cats["near-miss-unanswerable"]["abstention_precision"] == 1.0
    assert cats["when"]["abstention_precision"] is None and cats["when"]["abstention_recall"] is None
    assert cats["fact"]["wrong_refusal_rate"] == 1.0 and cats["false-premise"]["wrong_refusal_rate"] is None
    assert cats["when"]["short_answer_exact_match"] == pytest.approx(1 / 2)

    dev_summary = summarize([r for r in records if r["split"] == "dev"], Rankings(), base)
    assert (dev_summary["split"], dev_summary["questions"]) == ("dev", 3)
    assert dev_summary["answer"]["wrong_refusal_rate"] == 0.0 and dev_summary["abstention"]["recall"] == 0.0
