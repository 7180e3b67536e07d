"""Chat backends for generative mode: one small protocol, and the settings decide which backend serves it.

Today the only backend is any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, OpenAI, ...)
through the official `openai` SDK. A new kind of backend (llama.cpp in-process, Anthropic, ...) implements
`ChatBackend` and is picked in `chat_backend`.

Every failure comes out as one `ChatBackendError` whose message names the endpoint (credentials stripped from
the URL) and never the API key, so the caller can show it and log it as it is.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import openai

from citeqa.settings import Settings

# Retries (CITEQA_LLM_MAX_RETRIES) follow a refused connection or a 5xx answer (a server restarting, a proxy in
# front of a model still loading), within the same `llm_timeout_s` budget. A timeout is never retried: it has
# used the budget.
RETRY_PAUSE_S = 0.5

ErrorKind = Literal["timeout", "unreachable", "http_status", "malformed"]
Messages = list[dict[str, str]]


class ChatBackendError(RuntimeError):
    """The backend failed, timed out or replied with something that is not a chat completion."""

    def __init__(self, message: str, kind: ErrorKind, transient: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient  # worth one more try


class ChatBackend(Protocol):
    def complete(self, messages: Messages, max_tokens: int | None = None) -> str:
        """The assistant's reply text (never empty); raises ChatBackendError."""
        ...

    def close(self) -> None: ...


def display_url(url: str) -> str:
    """The URL without user:password or query string, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OpenAICompatibleBackend:
    """`llm_timeout_s` bounds the whole call, retry included: the SDK's own retry is off because it also
    retries timeouts and honours a server's Retry-After of up to two minutes, either of which would keep a
    question waiting far past the budget."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout_s: float, max_retries: int = 1) -> None:
        self.url = display_url(base_url)
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    def complete(self, messages: Messages, max_tokens: int | None = None) -> str:
        deadline = time.monotonic() + self.timeout_s
        for _ in range(self.max_retries):
            try:
                return self._attempt(messages, max_tokens, deadline - time.monotonic())
            except ChatBackendError as exc:
                # a retry needs a real chance: at least another pause's worth of time left after the pause
                if not exc.transient or deadline - time.monotonic() < 2 * RETRY_PAUSE_S:
                    raise
            time.sleep(RETRY_PAUSE_S)
        return self._attempt(messages, max_tokens, deadline - time.monotonic())

    def _attempt(self, messages: Messages, max_tokens: int | None, timeout_s: float) -> str:
        limit = {} if max_tokens is None else {"max_tokens": max_tokens}
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, temperature=0, timeout=timeout_s, **limit
            )
        except openai.APITimeoutError as exc:  # before APIConnectionError, its base class
            raise ChatBackendError(
                f"the language model at {self.url} timed out after {self.timeout_s:g}s", "timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise ChatBackendError(
                f"cannot reach the language model at {self.url} ({cause})", "unreachable", transient=True
            ) from exc
        except openai.APIStatusError as exc:
            raise ChatBackendError(
                f"the language model at {self.url} answered HTTP {exc.status_code}{_status_hint(exc.status_code)}",
                "http_status",
                transient=exc.status_code >= 500,
            ) from exc
        except (openai.OpenAIError, ValueError) as exc:  # a body that is not JSON, or fails the SDK's validation
            raise self._malformed() from exc
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise self._malformed() from exc
        if not isinstance(content, str) or not content.strip():
            raise ChatBackendError(f"the language model at {self.url} sent an empty reply", "malformed")
        return content

    def _malformed(self) -> ChatBackendError:
        return ChatBackendError(f"the language model at {self.url} sent a reply that is not a chat completion",
                                "malformed")

    def close(self) -> None:
        self._client.close()


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return "; check CITEQA_LLM_API_KEY"
    if status == 404:
        return "; check CITEQA_LLM_BASE_URL (it usually ends in /v1) and CITEQA_LLM_MODEL"
    return ""


def chat_backend(settings: Settings) -> ChatBackend | None:
    """The backend the settings configure, or None when no endpoint is set."""
    if not settings.llm_base_url:
        return None
    return OpenAICompatibleBackend(
        settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_s,
        settings.llm_max_retries,
    )
