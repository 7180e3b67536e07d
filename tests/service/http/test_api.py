"""The HTTP API over a real `citeqa serve` process: every endpoint, the errors a real server adds (oversized and
chunked bodies, no index, a stale index), concurrency, metrics and the server log, and that it keeps serving.
Validation errors, 404s and bad ranges are checked on the app in-process (test_app_in_process.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from citeqa.settings import Settings
from citeqa.index.store import current_build, read_manifest
from citeqa.service.http.security_headers import CONTENT_SECURITY_POLICY

ANSWERABLE = "What is the half-life of baclofen?"
UNANSWERABLE = "Does baclofen interact with grapefruit juice?"
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def client(server: str):
    with httpx.Client(base_url=server, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def manifest(settings: Settings):
    return read_manifest(current_build(settings.index_dir))


def corpus_text(settings: Settings, doc_id: str) -> str:
    return (settings.corpus_dir / f"{doc_id}.txt").read_bytes().decode("utf-8")


def ask(client: httpx.Client, citation_audit, question: str, **extra) -> dict:
    r = client.post("/v1/ask", json={"question": question, **extra})
    assert r.status_code == 200, r.text
    answer = r.json()
    citation_audit.record(answer)
    return answer


def assert_still_serving(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


# ---------------------------------------------------------------- health, metadata


def test_healthz_and_readyz(client, manifest):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready"
    assert r.json()["documents"] == len(manifest.documents)


def test_openapi_lists_every_path(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = set(r.json()["paths"])
    for path in (
        "/v1/ask", "/v1/search", "/v1/documents", "/v1/documents/{doc_id}", "/v1/chat/completions",
        "/v1/models", "/healthz", "/readyz",
    ):
        assert path in paths, f"{path} missing from /openapi.json"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text
    # the docs page works offline: its Swagger UI assets are served locally, nothing from a CDN
    assert "cdn" not in docs.text.lower() and "/docs-assets/swagger-ui-bundle.js" in docs.text
    bundle = client.get("/docs-assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text[:200_000]
    # The docs page has the chat page's policy plus the hash of its one inline script (tests/service/test_docs_browser.py)
    assert docs.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self' 'sha256-")


def test_web_chat_page_and_static_files_have_strict_headers(client):
    for path in ("/", "/static/app.js", "/static/style.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="question"' in page.text and "/static/app.js" in page.text
    assert "javascript" in client.get("/static/app.js").headers["content-type"]
    assert client.get("/static/no-such-file.js").status_code == 404


# ---------------------------------------------------------------- /v1/ask


def test_ask_answers_with_verbatim_citations(client, citation_audit, settings):
    answer = ask(client, citation_audit, ANSWERABLE)
    assert answer["abstained"] is False
    assert answer["citations"], answer
    numbers = {c["n"] for c in answer["citations"]}
    markers = {int(n) for n in MARKER.findall(answer["answer"])}
    assert markers and markers <= numbers
    for sentence in answer["sentences"]:
        assert sentence["citations"] and set(sentence["citations"]) <= numbers
    for c in answer["citations"]:
        # the same span over HTTP, and straight from the file
        span = client.get(f"/v1/documents/{c['doc_id']}", params={"start": c["start"], "end": c["end"]})
        assert span.status_code == 200
        assert span.json()["text"] == c["quote"] == corpus_text(settings, c["doc_id"])[c["start"] : c["end"]]
    assert "hour" in answer["answer"].lower()


def test_ask_abstains_with_related_passages(client, citation_audit, settings):
    answer = ask(client, citation_audit, UNANSWERABLE)
    assert answer["abstained"] is True
    assert answer["reason"] and not answer["citations"] and not answer["sentences"]
    assert answer["related"], "an abstention should offer the closest passages"
    for p in answer["related"]:  # not an answer, but still verbatim spans of the corpus
        assert corpus_text(settings, p["doc_id"])[p["start"] : p["end"]] == p["text"]


def test_ask_options(client, citation_audit):
    question = "What are the side effects of baclofen?"
    default = ask(client, citation_audit, question)
    assert len(default["sentences"]) > 1
    one = ask(client, citation_audit, question, max_sentences=1)
    assert [s["text"] for s in one["sentences"]] == [default["sentences"][0]["text"]]
    # no language model is configured, so generative mode says it answered extractively
    generative = ask(client, citation_audit, question, mode="generative")
    assert generative["mode"] == "extractive (generative fallback)" and "CITEQA_LLM_BASE_URL" in generative["reason"]
    assert default["mode"] == "extractive" and default["reason"] is None


def test_oversized_body_is_413(client):
    limit = Settings().max_body_bytes
    big = json.dumps({"question": "x" * (limit + 10)}).encode()
    r = client.post("/v1/ask", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert str(limit) in r.json()["detail"]

    # no Content-Length (chunked upload): the body is counted as it arrives
    def chunks():
        for i in range(0, len(big), 4096):
            yield big[i : i + 4096]

    r = client.post("/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    # a body under the limit still goes through the same middleware intact
    ok = client.post("/v1/search", content=json.dumps({"query": "baclofen dose", "k": 1}).encode(),
                     headers={"content-type": "application/json"})
    assert ok.status_code == 200 and len(ok.json()["results"]) == 1
    assert_still_serving(client)


def test_concurrent_questions_get_the_answers_they_get_alone(server, citation_audit):
    """Questions embedded together in one micro-batch are answered as if each came alone."""
    questions = [
        "What is baclofen used for?", "How long does baclofen withdrawal last?", ANSWERABLE,
        "What are the side effects of baclofen?", "How is baclofen taken?", "Can baclofen be addictive?",
    ]

    def one(q: str) -> dict:
        r = httpx.post(f"{server}/v1/ask", json={"question": q}, timeout=300)
        assert r.status_code == 200, r.text
        citation_audit.record(r.json())
        return r.json()

    alone = [one(q) for q in questions]
    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(one, questions))
    for q, a, b in zip(questions, alone, together):
        assert (b["answer"], b["abstained"]) == (a["answer"], a["abstained"]), q
        assert [(c["doc_id"], c["start"], c["end"]) for c in b["citations"]] == [
            (c["doc_id"], c["start"], c["end"]) for c in a["citations"]
        ], q


# ---------------------------------------------------------------- /v1/search


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_matches_the_library(client, engine, mode):
    r = client.post("/v1/search", json={"query": "baclofen withdrawal symptoms", "k": 4, "mode": mode})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["results"]) == 4
    assert set(body["results"][0]) == {"doc_id", "chunk_id", "start", "end", "text", "heading", "score"}
    expected = engine.search("baclofen withdrawal symptoms", 4, mode)
    assert [(p["doc_id"], p["chunk_id"]) for p in body["results"]] == [(p.doc_id, p.chunk_id) for p in expected]
    assert [p["score"] for p in body["results"]] == pytest.approx([p.score for p in expected], abs=1e-4)


def test_search_defaults_come_from_the_settings(client, engine):
    """Without k and mode, the server's CITEQA_TOP_K and CITEQA_RETRIEVAL_MODE apply (here: their defaults)."""
    r = client.post("/v1/search", json={"query": "muscle spasms"})
    assert r.status_code == 200
    defaults = Settings()
    expected = engine.search("muscle spasms", defaults.top_k, defaults.retrieval_mode)
    assert [(p["doc_id"], p["chunk_id"]) for p in r.json()["results"]] == [(p.doc_id, p.chunk_id) for p in expected]


