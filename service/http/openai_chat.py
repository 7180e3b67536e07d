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
from citeqa.service.models import Answer

MODEL_ID = "citeqa"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat-completions request; sampling parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage]
    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    mode: AnswerMode | None = Field(default=None, description="citeqa extension: extractive or generative")
    max_sentences: int | None = Field(default=None, ge=1, le=10, description="citeqa extension")


def message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "\n".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")
    return ""

def chat_content(answer: Answer) -> str:
    """What a chat client shows: the short answer in bold with its [n] first, when there is one, then the answer
    with its [n] markers; or why there is none."""
    if not answer.abstained:
        short = answer.short_answer
        return f"**{short.text}** [{short.citation}]\n\n{answer.answer}" if short else answer.answer
    reason = (answer.reason or "").strip() or "The documents in the corpus do not answer this question."
    content = f"Not in the corpus: {reason}"
    if answer.answer.strip() and answer.answer.strip() not in content:
        content += f"\n\n{answer.answer.strip()}"
    return content

def word_count(text: str) -> int:
    return len(text.split())

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

    def __init__(self, request: ChatRequest, answer: Answer) -> None:
        self.answer = answer
        self.content = chat_content(answer)
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
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": self.usage,
            "citations": jsonable_encoder(self.answer.citations),
            "citeqa": jsonable_encoder(self.answer),
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return sse({**self._head("chat.completion.chunk"), "choices": [choice], **extra})

    async def stream(self) -> AsyncIterator[str]:
        """Role first, then the content a word at a time, then `stop` with the citations, then [DONE]."""
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in deltas(self.content):
            yield self._chunk({"content": piece})
        yield self._chunk(
            {}, "stop", citations=jsonable_encoder(self.answer.citations), citeqa=jsonable_encoder(self.answer)
        )
        if self.include_usage:
            yield sse({**self._head("chat.completion.chunk"), "choices": [], "usage": self.usage})
        yield "data: [DONE]\n\n"
