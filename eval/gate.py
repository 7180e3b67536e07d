"""Regression gate: minimum accepted figures on the shipped question set (eval/thresholds.toml).

    python -m eval.gate propose eval/reports/<name>.json                    # from a question-set run
    python -m eval.gate propose eval/reports/compare.json "800/133 hybrid"  # from one --compare configuration

Thresholds hold for the configuration they were measured with (chunk size, overlap, retrieval mode, question
set size); `check` reports a mismatch as a failure, so changing a default means measuring again.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path

from citeqa.settings import PROJECT_ROOT

THRESHOLDS = PROJECT_ROOT / "eval" / "thresholds.toml"
MARGIN = 0.02  # about two or three questions of the shipped set; the figures are deterministic on one machine
GATED = {
    "retrieval.document": ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"),
    "retrieval.passage": ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"),
    "answer": ("expected_doc_citation_rate", "key_fact_rate", "citation_precision", "citation_verbatim_rate"),
    "abstention": ("precision", "recall", "f1"),
}
CONFIG_KEYS = ("chunk_size", "chunk_overlap", "retrieval_mode", "questions")


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


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
                "re-measure and update eval/thresholds.toml (python -m eval.gate propose <report.json>)"
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
        "# Minimum accepted figures for `citeqa eval` on eval/questions.jsonl (tests/eval/test_gate.py).",
        f"# Measured values minus {margin} (rounded down to 0.01); all gated figures are deterministic for a given",
        "# index, so the margin only absorbs small numeric differences between machines. Latency is not gated.",
        "# Regenerate after changing a default: citeqa eval --name gate && python -m eval.gate propose eval/reports/gate.json",
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
        found = [c["summary"] for c in report.get("compare", {}).get("configurations", []) if c["label"] == argv[2]]
        if not found:
            print(f"no configuration {argv[2]!r} in {argv[1]}", file=sys.stderr)
            return 2
        summary = found[0]
    elif "question_set" in report:
        summary = report["question_set"]["summary"]
    else:
        print(f"{argv[1]} has no question-set run; name a --compare configuration", file=sys.stderr)
        return 2
    print(propose(summary), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
