"""The fixed dev/test split: decided by the id's hash alone, stable, roughly balanced, and a partition."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from citeqa.cli import app
from citeqa.eval.split import PARTS, part_of, select
from tests.paths import ROOT


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_rule_is_sha256_of_the_id_modulo_ten():
    for qid in ("q001", "q002", "q141", "q194", "any-id", ""):
        bucket = int(hashlib.sha256(qid.encode("utf-8")).hexdigest(), 16) % 10
        assert part_of(qid) == ("test" if bucket < 5 else "dev"), qid


def test_parts_are_pinned():
    # a change to the rule would silently move questions between parts; these are the shipped parts
    assert [part_of(f"q{n:03d}") for n in range(1, 11)] == [
        "test", "dev", "dev", "dev", "test", "test", "test", "test", "dev", "test"]


def test_the_part_depends_on_the_id_only(questions):
    q = questions[0]
    edited = {**q, "question": "something else entirely", "category": "lay", "answerable": not q["answerable"]}
    assert select([edited], part_of(q["id"])) == [edited]


def test_parts_are_disjoint_and_cover_the_set_in_order(questions):
    dev, test = select(questions, "dev"), select(questions, "test")
    assert {q["id"] for q in dev}.isdisjoint(q["id"] for q in test)
    assert sorted(q["id"] for q in dev + test) == sorted(q["id"] for q in questions)
    assert [q["id"] for q in dev] == [q["id"] for q in questions if part_of(q["id"]) == "dev"]  # order kept
    assert select(questions, "all") == questions


def test_parts_are_roughly_balanced(questions):
    dev = len(select(questions, "dev"))
    assert 0.4 <= dev / len(questions) <= 0.6, f"{dev} of {len(questions)} in dev"
    many = [part_of(f"id-{i}") for i in range(10_000)]
    assert abs(many.count("dev") - 5_000) < 200  # 4 standard deviations


def test_both_parts_hold_answerable_and_unanswerable_questions(questions):
    for part in PARTS:
        chosen = select(questions, part)
        assert any(q["answerable"] for q in chosen) and any(not q["answerable"] for q in chosen), part


def test_an_unknown_selection_is_refused(questions):
    with pytest.raises(ValueError, match="unknown split 'train'"):
        select(questions, "train")


def test_the_cli_refuses_an_unknown_split_before_doing_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["eval", "--split", "train"])
    assert result.exit_code == 2 and "--split train: use dev, test or all" in result.output
    assert not (tmp_path / "eval").exists()  # no report written
