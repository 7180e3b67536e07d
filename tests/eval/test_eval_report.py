"""Report writing (atomic, three files) and the regression-gate plumbing, on small hand-made summaries."""

from __future__ import annotations

import json
import tomllib

import pytest

from citeqa.eval import gate
from citeqa.eval.report import (
    atomic_write_bytes,
    atomic_write_text,
    curves,
    markdown,
    md_table,
    text_table,
    write_report,
)
from tests.paths import ROOT


def summary(split: str = "dev", questions: int = 3, **answer) -> dict:
    curve = {"1": 0.5, "3": 0.75, "5": 1.0, "10": 1.0, "20": 1.0}
    level = {"queries": 2, "recall@1": 0.5, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 0.75, "ndcg@10": 0.8,
             "recall_curve": curve}
    return {
        "label": "hybrid", "retrieval_mode": "hybrid", "chunk_size": 600, "chunk_overlap": 100, "split": split,
        "questions": questions, "answerable": 2, "passage_depth": 50,
        "retrieval": {"document": dict(level), "passage": {**level, "unjudged_questions": 0, "split_quotes": 1}},
        "answer": {"expected_doc_citation_rate": 1.0, "all_expected_docs_cited_rate": 0.5, "key_fact_rate": 0.5,
                   "key_fact_first_sentence_rate": 0.25, "short_answer_exact_match": 0.125, "short_answer_f1": 0.3,
                   "short_answer_questions": 8, "short_answers_given": 2, "short_answer_verbatim_rate": 1.0,
                   "irrelevant_sentences_per_answer": 1.5, "irrelevant_sentence_share": 0.5,
                   "citation_precision": 0.25, "citation_verbatim_rate": 1.0, "citations": 4, "answered_rate": 1.0,
                   "wrong_refusal_rate": 0.0, **answer},
        "abstention": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "true_positives": 1, "false_positives": 0,
                       "false_negatives": 0},
        "latency_ms": {"answer": {"p50": 12.0, "p95": 30.0, "n": 3}, "search": {"p50": 5.0, "p95": 9.0, "n": 3}},
        "by_category": {"fact": {"questions": 2, "answerable": 2, "abstained": 0, "key_fact_rate": 0.5,
                                 "key_fact_first_sentence_rate": 0.5, "short_answer_exact_match": None,
                                 "expected_doc_citation_rate": 1.0, "document_recall@5": 1.0,
                                 "irrelevant_sentences_per_answer": 1.0, "abstention_precision": None,
                                 "abstention_recall": None, "wrong_refusal_rate": 0.0}},
    }


def report(name: str = "unit") -> dict:
    return {"name": name, "created": "2025-01-01T00:00:00+00:00", "command": "citeqa eval", "settings": {},
            "question_set": {"set": "q.jsonl", "summary": summary(), "questions": [{"id": "q1"}]}}


def split_report(name: str = "split") -> dict:
    """A run over all questions: the whole beside its dev and test parts."""
    return {"name": name, "created": "now", "command": "citeqa eval", "settings": {}, "gate": {"split": "dev",
            "failures": []},
            "question_set": {"set": "q.jsonl", "summary": summary("all", 5, key_fact_rate=0.6),
                             "splits": {"dev": summary("dev", 3, key_fact_rate=0.5),
                                        "test": summary("test", 2, key_fact_rate=0.75)},
                             "questions": [{"id": "q1"}]}}


def test_write_report_writes_json_markdown_and_png(tmp_path):
    paths = write_report(report(), tmp_path)
    assert set(paths) == {"json", "md", "png"}
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["question_set"]["summary"]["answer"]["key_fact_rate"] == 0.5
    assert data["curves"]["question set: passages"]["hybrid"]["3"] == 0.75
    md = paths["md"].read_text(encoding="utf-8")
    assert "| key fact in answer | 0.500 |" in md and "![recall@k per configuration](unit.png)" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unit.json", "unit.md", "unit.png"]  # no temp files left
    assert paths["md"].stat().st_mode & 0o044  # readable by others, not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_rewriting_a_report_replaces_it(tmp_path):
    write_report(report(), tmp_path)
    second = report()
    second["question_set"]["summary"]["answer"]["key_fact_rate"] = 0.25
    paths = write_report(second, tmp_path)
    assert json.loads(paths["json"].read_text())["question_set"]["summary"]["answer"]["key_fact_rate"] == 0.25


def test_split_report_shows_the_parts_side_by_side_with_the_new_figures(tmp_path):
    paths = write_report(split_report(), tmp_path)
    md = paths["md"].read_text(encoding="utf-8")
    assert "| metric | all (5) | dev (3) | test (2) |" in md
    assert "| key fact in answer | 0.600 | 0.500 | 0.750 |" in md
    for row in ("key fact in first sentence", "short-answer exact match", "irrelevant sentences per answer",
                "wrong refusals (answerable, abstained)", "abstention recall"):
        assert f"| {row} |" in md, row
    for part in ("all", "dev", "test"):
        assert f"## Question set: by category ({part})" in md
    assert "| fact | 2 | 0 | 0.500 | 0.500 | – |" in md  # no short-answer question in the category: undefined
    assert "## Definitions" in md and "short-answer exact match:" in md
    assert "On the dev part: pass" in md
    assert set(json.loads(paths["json"].read_text())["curves"]["question set: documents"]) == {
        "all hybrid", "dev hybrid", "test hybrid"}


