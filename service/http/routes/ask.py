"""POST /v1/ask: a question in, a cited answer (or an abstention) out."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.dependencies import get_engine, get_settings
from citeqa.service.http.errors import check_question
from citeqa.service.models import Answer, AskRequest

router = APIRouter(tags=["questions"])


@router.post("/v1/ask", response_model=Answer)
async def ask(
    body: AskRequest, engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)
) -> Answer:
    """Answer a question; every sentence carries [n] markers for verbatim citations."""
    question = check_question(body.question, settings)
    return await run_in_threadpool(engine.answer, question, body.mode, body.max_sentences)
