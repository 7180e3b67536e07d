"""POST /v1/search: the passages that best match a query, without answering."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.admission import RESPONSES as admission_responses
from citeqa.service.http.admission import Admission
from citeqa.service.http.dependencies import get_admission, get_engine, get_settings
from citeqa.service.http.errors import check_question
from citeqa.service.models import SearchRequest, SearchResponse, SearchResult

router = APIRouter(tags=["questions"])


@router.post("/v1/search", response_model=SearchResponse, responses=admission_responses)
async def search(
    body: SearchRequest, engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
    admission: Admission = Depends(get_admission),
) -> SearchResponse:
    """The passages that best match the query (same as `citeqa search --json`); `k` and `mode` left out take
    CITEQA_TOP_K and CITEQA_RETRIEVAL_MODE."""
    query = check_question(body.query, settings, loc=("body", "query"))
    passages = await admission.run(engine.search, query, body.k, body.mode)
    return SearchResponse(
        query=body.query, results=[SearchResult(**p.model_dump(exclude={"title"})) for p in passages]
    )
