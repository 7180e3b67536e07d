"""The app in this process (`create_app` driven by fastapi's TestClient, lifespan included): the fast paths
that need no real server (validation errors, 404s, bad ranges, health, models), and that CITEQA_* settings
from the environment reach the routes.

The app is built as `citeqa serve` builds it, from environment variables, with values that differ from the
defaults, so a route that ignored them fails here. The model runs in this process (CITEQA_EMBED_PROCESSES=0).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from citeqa.settings import Settings
from citeqa.index.store import current_build, read_manifest
from citeqa.service.http.app import create_app

ENVIRONMENT = {
    "CITEQA_TOP_K": "2",
    "CITEQA_RETRIEVAL_MODE": "bm25",
    "CITEQA_ANSWER_MODE": "generative",  # no CITEQA_LLM_BASE_URL: answers say they fell back to extractive
    "CITEQA_MAX_QUESTION_CHARS": "200",
    "CITEQA_EMBED_PROCESSES": "0",
}
QUERY = "baclofen withdrawal symptoms"
QUESTION = "What are the side effects of baclofen?"


@pytest.fixture(scope="module")
def client(settings: Settings):
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.setenv("CITEQA_INDEX_DIR", str(settings.index_dir))
        env.setenv("CITEQA_CORPUS_DIR", str(settings.corpus_dir))
        env.delenv("CITEQA_LLM_BASE_URL", raising=False)
        app_settings = Settings()
    with TestClient(create_app(app_settings)) as c:
        yield c


@pytest.fixture(scope="module")
def manifest(settings: Settings):
    return read_manifest(current_build(settings.index_dir))


def ids(passages) -> list[tuple[str, str]]:
    return [(p["doc_id"], p["chunk_id"]) if isinstance(p, dict) else (p.doc_id, p.chunk_id) for p in passages]


# ---------------------------------------------------------------- health, models


def test_healthz_and_readyz(client, manifest):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["documents"] == len(manifest.documents)


def test_readyz_says_when_no_model_process_can_encode(client):
    from citeqa.service.runtime.batching import ModelUnavailable

    class Down:
        def outage(self) -> ModelUnavailable:
            return ModelUnavailable("the embedding model process stopped and is being restarted", retry_after_s=4)

    state = client.app.state
    batcher, state.batcher = state.batcher, Down()
    try:
        down = client.get("/readyz")
    finally:
        state.batcher = batcher
    assert down.status_code == 503 and down.headers["retry-after"] == "4"
    assert down.json() == {"status": "model_unavailable",
                           "detail": "the embedding model process stopped and is being restarted"}
    assert client.get("/readyz").status_code == 200


def test_models(client):
    assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["citeqa"]
    assert client.get("/v1/models/citeqa").json() == {"id": "citeqa", "object": "model", "created": 0, "owned_by": "citeqa"}
    r = client.get("/v1/models/gpt-4")
    assert r.status_code == 404
    assert r.json()["detail"] == "no model 'gpt-4'; the only model is 'citeqa'"


# ---------------------------------------------------------------- validation errors


@pytest.mark.parametrize(
    ("path", "body", "loc", "expected"),
    [
        ("/v1/ask", {"question": ""}, ["body", "question"], "question must not be empty"),
        ("/v1/ask", {"question": "   \n\t "}, ["body", "question"], "question must not be empty"),
        ("/v1/ask", {"question": "x" * 201}, ["body", "question"],
         "question is 201 characters long; the limit is 200 (CITEQA_MAX_QUESTION_CHARS)"),
        ("/v1/ask", {}, ["body", "question"], "Field required"),
        ("/v1/ask", {"question": 42}, ["body", "question"], "valid string"),
        ("/v1/ask", {"question": QUESTION, "max_sentences": 0}, ["body", "max_sentences"], "greater than or equal to 1"),
        ("/v1/ask", {"question": QUESTION, "max_sentences": 11}, ["body", "max_sentences"], "less than or equal to 10"),
        ("/v1/ask", {"question": QUESTION, "mode": "poetic"}, ["body", "mode"], "'extractive' or 'generative'"),
        ("/v1/search", {"query": "x", "k": 0}, ["body", "k"], "greater than or equal to 1"),
        ("/v1/search", {"query": "x", "k": 51}, ["body", "k"], "less than or equal to 50"),
        ("/v1/search", {"query": "x", "mode": "fuzzy"}, ["body", "mode"], "'hybrid', 'dense' or 'bm25'"),
        ("/v1/search", {"query": " "}, ["body", "query"], "query must not be empty"),
        ("/v1/chat/completions", {"messages": [{"role": "system", "content": "Be brief."}]}, ["body", "messages"],
         "messages must contain a message with role 'user' (the question)"),
        ("/v1/chat/completions", {"messages": []}, ["body", "messages"], "role 'user'"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "  "}]},
         ["body", "messages", "0", "content"], "the question must not be empty"),
        ("/v1/chat/completions", {"messages": [{"role": "system", "content": "hi"}, {"role": "user", "content": "y" * 201}]},
         ["body", "messages", "1", "content"], "the limit is 200"),
        ("/v1/chat/completions", {}, ["body", "messages"], "Field required"),
    ],
)
def test_bad_input_is_a_422_in_fastapi_and_openai_shapes(client, path, body, loc, expected):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]  # FastAPI's shape, which the web chat reads
    assert error["loc"] == loc and expected in error["msg"], error
    # OpenAI's shape, which OpenAI clients show: the field and the message, with the request at fault
    field = ".".join(str(p) for p in loc[1:])
    assert r.json()["error"] == {
        "message": f"{field}: {error['msg']}", "type": "invalid_request_error", "param": None, "code": None,
    }


def test_malformed_json_is_a_422(client):
    r = client.post("/v1/ask", content=b'{"question": "half-life', headers={"content-type": "application/json"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == "json_invalid" and "JSON" in error["msg"]
    assert client.get("/healthz").status_code == 200


# ---------------------------------------------------------------- documents and unknown routes


def test_unknown_document_is_a_404_naming_the_known_ids(client, manifest):
    r = client.get("/v1/documents/no-such-doc")
    assert r.status_code == 404
    known = ", ".join(sorted(d.doc_id for d in manifest.documents))
    detail = f"no document 'no-such-doc'; known documents: {known} (GET /v1/documents)"
    assert r.json()["detail"] == detail
    assert r.json()["error"] == {"message": detail, "type": "invalid_request_error", "param": None, "code": None}


def test_a_range_outside_the_document_is_a_400_and_a_negative_offset_a_422(client, manifest):
    record = manifest.documents[0]
    doc, size = record.doc_id, record.size
    for params, bad_range in [({"start": 60, "end": 10}, "60:10"), ({"start": 0, "end": size + 1}, f"0:{size + 1}"),
                              ({"start": size + 1}, f"{size + 1}:{size}")]:
        r = client.get(f"/v1/documents/{doc}", params=params)
        assert r.status_code == 400, params
        assert r.json()["detail"] == (
            f"range {bad_range} is not inside {doc} (0:{size}); start must be <= end <= {size}"
        )
    for params, loc in [({"start": -1}, ["query", "start"]), ({"end": "abc"}, ["query", "end"])]:
        r = client.get(f"/v1/documents/{doc}", params=params)
        assert r.status_code == 422, params
        assert [e["loc"] for e in r.json()["detail"]] == [loc]
    # the empty span at the very end is inside the document
    end = client.get(f"/v1/documents/{doc}", params={"start": size})
    assert end.status_code == 200 and end.json()["text"] == ""


def test_unknown_route_is_a_json_404(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.json()["detail"] == "Not Found"
    assert r.json()["error"]["type"] == "invalid_request_error"


# ---------------------------------------------------------------- settings from the environment


def test_search_takes_k_and_mode_from_the_environment(client, engine):
    bm25 = engine.search(QUERY, 2, "bm25")
    assert ids(bm25) != ids(engine.search(QUERY, 2, "hybrid")), "pick a query where the modes disagree"
    r = client.post("/v1/search", json={"query": QUERY})
    assert r.status_code == 200, r.text
    assert ids(r.json()["results"]) == ids(bm25)  # CITEQA_TOP_K=2, CITEQA_RETRIEVAL_MODE=bm25
    # what the request says still wins
    dense = client.post("/v1/search", json={"query": QUERY, "k": 3, "mode": "dense"}).json()["results"]
    assert ids(dense) == ids(engine.search(QUERY, 3, "dense"))


def test_ask_takes_the_answer_mode_from_the_environment(client, citation_audit):
    default = client.post("/v1/ask", json={"question": QUESTION}).json()
    citation_audit.record(default)
    # CITEQA_ANSWER_MODE=generative, and without a language model the answer says it fell back
    assert default["mode"] == "extractive (generative fallback)"
    assert "CITEQA_LLM_BASE_URL" in default["reason"] and default["citations"]
    chosen = client.post("/v1/ask", json={"question": QUESTION, "mode": "extractive"}).json()
    citation_audit.record(chosen)
    assert chosen["mode"] == "extractive" and chosen["reason"] is None
    assert chosen["answer"] == default["answer"]
