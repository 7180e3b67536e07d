"""/docs: Swagger UI 5 (it reads the OpenAPI 3.1 schema FastAPI writes) from the fastapi-offline package's
copy, served by the app itself so the page works without a CDN or any network."""

from __future__ import annotations

import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from citeqa.service.http.security_headers import docs_policy

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def add_api_docs(app: FastAPI) -> None:
    html = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title="citeqa API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
    ).body.decode()
    # the page's one inline script (it starts Swagger UI) is allowed by its hash, and nothing else inline is
    policy = docs_policy(INLINE_SCRIPT.search(html).group(1))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
