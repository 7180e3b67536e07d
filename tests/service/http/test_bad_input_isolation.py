"""Text that cannot be encoded (a lone surrogate, a control character) is refused at validation with a 422
naming the problem and where, on every endpoint that takes user text and in the CLI, and never hurts the good
questions sent beside it: questions are embedded in shared micro-batches, where one bad text used to fail them all.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from typer.testing import CliRunner

from citeqa.cli import app as cli

CONCURRENCY = 16

# (path, body, the 422's error.message); the body goes out as json.dumps writes it, a lone surrogate as \ud800
BAD = [
    ("/v1/ask", {"question": "baclofen \ud800 dose"},
     "question: contains an unpaired surrogate (U+D800) at character 9; send valid UTF-8 text"),
    ("/v1/search", {"query": "baclofen\x00withdrawal"},
     "query: contains the control character U+0000 at character 8; only tab, newline and carriage return are allowed"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Is \x1b[31mbaclofen safe?"}]},
     ("messages.0.content: contains the control character U+001B at character 3; "
      "only tab, newline and carriage return are allowed")),
    ("/v1/chat/completions",
     {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is baclofen?\udfff"}]}]},
     "messages.0.content: part 0 text contains an unpaired surrogate (U+DFFF) at character 17; send valid UTF-8 text"),
]
GOOD = [
    ("/v1/ask", {"question": "What is the half-life of baclofen?"}),
    ("/v1/search", {"query": "baclofen withdrawal symptoms"}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "What is baclofen used for?\n\tThanks."}]}),
    ("/v1/ask", {"question": "How long does baclofen withdrawal last?\r\n"}),
]


def post(client: httpx.Client, path: str, body: dict) -> httpx.Response:
    return client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def test_bad_and_good_questions_interleaved_at_concurrency_16(server, citation_audit):
    # one bad request to every two good ones, all in flight together, so bad and good would share batches
    good, bad = itertools.cycle(GOOD), itertools.cycle(BAD)
    requests = [next(bad) if i % 3 == 2 else next(good) for i in range(8 * CONCURRENCY)]
    with httpx.Client(base_url=server, timeout=120) as client, ThreadPoolExecutor(CONCURRENCY) as pool:
        responses = list(pool.map(lambda r: post(client, r[0], r[1]), requests))
    for request, r in zip(requests, responses):
        path, body = request[0], request[1]
        if len(request) == 3:
            assert r.status_code == 422, (path, body, r.status_code, r.text)
            assert r.json()["error"]["message"] == request[2]
            continue
        assert r.status_code == 200, (path, body, r.status_code, r.text)
        if path == "/v1/ask":
            citation_audit.record(r.json())
            assert r.json()["citations"], r.json()
        elif path == "/v1/search":
            assert r.json()["results"]
        else:
            citation_audit.record(r.json()["citeqa"])
            assert r.json()["choices"][0]["message"]["content"]
    assert sum(len(r) == 3 for r in requests) == len(requests) // 3


def test_a_refusal_that_echoes_a_lone_surrogate_is_still_valid_json(server):
    """The 422 quotes the input; written as it came, the surrogate made the error itself a 500."""
    with httpx.Client(base_url=server, timeout=120) as client:
        r = post(client, "/v1/ask", {"question": "baclofen \ud800"})
        assert r.status_code == 422
        r.content.decode("utf-8")  # strict: valid UTF-8 throughout
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["body", "question"] and detail["type"] == "invalid_text"
        assert detail["input"] == "baclofen \\ud800"
        # the same for a field whose own check refuses the surrogate
        mode = post(client, "/v1/ask", {"question": "What is baclofen?", "mode": "\ud800"})
        assert mode.status_code == 422 and mode.json()["detail"][0]["loc"] == ["body", "mode"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "baclofen \udced\udca0 dose"], "the question contains an unpaired surrogate (U+DCED) at character 9"),
        (["search", "baclofen \x07"], "the query contains the control character U+0007 at character 9"),
    ],
)
def test_the_cli_refuses_such_text_with_a_message_not_a_traceback(settings, args, message):
    # Invalid UTF-8 in a shell argument reaches Python as lone surrogates ("\udced\udca0"), as here.
    env = {"CITEQA_INDEX_DIR": str(settings.index_dir), "CITEQA_CORPUS_DIR": str(settings.corpus_dir)}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert message in result.stderr
