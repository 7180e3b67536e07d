"""The official `openai` client against /v1/chat/completions of a real `citeqa serve`."""

from __future__ import annotations

import re

import openai
import pytest
from openai import OpenAI

from citeqa.index.text import REFERENCE_MARKER
from citeqa.settings import Settings

QUESTION = "What is the half-life of baclofen?"
OUTSIDE_THE_CORPUS = "Does baclofen interact with grapefruit juice?"
MARKER = re.compile(r"\[(\d+)\]")
SOURCES = "\n\nSources:\n"
# "- [1] Baclofen (baclofen-encyclopedia), section “Pharmacokinetics”: “The half-life …”"
SOURCE_ENTRY = re.compile(r"- \[(\d+)\] (.+) \(([\w.-]+)\), (section “.+”|introduction|characters \d+–\d+): “(.+)”")


def openai_client(base_url: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key="x", timeout=300, max_retries=0)


@pytest.fixture(scope="module")
def client(server: str) -> OpenAI:
    return openai_client(server)


@pytest.fixture(scope="module")
def reader_client(reader_server: str) -> OpenAI:
    return openai_client(reader_server)


def source_list(content: str) -> tuple[str, dict[int, re.Match]]:
    """(the answer text, its source entries by number), read back from the message text as a person reads it."""
    text, _, sources = content.partition(SOURCES)
    entries = {}
    for line in sources.splitlines():
        entry = SOURCE_ENTRY.fullmatch(line)
        assert entry, f"not a source entry: {line!r}"
        entries[int(entry[1])] = entry
    return text, entries


def check_cited(content: str, citations: list[dict], settings: Settings) -> str:
    """Every [n] in the text has its entry in the source list at the end of the text, each entry is the title,
    document and quote of citation n, and every citation quotes its file verbatim. Returns the answer text."""
    assert citations, "no citations"
    by_n = {c["n"]: c for c in citations}
    text, entries = source_list(content)
    markers = {int(n) for n in MARKER.findall(text)}
    assert markers, f"no [n] markers in {content!r}"
    assert set(entries) == markers, f"markers {sorted(markers)} but entries {sorted(entries)}"
    assert {int(n) for n in MARKER.findall(content)} == markers, "a [n] in the source list points nowhere"
    for n, entry in entries.items():
        c = by_n[n]
        assert (entry[2], entry[3]) == (c["title"], c["doc_id"])
        # the quote as one line, without the source's own reference markers ("[8]")
        assert entry[5].split() == REFERENCE_MARKER.sub("", c["quote"]).split()
    for c in citations:
        document = (settings.corpus_dir / f"{c['doc_id']}.txt").read_bytes().decode("utf-8")
        assert document[c["start"] : c["end"]] == c["quote"]
    return text


def expected_text(answer: dict) -> str:
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
    # the message is the checked answer, markers included, then the source list; `citations` are that answer's
    assert check_cited(message.content, extra["citations"], settings) == expected_text(extra["citeqa"])
    assert extra["citations"] == extra["citeqa"]["citations"]
    assert "section “Pharmacokinetics”" in message.content  # where the half-life is, in words
    assert completion.usage.completion_tokens == len(message.content.split())


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
    assert check_cited(content, citations, settings) == expected_text(final.model_extra["citeqa"])


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
    assert streamed == completion.choices[0].message.content
    content = completion.choices[0].message.content
    assert content.startswith(f"**{short['text']}** [{short['citation']}]\n"), content
    assert check_cited(content, answer["citations"], settings) == expected_text(answer)


def test_abstention_reads_once_and_says_what_the_corpus_lacks(client, citation_audit):
    messages = [{"role": "user", "content": OUTSIDE_THE_CORPUS}]
    completion = client.chat.completions.create(model="citeqa", messages=messages)
    answer = completion.model_extra["citeqa"]
    citation_audit.record(answer)
    assert answer["abstained"] is True
    content = completion.choices[0].message.content
    assert content == f"Not in the corpus: {answer['reason']}"
    assert "“grapefruit”" in content  # the word the corpus never mentions
    assert "below" not in content and SOURCES not in content and not MARKER.search(content)
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="citeqa", messages=messages, stream=True)
    )
    assert streamed == content


