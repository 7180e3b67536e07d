"""The public shapes: what the library returns, the CLI prints and the HTTP API takes and serializes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from citeqa.settings import AnswerMode, RetrievalMode


class AskRequest(BaseModel):
    """The body of POST /v1/ask; an option left out takes its value from the server's settings."""

    question: str = Field(description="the question, in plain text")
    mode: AnswerMode | None = Field(default=None, description="extractive or generative (default: CITEQA_ANSWER_MODE)")
    max_sentences: int | None = Field(
        default=None, ge=1, le=10, description="most sentences in the answer (default: CITEQA_MAX_ANSWER_SENTENCES)"
    )


class SearchRequest(BaseModel):
    """The body of POST /v1/search; an option left out takes its value from the server's settings."""

    query: str
    k: int | None = Field(default=None, ge=1, le=50, description="number of passages (default: CITEQA_TOP_K)")
    mode: RetrievalMode | None = Field(
        default=None, description="hybrid, dense or bm25 (default: CITEQA_RETRIEVAL_MODE)"
    )


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


class Correction(BaseModel):
    """A question word read as a near-spelling of a corpus word ("baclofn" as "baclofen")."""

    original: str
    corrected: str
    start: int = Field(description="offset of `original` in the question")
    end: int


class ShortAnswer(BaseModel):
    """The exact span that answers the question ("100 mg", "Heinrich Keberle"), inside a cited sentence;
    `text` equals the document's text at `start:end`, checked like every citation."""

    text: str
    citation: int = Field(description="number of the citation whose quote holds the span")
    doc_id: str
    start: int
    end: int


class Answer(BaseModel):
    question: str
    answer: str = Field(description="answer text; each sentence ends with its [n] markers")
    short_answer: ShortAnswer | None = Field(
        default=None, description="the span that answers the question, when one fits; null otherwise"
    )
    sentences: list[AnswerSentence] = []
    citations: list[Citation] = []
    corrections: list[Correction] = Field(default=[], description="question words read as corpus words")
    asked: str | None = Field(default=None, description="the question as answered, after spelling corrections")
    abstained: bool = False
    reason: str | None = None
    related: list[Passage] = Field(default=[], description="closest passages when abstaining: not an answer")
    conflicts: list[Conflict] = []
    removed: list[Removal] = []
    mode: str = "extractive"
    timings_ms: dict[str, float] = {}


class DocumentInfo(BaseModel):
    """One indexed document, as GET /v1/documents lists it."""

    doc_id: str
    title: str
    publisher: str | None = None
    size: int = Field(description="length of the text in characters")
    sha256: str


class DocumentText(DocumentInfo):
    """A document's verbatim text, or the span of it that GET /v1/documents/{doc_id} was asked for."""

    start: int = Field(description="offset (in characters) of `text` in the document")
    end: int
    text: str
