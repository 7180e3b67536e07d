"""Backpressure and deadlines on a real server: past its bound a question is refused at once with 503 and
Retry-After; slow generative answers have their own bound and never starve extractive ones; a question past
its deadline gets 504 and the service keeps serving. The slow part is a real HTTP stub of a remote LLM."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.service.conftest import ready_server
from tests.service.llm_stub import LLMStub, completion

QUESTION = "What is the half-life of baclofen?"
HOLD_S = 4.0  # how long the stub LLM takes to reply: the generative answers are still pending meanwhile
WAIT_S = 60.0  # only a guard against a hang, never a claim about speed


def slow_reply(request: dict) -> tuple[int, bytes, float]:
    return 200, completion("Baclofen's half-life is roughly 2–4 hours [1]."), HOLD_S


@contextmanager
def server_with(settings, tmp_path_factory, llm: LLMStub, **env: str) -> Iterator[str]:
    extra = {"CITEQA_LLM_BASE_URL": llm.base_url, "CITEQA_LLM_TIMEOUT_S": "30", "CITEQA_EMBED_PROCESSES": "0", **env}
    servers = ready_server(settings, tmp_path_factory.mktemp("admission"), extra)
    try:
        yield next(servers).url
    finally:
        servers.close()


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMStub]:
    with LLMStub() as stub:
        yield stub


class Pending:
    """Generative questions sent in threads; they stay pending while the stub holds its replies."""

    def __init__(self, url: str, llm: LLMStub, count: int) -> None:
        self.responses: list[httpx.Response] = []
        before = len(llm.requests)
        for _ in range(count):
            llm.script(slow_reply)
        self.threads = [threading.Thread(target=self._ask, args=(url,)) for _ in range(count)]
        for t in self.threads:
            t.start()
        wait_for(lambda: len(llm.requests) >= before + count, "the generative questions to reach the LLM")

    def _ask(self, url: str) -> None:
        body = {"question": QUESTION, "mode": "generative"}
        self.responses.append(httpx.post(f"{url}/v1/ask", json=body, timeout=WAIT_S))

    def pending(self) -> bool:
        return all(t.is_alive() for t in self.threads)

    def join(self) -> list[httpx.Response]:
        for t in self.threads:
            t.join(WAIT_S)
        return self.responses


def wait_for(condition, what: str) -> None:
    done = threading.Event()
    for _ in range(int(WAIT_S / 0.05)):
        if condition():
            return
        done.wait(0.05)
    pytest.fail(f"gave up waiting for {what}")


def test_past_the_bound_a_question_is_refused_at_once_and_served_again_after(settings, tmp_path_factory, llm):
    with server_with(settings, tmp_path_factory, llm, CITEQA_MAX_IN_FLIGHT="2",
                     CITEQA_MAX_GENERATIVE_IN_FLIGHT="2") as url:
        held = Pending(url, llm, 2)
        refused = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=WAIT_S)
        searched = httpx.post(f"{url}/v1/search", json={"query": QUESTION}, timeout=WAIT_S)
        health = httpx.get(f"{url}/healthz", timeout=WAIT_S)
        assert held.pending()  # the refusals came while the bound was full
        for r in (refused, searched):
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "1"
            assert "as many questions as it takes at once (2)" in r.json()["error"]["message"]
        assert health.status_code == 200
        assert [r.status_code for r in held.join()] == [200, 200]
        again = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=WAIT_S)
        assert again.status_code == 200 and again.json()["citations"]


def test_generative_answers_have_their_own_bound_and_a_deadline_and_never_starve_extractive_ones(
    settings, tmp_path_factory, llm
):
    with server_with(settings, tmp_path_factory, llm, CITEQA_MAX_IN_FLIGHT="16",
                     CITEQA_MAX_GENERATIVE_IN_FLIGHT="2", CITEQA_REQUEST_DEADLINE_S="2") as url:
        held = Pending(url, llm, 2)
        third = httpx.post(f"{url}/v1/ask", json={"question": QUESTION, "mode": "generative"}, timeout=WAIT_S)
        extractive = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=WAIT_S)
        assert held.pending()  # answered while both generative answers were still waiting on the LLM
        assert third.status_code == 503 and third.headers["retry-after"] == "1"
        assert "generating as many answers as it takes at once (2)" in third.json()["error"]["message"]
        assert extractive.status_code == 200 and extractive.json()["citations"]

        late = held.join()  # the stub holds them past the 2 s deadline
        assert [r.status_code for r in late] == [504, 504]
        assert "longer than the 2 s deadline" in late[0].json()["error"]["message"]
        assert httpx.get(f"{url}/healthz", timeout=WAIT_S).status_code == 200


def test_headers_past_the_size_limit_are_refused_and_the_server_keeps_serving(settings, tmp_path_factory, llm):
    with server_with(settings, tmp_path_factory, llm, CITEQA_MAX_HEADER_BYTES="4096") as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=WAIT_S) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            try:  # in pieces, as a large header arrives: the server answers before the end of it
                for _ in range(64):
                    s.sendall(b"a" * 16 * 1024)
            except OSError:
                pass  # the server closed the connection after its reply
            reply = s.recv(4096).decode("latin-1")
        assert reply.startswith("HTTP/1.1 400"), reply[:200]
        assert httpx.get(f"{url}/healthz", headers={"X-Small": "a" * 1000}, timeout=WAIT_S).status_code == 200
