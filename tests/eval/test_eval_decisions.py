"""Evals that decide (issue 11): the report lists every failing question, every rate carries a bootstrap 95%
interval, `citeqa eval --compare-runs A B` tests two saved runs question by question, and `--out` chooses where
reports go. Real runs on a small question set over the session index; the CLI through typer's runner."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from citeqa.cli import app
from citeqa.eval.compare_runs import paired_p_value
from citeqa.eval.intervals import QUESTION_FIGURES, contributions, question_intervals, ratios
from citeqa.eval.report import Estimate, fmt, markdown
from citeqa.eval.run import run
from citeqa.eval.runner import DEFAULT_SET, figure, load_questions

# Three questions built to fail, one of each kind, beside shipped questions most of which pass.
CRAFTED = [
    {"id": "h11-missing", "question": "What is the half-life of baclofen?", "expected_docs": ["baclofen-encyclopedia"],
     "expected_quotes": [], "key_fact": "zzz-not-in-the-corpus", "category": "fact", "answerable": True},
    {"id": "h11-should-abstain", "question": "What is the half-life of baclofen?", "expected_docs": [],
     "expected_quotes": [], "key_fact": "", "category": "unanswerable", "answerable": False},
    {"id": "h11-refused", "question": "What is the capital of France?", "expected_docs": ["baclofen-encyclopedia"],
     "expected_quotes": [], "key_fact": "Paris", "category": "fact", "answerable": True},
]
SHIPPED = [f"q{i:03d}" for i in range(1, 21)] + ["q120", "q121"]  # 20 answerable, 2 unanswerable


def environment(settings) -> dict[str, str | None]:
    return {"CITEQA_INDEX_DIR": str(settings.index_dir), "CITEQA_CORPUS_DIR": str(settings.corpus_dir),
            "CITEQA_LLM_BASE_URL": None}


def write_set(path, questions: list[dict]):
    path.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, settings, engine, citation_audit):
    """Two saved runs of the same questions: A with the shipped settings, B with an evidence bar no sentence
    reaches (so it refuses everything): a real difference."""
    from citeqa.service.engine import Engine

    folder = tmp_path_factory.mktemp("runs")
    by_id = {q["id"]: q for q in load_questions(DEFAULT_SET)}
    question_set = write_set(folder / "small.jsonl", [by_id[i] for i in SHIPPED] + CRAFTED)
    a, a_paths = run(settings, set_file=question_set, name="before", reports_dir=folder, engine=engine,
                     progress=False, echo=lambda _: None)
    strict = settings.model_copy(update={"min_sentence_similarity": 0.99})
    engine_b = citation_audit.audited(Engine(strict, engine.retriever))
    b, b_paths = run(strict, set_file=question_set, name="refuses", reports_dir=folder, engine=engine_b,
                     progress=False, echo=lambda _: None)
    return {"folder": folder, "a": a, "a_paths": a_paths, "b": b, "b_paths": b_paths}


def records(report: dict) -> dict[str, dict]:
    return {r["id"]: r for r in report["question_set"]["questions"]}


# --- failing questions


def test_the_report_lists_every_failing_question_with_what_was_expected_and_what_came_back(runs):
    a = records(runs["a"])
    assert a["h11-refused"]["abstained"] and not a["h11-should-abstain"]["abstained"]
    assert not a["h11-missing"]["abstained"] and not a["h11-missing"]["key_fact"]
    md = runs["a_paths"]["md"].read_text(encoding="utf-8")
    section = md.split("## Failing questions", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \*\*(\S+)\*\*", section, flags=re.MULTILINE)
    # worked out here from the records, not by the report's own rule
    expected = [r["id"] for r in a.values()
                if (r["answerable"] and not r["abstained"] and not r["key_fact"])
                or (r["answerable"] and r["abstained"] and not r["abstention_acceptable"])
                or (not r["answerable"] and not r["abstained"])]
    assert listed and sorted(listed) == sorted(expected)
    assert f"{len(expected)} of {len(a)} questions fail" in section

    def entry(qid: str) -> str:
        return section.split(f"- **{qid}**", 1)[1].split("\n- **", 1)[0]

    missing = entry("h11-missing")
    assert "key fact missing: What is the half-life of baclofen?" in missing
    assert "expected: key fact “zzz-not-in-the-corpus” from baclofen-encyclopedia" in missing
    came_back = missing.split("came back:", 1)[1]
    assert first_words(a["h11-missing"]["answer"]) in came_back and " citing " in came_back
    assert "should have abstained" in entry("h11-should-abstain")
    assert "expected: to abstain" in entry("h11-should-abstain")
    refused = entry("h11-refused")
    assert "refused though answerable" in refused and "key fact “Paris”" in refused
    assert f"came back: abstained: “{a['h11-refused']['reason'][:40]}" in refused
    passing = next(r["id"] for r in a.values() if r["answerable"] and r["key_fact"])
    assert f"**{passing}**" not in section


def first_words(answer: str) -> str:
    return " ".join(answer.split()[:6])


def test_a_failing_question_from_an_older_report_says_its_expectations_were_not_recorded():
    old = {"id": "q9", "split": "dev", "category": "fact", "answerable": True, "abstention_acceptable": False,
           "abstained": False, "key_fact": False, "answer": "One. [1] Two. [2] Three. [3]",
           "cited": ["doc-a:1-5", "doc-b:3-9", "doc-a:7-8"]}
    report = {"name": "old", "created": "then", "command": "citeqa eval",
              "question_set": {"summary": None, "questions": [old]}}
    from citeqa.eval.report import failing_markdown

    lines = "\n".join(failing_markdown(report["question_set"]))
    assert "- **q9** (fact) key fact missing" in lines and "not recorded in this report" in lines
    assert "came back: “One. [1] Two. [2] …” citing doc-a, doc-b" in lines


# --- intervals


def test_every_rate_has_an_interval_that_holds_its_value(runs):
    qs = runs["a"]["question_set"]
    for name, summary in [("all", qs["summary"]), *qs["splits"].items()]:
        for key in QUESTION_FIGURES:
            value, interval = figure(summary, key), summary["intervals"][key]
            if interval is None:  # undefined over these questions (no short answer given, say)
                continue
            low, high = interval
            assert low - 1e-9 <= value <= high + 1e-9, (name, key, value, interval)
        for category, cat in summary["by_category"].items():
            for key, interval in cat["intervals"].items():
                if interval is not None:
                    assert interval[0] - 1e-9 <= cat[key] <= interval[1] + 1e-9, (category, key)
    assert qs["summary"]["intervals"]["answer.key_fact_rate"][1] > qs["summary"]["intervals"]["answer.key_fact_rate"][0]
    saved = json.loads(runs["a_paths"]["json"].read_text(encoding="utf-8"))
    assert saved["question_set"]["summary"]["intervals"] == qs["summary"]["intervals"]
    md = runs["a_paths"]["md"].read_text(encoding="utf-8")
    s = qs["summary"]
    shown = fmt(Estimate(s["answer"]["key_fact_rate"], s["intervals"]["answer.key_fact_rate"]))
    assert re.fullmatch(r"\d\.\d{3} \[\d\.\d{2}, \d\.\d{2}\]", shown)
    assert f"| key fact in answer | {shown} |" in md
    assert "percentile bootstrap over questions" in md  # the Definitions say how


def test_figures_recomputed_from_the_records_equal_the_summary(runs):
    """The interval of a figure is taken over the same questions as the figure itself."""
    qs = runs["a"]["question_set"]
    num, den = contributions(qs["questions"], QUESTION_FIGURES)
    for key, value in zip(QUESTION_FIGURES, ratios(num, den)):
        reported = figure(qs["summary"], key)
        if np.isnan(value):
            assert reported in (None, 0.0), key  # undefined; abstention figures report 0 by convention
        else:
            assert reported == pytest.approx(value), key


def synthetic(n: int, rate: float) -> list[dict]:
    return [{"answerable": True, "abstention_acceptable": False, "abstained": False, "key_fact": i < rate * n}
            for i in range(n)]


def test_intervals_hold_the_estimate_and_narrow_with_more_questions():
    widths = []
    for n in (20, 80, 320):
        interval = question_intervals(synthetic(n, 0.55))["answer.key_fact_rate"]
        value = sum(r["key_fact"] for r in synthetic(n, 0.55)) / n
        assert interval[0] < value < interval[1]
        widths.append(interval[1] - interval[0])
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] > 0.3 and widths[2] < 0.15  # about ±0.22 at 20 questions, ±0.05 at 320
    assert question_intervals(synthetic(20, 1.0))["answer.key_fact_rate"] == [1.0, 1.0]
    assert question_intervals(synthetic(20, 0.5))["answer.short_answer_exact_match"] is None  # no such question


def test_the_paired_test_is_exact_on_few_questions():
    ones, zeros = np.ones(8), np.zeros(8)
    assert paired_p_value(ones, ones, zeros, ones) == pytest.approx(2 / 2 ** 8)  # every question got worse
    assert paired_p_value(ones, ones, ones, ones) == 1.0
    mixed = np.array([1, 1, 1, 1, 0, 0, 0, 0.0])
    assert paired_p_value(mixed, ones, mixed[::-1], ones) == 1.0  # as many better as worse


# --- compare runs, through the CLI


def compare_cli(settings, *args: str):
    return CliRunner().invoke(app, ["eval", "--compare-runs", *args], env=environment(settings))


def test_compare_runs_marks_a_real_difference_significant(runs, settings, tmp_path):
    out = tmp_path / "out"
    result = compare_cli(settings, str(runs["a_paths"]["json"]), str(runs["b_paths"]["json"]), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [f"runs-before-vs-refuses.{x}" for x in ("json", "md", "png")]
    cmp = json.loads((out / "runs-before-vs-refuses.json").read_text(encoding="utf-8"))
    metric = {m["key"]: m for m in cmp["metrics"]}
    key_fact = metric["answer.key_fact_rate"]
    assert key_fact["b"] == 0.0 and key_fact["a"] >= 0.4
    assert key_fact["significant"] and key_fact["p_value"] < 0.01 and key_fact["difference"] < 0
    assert key_fact["difference_interval"][1] < 0 and key_fact["a_interval"][0] <= key_fact["a"]
    assert metric["answer.wrong_refusal_rate"]["significant"]
    # retrieval does not depend on the evidence bar: the same rankings, no difference
    assert metric["retrieval.passage.mrr@10"]["difference"] == 0.0
    assert not metric["retrieval.passage.mrr@10"]["significant"]
    assert cmp["settings_changed"]["answering.min_sentence_similarity"][1] == 0.99
    assert cmp["questions"]["common"] == len(SHIPPED) + len(CRAFTED) and not cmp["questions"]["only_in_a"]
    a = records(runs["a"])
    assert {r["id"] for r in cmp["changed_outcomes"]["broken"]} == {
        q for q, r in a.items() if r["answerable"] and r["key_fact"] and not r["abstained"]}
    md = (out / "runs-before-vs-refuses.md").read_text(encoding="utf-8")
    assert re.search(r"\| key fact in answer \| [\d.]+ \[[\d., ]+\] \| 0\.000 \[0\.00, 0\.00\] \| -[\d.]+ "
                     r"\[-[\d.]+, -[\d.]+\] \| [\d.]+ \| significant \|", md)
    assert "| passage MRR@10 |" in md and "| not significant |" in md
    assert (out / "runs-before-vs-refuses.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "key fact in answer" in result.output and "significant" in result.output


def test_compare_runs_of_an_identical_pair_finds_nothing_significant(runs, settings, tmp_path):
    shutil.copy(runs["a_paths"]["json"], tmp_path / "again.json")
    result = compare_cli(settings, str(runs["a_paths"]["json"]), "again", "--out", str(tmp_path), "--name", "same")
    assert result.exit_code == 0, result.output
    cmp = json.loads((tmp_path / "same.json").read_text(encoding="utf-8"))
    tested = [m for m in cmp["metrics"] if m["p_value"] is not None]
    assert len(tested) > 20
    assert all(m["p_value"] == 1.0 and not m["significant"] and m["difference"] == 0.0 for m in tested)
    assert not cmp["changed_outcomes"]["fixed"] and not cmp["changed_outcomes"]["broken"]
    assert "| significant |" not in (tmp_path / "same.md").read_text(encoding="utf-8")


def test_questions_in_only_one_run_are_reported_not_dropped(runs, settings, tmp_path):
    a = json.loads(runs["a_paths"]["json"].read_text(encoding="utf-8"))
    b = json.loads(runs["b_paths"]["json"].read_text(encoding="utf-8"))
    a["question_set"]["questions"] = [r for r in a["question_set"]["questions"] if r["id"] != "q001"]
    b["question_set"]["questions"] = [r for r in b["question_set"]["questions"] if r["id"] != "q002"]
    (tmp_path / "a.json").write_text(json.dumps(a), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(b), encoding="utf-8")
    result = compare_cli(settings, "a", "b", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    cmp = json.loads((tmp_path / "runs-before-vs-refuses.json").read_text(encoding="utf-8"))
    q = cmp["questions"]
    assert [r["id"] for r in q["only_in_a"]] == ["q002"] and [r["id"] for r in q["only_in_b"]] == ["q001"]
    assert q["common"] == len(SHIPPED) + len(CRAFTED) - 2
    md = (tmp_path / "runs-before-vs-refuses.md").read_text(encoding="utf-8")
    assert "1 questions only in A (left out of the comparison, not in B): q002" in md
    assert "1 questions only in B (left out of the comparison, not in A): q001" in md


def test_bad_compare_runs_input_gets_a_clear_error_and_writes_nothing(runs, settings, tmp_path):
    out = tmp_path / "out"
    a = str(runs["a_paths"]["json"])
    result = compare_cli(settings, a, "no-such-run", "--out", str(out))
    assert result.exit_code == 2 and "no saved report 'no-such-run'" in result.output
    (tmp_path / "beir.json").write_text(json.dumps({"name": "beir", "beir": {}}), encoding="utf-8")
    result = compare_cli(settings, a, str(tmp_path / "beir.json"), "--out", str(out))
    assert result.exit_code == 2 and "holds no per-question records" in result.output
    result = compare_cli(settings, a, a, "--limit", "3", "--out", str(out))
    assert result.exit_code == 2 and "drop --limit" in result.output
    (tmp_path / "file").write_text("x")
    result = compare_cli(settings, a, a, "--out", str(tmp_path / "file"))
    assert result.exit_code == 2 and "is a file" in result.output
    assert not out.exists()


# --- --out


def test_eval_out_writes_the_report_there_and_nowhere_else(settings, tmp_path, monkeypatch):
    cwd, out = tmp_path / "cwd", tmp_path / "reports"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # the default ./eval/reports would land here
    by_id = {q["id"]: q for q in load_questions(DEFAULT_SET)}
    question_set = write_set(tmp_path / "three.jsonl", [by_id["q001"], by_id["q002"], by_id["q120"]])
    index_before = sorted((p.relative_to(settings.index_dir), p.stat().st_mtime_ns)
                          for p in settings.index_dir.rglob("*"))
    result = CliRunner().invoke(app, ["eval", "--set", str(question_set), "--name", "three", "--out", str(out)],
                                env=environment(settings))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["three.json", "three.md", "three.png"]
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "reports", "three.jsonl"]
    assert sorted((p.relative_to(settings.index_dir), p.stat().st_mtime_ns)
                  for p in settings.index_dir.rglob("*")) == index_before
    saved = json.loads((out / "three.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in saved["question_set"]["questions"]] == ["q001", "q002", "q120"]
    assert "intervals" in saved["question_set"]["summary"]
    assert f"wrote {out / 'three.json'}" in result.output


def test_markdown_of_a_report_without_intervals_shows_plain_figures():
    from tests.eval.test_eval_report import report

    md = markdown(report())
    assert "| key fact in answer | 0.500 |" in md


def test_benchmark_rates_carry_intervals_too(tmp_path):
    """BEIR (per-query means) and SciFact (per-claim rates) get intervals in the console, markdown and JSON."""
    from tests.eval.test_eval_benchmarks import ABSTRACTS, CLAIMS, DOCS, QUERIES

    beir, scifact, out = tmp_path / "beir", tmp_path / "scifact", tmp_path / "out"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": d, "title": t, "text": x}) + "\n"
                                               for d, (t, x) in DOCS.items()), encoding="utf-8")
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n"
                                                for q, (t, _) in QUERIES.items()), encoding="utf-8")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{s}\n" for q, (_, rel) in QUERIES.items() for d, s in rel.items()), encoding="utf-8")
    scifact.mkdir()
    (scifact / "corpus.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ABSTRACTS), encoding="utf-8")
    (scifact / "claims_dev.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CLAIMS), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--beir", str(beir), "--scifact", str(scifact), "--name", "bench",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    hybrid = data["beir"]["modes"]["hybrid"]
    low, high = hybrid["intervals"]["recall@1"]
    assert low <= hybrid["recall@1"] <= high and high > low  # q2 has two relevant documents: recall@1 is 0.5
    s = data["scifact"]["summary"]
    assert s["intervals"]["document_hit_rate"] == [1.0, 1.0]
    nei = s["nei_abstention_rate"]  # one NEI claim: every resample that draws it gives its value
    assert s["intervals"]["nei_abstention_rate"] == [nei, nei]
    md = (out / "bench.md").read_text(encoding="utf-8")
    assert re.search(r"\| hybrid \| [\d.]+ \[[\d.]+, [\d.]+\] \|", md)
    assert "| document hit rate (cites a gold evidence document) | 1.000 [1.00, 1.00] |" in md
