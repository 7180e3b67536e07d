"""The fixed dev/test split of the question set.

A question's part is decided by its id alone: the SHA-256 of the id (UTF-8), read as a big-endian integer,
modulo 10; 0-4 is **test**, 5-9 is **dev**. Nothing about the question's wording, category or answer enters
the rule, so nobody can move a question between parts by editing it, and a question keeps its part for as long
as it keeps its id (never renumber ids; a new question gets a new id and falls where its hash says).

Tune on dev; read test only to judge a change that is already made. Categories are not stratified: with a few
questions per category one part may hold most of a small category, and the report shows the counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

Part = Literal["dev", "test"]
PARTS: tuple[Part, ...] = ("dev", "test")
SELECTIONS = ("all", *PARTS)  # what `citeqa eval --split` accepts
BUCKETS = 10
TEST_BUCKETS = 5  # buckets 0..4 of 10 go to test


def part_of(question_id: str) -> Part:
    bucket = int.from_bytes(hashlib.sha256(question_id.encode("utf-8")).digest(), "big") % BUCKETS
    return "test" if bucket < TEST_BUCKETS else "dev"


def select(questions: Iterable[dict], selection: str = "all") -> list[dict]:
    """The questions of one part ("dev", "test") or all of them ("all"), in their original order."""
    if selection not in SELECTIONS:
        raise ValueError(f"unknown split {selection!r}: use one of {', '.join(SELECTIONS)}")
    return [q for q in questions if selection == "all" or part_of(q["id"]) == selection]
