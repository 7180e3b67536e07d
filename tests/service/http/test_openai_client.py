"""The official `openai` client against /v1/chat/completions of a real `citeqa serve`."""

from __future__ import annotations

import re

import openai
import pytest
from openai import OpenAI

from citeqa.settings import Settings

QUESTION = "What is the half-life of baclofen?"
MARKER = re.compile(r"\[(\d+)\]")


def openai_client(base_url: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key="x", timeout=300, max_retries=0)


@pytest.fixture(scope="module")
def client(server: str) -> OpenAI:
    return openai_client(server)


@pytest.fixture(scope="module")
def reader_client(reader_server: str) -> OpenAI:
    return openai_client(reader_server)


def check_cited(content: str, citations: list[dict], settings: Settings) -> None:
    """Every [n] in the text names a citation, and every citation quotes its file verbatim."""
    assert citations, "no citations"
    numbers = {c["n"] for c in citations}
    markers = {int(n) for n in MARKER.findall(content)}
    assert markers, f"no [n] markers in {content!r}"
    assert markers <= numbers
    for c in citations:
        text = (settings.corpus_dir / f"{c['doc_id']}.txt").read_bytes().decode("utf-8")
        assert text[c["start"] : c["end"]] == c["quote"]


def expected_content(answer: dict) -> str:
    """The checked answer, after the short answer in bold with the citation that holds it when there is one."""
    short = answer["short_answer"]
    return (f"**{short['text']}** [{short['citation']}]\n\n" if short else "") + answer["answer"]


def test_models_list(client):
    assert [m.id for m in client.models.list()] == ["citeqa"]


def test_chat_completion(client, citation_audit, settings):
    completion = client.chat.completions.create(
        model="citeqa", messages=[{"role": "user", "content": QUESTION}]
    )
    extra = completion.model_extra
    citation_audit.record(extra["citeqa"])
    assert completion.object == "chat.completion"
    message = completion.choices[0].message
    assert message.role == "assistant" and completion.choices[0].finish_reason == "stop"
    check_cited(message.content, extra["citations"], settings)
    # the message is the checked answer, markers included, and `citations` are that answer's
    assert message.content == expected_content(extra["citeqa"]) and extra["citations"] == extra["citeqa"]["citations"]
    assert completion.usage.total_tokens > 0


def test_chat_completion_stream(client, citation_audit, settings):
    stream = client.chat.completions.create(
        model="citeqa",
        messages=[{"role": "system", "content": "Cite your sources."}, {"role": "user", "content": QUESTION}],
        stream=True,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    citations = final.model_extra["citations"]
    citation_audit.record(final.model_extra["citeqa"])
    check_cited(content, citations, settings)
    assert content == expected_content(final.model_extra["citeqa"])


def test_the_short_answer_comes_first(reader_client, citation_audit, settings):
    messages = [{"role": "user", "content": QUESTION}]
    completion = reader_client.chat.completions.create(model="citeqa", messages=messages)
    answer = completion.model_extra["citeqa"]
    citation_audit.record(answer)
    short = answer["short_answer"]
    assert short is not None, "the reader gave no short answer to a question the corpus answers"
    chunks = list(reader_client.chat.completions.create(model="citeqa", messages=messages, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    citation_audit.record(chunks[-1].model_extra["citeqa"])
    assert chunks[-1].model_extra["citeqa"]["short_answer"] == short
    for content in (completion.choices[0].message.content, streamed):
        assert content.startswith(f"**{short['text']}** [{short['citation']}]\n"), content
        assert content == expected_content(answer)
        check_cited(content, answer["citations"], settings)


def test_abstention_says_it_is_not_in_the_corpus(client, citation_audit):
    completion = client.chat.completions.create(
        model="citeqa", messages=[{"role": "user", "content": "Does baclofen interact with grapefruit juice?"}]
    )
    citation_audit.record(completion.model_extra["citeqa"])
    assert completion.model_extra["citeqa"]["abstained"] is True
    assert "not in the corpus" in completion.choices[0].message.content.lower()


def test_errors_surface_as_openai_exceptions(client):
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(model="citeqa", messages=[{"role": "system", "content": "hello"}])
    assert info.value.status_code == 422
    assert "user" in str(info.value)
