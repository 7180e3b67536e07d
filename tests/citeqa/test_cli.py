"""`citeqa search` and `citeqa ask` take the options left out from CITEQA_* settings, as the HTTP API does."""

from __future__ import annotations

import json

import click
from typer.testing import CliRunner

from citeqa.cli import app

QUERY = "baclofen withdrawal symptoms"
QUESTION = "What are the side effects of baclofen?"


def environment(settings, **overrides: str) -> dict[str, str | None]:
    return {
        "CITEQA_INDEX_DIR": str(settings.index_dir), "CITEQA_CORPUS_DIR": str(settings.corpus_dir),
        "CITEQA_LLM_BASE_URL": None, **overrides,
    }


def test_search_takes_k_and_mode_from_the_environment(settings, engine):
    bm25 = [(p.doc_id, p.chunk_id) for p in engine.search(QUERY, 2, "bm25")]
    assert bm25 != [(p.doc_id, p.chunk_id) for p in engine.search(QUERY, 2, "hybrid")], "the modes must disagree"
    env = environment(settings, CITEQA_TOP_K="2", CITEQA_RETRIEVAL_MODE="bm25")
    result = CliRunner().invoke(app, ["search", QUERY, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert [(r["doc_id"], r["chunk_id"]) for r in json.loads(result.stdout)["results"]] == bm25


def test_ask_takes_the_answer_mode_from_the_environment(settings, citation_audit):
    env = environment(settings, CITEQA_ANSWER_MODE="generative")
    result = CliRunner().invoke(app, ["ask", QUESTION, "--json"], env=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    citation_audit.record(answer)
    # generative from the environment; with no language model configured the answer says it fell back
    assert answer["mode"] == "extractive (generative fallback)" and "CITEQA_LLM_BASE_URL" in answer["reason"]



def test_ask_prints_the_short_answer_first_in_bold(settings, citation_audit):
    env = environment(settings, CITEQA_READER="true")
    question = "What is the half-life of baclofen?"
    as_json = CliRunner().invoke(app, ["ask", question, "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    answer = json.loads(as_json.stdout)
    citation_audit.record(answer)
    short = answer["short_answer"]
    assert short is not None, "the reader gave no short answer to a question the corpus answers"

    result = CliRunner().invoke(app, ["ask", question], env=env, color=True)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == click.style(f"{short['text']} [{short['citation']}]", bold=True)
    # then the answer, as without a short answer
    assert lines[1:3] == ["", answer["answer"]]
