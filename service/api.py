"""The HTTP service: JSON API, OpenAI-compatible chat endpoint, health/readiness, metrics and the web chat.

`create_app()` builds the app; the Engine (model, index, corpus) is loaded once in the lifespan and kept on
`app.state.engine`. Every CPU-bound call (embedding, retrieval, answering) runs in a worker thread so the event
loop keeps serving /healthz and other requests meanwhile. Route functions stay thin: they validate, call the
Engine, and shape the JSON.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_fastapi_instrumentator import Instrumentator
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from citeqa.settings import AnswerMode, RetrievalMode, Settings
from index.documents import CorpusError
from index.store import IndexProblem
from service.batching import MicroBatchEmbedder
from service.body_limit import BodySizeLimit
from service.embed_process import EmbedderProcess, start_embedder_processes
from service.engine import Engine
from service.models import Answer, SearchResponse, SearchResult
from service.openai_chat import (
    MODEL_ID,
    ChatCompletion,
    ChatRequest,
    last_user_message,
    model_card,
)
from service.security_headers import SecurityHeaders

log = logging.getLogger("uvicorn.error")  # uvicorn shows this logger's records
WEB_DIR = Path(__file__).resolve().parent / "web"

# ---------------------------------------------------------------- request and response shapes


class AskRequest(BaseModel):
    question: str = Field(description="the question, in plain text")
    mode: AnswerMode | None = Field(default=None, description="extractive (default) or generative")
    max_sentences: int | None = Field(default=None, ge=1, le=10, description="most sentences in the answer")


class SearchRequest(BaseModel):
    query: str
    k: int = Field(default=5, ge=1, le=50, description="number of passages")
    mode: RetrievalMode = "hybrid"


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    publisher: str | None = None
    size: int = Field(description="length of the text in characters")
    sha256: str


class DocumentText(DocumentInfo):
    start: int = Field(description="offset (in characters) of `text` in the document")
    end: int
    text: str


# ---------------------------------------------------------------- metrics


class BatcherMetrics:
    """Prometheus view of the micro-batcher's counters (read at scrape time)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self):
        batcher: MicroBatchEmbedder | None = getattr(self.app.state, "batcher", None)
        if batcher is None:
            return
        stats = batcher.stats
        yield CounterMetricFamily("citeqa_embed_questions", "questions embedded by the micro-batcher", value=stats.calls)
        yield CounterMetricFamily("citeqa_embed_batches", "model calls made by the micro-batcher", value=stats.batches)
        yield GaugeMetricFamily("citeqa_embed_largest_batch", "most questions embedded in one model call", value=stats.largest)


# ---------------------------------------------------------------- helpers


ERROR_TYPES = {500: "server_error", 503: "service_unavailable"}


def error_body(status: int, detail: object) -> dict[str, Any]:
    """FastAPI's `detail` (what the web chat reads) plus OpenAI's `error` object (what OpenAI clients read)."""
    if isinstance(detail, list):
        parts = []
        for d in detail:
            loc = ".".join(str(p) for p in d.get("loc", ()) if p != "body") if isinstance(d, dict) else ""
            msg = d.get("msg", "") if isinstance(d, dict) else str(d)
            parts.append(f"{loc}: {msg}" if loc else msg)
        message = "; ".join(parts)
    else:
        message = str(detail)
    kind = ERROR_TYPES.get(status, "invalid_request_error")
    return {"detail": detail, "error": {"message": message, "type": kind, "param": None, "code": None}}


