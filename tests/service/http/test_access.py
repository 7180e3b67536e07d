"""Access on real servers: API keys (the official OpenAI client's api_key works unchanged), a per-key rate limit,
CORS closed unless origins are listed, trusted hosts, and the warning when bound beyond loopback without a key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest
from typer.testing import CliRunner

from citeqa.cli import app as cli_app
from citeqa.cli import is_loopback
from tests.service.conftest import ready_server

KEYS = ("sk-citeqa-first-7a1b", "sk-citeqa-second-9c2d")
QUESTION = "What is the half-life of baclofen?"
TIMEOUT_S = 120.0  # a hang guard, never a speed claim


@contextmanager
def server_with(settings, tmp_path_factory, **env: str) -> Iterator[str]:
    servers = ready_server(settings, tmp_path_factory.mktemp("access"), {"CITEQA_EMBED_PROCESSES": "0", **env})
    try:
        yield next(servers).url
    finally:
        servers.close()


@pytest.fixture(scope="module")
def keyed(settings, tmp_path_factory) -> Iterator[str]:
    with server_with(settings, tmp_path_factory, CITEQA_API_KEY=",".join(KEYS), CITEQA_RATE_LIMIT="4/minute",
                     CITEQA_CORS_ORIGINS="https://app.example", CITEQA_TRUSTED_HOSTS="127.0.0.1,localhost") as url:
        yield url


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_without_a_valid_key_the_api_and_metrics_answer_401_and_open_pages_stay_open(keyed):
    for headers in ({}, bearer("sk-wrong"), {"Authorization": KEYS[0]}, bearer(KEYS[0] + "x")):
        r = httpx.post(f"{keyed}/v1/ask", json={"question": QUESTION}, headers=headers, timeout=TIMEOUT_S)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["error"]["message"]
        assert KEYS[0] not in r.text and KEYS[1] not in r.text
    assert httpx.get(f"{keyed}/metrics", timeout=TIMEOUT_S).status_code == 401
    assert httpx.get(f"{keyed}/v1/documents", timeout=TIMEOUT_S).status_code == 401
    for open_path in ("/", "/healthz", "/readyz", "/docs", "/static/app.js"):
        assert httpx.get(f"{keyed}{open_path}", timeout=TIMEOUT_S).status_code == 200, open_path


def test_the_openai_client_with_either_key_is_answered_and_the_rate_limit_is_per_key(keyed):
    client = openai.OpenAI(base_url=f"{keyed}/v1", api_key=KEYS[0], max_retries=0, timeout=TIMEOUT_S)
    reply = client.chat.completions.create(model="citeqa", messages=[{"role": "user", "content": QUESTION}])
    assert "2–4 hours" in reply.choices[0].message.content
    assert httpx.get(f"{keyed}/metrics", headers=bearer(KEYS[0]), timeout=TIMEOUT_S).status_code == 200
    statuses = [httpx.post(f"{keyed}/v1/search", json={"query": QUESTION}, headers=bearer(KEYS[0]),
                           timeout=TIMEOUT_S) for _ in range(3)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]  # requests 3 and 4 of the first key
    limited = statuses[2]  # its fifth within the minute
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "4 per 1 minute" in limited.json()["error"]["message"]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="citeqa", messages=[{"role": "user", "content": QUESTION}])
    other = httpx.post(f"{keyed}/v1/search", json={"query": QUESTION}, headers=bearer(KEYS[1]), timeout=TIMEOUT_S)
    assert other.status_code == 200  # the second key has its own allowance


def test_the_schema_says_which_routes_need_the_key(keyed):
    schema = httpx.get(f"{keyed}/openapi.json", timeout=TIMEOUT_S).json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "CITEQA_API_KEY (one of them, when several)"
    }
    ask = schema["paths"]["/v1/ask"]["post"]
    assert ask["security"] == [{"apiKey": []}] and {"401", "429"} <= set(ask["responses"])
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_cors_answers_only_listed_origins(keyed, server):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = httpx.options(f"{keyed}/v1/ask", headers={"Origin": "https://app.example", **preflight}, timeout=TIMEOUT_S)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.options(f"{keyed}/v1/ask", headers={"Origin": "https://evil.example", **preflight}, timeout=TIMEOUT_S)
    assert "access-control-allow-origin" not in other.headers
    # by default (the session's server, no origins listed) no cross-origin reply can be read
    plain = httpx.post(f"{server}/v1/ask", json={"question": QUESTION}, headers={"Origin": "https://app.example"},
                       timeout=TIMEOUT_S)
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers


def test_a_host_not_listed_as_trusted_is_refused(keyed):
    r = httpx.get(f"{keyed}/healthz", headers={"Host": "evil.example"}, timeout=TIMEOUT_S)
    assert r.status_code == 400
    assert httpx.get(f"{keyed}/healthz", timeout=TIMEOUT_S).status_code == 200


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
    ("192.168.1.5", False), ("example.org", False),
])
def test_which_hosts_count_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_serving_beyond_loopback_without_a_key_warns(monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # the warning comes before the server starts
    monkeypatch.setenv("CITEQA_EMBED_PROCESSES", "0")
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "without an API key" in result.output and "CITEQA_API_KEY" in result.output
    monkeypatch.setenv("CITEQA_API_KEY", KEYS[0])
    quiet = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert "without an API key" not in quiet.output


def test_an_unreadable_rate_limit_is_refused_at_start_up(monkeypatch):
    monkeypatch.setenv("CITEQA_RATE_LIMIT", "lots")
    result = CliRunner().invoke(cli_app, ["serve", "--port", "0"])
    assert result.exit_code != 0
    assert "write it like 60/minute" in str(result.exception) + result.output
