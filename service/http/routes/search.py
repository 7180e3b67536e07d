"""POST /v1/search: the passages that best match a query, without answering."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.dependencies import get_engine, get_settings
from citeqa.service.http.errors import check_question
from citeqa.service.models import SearchRequest, SearchResponse, SearchResult

router = APIRouter(tags=["questions"])


@router.post("/v1/search", response_model=SearchResponse)
async def search(
    body: SearchRequest, engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)
) -> SearchResponse:
    """The passages that best match the query (same as `citeqa search --json`); `k` and `mode` left out take
    CITEQA_TOP_K and CITEQA_RETRIEVAL_MODE."""
    query = check_question(body.query, settings, loc=("body", "query"))
    passages = await run_in_threadpool(engine.search, query, body.k, body.mode)
    return SearchResponse(
        query=body.query, results=[SearchResult(**p.model_dump(exclude={"title"})) for p in passages]
    )
