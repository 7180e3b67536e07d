"""Hybrid retrieval ranks the right document first for questions spread over all five documents."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from citeqa.cli import app
from citeqa.index.fusion import reciprocal_rank_fusion

QUESTIONS = [
    ("What is the half-life of baclofen?", "baclofen-encyclopedia"),
    ("What dose of baclofen did the 2003 placebo-controlled trial give opioid-dependent patients?", "baclofen-opiate-withdrawal"),
    ("What is the timeline of baclofen withdrawal symptoms?", "baclofen-withdrawal-timeline"),
    ("How many patients were in the 1992 pilot study of baclofen-assisted opiate detoxification?", "baclofen-opiate-withdrawal"),
    ("Was baclofen better than clonidine for psychological withdrawal symptoms?", "baclofen-opiate-withdrawal"),
    ("Who ran the first human clinical trials of baclofen for alcohol use disorder?", "baclofen-addiction-treatment"),
    ("What is the maximum recommended daily dosage of baclofen?", "baclofen-addiction-treatment"),
    ("How many men and women were in Flannery's 12-week baclofen trial?", "baclofen-addiction-treatment"),
    ("What are the symptoms of a baclofen overdose?", "what-is-baclofen"),
    ("Can baclofen cause hypomania in alcohol-dependent people with depression?", "what-is-baclofen"),
    ("What psychological support helps during baclofen withdrawal?", "baclofen-withdrawal-timeline"),
    ("What is post-acute withdrawal syndrome after stopping baclofen?", "baclofen-withdrawal-timeline"),
    ("How often does an intrathecal baclofen pump need to be replaced?", "baclofen-encyclopedia"),
    ("What is the molecular weight of baclofen?", "baclofen-encyclopedia"),
]


def test_questions_cover_all_five_documents():
    assert len({doc for _, doc in QUESTIONS}) == 5 and len(QUESTIONS) >= 12


@pytest.mark.parametrize(("question", "doc_id"), QUESTIONS)
def test_hybrid_ranks_the_right_document_first(engine, question, doc_id):
    results = engine.search(question, k=5, mode="hybrid")
    assert results[0].doc_id == doc_id, [r.doc_id for r in results]


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_single_retriever_modes_work(engine, mode):
    results = engine.search("What is the half-life of baclofen?", k=3, mode=mode)
    assert len(results) == 3 and results[0].doc_id == "baclofen-encyclopedia"
    assert results[0].score >= results[1].score >= results[2].score


def test_bm25_ignores_words_the_corpus_lacks(engine):
    assert engine.search("zzzq qqqz", k=5, mode="bm25") == []


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert [item for item, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_cli_search_json(settings):
    env = {"CITEQA_INDEX_DIR": str(settings.index_dir), "CITEQA_CORPUS_DIR": str(settings.corpus_dir)}
    out = CliRunner().invoke(app, ["search", "What is the half-life of baclofen?", "--json", "-k", "3"], env=env)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["query"] == "What is the half-life of baclofen?"
    first = data["results"][0]
    assert set(first) == {"doc_id", "chunk_id", "start", "end", "text", "heading", "score"}
    assert first["doc_id"] == "baclofen-encyclopedia"
    source = (settings.corpus_dir / "baclofen-encyclopedia.txt").read_text(encoding="utf-8")
    assert source[first["start"] : first["end"]] == first["text"]


def test_cli_search_rejects_an_unknown_mode(settings):
    env = {"CITEQA_INDEX_DIR": str(settings.index_dir), "PATH": ""}
    out = subprocess.run([sys.executable, "-m", "citeqa.cli", "search", "x", "--mode", "fuzzy"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "unknown mode" in out.stderr
