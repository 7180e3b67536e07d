"""Access: an optional API key on the API, an optional rate limit per key, for a service reachable beyond loopback.

With `CITEQA_API_KEY` set (one key, or several separated by commas), every `/v1/*` route and `/metrics` need
`Authorization: Bearer <key>`, which is what the official OpenAI client sends for its `api_key`. The web chat's
page and assets, `/docs` and the health probes stay open: they hold nothing of the corpus and a load balancer
must reach the probes. Keys are compared in constant time. With `CITEQA_RATE_LIMIT` (e.g. "60/minute", the
`limits` library's notation) each key, or each client address when no key is set, gets that many requests
per moving window; past it, 429 with `Retry-After`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from citeqa.service.http.errors import error_body


def guarded(path: str) -> bool:
    return path.startswith("/v1/") or path == "/metrics"


class AccessGuard:
    """ASGI middleware: the key check, then the rate limit, before anything else reads the request."""

    def __init__(self, app: ASGIApp, keys: tuple[str, ...], rate_limit: str | None) -> None:
        self.app = app
        self.keys = tuple(k.encode() for k in keys)
        self.limit = parse(rate_limit) if rate_limit else None
        self.limiter = MovingWindowRateLimiter(MemoryStorage()) if self.limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        caller = self._caller(scope)
        if caller is None:
            body = error_body(
                401, "this service needs an API key: send it as `Authorization: Bearer <key>` (the OpenAI "
                "client's api_key does this)"
            )
            response = JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        if self.limiter is not None and self.limit is not None and not self.limiter.hit(self.limit, caller):
            reset = self.limiter.get_window_stats(self.limit, caller).reset_time
            wait_s = max(1, math.ceil(reset - time.time()))
            body = error_body(429, f"too many requests: the limit is {self.limit}; retry in about {wait_s} s")
            await JSONResponse(body, status_code=429, headers={"Retry-After": str(wait_s)})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _caller(self, scope: Scope) -> str | None:
        """Who is asking, for the rate limit: a digest of the key (never the key itself), or the client address
        when no key is required; None when a key is required and the request has no valid one."""
        if not self.keys:
            client = scope.get("client")
            return f"address:{client[0] if client else 'unknown'}"
        scheme, _, given = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        token = given.strip().encode()
        # every key is compared, so the time taken says nothing about which one nearly matched
        matched = [hmac.compare_digest(token, key) for key in self.keys]
        if not any(matched):
            return None
        return "key:" + hashlib.sha256(token).hexdigest()[:16]


def declare_bearer_auth(app: FastAPI) -> None:
    """The OpenAPI schema says that the guarded routes need the key, so /docs offers an "Authorize" button."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["apiKey"] = {
                "type": "http", "scheme": "bearer", "description": "CITEQA_API_KEY (one of them, when several)",
            }
            for path, operations in schema.get("paths", {}).items():
                if guarded(path):
                    for operation in operations.values():
                        operation["security"] = [{"apiKey": []}]
                        operation.setdefault("responses", {})["401"] = {"description": "no valid API key"}
                        operation["responses"]["429"] = {"description": "rate limit reached; see Retry-After"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
