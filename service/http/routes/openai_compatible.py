"""The OpenAI-compatible endpoints (/v1/models, /v1/chat/completions), so existing OpenAI clients can ask
citeqa; the request and response shapes are in openai_chat.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.dependencies import get_engine, get_settings
from citeqa.service.http.errors import check_question, question_error
from citeqa.service.http.openai_chat import MODEL_ID, ChatCompletion, ChatRequest, last_user_message, model_card
from citeqa.service.models import Answer

router = APIRouter(tags=["openai"])


@router.get("/v1/models")
async def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [model_card()]}


@router.get("/v1/models/{model_id}")
async def get_model(model_id: str) -> dict[str, Any]:
    if model_id != MODEL_ID:
        raise HTTPException(404, detail=f"no model {model_id!r}; the only model is {MODEL_ID!r}")
    return model_card()


@router.post("/v1/chat/completions")
async def chat_completions(
    body: ChatRequest, engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)
):
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
