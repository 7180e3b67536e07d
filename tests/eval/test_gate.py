"""Regression gate: the dev part of the shipped question set, answered by the real engine over the real index of
the shipped corpus, must meet every minimum in eval/thresholds.toml (see eval/gate.py for how they were set and
why the gate reads dev only)."""

from __future__ import annotations

from citeqa.eval.gate import GATE_SPLIT, check, gated_summary, load_thresholds
from citeqa.eval.report import console_text, write_report
from citeqa.eval.runner import DEFAULT_SET, evaluate_engine, load_questions
from citeqa.eval.split import select


def test_question_set_meets_the_thresholds(engine, tmp_path):
    result = evaluate_engine(engine, select(load_questions(DEFAULT_SET), GATE_SPLIT), progress=False)
    summary = gated_summary(result)
    assert summary is not None and summary["split"] == GATE_SPLIT
    report = {"name": "gate", "created": "test run", "command": "pytest tests/eval/test_gate.py", "settings": {},
              "question_set": {"set": str(DEFAULT_SET), "split": GATE_SPLIT, **result},
              "gate": {"split": GATE_SPLIT, "failures": check(summary, load_thresholds())}}
    write_report(report, tmp_path)
    print(console_text(report))
    print(f"report: {tmp_path / 'gate.md'}")
    assert summary["answer"]["citations"] > 0
    assert summary["answer"]["citation_verbatim_rate"] == 1.0, "a citation's quote is not the source text at its span"
    assert summary["answer"]["short_answer_verbatim_rate"] in (None, 1.0), "a short answer is not the source text"
    assert not report["gate"]["failures"], "below the regression thresholds:\n" + "\n".join(report["gate"]["failures"])
