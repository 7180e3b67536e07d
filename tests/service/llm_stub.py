"""A real HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

It stands in for a remote language model (the one part that cannot run here). Each test scripts the next
reply as a function of the request, so a reply can quote the numbered passages the service actually sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = Callable[[dict], tuple[int, bytes, float]]  # request json -> (status, body, delay seconds)


def passages_of(request: dict) -> dict[int, str]:
    """The numbered passages the service put in the user message."""
    content = request["messages"][-1]["content"]
    body = content.split("Passages:\n\n", 1)[1].rsplit("\n\nQuestion:", 1)[0]
    found = re.findall(r"^\[(\d+)\] (.*?)(?=\n\n\[\d+\] |\Z)", body, flags=re.S | re.M)
    return {int(n): text for n, text in found}


def completion(content: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": "stub",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }).encode()


class LLMStub:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []  # of each request, in the same order
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length))
                stub.requests.append(request)
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = stub.replies.pop(0) if stub.replies else (lambda r: (500, b"no scripted reply", 0.0))
                status, body, delay = reply(request)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, reply: Reply) -> None:
        self.replies.append(reply)

    def __enter__(self) -> LLMStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
