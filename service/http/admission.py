"""Admission: how many questions the service takes on at once, and how long one may take.

Past `max_in_flight` answers being computed, a question is refused at once with 503 and `Retry-After` rather
than queued: a queue that only grows moves the wait into every request behind it, and the caller cannot tell
overload from slowness. A question counts once its body is read and valid, so a client that sends its body
slowly holds no place.
Extractive answers run under a thread limit of their own (`answer_threads`), not anyio's default one that static
files and start-up share, so a full bound never makes the web chat's page wait; admitted questions beyond those
threads wait without one. Generative answers wait seconds on a remote model, so they run in their own small pool under
their own bound and can never hold the threads extractive answers need. Every question has a deadline; past it
the caller gets 504. Work a thread has taken up cannot be interrupted, so it counts against the bound until it
ends; work still waiting for a thread at its deadline is dropped and gives its place back.
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

    def __init__(self, max_in_flight: int, max_generative: int, deadline_s: float, answer_threads: int) -> None:
        self.max_in_flight = max_in_flight
        self.max_generative = max_generative
        self.deadline_s = deadline_s
        self.answer_threads = answer_threads
        self._lock = threading.Lock()
        self._working = 0  # answers admitted and not yet given back, those past their deadline included
        self._generating = 0
        self._generative_pool: ThreadPoolExecutor | None = None
        self._answer_threads: anyio.CapacityLimiter | None = None

    def start(self) -> None:
        """Called by the app's lifespan, which owns the generative pool and the extractive answers' threads."""
        self._generative_pool = ThreadPoolExecutor(self.max_generative, thread_name_prefix="citeqa-generative")
        self._answer_threads = anyio.CapacityLimiter(self.answer_threads)

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
        place = _Place(lambda: self._give_back(generative))

        def work() -> T:
            if not place.claim():  # its deadline passed before a thread took it up
                raise TimeoutError
            try:
                return fn(*args)
            finally:
                place.give_back()

        try:
            with anyio.fail_after(self.deadline_s):
                if generative and self._generative_pool is not None:
                    # awaited without holding a thread; shielded, so the pool's future is never cancelled (a
                    # job still queued then runs `work`, which finds its place given back and stops at once)
                    return await asyncio.shield(asyncio.wrap_future(self._generative_pool.submit(work)))
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=self._answer_threads)
        except TimeoutError:
            raise HTTPException(
                504, detail=f"the answer took longer than the {self.deadline_s:g} s deadline; try again shortly"
            ) from None
        finally:
            if place.claim():  # no thread ever took the work up (deadline, cancelled wait): give its place back
                place.give_back()

    def _give_back(self, generative: bool) -> None:
        with self._lock:
            self._working -= 1
            self._generating -= int(generative)

    def close(self) -> None:
        if self._generative_pool is not None:
            self._generative_pool.shutdown(wait=False, cancel_futures=True)
            self._generative_pool = None


class _Place:
    """One admitted question's place in the bound. Whoever claims it first gives it back: the thread that runs the
    work, or, when no thread ever took the work up (its deadline passed while it waited for one), the request."""

    def __init__(self, give_back: Callable[[], None]) -> None:
        self.give_back = give_back
        self._claimed = False
        self._lock = threading.Lock()

    def claim(self) -> bool:
        with self._lock:
            claimed, self._claimed = self._claimed, True
        return not claimed


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