# ---------------------------------------------------------------- /v1/documents


def test_documents_list_matches_the_manifest(client, manifest):
    r = client.get("/v1/documents")
    assert r.status_code == 200
    docs = {d["doc_id"]: d for d in r.json()}
    assert set(docs) == {d.doc_id for d in manifest.documents}
    for record in manifest.documents:
        d = docs[record.doc_id]
        assert set(d) == {"doc_id", "title", "publisher", "url", "size", "sha256"}
        assert (d["title"], d["publisher"], d["url"], d["size"], d["sha256"]) == (
            record.title, record.publisher, record.url, record.size, record.sha256,
        )


def test_document_text_and_spans(client, manifest, settings):
    record = manifest.documents[0]
    full = corpus_text(settings, record.doc_id)
    r = client.get(f"/v1/documents/{record.doc_id}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["text"] == full
    assert hashlib.sha256(doc["text"].encode("utf-8")).hexdigest() == record.sha256 == doc["sha256"]
    assert doc["title"] == record.title

    span = client.get(f"/v1/documents/{record.doc_id}", params={"start": 10, "end": 60}).json()
    assert span["text"] == full[10:60] and (span["start"], span["end"]) == (10, 60)
    assert client.get(f"/v1/documents/{record.doc_id}", params={"start": 100}).json()["text"] == full[100:]


# ---------------------------------------------------------------- /v1/chat/completions (plain HTTP)


def read_sse(response: httpx.Response) -> list[dict | str]:
    events = []
    for line in response.iter_lines():
        if not line:
            continue
        assert line.startswith("data: "), line
        payload = line[len("data: ") :]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def test_chat_completion(client, citation_audit):
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "What is baclofen used for?"},
        {"role": "assistant", "content": "It is a muscle relaxant."},
        {"role": "user", "content": [{"type": "text", "text": ANSWERABLE}]},
    ]
    r = client.post("/v1/chat/completions", json={"model": "citeqa", "messages": messages, "temperature": 0.2})
    assert r.status_code == 200, r.text
    body = r.json()
    citation_audit.record(body["citeqa"])
    assert body["object"] == "chat.completion" and body["model"] == "citeqa" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert body["citeqa"]["question"] == ANSWERABLE  # the last user message is the question
    answer_text, _, sources = choice["message"]["content"].partition("\n\nSources:\n")
    assert answer_text.endswith(body["citeqa"]["answer"]) and sources  # after the short answer, then the sources
    assert MARKER.search(choice["message"]["content"])
    assert body["citations"] == body["citeqa"]["citations"] and body["citations"]
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0


