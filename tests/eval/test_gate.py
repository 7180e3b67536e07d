"""Regression gate: the shipped question set, answered by the real engine over the real index of the shipped
corpus, must meet every minimum in eval/thresholds.toml (see eval/gate.py for how they were set)."""

from __future__ import annotations

from eval.gate import check, load_thresholds
from eval.report import console_text, write_report
from eval.runner import DEFAULT_SET, evaluate_engine, load_questions


def test_question_set_meets_the_thresholds(engine, tmp_path):
    result = evaluate_engine(engine, load_questions(DEFAULT_SET), progress=False)
    summary = result["summary"]
    report = {"name": "gate", "created": "test run", "command": "pytest tests/eval/test_gate.py", "settings": {},
              "question_set": {"set": str(DEFAULT_SET), **result},
              "gate": {"failures": check(summary, load_thresholds())}}
    write_report(report, tmp_path)
    print(console_text(report))
    print(f"report: {tmp_path / 'gate.md'}")
    assert summary["answer"]["citations"] > 0
    assert summary["answer"]["citation_verbatim_rate"] == 1.0, "a citation's quote is not the source text at its span"
    assert not report["gate"]["failures"], "below the regression thresholds:\n" + "\n".join(report["gate"]["failures"])
