"""Admission: how many questions the service takes on at once, and how long one may take.

Past `max_in_flight` answers being computed, a question is refused at once with 503 and `Retry-After` rather
than queued: a queue that only grows moves the wait into every request behind it, and the caller cannot tell
overload from slowness. A question counts once its body is read and valid, so a client that sends its body
slowly holds no place.
Generative answers wait seconds on a remote model, so they run in their own small pool under their own bound
and can never hold the threads extractive answers need. Every question has a deadline; past it the caller gets
504. The work itself cannot be interrupted in its thread, so it still counts against the bound until it ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from citeqa.service.http.errors import error_body

RETRY_AFTER_S = 1

T = TypeVar("T")

# For the OpenAPI schema of every question route.
RESPONSES: dict[int | str, dict[str, str]] = {
    503: {"description": "too many questions at once (or the model is restarting); retry after `Retry-After` seconds"},
    504: {"description": "the answer took longer than the deadline (CITEQA_REQUEST_DEADLINE_S)"},
}


class Overloaded(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(503, detail=message, headers={"Retry-After": str(RETRY_AFTER_S)})


class Admission:
    """Counts what is running, owns the generative pool, and runs each question under its deadline."""

    def __init__(self, max_in_flight: int, max_generative: int, deadline_s: float) -> None:
        self.max_in_flight = max_in_flight
        self.max_generative = max_generative
        self.deadline_s = deadline_s
        self._lock = threading.Lock()
        self._working = 0  # answers being computed, those past their deadline included
        self._generating = 0
        self._generative_pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Called by the app's lifespan, which owns the generative pool."""
        self._generative_pool = ThreadPoolExecutor(self.max_generative, thread_name_prefix="citeqa-generative")

    def full(self) -> bool:
        return self._working >= self.max_in_flight

    def refusal(self) -> str:
        return (f"the service is answering as many questions as it takes at once ({self.max_in_flight}); "
                f"retry in about {RETRY_AFTER_S} s")

    async def run(self, fn: Callable[..., T], *args: object, generative: bool = False) -> T:
        """`fn(*args)` in a worker thread, its result or 504 at the deadline; 503 at once when the service, or
        for a generative answer its pool, is full."""
        with self._lock:
            if self.full():
                raise Overloaded(self.refusal())
            if generative and self._generating >= self.max_generative:
                raise Overloaded(
                    f"the service is generating as many answers as it takes at once ({self.max_generative}); "
                    f"retry in about {RETRY_AFTER_S} s, or ask in extractive mode"
                )
            self._working += 1
            self._generating += int(generative)

        def work() -> T:
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self._working -= 1
                    self._generating -= int(generative)

        try:
            with anyio.fail_after(self.deadline_s):
                if generative and self._generative_pool is not None:
                    # awaited without holding a thread; shielded, so a deadline never cancels a job still queued
                    # (its count would never be given back)
                    return await asyncio.shield(asyncio.wrap_future(self._generative_pool.submit(work)))
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except TimeoutError:
            raise HTTPException(
                504, detail=f"the answer took longer than the {self.deadline_s:g} s deadline; try again shortly"
            ) from None

    def close(self) -> None:
        if self._generative_pool is not None:
            self._generative_pool.shutdown(wait=False, cancel_futures=True)
            self._generative_pool = None


class RefuseWhenFull:
    """ASGI middleware: while the bound is full, a question is refused before its body is read or validated,
    so that a refusal costs the event loop next to nothing. `Admission.run` still decides for the rest."""

    def __init__(self, app: ASGIApp, admission: Admission, paths: frozenset[str]) -> None:
        self.app = app
        self.admission = admission
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and self.admission.full():
            refusal = error_body(503, self.admission.refusal())
            await JSONResponse(refusal, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})(scope, receive, send)
            return
        await self.app(scope, receive, send)
