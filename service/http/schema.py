"""What the OpenAPI schema says beyond what the route signatures show: the limits that come from settings and
the status codes the middleware answers with, so that the schema is the truth a client can generate from."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from citeqa.service.models import QUESTION_PATTERN
from citeqa.settings import Settings

# Where a question's text is, in each request schema.
QUESTION_FIELDS = (("AskRequest", "question"), ("SearchRequest", "query"))


def declare_limits(app: FastAPI, settings: Settings) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.get("components", {}).get("schemas", {})
            for model, field in QUESTION_FIELDS:
                components[model]["properties"][field]["maxLength"] = settings.max_question_chars
            text = {"type": "string", "pattern": QUESTION_PATTERN, "minLength": 1, "maxLength": settings.max_question_chars}
            messages = components["ChatRequest"]["properties"]["messages"]
            messages["minItems"] = 1
            messages["contains"] = {  # the question: a user message with text
                "type": "object", "required": ["role", "content"],
                "properties": {"role": {"const": "user"}, "content": {"anyOf": [
                    text,
                    {"type": "array", "contains": {"type": "object", "required": ["text"], "properties": {"text": text}}},
                ]}},
            }
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    responses = operation.setdefault("responses", {})
                    if method == "post":
                        responses["400"] = responses.get("400") or {"description": "the body is not UTF-8 JSON"}
                        responses["413"] = {"description": f"the body is larger than {settings.max_body_bytes} bytes"}
                    if path.startswith("/v1/") and not path.startswith("/v1/models"):
                        responses.setdefault("503", {"description": "the service is starting or has no index yet"})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