def question_error(message: str, loc: tuple[str, ...], value: object) -> RequestValidationError:
    """A 422 in FastAPI's usual shape: {"detail": [{"loc", "msg", "type"}]}."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": value}])


def check_question(text: str, settings: Settings, loc: tuple[str, ...] = ("body", "question")) -> str:
    name = loc[-1] if loc[-1] != "content" else "the question"
    if not text.strip():
        raise question_error(f"{name} must not be empty", loc, text)
    if len(text) > settings.max_question_chars:
        raise question_error(
            f"{name} is {len(text)} characters long; the limit is {settings.max_question_chars} (CITEQA_MAX_QUESTION_CHARS)",
            loc, text,
        )
    return text.strip()


async def get_engine(request: Request) -> Engine:
    """The loaded Engine, or 503 saying why there is none (the message names the command that fixes it)."""
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, detail=request.app.state.problem or "the service is starting; try again shortly")
    return engine


def document_info(record) -> DocumentInfo:
    return DocumentInfo(
        doc_id=record.doc_id, title=record.title, publisher=record.publisher, size=record.size, sha256=record.sha256
    )


# ---------------------------------------------------------------- the app


def open_engine(settings: Settings) -> tuple[Engine, list[EmbedderProcess]]:
    """The engine, with the model in child processes when configured; on failure nothing is left running."""
    processes = start_embedder_processes(settings)
    try:
        return Engine.load(settings, processes[0] if processes else None), processes
    except BaseException:
        for process in processes:
            process.close()
        raise


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher = None
        processes: list[EmbedderProcess] = []
        try:
            engine, processes = await run_in_threadpool(open_engine, settings)
        except IndexProblem as exc:  # serve anyway: /healthz works, the rest say how to fix it
            app.state.problem = str(exc)
        except CorpusError as exc:
            app.state.problem = f"{exc}; then run `citeqa index`"
        else:
            # questions that arrive together are embedded in one model call
            batcher = MicroBatchEmbedder(
                processes or engine.retriever.embedder, settings.batch_wait_ms, settings.batch_max_size
            )
            engine.embed = batcher.embed
            app.state.batcher = batcher
            app.state.engine = engine
            app.state.problem = None
        if processes:
            log.info("citeqa: the embedding model runs in %d processes (pids %s)", len(processes),
                     ", ".join(str(p.pid) for p in processes))
        if app.state.problem:
            log.warning("citeqa is serving but not ready: %s", app.state.problem)
        elif engine.stale:
            log.warning("citeqa: the index is stale (%s); run `citeqa index` to update it", "; ".join(engine.stale))
        try:
            yield
        finally:
            app.state.engine = app.state.batcher = None
            if batcher is not None:
                batcher.close()
            for process in processes:
                await run_in_threadpool(process.close)

    app = FastAPI(
        title="citeqa",
        version="0.1.0",
        summary="Citation-checked question answering: every answer sentence cites a verbatim span of the corpus.",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: the default loads Swagger UI from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = app.state.batcher = None
    app.state.problem = "the service is starting; try again shortly"

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, exc.detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(422, jsonable_encoder(exc.errors())), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        detail = f"internal error ({type(exc).__name__}); the server log has the details"
        return JSONResponse(error_body(500, detail), status_code=500)

    # Before the routes and exception handlers, so an oversized body is refused before anything reads it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, error_body=error_body)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: even a 413 carries the headers

    registry = CollectorRegistry()  # one per app, so several apps can live in one process
    registry.register(BatcherMetrics(app))
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, endpoint="/metrics", include_in_schema=False
    )

    # ------------------------------------------------------------ health

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """200 while the process serves, whatever the state of the index."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        """200 only when the index is loaded and matches the corpus on disk; 503 with the reason otherwise."""
        engine: Engine | None = request.app.state.engine
        if engine is None:
            return JSONResponse({"status": "unavailable", "detail": request.app.state.problem}, status_code=503)
        if engine.stale:
            detail = f"the index is stale ({'; '.join(engine.stale)}); run `citeqa index` to update it"
            return JSONResponse({"status": "stale", "detail": detail}, status_code=503)
        manifest = engine.retriever.manifest
        return JSONResponse({"status": "ready", "documents": len(manifest.documents), "counts": manifest.counts})

    # ------------------------------------------------------------ questions

    @app.post("/v1/ask", response_model=Answer, tags=["questions"])
    async def ask(body: AskRequest, engine: Engine = Depends(get_engine)) -> Answer:
        """Answer a question; every sentence carries [n] markers for verbatim citations."""
        question = check_question(body.question, settings)
        return await run_in_threadpool(engine.answer, question, body.mode, body.max_sentences)

    @app.post("/v1/search", response_model=SearchResponse, tags=["questions"])
    async def search(body: SearchRequest, engine: Engine = Depends(get_engine)) -> SearchResponse:
        """The passages that best match the query (same as `citeqa search --json`)."""
        query = check_question(body.query, settings, loc=("body", "query"))
        passages = await run_in_threadpool(engine.search, query, body.k, body.mode)
        return SearchResponse(
            query=body.query, results=[SearchResult(**p.model_dump(exclude={"title"})) for p in passages]
        )

    # ------------------------------------------------------------ documents

    @app.get("/v1/documents", response_model=list[DocumentInfo], tags=["documents"])
    async def list_documents(engine: Engine = Depends(get_engine)) -> list[DocumentInfo]:
        """Every document in the index."""
        return [document_info(r) for r in engine.sources.records()]

    @app.get("/v1/documents/{doc_id}", response_model=DocumentText, tags=["documents"])
    async def get_document(
        doc_id: str,
        start: int | None = Query(default=None, ge=0, description="first character (default 0)"),
        end: int | None = Query(default=None, ge=0, description="end character, exclusive (default: the end)"),
        engine: Engine = Depends(get_engine),
    ) -> DocumentText:
        """A document's verbatim text, or only the span start:end (character offsets, as in citations)."""
        doc = engine.sources.get(doc_id)
        if doc is None:
            known = ", ".join(sorted(r.doc_id for r in engine.sources.records()))
            raise HTTPException(404, detail=f"no document {doc_id!r}; known documents: {known} (GET /v1/documents)")
        if doc.text is None:
            raise HTTPException(503, detail=doc.problem or f"{doc_id} cannot be read; run `citeqa index`")
        length = len(doc.text)
        lo = 0 if start is None else start
        hi = length if end is None else end
        if not lo <= hi <= length:
            raise HTTPException(
                400, detail=f"range {lo}:{hi} is not inside {doc_id} (0:{length}); start must be <= end <= {length}"
            )
        info = document_info(doc.record)
        return DocumentText(**info.model_dump(), start=lo, end=hi, text=doc.text[lo:hi])

    # ------------------------------------------------------------ OpenAI-compatible

    @app.get("/v1/models", tags=["openai"])
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id}", tags=["openai"])
    async def get_model(model_id: str) -> dict[str, Any]:
        if model_id != MODEL_ID:
            raise HTTPException(404, detail=f"no model {model_id!r}; the only model is {MODEL_ID!r}")
        return model_card()

    @app.post("/v1/chat/completions", tags=["openai"])
    async def chat_completions(body: ChatRequest, engine: Engine = Depends(get_engine)):
        """OpenAI chat completions: the last user message is the question. Besides `choices`, the response carries
        `citations` and `citeqa` (the full Answer). With `stream: true`, server-sent `chat.completion.chunk`s."""
        found = last_user_message(body)
        if found is None:
            raise question_error("messages must contain a message with role 'user' (the question)", ("body", "messages"), None)
        text, loc = found
        question = check_question(text, settings, loc)
        answer: Answer = await run_in_threadpool(engine.answer, question, body.mode, body.max_sentences)
        completion = ChatCompletion(body, answer)
        if not body.stream:
            return completion.body()
        return StreamingResponse(
            completion.stream(), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------ web chat

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="citeqa API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/", include_in_schema=False)
    async def index_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app
