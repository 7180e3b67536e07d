"""`citeqa ask --url` and `citeqa chat --url` ask a running server instead of loading the model: the same answer
as the API gives, the server's errors shown as the CLI's own."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from citeqa.cli import app
from tests.service.conftest import free_port

QUESTION = "What is the half-life of baclofen?"


def test_ask_over_http_prints_the_servers_answer(server, citation_audit):
    expected = httpx.post(f"{server}/v1/ask", json={"question": QUESTION, "max_sentences": 2}, timeout=120).json()
    result = CliRunner().invoke(app, ["ask", QUESTION, "--url", server, "--max-sentences", "2", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    citation_audit.record(answer)
    assert answer["answer"] == expected["answer"] and answer["citations"] == expected["citations"]
    shown = CliRunner().invoke(app, ["ask", QUESTION, "--url", server])
    assert shown.exit_code == 0 and "2–4 hours" in shown.stdout and "[1] " in shown.stdout


def test_chat_over_http_answers_each_line(server):
    lines = f"{QUESTION}\nWhen was baclofen approved?\n"
    result = CliRunner().invoke(app, ["chat", "--url", server], input=lines)
    assert result.exit_code == 0, result.output
    assert "2–4 hours" in result.stdout and "1977" in result.stdout


def test_a_server_that_cannot_be_reached_or_refuses_is_said_plainly(server):
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["ask", QUESTION, "--url", nowhere])
    assert result.exit_code == 1
    assert f"cannot reach a citeqa server at {nowhere}" in result.output and "Traceback" not in result.output
    long_question = "why " * 400  # within this CLI's limit, beyond the server's
    refused = CliRunner().invoke(app, ["ask", long_question, "--url", server], env={"CITEQA_MAX_QUESTION_CHARS": "5000"})
    assert refused.exit_code == 2
    assert f"the server at {server} answered 422: " in refused.output and "the limit is 1000" in refused.output


def test_chat_over_http_says_what_the_server_refused_and_goes_on(server):
    """A question the server refuses (here beyond its length limit, not this CLI's) ends only that question."""
    lines = f"{'why ' * 400}\n{QUESTION}\n"
    result = CliRunner().invoke(app, ["chat", "--url", server], input=lines, env={"CITEQA_MAX_QUESTION_CHARS": "5000"})
    assert result.exit_code == 0, result.output
    assert f"the server at {server} answered 422: " in result.output
    assert "2–4 hours" in result.stdout
