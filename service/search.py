"""Passage search as the CLI, the API and the evals see it."""

from __future__ import annotations

import numpy as np

from citeqa.index.params import RetrievalMode
from citeqa.index.retriever import Hit, Retriever
from citeqa.index.units import Chunk
from citeqa.service.models import Passage


def to_passage(hit: Hit[Chunk], retriever: Retriever) -> Passage:
    c = hit.unit
    return Passage(
        doc_id=c.doc_id, chunk_id=c.chunk_id, start=c.start, end=c.end, text=c.text, heading=c.heading,
        score=round(hit.score, 6), title=retriever.title(c.doc_id),
    )


def search_passages(
    retriever: Retriever,
    query: str,
    k: int | None = None,
    mode: RetrievalMode | None = None,
    query_vector: np.ndarray | None = None,
) -> list[Passage]:
    """`k` and `mode` default to the retriever's configuration (CITEQA_TOP_K, CITEQA_RETRIEVAL_MODE)."""
    return [to_passage(h, retriever) for h in retriever.search(query, k=k, mode=mode, query_vector=query_vector)]
