"""POST /v1/ask: a question in, a cited answer (or an abstention) out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.admission import RESPONSES as admission_responses
from citeqa.service.http.admission import Admission
from citeqa.service.http.dependencies import get_admission, get_engine, get_settings
from citeqa.service.http.errors import check_question
from citeqa.service.models import Answer, AskRequest

router = APIRouter(tags=["questions"])


@router.post("/v1/ask", response_model=Answer, responses=admission_responses)
async def ask(
    body: AskRequest, engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
    admission: Admission = Depends(get_admission),
) -> Response:
    """Answer a question; every sentence carries [n] markers for verbatim citations."""
    question = check_question(body.question, settings)
    generative = (body.mode or settings.answer_mode) == "generative"
    answer = await admission.run(engine.answer, question, body.mode, body.max_sentences, generative=generative)
    # pydantic's own serializer, not FastAPI's re-validation of the response: under load, that ran on the event
    # loop and made every refusal wait behind it
    return Response(answer.model_dump_json(), media_type="application/json")
