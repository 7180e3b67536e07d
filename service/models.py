"""The public shapes: what the library returns, the CLI prints and the HTTP API takes and serializes."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from citeqa.settings import AnswerMode, RetrievalMode


# Lone surrogates cannot be encoded as UTF-8 (the tokenizer and the JSON response both fail on them); control
# characters other than tab, newline and carriage return are never part of a question.
_UNENCODABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """What makes `text` unfit for the model, with where it is; None when it is fine. The one rule for every
    piece of text a user sends (the API's request types below, the OpenAI chat messages, the CLI)."""
    found = _UNENCODABLE.search(text)
    if found is None:
        return None
    char, at = found.group(), found.start()
    if "\ud800" <= char <= "\udfff":
        return f"contains an unpaired surrogate (U+{ord(char):04X}) at character {at}; send valid UTF-8 text"
    return (
        f"contains the control character U+{ord(char):04X} at character {at}; "
        "only tab, newline and carriage return are allowed"
    )


def _valid_text(text: str) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise PydanticCustomError("invalid_text", problem)  # no braces in it: nothing to format
    return text


def _valid_message_content(content: str | list[dict[str, Any]] | None) -> str | list[dict[str, Any]] | None:
    """OpenAI's message content: a string, or a list of parts whose `text` entries are checked as text."""
    if isinstance(content, str):
        return _valid_text(content)
    for i, part in enumerate(content or []):
        problem = text_problem(part["text"]) if isinstance(part.get("text"), str) else None
        if problem is not None:
            raise PydanticCustomError("invalid_text", f"part {i} text {problem}")
    return content


# The same rule as a JSON-schema pattern, plus "not blank": at least one character other than whitespace. (Lone
# surrogates need no mention: a JSON-schema string is Unicode text, which cannot hold them.)
_ALLOWED = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
_VISIBLE = r"[^\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
QUESTION_PATTERN = f"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"

UserText = Annotated[
    str, AfterValidator(_valid_text), Field(json_schema_extra={"pattern": QUESTION_PATTERN, "minLength": 1})
]
"""Text a user sent: refused at validation (422 naming the problem and where) when it cannot be encoded."""

MessageContent = Annotated[str | list[dict[str, Any]] | None, AfterValidator(_valid_message_content)]
"""The content of an OpenAI chat message, held to the same rule as `UserText`."""


class AskRequest(BaseModel):
    """The body of POST /v1/ask; an option left out takes its value from the server's settings."""

    question: UserText = Field(description="the question, in plain text")
    mode: AnswerMode | None = Field(default=None, description="extractive or generative (default: CITEQA_ANSWER_MODE)")
    max_sentences: int | None = Field(
        default=None, ge=1, le=10, description="most sentences in the answer (default: CITEQA_MAX_ANSWER_SENTENCES)"
    )


class SearchRequest(BaseModel):
    """The body of POST /v1/search; an option left out takes its value from the server's settings."""

    query: UserText
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
    heading: str | None = Field(default=None, description="the heading of the section the quote is in, if any")
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
    url: str | None = Field(default=None, description="where the original is published, when sources.toml says")
    size: int = Field(description="length of the text in characters")
    sha256: str


class DocumentText(DocumentInfo):
    """A document's verbatim text, or the span of it that GET /v1/documents/{doc_id} was asked for."""

    start: int = Field(description="offset (in characters) of `text` in the document")
    end: int
    text: str
