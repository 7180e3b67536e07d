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


def test_ask_keeps_to_max_sentences(settings, citation_audit):
    question = "What are the withdrawal symptoms of baclofen?"
    for limit in ("1", "2"):
        result = CliRunner().invoke(app, ["ask", question, "--json", "--max-sentences", limit], env=environment(settings))
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        citation_audit.record(answer)
        assert 1 <= len(answer["sentences"]) <= int(limit)
    refused = CliRunner().invoke(app, ["ask", question, "--max-sentences", "0"], env=environment(settings))
    assert refused.exit_code == 2 and "--max-sentences" in refused.output


def test_chat_loads_once_and_answers_line_by_line_until_an_empty_line(settings, citation_audit):
    lines = "What is the half-life of baclofen?\n\u0007bad\nWhen was baclofen approved?\n\nnever asked\n"
    result = CliRunner().invoke(app, ["chat", "--max-sentences", "1"], input=lines, env=environment(settings))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("? ") == 2  # each question echoed once before its answer
    assert "? What is the half-life of baclofen?" in result.stdout and "2–4 hours" in result.stdout
    assert "? When was baclofen approved?" in result.stdout and "1977" in result.stdout
    assert "never asked" not in result.stdout
    assert "control character U+0007" in result.output  # a bad line is refused and the chat goes on


def test_index_takes_the_corpus_folder_as_an_argument(settings, tmp_path):
    corpus = tmp_path / "my-corpus"
    corpus.mkdir()
    (corpus / "note.md").write_text("# A note\n\nBaclofen is a muscle relaxant. It has a half-life of hours.\n")
    env = environment(settings, CITEQA_INDEX_DIR=str(tmp_path / "index"))
    result = CliRunner().invoke(app, ["index", str(corpus)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("indexed 1 documents (1 embedded")
    assert f"CITEQA_CORPUS_DIR={corpus} citeqa serve" in result.stdout
    missing = CliRunner().invoke(app, ["index", str(tmp_path / "nowhere")], env=env)
    assert missing.exit_code == 2 and "is not a folder" in missing.output
