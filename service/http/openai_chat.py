"""OpenAI chat-completions shapes for citeqa answers, so existing OpenAI clients work unchanged."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from citeqa.settings import AnswerMode
from citeqa.service.http.chat_reply import chat_reply, word_count
from citeqa.service.http.errors import error_body
from citeqa.service.models import Answer, MessageContent

MODEL_ID = "citeqa"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: MessageContent = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat-completions request; each field says whether citeqa honours, ignores or refuses it."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage]
    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(
        default=None, ge=1,
        description="most words in the reply, its source list included: whole sentences (with their sources) are "
        "left out from the end until it fits, and finish_reason is 'length'",
    )
    max_completion_tokens: int | None = Field(default=None, ge=1, description="the same as max_tokens; wins over it")
    stop: str | list[str] | None = Field(
        default=None,
        description="the reply ends before the first answer sentence that holds one of these strings (a sentence is "
        "never cut in half, so none loses its citation); the source list is not searched",
    )
    n: int | None = Field(default=None, description="only 1: one answer per question")
    temperature: float | None = Field(default=None, description="ignored: extractive answers are not sampled")
    top_p: float | None = Field(default=None, description="ignored: extractive answers are not sampled")
    response_format: dict[str, Any] | None = Field(default=None, description="only {\"type\": \"text\"}")
    logprobs: bool | None = Field(default=None, description="not supported: only false")
    top_logprobs: int | None = Field(default=None, description="not supported")
    tools: list[Any] | None = Field(default=None, description="not supported: citeqa calls no tools")
    tool_choice: str | dict[str, Any] | None = Field(default=None, description="not supported, except 'none'")
    functions: list[Any] | None = Field(default=None, description="not supported (the older name of tools)")
    function_call: str | dict[str, Any] | None = Field(default=None, description="not supported, except 'none'")
    mode: AnswerMode | None = Field(default=None, description="citeqa extension: extractive or generative")
    max_sentences: int | None = Field(default=None, ge=1, le=10, description="citeqa extension")

    def word_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def stop_sequences(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


def unsupported_field(body: ChatRequest) -> tuple[str, str] | None:
    """(field, message) for the first field asking for a reply citeqa cannot give, or None."""
    if body.n is not None and body.n != 1:
        return "n", f"n={body.n} is not supported: citeqa gives one answer per question; send n=1 or leave n out"
    for field in ("tools", "functions"):
        if getattr(body, field):
            return field, f"`{field}` is not supported: citeqa answers from its corpus and calls no tools; leave it out"
    for field in ("tool_choice", "function_call"):
        if getattr(body, field) not in (None, "none"):
            return field, f"`{field}` is not supported: citeqa calls no tools; leave it out or send 'none'"
    kind = (body.response_format or {}).get("type", "text")
    if kind != "text":
        return "response_format", (
            f"response_format {kind!r} is not supported: the reply is text with [n] citation markers and a source "
            "list (the structured answer is under `citeqa`); leave it out or send {\"type\": \"text\"}"
        )
    if body.logprobs or body.top_logprobs:
        field = "logprobs" if body.logprobs else "top_logprobs"
        return field, f"`{field}` is not supported: an extractive answer is quoted, not sampled; leave it out"
    return None


def unsupported_field_error(field: str, message: str) -> dict[str, Any]:
    """The usual error body, naming the field as OpenAI does."""
    body = error_body(400, message)
    body["error"] |= {"param": field, "code": "unsupported_parameter"}
    return body


def message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "\n".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")
    return ""

def deltas(content: str) -> list[str]:
    """Word-sized pieces whose concatenation is exactly `content`."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", content) if piece]

def sse(data: object) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "citeqa"}


def last_user_message(body: ChatRequest) -> tuple[str, tuple[str, ...]] | None:
    """The question (the last user message) and where it is in the request, for error messages."""
    for i in range(len(body.messages) - 1, -1, -1):
        if body.messages[i].role == "user":
            return message_text(body.messages[i]), ("body", "messages", str(i), "content")
    return None


class ChatCompletion:
    """An Answer in OpenAI's chat-completion shapes, whole or as server-sent chunks."""

    def __init__(self, request: ChatRequest, answer: Answer, places: dict[int, str]) -> None:
        self.answer = answer
        reply = chat_reply(answer, places, request.word_limit(), request.stop_sequences())
        self.content, self.finish_reason = reply.content, reply.finish_reason
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        prompt = sum(word_count(message_text(m)) for m in request.messages)  # words, as a token estimate
        completion = word_count(self.content)
        self.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        self.include_usage = bool(request.stream_options and request.stream_options.include_usage)

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": MODEL_ID}

    def body(self) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.content}
        return {
            **self._head("chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason, "logprobs": None}],
            "usage": self.usage,
            "citations": jsonable_encoder(self.answer.citations),
            "citeqa": jsonable_encoder(self.answer),
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return sse({**self._head("chat.completion.chunk"), "choices": [choice], **extra})

    async def stream(self) -> AsyncIterator[str]:
        """Role first, then the content a word at a time, then the finish reason with the citations, then [DONE]."""
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in deltas(self.content):
            yield self._chunk({"content": piece})
        yield self._chunk(
            {}, self.finish_reason,
            citations=jsonable_encoder(self.answer.citations), citeqa=jsonable_encoder(self.answer),
        )
        if self.include_usage:
            yield sse({**self._head("chat.completion.chunk"), "choices": [], "usage": self.usage})
        yield "data: [DONE]\n\n"
