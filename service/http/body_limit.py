"""Refuse request bodies over a size limit before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """413 for request bodies over `max_bytes`: by Content-Length up front, and by counting what actually arrives
    (chunked uploads or a lying header). The body is read here, so the app sees it replayed from memory."""

    def __init__(self, app: ASGIApp, max_bytes: int, error_body: Callable[[int, str], dict]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._reject(scope, receive, send, 400, "the Content-Length header is not a number")
                return
            if too_big:
                await self._reject(scope, receive, send, 413, self._message())
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._reject(scope, receive, send, 413, self._message())
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes (CITEQA_MAX_BODY_BYTES); send a shorter request"

    async def _reject(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        response = JSONResponse(self.error_body(status, detail), status_code=status, headers={"Connection": "close"})
        await response(scope, receive, send)
