"""Regression gate: minimum accepted figures on the dev part of the shipped question set (eval/thresholds.toml).

    python -m citeqa.eval.gate propose eval/reports/<name>.json                    # from a question-set run
    python -m citeqa.eval.gate propose eval/reports/compare.json "800/133 hybrid"  # from one --compare configuration

The gate checks the dev part only (GATE_SPLIT). It runs on every `pytest`, so whatever it checks is looked at
all the time while a change is being made; the test part must stay unseen until a change is judged, and
gating on it (or on all questions, which include it) would let its pass/fail steer the change. Test is read
with `citeqa eval --split test` (or in the side-by-side report), never through the gate.

Thresholds hold for the configuration they were measured with (chunk size, overlap, retrieval mode, split and
its size); `check` reports a mismatch as a failure, so changing a default means measuring again.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

THRESHOLDS = Path(files("citeqa.eval") / "thresholds.toml")  # shipped inside the package, like the question set
MARGIN = 0.02  # under two questions of the dev part; the figures are deterministic on one machine
GATED = {
    "retrieval.document": ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"),
    "retrieval.passage": ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"),
    "answer": ("expected_doc_citation_rate", "key_fact_rate", "key_fact_first_sentence_rate", "citation_precision",
               "citation_verbatim_rate"),
    "abstention": ("precision", "recall", "f1"),
}
CONFIG_KEYS = ("chunk_size", "chunk_overlap", "retrieval_mode", "split", "questions")
GATE_SPLIT = "dev"


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def gated_summary(result: dict) -> dict | None:
    """The summary the gate checks out of an evaluation result (or a --compare configuration): its dev part;
    None when the dev part was not run (`--split test`)."""
    splits = result.get("splits")
    if splits is None:  # written before the split existed
        return result["summary"]
    return splits.get(GATE_SPLIT)


def _lookup(summary: dict, dotted: str):
    node = summary
    for part in dotted.split("."):
        node = node[part]
    return node


def check(summary: dict, thresholds: dict) -> list[str]:
    """Human-readable failures; empty when every figure is at or above its minimum."""
    failures = []
    config = thresholds.get("config", {})
    for key in CONFIG_KEYS:
        if key in config and summary.get(key) != config[key]:
            failures.append(
                f"thresholds were measured with {key}={config[key]!r} but this run has {summary.get(key)!r}; "
                "re-measure and update eval/thresholds.toml (python -m citeqa.eval.gate propose <report.json>)"
            )
    for section, minima in thresholds.items():
        if section == "config":
            continue
        for metric, minimum in _flatten(minima, section):
            try:
                value = _lookup(summary, metric)
            except (KeyError, TypeError):
                failures.append(f"{metric}: not in the eval summary")
                continue
            if value is None or value < minimum:
                failures.append(f"{metric} = {value if value is None else round(value, 4)} < minimum {minimum}")
    return failures


def _flatten(node, prefix: str):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}")
    else:
        yield prefix, node


def propose(summary: dict, margin: float = MARGIN) -> str:
    """A thresholds.toml: each measured figure minus `margin`, rounded down; verbatim citations stay at 1.0."""
    lines = [
        f"# Minimum accepted figures for `citeqa eval` on the {GATE_SPLIT} part of eval/questions.jsonl",
        "# (tests/eval/test_gate.py; eval/gate.py says why the gate reads that part only).",
        f"# Measured values minus {margin} (rounded down to 0.01); all gated figures are deterministic for a given",
        "# index, so the margin only absorbs small numeric differences between machines. Latency is not gated.",
        "# Regenerate after changing a default: citeqa eval --name gate && python -m citeqa.eval.gate propose eval/reports/gate.json",
        "",
        "[config]",
        *[f"{k} = {json.dumps(summary[k])}" for k in CONFIG_KEYS],
    ]
    for section, metrics in GATED.items():
        lines += ["", f"[{section}]"]
        for metric in metrics:
            value = _lookup(summary, f"{section}.{metric}")
            if value is None:
                continue
            if metric == "citation_verbatim_rate":
                minimum = 1.0
            else:
                minimum = max(0.0, math.floor((value - margin) * 100) / 100)
            lines.append(f'"{metric}" = {minimum:.2f}  # measured {value:.4f}')
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[0] != "propose":
        print(__doc__, file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    if len(argv) == 3:  # a configuration of a --compare report, e.g. "800/133 hybrid"
        found = [c for c in report.get("compare", {}).get("configurations", []) if c["label"] == argv[2]]
        if not found:
            print(f"no configuration {argv[2]!r} in {argv[1]}", file=sys.stderr)
            return 2
        summary = gated_summary(found[0])
    elif "question_set" in report:
        summary = gated_summary(report["question_set"])
    else:
        print(f"{argv[1]} has no question-set run; name a --compare configuration", file=sys.stderr)
        return 2
    if summary is None:
        print(f"{argv[1]} has no {GATE_SPLIT} part (run without --split test)", file=sys.stderr)
        return 2
    print(propose(summary), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
