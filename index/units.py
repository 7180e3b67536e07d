"""The units the index stores: chunks (retrieval passages) and sentences (citable evidence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    heading: str | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Sentence:
    """A citable span; `kind` is "list" when a lead-in line and its short bullet items form one unit."""

    sentence_id: str
    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    heading: str | None
    kind: Literal["sentence", "list"] = "sentence"

    def to_dict(self) -> dict:
        return asdict(self)