def test_errors_surface_as_openai_exceptions(client):
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(model="citeqa", messages=[{"role": "system", "content": "hello"}])
    assert info.value.status_code == 422
    assert "user" in str(info.value)


@pytest.mark.parametrize(
    ("field", "request_fields", "says"),
    [
        ("n", {"n": 2}, "one answer per question"),
        ("tools", {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]}, "no tools"),
        ("tool_choice", {"tool_choice": "required"}, "no tools"),
        ("functions", {"functions": [{"name": "lookup", "parameters": {}}]}, "no tools"),
        ("response_format", {"response_format": {"type": "json_object"}}, "'json_object' is not supported"),
        ("logprobs", {"logprobs": True}, "not sampled"),
        ("top_logprobs", {"top_logprobs": 3}, "not sampled"),
    ],
)
def test_unsupported_fields_are_refused(client, field, request_fields, says):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="citeqa", messages=[{"role": "user", "content": QUESTION}], **request_fields
        )
    error = info.value.body  # the client's view of the body's `error` object
    assert info.value.status_code == 400
    assert (error["param"], error["code"], error["type"]) == (field, "unsupported_parameter", "invalid_request_error")
    assert says in error["message"] and field in error["message"]


def test_a_text_response_format_and_sampling_fields_are_accepted(client, citation_audit):
    completion = client.chat.completions.create(
        model="citeqa", messages=[{"role": "user", "content": QUESTION}],
        response_format={"type": "text"}, temperature=1.5, top_p=0.5, n=1, logprobs=False,
    )
    citation_audit.record(completion.model_extra["citeqa"])
    assert completion.choices[0].finish_reason == "stop" and SOURCES in completion.choices[0].message.content


def test_max_tokens_keeps_whole_sentences_with_their_sources(client, citation_audit, settings):
    messages = [{"role": "user", "content": "What are the side effects of baclofen?"}]
    full = client.chat.completions.create(model="citeqa", messages=messages)
    answer = full.model_extra["citeqa"]
    citation_audit.record(answer)
    assert len(answer["sentences"]) >= 2, "the test needs an answer of several sentences"
    words = len(full.choices[0].message.content.split())
    limit = words - 1
    for create in (
        lambda: client.chat.completions.create(model="citeqa", messages=messages, max_tokens=limit),
        lambda: client.chat.completions.create(model="citeqa", messages=messages, max_completion_tokens=limit),
    ):
        cut = create()
        citation_audit.record(cut.model_extra["citeqa"])
        content = cut.choices[0].message.content
        assert cut.choices[0].finish_reason == "length"
        assert 0 < len(content.split()) <= limit and cut.usage.completion_tokens <= limit
        text = check_cited(content, answer["citations"], settings)
        kept = [s for s in answer["sentences"] if s["text"] in text]
        assert 1 <= len(kept) < len(answer["sentences"])
        assert text == " ".join(f"{s['text']} {''.join(f'[{n}]' for n in s['citations'])}" for s in kept)
    streamed = list(client.chat.completions.create(model="citeqa", messages=messages, max_tokens=limit, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == content
    assert streamed[-1].choices[0].finish_reason == "length"
    # a limit the whole reply fits in changes nothing
    roomy = client.chat.completions.create(model="citeqa", messages=messages, max_tokens=words)
    assert roomy.choices[0].finish_reason == "stop"
    assert roomy.choices[0].message.content == full.choices[0].message.content


def test_stop_ends_the_reply_before_the_sentence_that_holds_it(client, citation_audit, settings):
    messages = [{"role": "user", "content": "What are the side effects of baclofen?"}]
    full = client.chat.completions.create(model="citeqa", messages=messages)
    answer = full.model_extra["citeqa"]
    citation_audit.record(answer)
    first = answer["sentences"][0]
    stop = next(word for word in answer["sentences"][1]["text"].split() if word not in first["text"])
    cut = client.chat.completions.create(model="citeqa", messages=messages, stop=[stop, "no such text"])
    citation_audit.record(cut.model_extra["citeqa"])
    content = cut.choices[0].message.content
    assert cut.choices[0].finish_reason == "stop"
    assert check_cited(content, answer["citations"], settings) == f"{first['text']} " + "".join(
        f"[{n}]" for n in first["citations"]
    )