def test_a_run_of_one_part_shows_that_part_only():
    one = split_report()
    one["question_set"]["splits"] = {"test": one["question_set"]["splits"]["test"]}
    md = markdown(one)
    assert "| metric | test (2) |" in md and "by category (all)" not in md and "by category (dev)" not in md


def test_report_without_rankings_has_no_chart(tmp_path):
    plain = {"name": "plain", "created": "now", "command": "x", "settings": {}}
    assert curves(plain) == {}
    assert set(write_report(plain, tmp_path)) == {"json", "md"}


def test_compare_section_lists_every_configuration():
    cmp = {"ranking": "key-fact rate", "best": "600/100 hybrid", "configurations": [
        {"label": "600/100 hybrid", "summary": summary()}, {"label": "400/67 bm25", "summary": summary()}]}
    md = markdown({"name": "c", "created": "now", "command": "citeqa eval --compare", "compare": cmp})
    assert "| 600/100 hybrid |" in md and "| 400/67 bm25 |" in md and "best is **600/100 hybrid**" in md


def test_tables_align_and_escape():
    lines = text_table(["a", "bb"], [["x", 0.5], ["yyy", None]]).splitlines()
    assert lines[0].startswith("a  ") and lines[2] == "x    0.500" and lines[3] == "yyy      –"
    assert md_table(["h"], [["a|b"]]).splitlines()[2] == "| a\\|b |"


# --- gate


def test_check_passes_at_the_minimum_and_fails_below_it():
    thresholds = {"answer": {"key_fact_rate": 0.5}, "retrieval": {"passage": {"ndcg@10": 0.8}}}
    assert gate.check(summary(), thresholds) == []
    failures = gate.check(summary(key_fact_rate=0.49), thresholds)
    assert len(failures) == 1 and failures[0].startswith("answer.key_fact_rate = 0.49 < minimum 0.5")


def test_check_reports_a_missing_metric_and_a_configuration_mismatch():
    failures = gate.check(summary(), {"config": {"chunk_size": 800}, "answer": {"no_such_metric": 0.1}})
    assert any("chunk_size=800" in f for f in failures) and any("no_such_metric" in f for f in failures)


def test_check_fails_on_a_missing_value():
    assert gate.check(summary(citation_precision=None), {"answer": {"citation_precision": 0.1}})


def test_proposed_thresholds_sit_below_the_measured_figures():
    proposed = tomllib.loads(gate.propose(summary(), margin=0.02))
    assert proposed["answer"]["key_fact_rate"] == pytest.approx(0.48)
    assert proposed["answer"]["citation_verbatim_rate"] == 1.0
    assert proposed["retrieval"]["passage"]["ndcg@10"] == pytest.approx(0.78)
    assert proposed["config"]["chunk_size"] == 600
    assert gate.check(summary(), proposed) == []
    assert gate.check(summary(key_fact_rate=0.47), proposed)


def test_the_gate_checks_the_dev_part():
    qs = split_report()["question_set"]
    assert gate.gated_summary(qs)["split"] == "dev"
    assert gate.gated_summary({"summary": summary(), "splits": {"test": summary("test")}}) is None
    assert gate.gated_summary({"summary": summary("all")})["split"] == "all"  # a report from before the split
    failures = gate.check(summary("test", 2), {"config": {"split": "dev", "questions": 3}})
    assert len(failures) == 2 and "split='dev'" in failures[0]


def test_shipped_thresholds_file_gates_every_figure():
    thresholds = gate.load_thresholds(ROOT / "eval" / "thresholds.toml")
    for section, metrics in gate.GATED.items():
        node = thresholds
        for part in section.split("."):
            node = node[part]
        assert set(metrics) <= set(node), f"{section} lacks {set(metrics) - set(node)}"
    assert thresholds["answer"]["citation_verbatim_rate"] == 1.0
    assert set(thresholds["config"]) == set(gate.CONFIG_KEYS)
    assert thresholds["config"]["split"] == gate.GATE_SPLIT


def test_propose_command_reads_a_report_or_one_compare_configuration(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report()), encoding="utf-8")
    assert gate.main(["propose", str(path)]) == 0
    assert tomllib.loads(capsys.readouterr().out)["answer"]["key_fact_rate"] == pytest.approx(0.48)
    cmp = {"compare": {"configurations": [{"label": "800/133 hybrid", "summary": summary(key_fact_rate=0.9)}]}}
    path.write_text(json.dumps(cmp), encoding="utf-8")
    assert gate.main(["propose", str(path), "800/133 hybrid"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["answer"]["key_fact_rate"] == pytest.approx(0.88)
    assert gate.main(["propose", str(path), "400/67 bm25"]) == 2
    assert gate.main(["propose", str(path)]) == 2
    path.write_text(json.dumps(split_report()), encoding="utf-8")
    assert gate.main(["propose", str(path)]) == 0
    proposed = tomllib.loads(capsys.readouterr().out)
    assert proposed["config"]["split"] == "dev" and proposed["config"]["questions"] == 3
    assert proposed["answer"]["key_fact_rate"] == pytest.approx(0.48)  # dev's 0.5, not all's 0.6
    test_only = split_report()
    del test_only["question_set"]["splits"]["dev"]
    path.write_text(json.dumps(test_only), encoding="utf-8")
    assert gate.main(["propose", str(path)]) == 2
