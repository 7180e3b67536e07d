"""The OpenAI-compatible endpoints (/v1/models, /v1/chat/completions), so existing OpenAI clients can ask
citeqa; the request and response shapes are in openai_chat.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.admission import RESPONSES as admission_responses
from citeqa.service.http.admission import Admission
from citeqa.service.http.dependencies import get_admission, get_engine, get_settings
from citeqa.service.http.errors import check_question, question_error
from citeqa.service.http.chat_reply import citation_places
from citeqa.service.http.openai_chat import (
    MODEL_ID, ChatCompletion, ChatRequest, last_user_message, model_card, unsupported_field, unsupported_field_error,
)
from citeqa.service.models import Answer

router = APIRouter(tags=["openai"])


@router.get("/v1/models")
async def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [model_card()]}


@router.get("/v1/models/{model_id}", responses={404: {"description": "no model with this id"}})
async def get_model(model_id: str) -> dict[str, Any]:
    if model_id != MODEL_ID:
        raise HTTPException(404, detail=f"no model {model_id!r}; the only model is {MODEL_ID!r}")
    return model_card()


UNSUPPORTED_FIELD = {
    "description": "a field asks for a reply citeqa cannot give (`n` > 1, tools, a non-text `response_format`, "
    "`logprobs`); `error.param` names it",
}


STREAMED = {
    "description": "the completion; with `stream: true`, server-sent `chat.completion.chunk` events",
    "content": {"application/json": {}, "text/event-stream": {}},
}


@router.post("/v1/chat/completions", responses={200: STREAMED, 400: UNSUPPORTED_FIELD, **admission_responses})
async def chat_completions(
    body: ChatRequest, engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
    admission: Admission = Depends(get_admission),
):
    """OpenAI chat completions. The last user message is the question; system and developer messages are not
    read (answers come from the corpus alone). The message text is the answer with its `[n]` markers, then a
    numbered source list (title, document and section, quote) holding an entry for every marker; an abstention
    says what the corpus lacks. Besides `choices`, the response carries `citations` (the verbatim spans) and
    `citeqa` (the full Answer). With `stream: true`, server-sent `chat.completion.chunk`s of the same text.

    Honoured: `max_tokens` / `max_completion_tokens` (words of the whole reply: whole sentences and their sources
    are left out from the end until it fits, finish_reason `length`) and `stop` (the reply ends before the first
    answer sentence holding a stop string; a sentence is never cut, so none loses its citation). Ignored:
    `temperature`, `top_p` and other sampling fields (an extractive answer is chosen, not sampled). Refused with
    a 400: `n` > 1, `tools` / `tool_choice` / `functions` / `function_call`, `response_format` other than text,
    `logprobs` / `top_logprobs`."""
    refused = unsupported_field(body)
    if refused is not None:
        return JSONResponse(unsupported_field_error(*refused), status_code=400)
    found = last_user_message(body)
    if found is None:
        raise question_error("messages must contain a message with role 'user' (the question)", ("body", "messages"), None)
    text, loc = found
    question = check_question(text, settings, loc)
    generative = (body.mode or settings.answer_mode) == "generative"
    answer: Answer = await admission.run(engine.answer, question, body.mode, body.max_sentences, generative=generative)
    completion = ChatCompletion(body, answer, citation_places(answer.citations, engine.retriever))
    if not body.stream:
        return completion.body()
    return StreamingResponse(
        completion.stream(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
