"""Security headers as a plain ASGI middleware (`@app.middleware("http")` costs a task group per request)."""

from __future__ import annotations

import base64
import hashlib

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The chat page inserts every text as text; this forbids inline script outright.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def docs_policy(inline_script: str) -> str:
    """The chat page's policy, except that the one inline script of /docs (Swagger UI's start-up) is allowed by
    its hash; Swagger UI 5 needs nothing else inline."""
    digest = base64.b64encode(hashlib.sha256(inline_script.encode()).digest()).decode()
    return CONTENT_SECURITY_POLICY.replace("script-src 'self';", f"script-src 'self' 'sha256-{digest}';")


def wants_csp(path: str) -> bool:
    """The strict policy is for the chat page; /docs sets its own (`docs_policy`)."""
    return path == "/" or path.startswith("/static/")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = wants_csp(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if csp:
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)
