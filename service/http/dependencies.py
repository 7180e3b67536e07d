"""FastAPI dependencies: what a route needs from the app's lifespan state."""

from __future__ import annotations

from fastapi import HTTPException, Request

from citeqa.settings import Settings
from citeqa.service.engine import Engine
from citeqa.service.http.admission import Admission


async def get_engine(request: Request) -> Engine:
    """The loaded Engine, or 503 saying why there is none (the message names the command that fixes it)."""
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, detail=request.app.state.problem or "the service is starting; try again shortly")
    return engine


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with (its limits, and the defaults of options a request leaves out)."""
    return request.app.state.settings


async def get_admission(request: Request) -> Admission:
    """The bound on questions at once and their deadline (service/http/admission.py)."""
    return request.app.state.admission
