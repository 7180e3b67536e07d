"""/healthz (the process serves) and /readyz (the index is loaded and matches the corpus, and the model is up), for
probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from citeqa.service.engine import Engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process serves, whatever the state of the index."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 only when the index is loaded and matches the corpus on disk and a model process can encode questions;
    503 with the reason otherwise."""
    engine: Engine | None = request.app.state.engine
    if engine is None:
        return JSONResponse({"status": "unavailable", "detail": request.app.state.problem}, status_code=503)
    if engine.stale:
        detail = f"the index is stale ({'; '.join(engine.stale)}); run `citeqa index` to update it"
        return JSONResponse({"status": "stale", "detail": detail}, status_code=503)
    batcher = request.app.state.batcher
    outage = batcher.outage() if batcher is not None else None
    if outage is not None:  # a load balancer should send questions elsewhere until a model process is back
        return JSONResponse({"status": "model_unavailable", "detail": str(outage)}, status_code=503,
                            headers={"Retry-After": str(outage.retry_after_s)})
    manifest = engine.retriever.manifest
    return JSONResponse({"status": "ready", "documents": len(manifest.documents), "counts": manifest.counts})
