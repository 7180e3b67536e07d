"""The answer's public shape: what the library returns, the CLI prints and the HTTP API serializes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SearchResult(BaseModel):
    """A retrieved chunk: a span of one corpus file, as `citeqa search --json` and /v1/search give it."""

    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    heading: str | None = None
    score: float


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]


class Passage(SearchResult):
    """A retrieved chunk with its document's title, as answers show related passages."""

    title: str | None = None


class Citation(BaseModel):
    """One numbered source span; `quote` must equal the corpus file's text at `start:end`."""

    n: int
    doc_id: str
    title: str
    publisher: str | None = None
    chunk_id: str
    start: int
    end: int
    quote: str
    score: float


class AnswerSentence(BaseModel):
    text: str
    citations: list[int] = Field(description="numbers of the citations that support this sentence")


class Removal(BaseModel):
    """Something the citation check took out of an answer, and why."""

    kind: Literal["citation", "sentence"]
    text: str
    citation: int | None = None
    reason: str


class ConflictValue(BaseModel):
    value: str
    citations: list[int]


class Conflict(BaseModel):
    """Cited sentences that give different numbers or dates for the same thing."""

    topic: str
    values: list[ConflictValue]


class Answer(BaseModel):
    question: str
    answer: str = Field(description="answer text; each sentence ends with its [n] markers")
    sentences: list[AnswerSentence] = []
    citations: list[Citation] = []
    abstained: bool = False
    reason: str | None = None
    related: list[Passage] = Field(default=[], description="closest passages when abstaining: not an answer")
    conflicts: list[Conflict] = []
    removed: list[Removal] = []
    mode: str = "extractive"
    timings_ms: dict[str, float] = {}