def test_chat_completion_stream(client, citation_audit):
    question = {"messages": [{"role": "user", "content": ANSWERABLE}]}
    plain = client.post("/v1/chat/completions", json=question).json()
    citation_audit.record(plain["citeqa"])
    with client.stream(
        "POST", "/v1/chat/completions", json={**question, "stream": True, "stream_options": {"include_usage": True}}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = read_sse(r)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0
    final = chunks[-2]
    assert final["choices"][0]["finish_reason"] == "stop" and final["choices"][0]["delta"] == {}
    citation_audit.record(final["citeqa"])
    assert final["citations"] == plain["citations"]
    content_chunks = chunks[1:-2]
    assert len(content_chunks) > 1 and all(c["choices"][0]["finish_reason"] is None for c in content_chunks)
    streamed = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    assert streamed == plain["choices"][0]["message"]["content"]


def test_chat_completion_abstains_in_words(client, citation_audit):
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": UNANSWERABLE}]})
    assert r.status_code == 200
    body = r.json()
    citation_audit.record(body["citeqa"])
    assert body["citeqa"]["abstained"] is True
    content = body["choices"][0]["message"]["content"]
    assert "not in the corpus" in content.lower()
    assert body["citeqa"]["reason"] in content


# ---------------------------------------------------------------- metrics


def test_metrics_count_requests(client):
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200
    counted = re.findall(r'^http_requests_total\{([^}]*)\} (\d+\.\d+)', r.text, flags=re.M)
    handlers = {dict(re.findall(r'(\w+)="([^"]*)"', labels))["handler"]: float(n) for labels, n in counted}
    assert handlers.get("/healthz", 0) >= 1
    assert any(h == "/v1/ask" for h in handlers), handlers


def test_questions_are_embedded_through_the_micro_batcher(client, citation_audit):
    def embedded() -> float:
        text = client.get("/metrics").text
        match = re.search(r"^citeqa_embed_questions_total (\S+)$", text, flags=re.M)
        assert match, "no citeqa_embed_questions_total in /metrics"
        return float(match.group(1))

    before = embedded()
    ask(client, citation_audit, "What is baclofen used for?")
    assert embedded() >= before + 1
    assert re.search(r"^citeqa_embed_batches_total \d", client.get("/metrics").text, flags=re.M)


def test_the_server_log_shows_citeqa_records_and_no_question(server_process, client, citation_audit):
    """`citeqa serve` routes the citeqa logger to uvicorn's handler; what was asked stays out of the log."""
    ask(client, citation_audit, ANSWERABLE)
    log = server_process.log()
    assert re.search(r"^INFO: +citeqa: the embedding model runs in \d+ processes", log, flags=re.M), log
    assert "POST /v1/ask" in log  # the access log is there, the question is not
    assert ANSWERABLE not in log and "half-life" not in log


# ---------------------------------------------------------------- no index


def test_without_an_index_the_service_starts_but_is_not_ready(unindexed_server):
    with httpx.Client(base_url=unindexed_server, timeout=60) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "citeqa index" in ready.json()["detail"]
        for method, path, body in [
            ("POST", "/v1/ask", {"question": ANSWERABLE}),
            ("POST", "/v1/search", {"query": "baclofen"}),
            ("GET", "/v1/documents", None),
            ("GET", "/v1/documents/what-is-baclofen", None),
            ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": ANSWERABLE}]}),
        ]:
            r = c.request(method, path, json=body)
            assert r.status_code == 503, path
            assert "citeqa index" in r.json()["detail"], path
        assert c.get("/").status_code == 200  # the page loads and shows the 503 message when asked
        assert c.get("/healthz").status_code == 200


def test_a_stale_index_is_not_ready(stale_server):
    url, changed = stale_server
    with httpx.Client(base_url=url, timeout=60) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "stale"
        assert f"{changed} changed" in ready.json()["detail"] and "citeqa index" in ready.json()["detail"]
        # the changed file's text is no longer trusted for citations
        r = c.get(f"/v1/documents/{changed}")
        assert r.status_code == 503 and "citeqa index" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200
