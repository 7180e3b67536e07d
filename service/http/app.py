"""The HTTP service: JSON API, OpenAI-compatible chat endpoint, health/readiness, metrics and the web chat.

`create_app()` builds the app; the Engine (model, index, corpus) is loaded once in the lifespan and kept on
`app.state.engine`. Every CPU-bound call (embedding, retrieval, answering) runs in a worker thread so the event
loop keeps serving /healthz and other requests meanwhile. The routes live in one router per concern
(`routes/`) and stay thin: they validate, call the Engine, and shape the JSON.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from citeqa.settings import Settings
from citeqa.index.documents import CorpusError
from citeqa.index.store import IndexProblem
from citeqa.service.engine import Engine
from citeqa.service.http.routes import ask, documents, health, openai_compatible, search
from citeqa.service.http.access import AccessGuard, declare_bearer_auth
from citeqa.service.http.admission import Admission, RefuseWhenFull
from citeqa.service.http.api_docs import add_api_docs
from citeqa.service.http.body_limit import BodySizeLimit
from citeqa.service.http.errors import error_body, outage_response
from citeqa.service.http.metrics import expose_metrics
from citeqa.service.http.schema import declare_limits
from citeqa.service.http.security_headers import SecurityHeaders
from citeqa.service.runtime.batching import MicroBatchEmbedder, ModelUnavailable
from citeqa.service.runtime.embed_process import EmbedderProcess, start_embedder_processes

# Under the `citeqa` logger, which `citeqa serve` routes to uvicorn's console handler. Never log question text.
log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


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
    admission = Admission(
        settings.max_in_flight, settings.max_generative_in_flight, settings.request_deadline_s, settings.answer_threads
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher = None
        processes: list[EmbedderProcess] = []
        admission.start()
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
            await run_in_threadpool(engine.warm_up)  # lazy loads now, not on the first question
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
            engine_in_use: Engine | None = app.state.engine
            app.state.engine = app.state.batcher = None
            if engine_in_use is not None:
                engine_in_use.close()
            if batcher is not None:
                batcher.close()
            for process in processes:
                await run_in_threadpool(process.close)
            admission.close()

    app = FastAPI(
        title="citeqa",
        version="0.1.0",
        summary="Citation-checked question answering: every answer sentence cites a verbatim span of the corpus.",
        lifespan=lifespan,
        docs_url=None,  # add_api_docs serves it from local assets: the default loads Swagger UI from a CDN
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

    @app.exception_handler(ModelUnavailable)
    async def model_unavailable(request: Request, exc: ModelUnavailable) -> JSONResponse:
        return outage_response(exc)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        detail = f"internal error ({type(exc).__name__}); the server log has the details"
        return JSONResponse(error_body(500, detail), status_code=500)

    # Before the routes and exception handlers, so an oversized body is refused before anything reads it.
    app.state.admission = admission
    app.add_middleware(
        RefuseWhenFull, admission=admission, paths=frozenset({"/v1/ask", "/v1/search", "/v1/chat/completions"})
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, error_body=error_body)
    if settings.api_keys() or settings.rate_limit:
        app.add_middleware(AccessGuard, keys=settings.api_keys(), rate_limit=settings.rate_limit)
    if settings.cors_origins:  # closed unless listed: a browser on another origin cannot read any reply
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.listed(settings.cors_origins), allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    if settings.trusted_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.listed(settings.trusted_hosts))
    app.add_middleware(SecurityHeaders)  # added last, so outermost: even a 413 carries the headers
    expose_metrics(app)

    for routes in (health, ask, search, documents, openai_compatible):
        app.include_router(routes.router)

    # ------------------------------------------------------------ API docs and the web chat

    add_api_docs(app)
    declare_limits(app, settings)
    if settings.api_keys():
        declare_bearer_auth(app)

    @app.get("/", include_in_schema=False)
    async def index_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app
