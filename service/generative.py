"""Optional generative answers from an OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, ...).

The model only ever sees the numbered evidence passages. Its reply is parsed into sentences with [n] markers;
the caller puts them through the same citation check as extractive answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pysbd

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


class GenerativeError(RuntimeError):
    """The endpoint failed, timed out or replied with something that is not a chat completion."""


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


def complete(
    base_url: str, model: str, api_key: str, timeout_s: float, messages: list[dict[str, str]]
) -> str:
    url = base_url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(
            url,
            json={"model": model, "messages": messages, "temperature": 0},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )
    except httpx.TimeoutException as exc:
        raise GenerativeError(f"the language model at {base_url} timed out after {timeout_s:g}s") from exc
    except httpx.HTTPError as exc:
        raise GenerativeError(f"cannot reach the language model at {base_url}: {exc}") from exc
    if response.status_code != 200:
        raise GenerativeError(f"the language model answered HTTP {response.status_code}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerativeError("the language model's reply is not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise GenerativeError("the language model's reply is empty")
    return content


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
