"""The error shapes of the HTTP API: one body that both the web chat and OpenAI clients can read."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from citeqa.service.runtime.batching import ModelUnavailable
from citeqa.settings import Settings

ERROR_TYPES = {
    401: "authentication_error", 429: "rate_limit_error", 500: "server_error", 503: "service_unavailable", 504: "timeout"
}


# FastAPI's words when the body cannot even be decoded (not UTF-8, or not the declared content type).
UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_BODY_MESSAGE = "the body could not be read: send JSON encoded as UTF-8, with Content-Type: application/json"


def json_problem(error: dict[str, Any]) -> str:
    """'JSON decode error' at a bare offset says little; this says what is wrong and where."""
    loc = error.get("loc", ())
    at = loc[1] if len(loc) > 1 else "?"
    why = (error.get("ctx") or {}).get("error", "not valid JSON")
    return f"the body is not valid JSON: {why[:1].lower()}{why[1:]} at character {at}"


def error_body(status: int, detail: object) -> dict[str, Any]:
    """FastAPI's `detail` (what the web chat reads) plus OpenAI's `error` object (what OpenAI clients read)."""
    if isinstance(detail, list):
        parts = []
        for d in detail:
            if isinstance(d, dict) and d.get("type") == "json_invalid":
                parts.append(json_problem(d))
                continue
            loc = ".".join(str(p) for p in d.get("loc", ()) if p != "body") if isinstance(d, dict) else ""
            msg = d.get("msg", "") if isinstance(d, dict) else str(d)
            parts.append(f"{loc}: {msg}" if loc else msg)
        message = "; ".join(parts)
    elif detail == UNREADABLE_BODY:
        detail = message = UNREADABLE_BODY_MESSAGE
    else:
        message = str(detail)
    kind = ERROR_TYPES.get(status, "invalid_request_error")
    return encodable({"detail": detail, "error": {"message": message, "type": kind, "param": None, "code": None}})


def encodable(value: Any) -> Any:
    """`value` with every string made valid UTF-8: an error that echoes a lone surrogate the client sent
    must still be a response, so the surrogate is written out as `\\udXXX`."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return value


def outage_response(exc: ModelUnavailable) -> JSONResponse:
    """503 with Retry-After: the model is being restarted, so the same request will succeed later."""
    return JSONResponse(error_body(503, str(exc)), status_code=503, headers={"Retry-After": str(exc.retry_after_s)})


def question_error(message: str, loc: tuple[str, ...], value: object) -> RequestValidationError:
    """A 422 in FastAPI's usual shape: {"detail": [{"loc", "msg", "type"}]}."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": value}])


def check_question(text: str, settings: Settings, loc: tuple[str, ...] = ("body", "question")) -> str:
    """The question stripped, or a 422 naming the field when it is blank or longer than the configured limit."""
    name = loc[-1] if loc[-1] != "content" else "the question"
    if not text.strip():
        raise question_error(f"{name} must not be empty", loc, text)
    if len(text) > settings.max_question_chars:
        raise question_error(
            f"{name} is {len(text)} characters long; the limit is {settings.max_question_chars} (CITEQA_MAX_QUESTION_CHARS)",
            loc, text,
        )
    return text.strip()
