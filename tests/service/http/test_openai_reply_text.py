"""The chat message text of answers the live corpus does not produce on demand: a marker without its citation, a
quote holding the source's own "[8]", an abstention after a spelling correction, a limit below the first sentence."""

from __future__ import annotations

import re

from citeqa.service.http.chat_reply import chat_reply
from citeqa.service.models import Answer, AnswerSentence, Citation, Correction

MARKER = re.compile(r"\[(\d+)\]")


def citation(n: int, quote: str) -> Citation:
    return Citation(
        n=n, doc_id="doc", title="A title", chunk_id="doc#c0", start=10, end=10 + len(quote), quote=quote, score=1.0
    )


def answer_citing(sentences: list[tuple[str, list[int]]], citations: list[Citation]) -> Answer:
    composed = " ".join(f"{text} {''.join(f'[{n}]' for n in ns)}" for text, ns in sentences)
    return Answer(
        question="q", answer=composed, citations=citations,
        sentences=[AnswerSentence(text=text, citations=ns) for text, ns in sentences],
    )


def test_a_marker_without_its_citation_is_not_shown():
    answer = answer_citing([("First.", [1]), ("Second.", [2])], [citation(1, "First.")])
    content = chat_reply(answer, {}).content
    assert "[2]" not in content
    assert set(MARKER.findall(content)) == {"1"} and "\n- [1] A title (doc), characters 10–16: “First.”" in content


def test_a_quote_is_one_line_without_the_sources_own_reference_markers():
    quote = "Serious side effects\n  may occur.[8]"
    answer = answer_citing([("Serious side effects may occur.", [1])], [citation(1, quote)])
    content = chat_reply(answer, {1: "introduction"}).content
    assert content.endswith("- [1] A title (doc), introduction: “Serious side effects may occur.”")
    assert "[8]" not in content


def test_an_abstention_reads_once_with_its_spelling_notice():
    reason = "The corpus never mentions “grapefruit”, so it cannot answer this."
    answer = Answer(
        question="q", abstained=True, reason=reason,
        answer=f"(Reading 'bacofen' as 'baclofen'.) Not in the corpus: {reason} The passages below are the closest "
        "ones; they are not an answer.",
        corrections=[Correction(original="bacofen", corrected="baclofen", start=0, end=7)],
    )
    reply = chat_reply(answer, {})
    assert reply.content == f"(Reading 'bacofen' as 'baclofen'.) Not in the corpus: {reason}"
    assert reply.finish_reason == "stop"


def test_a_limit_below_the_first_sentence_leaves_nothing_rather_than_half_a_claim():
    answer = answer_citing([("One two three four.", [1])], [citation(1, "One two three four.")])
    reply = chat_reply(answer, {}, max_tokens=3)
    assert (reply.content, reply.finish_reason) == ("", "length")
