"""GET /v1/documents and /v1/documents/{doc_id}: the indexed documents and their verbatim text, so a client
can check any citation against its source."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from citeqa.index.store import DocumentRecord
from citeqa.service.engine import Engine
from citeqa.service.http.dependencies import get_engine
from citeqa.service.models import DocumentInfo, DocumentText

router = APIRouter(tags=["documents"])


def document_info(record: DocumentRecord) -> DocumentInfo:
    return DocumentInfo(
        doc_id=record.doc_id, title=record.title, publisher=record.publisher, url=record.url, size=record.size, sha256=record.sha256
    )


@router.get("/v1/documents", response_model=list[DocumentInfo])
async def list_documents(engine: Engine = Depends(get_engine)) -> list[DocumentInfo]:
    """Every document in the index."""
    return [document_info(r) for r in engine.sources.records()]


@router.get(
    "/v1/documents/{doc_id}", response_model=DocumentText,
    responses={400: {"description": "the range start:end is not inside the document"},
               404: {"description": "no document with this id"}},
)
async def get_document(
    doc_id: str,
    start: int | None = Query(default=None, ge=0, description="first character (default 0)"),
    end: int | None = Query(default=None, ge=0, description="end character, exclusive (default: the end)"),
    engine: Engine = Depends(get_engine),
) -> DocumentText:
    """A document's verbatim text, or only the span start:end (character offsets, as in citations)."""
    doc = engine.sources.get(doc_id)
    if doc is None:
        known = ", ".join(sorted(r.doc_id for r in engine.sources.records()))
        raise HTTPException(404, detail=f"no document {doc_id!r}; known documents: {known} (GET /v1/documents)")
    if doc.text is None:
        raise HTTPException(503, detail=doc.problem or f"{doc_id} cannot be read; run `citeqa index`")
    length = len(doc.text)
    lo = 0 if start is None else start
    hi = length if end is None else end
    if not lo <= hi <= length:
        raise HTTPException(
            400, detail=f"range {lo}:{hi} is not inside {doc_id} (0:{length}); start must be <= end <= {length}"
        )
    info = document_info(doc.record)
    return DocumentText(**info.model_dump(), start=lo, end=hi, text=doc.text[lo:hi])
