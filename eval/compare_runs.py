"""`citeqa eval --compare-runs A B`: is the difference between two saved question-set runs more than noise?

The two reports are matched question by question (by id); questions present in only one run are listed, not
dropped silently, and every figure is recomputed over the questions both runs answered, from the per-question
records. Each figure gets, per run, its bootstrap 95% interval (eval/intervals.py), and for B - A a paired
bootstrap interval and a paired randomization test.

Why that test: every figure is a ratio of sums over questions (eval/intervals.py), some of them pooled (citation
precision, abstention precision) or means of scores (MRR, short-answer F1), so one test has to fit them all. Under
the null hypothesis that the two runs are exchangeable, swapping the A and B outcomes of any question leaves the
distribution unchanged: Fisher's paired randomization test, the one ranx ships for retrieval runs. ranx needs the
rankings themselves (Qrels and Run), which a saved report does not keep, so the swaps are drawn by
scipy.stats.permutation_test (permutation_type="samples": sign flips of one paired sample) over the per-question
contributions. On a figure that is a proportion over the same questions in both runs (key fact in answer) this
is the exact counterpart of McNemar's test: only the questions whose outcome differs can move the statistic.
With a few questions every swap is enumerated (an exact test); otherwise PERMUTATIONS random ones are drawn with
a fixed seed. A difference with p >= ALPHA is marked not significant; no correction is made for testing many
figures at once, so among the 27 figures one or two may pass by chance. Where the bootstrap interval of B - A and
the test disagree (a handful of changed questions), the test decides: the percentile interval is narrow on few.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from citeqa.eval.intervals import (
    CONFIDENCE,
    METHOD,
    QUESTION_FIGURES,
    Contribution,
    contributions,
    percentile_interval,
    ratios,
    resample_counts,
    share,
)
from citeqa.eval.report import (
    ANSWER_ROWS,
    REPORTS_DIR,
    RETRIEVAL_COLUMNS,
    Estimate,
    atomic_write_bytes,
    atomic_write_text,
    fmt,
    md_table,
    text_table,
)
from citeqa.eval.runner import failure
from citeqa.eval.split import SELECTIONS, part_of

ALPHA = 0.05
PERMUTATIONS = 9999
SEED = 0
TEST_NAME = ("paired randomization test (Fisher; A/B outcomes swapped per question), "
             "scipy.stats.permutation_test, two-sided")
NOT_RATES = {"answer.irrelevant_sentences_per_answer"}  # a count per answer, not a share: left out of the chart

# every compared figure, in the order shown: passing questions first (the decision), then the report's tables
FIGURES: dict[str, Contribution] = {
    "questions.pass_rate": share(lambda r: True, lambda r: failure(r) is None),
    **QUESTION_FIGURES,
}
LABELS = {
    "questions.pass_rate": "questions passing (not failing)",
    "answer.answered_rate": "answered (of answerable)",
    **{key: title for title, key in ANSWER_ROWS},
    **{f"retrieval.{level}.{m}": f"{level} {column}" for level in ("document", "passage")
       for column, m in RETRIEVAL_COLUMNS},
}


@dataclass(frozen=True)
class SavedRun:
    label: str  # the report's name
    path: Path
    report: dict
    records: dict[str, dict]  # question id -> per-question record


def resolve(ref: str, reports_dir: Path) -> Path:
    """A report's path from a path to its JSON, or from its name in `reports_dir` (the --out folder) or in the
    default eval/reports."""
    given = Path(ref)
    candidates = [given if given.suffix == ".json" else given.with_name(given.name + ".json")]
    if given.name == ref:  # a bare name
        candidates += [Path(folder) / candidates[0].name for folder in (reports_dir, REPORTS_DIR)]
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(str(p) for p in dict.fromkeys(candidates))
    raise ValueError(f"no saved report {ref!r} (looked for {tried}); pass a report's .json path or the name "
                     "of a report written by `citeqa eval --name NAME`")


def load_run(ref: str, reports_dir: Path) -> SavedRun:
    path = resolve(ref, reports_dir)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a citeqa eval report (not JSON: {exc})") from exc
    records = (report.get("question_set") or {}).get("questions") if isinstance(report, dict) else None
    if not records or not all(isinstance(r, dict) and {"id", "answerable", "abstained"} <= r.keys()
                              for r in records):
        raise ValueError(f"{path} holds no per-question records of a question-set run; only reports of "
                         "`citeqa eval` on a question set compare question by question (not --compare, --beir or "
                         "--scifact reports)")
    return SavedRun(str(report.get("name") or path.stem), path, report, {r["id"]: r for r in records})


# --- the comparison


def paired_p_value(num_a: np.ndarray, den_a: np.ndarray, num_b: np.ndarray, den_b: np.ndarray) -> float:
    """Two-sided p-value of ratio(B) - ratio(A) under swaps of the A and B contributions of each question."""
    from scipy.stats import permutation_test

    diff_num, diff_den = num_a - num_b, den_a - den_b

    def difference(signs: np.ndarray, axis: int = -1) -> np.ndarray:
        kept = (np.atleast_2d(signs) > 0).astype(float)  # 1: the question keeps its labels, 0: A and B swapped
        # a run's sums after the swaps: the other run's sums plus, on kept questions, (own - other)
        a = _ratio(num_b.sum() + kept @ diff_num, den_b.sum() + kept @ diff_den)
        b = _ratio(num_a.sum() - kept @ diff_num, den_a.sum() - kept @ diff_den)
        out = np.nan_to_num(b - a, nan=0.0)  # a swap that leaves a run's figure undefined counts as no difference
        return out if signs.ndim > 1 else out[0]

    result = permutation_test((np.ones(len(num_a)),), difference, permutation_type="samples", vectorized=True,
                              n_resamples=PERMUTATIONS, alternative="two-sided", rng=SEED)
    return float(min(1.0, result.pvalue))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def settings_changed(a: dict, b: dict, prefix: str = "") -> dict[str, list]:
    """{setting: [A's value, B's value]} for every (nested) setting that differs between two reports."""
    changed: dict[str, list] = {}
    for key in dict.fromkeys([*a, *b]):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            changed.update(settings_changed(va, vb, f"{prefix}{key}."))
        elif va != vb:
            changed[f"{prefix}{key}"] = [va, vb]
    return changed


def _brief(record: dict) -> dict:
    return {"id": record["id"], "split": record.get("split"), "category": record.get("category"),
            "question": record.get("question")}


def compare(a: SavedRun, b: SavedRun, split: str = "all") -> dict:
    """Figures of both runs over their common questions (of one part of the split, or all), paired intervals and
    tests, and what changed."""
    if split not in SELECTIONS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SELECTIONS)}")

    def in_part(record: dict) -> bool:
        return split == "all" or part_of(record["id"]) == split

    common = [qid for qid, r in a.records.items() if qid in b.records and in_part(r)]
    if len(common) < 2:
        on = "" if split == "all" else f" in the {split} part"
        raise ValueError(f"{a.path} and {b.path} share {len(common)} question(s){on}; a paired comparison needs "
                         "at least two questions asked in both runs")
    rec_a, rec_b = [a.records[q] for q in common], [b.records[q] for q in common]
    num_a, den_a = contributions(rec_a, FIGURES)
    num_b, den_b = contributions(rec_b, FIGURES)
    k = len(FIGURES)

    def both_and_difference(counts: np.ndarray) -> np.ndarray:
        ra, rb = _ratio(num_a @ counts.T, den_a @ counts.T), _ratio(num_b @ counts.T, den_b @ counts.T)
        return np.vstack([ra, rb, rb - ra])

    distribution = resample_counts(len(common), both_and_difference)
    value_a, value_b = ratios(num_a, den_a), ratios(num_b, den_b)
    metrics = []
    for i, key in enumerate(FIGURES):
        defined = not (np.isnan(value_a[i]) or np.isnan(value_b[i]))
        p = paired_p_value(num_a[i], den_a[i], num_b[i], den_b[i]) if defined else None
        metrics.append({
            "key": key,
            "label": LABELS.get(key, key),
            "a": _num(value_a[i]), "a_interval": _interval(value_a[i], distribution[i]),
            "b": _num(value_b[i]), "b_interval": _interval(value_b[i], distribution[k + i]),
            "difference": _num(value_b[i] - value_a[i]) if defined else None,
            "difference_interval": _interval(value_b[i] - value_a[i], distribution[2 * k + i]) if defined else None,
            "p_value": None if p is None else round(p, 4),
            "significant": None if p is None else p < ALPHA,
            "questions_a": int(np.count_nonzero(den_a[i])), "questions_b": int(np.count_nonzero(den_b[i])),
        })
    fixed, broken = [], []
    for ra, rb in zip(rec_a, rec_b):
        fa, fb = failure(ra), failure(rb)
        if fa and not fb:
            fixed.append({**_brief(rb), "failure_in_a": fa})
        elif fb and not fa:
            broken.append({**_brief(rb), "failure_in_b": fb})
    reworded = [q for q, ra, rb in zip(common, rec_a, rec_b)
                if ra.get("question") and rb.get("question") and ra["question"] != rb["question"]]
    return {
        "runs": {side: {"name": run.label, "path": str(run.path), "created": run.report.get("created"),
                        "command": run.report.get("command"), "settings": run.report.get("settings") or {},
                        "questions": len(run.records)} for side, run in (("a", a), ("b", b))},
        "settings_changed": settings_changed(a.report.get("settings") or {}, b.report.get("settings") or {}),
        "questions": {
            "split": split,
            "common": len(common),
            "only_in_a": [_brief(r) for q, r in a.records.items() if q not in b.records and in_part(r)],
            "only_in_b": [_brief(r) for q, r in b.records.items() if q not in a.records and in_part(r)],
            "reworded": reworded,
        },
        "test": {"name": TEST_NAME, "alpha": ALPHA, "permutations": PERMUTATIONS, "seed": SEED,
                 "intervals": METHOD, "confidence": CONFIDENCE},
        "metrics": metrics,
        "changed_outcomes": {"fixed": fixed, "broken": broken},
    }


def _num(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def _interval(point: float, distribution: np.ndarray) -> list[float] | None:
    if np.isnan(point):
        return None
    found = percentile_interval(distribution)
    return None if found is None else [round(found[0], 4), round(found[1], 4)]


# --- text


def verdict(metric: dict) -> str:
    if metric["p_value"] is None:
        return "–"
    return "significant" if metric["significant"] else "not significant"


def p_text(p: float | None) -> str:
    return "" if p is None else "p<0.001" if p < 0.001 else f"p={p:.3f}"


def signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def table(cmp: dict) -> tuple[list[str], list[list]]:
    a, b = cmp["runs"]["a"]["name"], cmp["runs"]["b"]["name"]
    headers = ["figure", f"A: {a}", f"B: {b}", "B - A", "p", "verdict"]
    rows = []
    for m in cmp["metrics"]:
        if m["a"] is None and m["b"] is None:
            continue
        diff = signed(m["difference"])
        if m["difference_interval"]:
            low, high = m["difference_interval"]
            diff += f" [{low:+.2f}, {high:+.2f}]"
        rows.append([m["label"], Estimate(m["a"], m["a_interval"]), Estimate(m["b"], m["b_interval"]), diff,
                     "–" if m["p_value"] is None else f"{m['p_value']:.4f}", verdict(m)])
    return headers, rows


def notes(cmp: dict) -> list[str]:
    q, runs = cmp["questions"], cmp["runs"]
    part = "" if q["split"] == "all" else f" of the {q['split']} part"
    out = [f"A = {runs['a']['name']} ({runs['a']['path']}, {runs['a']['questions']} questions); "
           f"B = {runs['b']['name']} ({runs['b']['path']}, {runs['b']['questions']} questions). Figures are "
           f"recomputed over the {q['common']} questions{part} in both runs."]
    for side, other in (("a", "B"), ("b", "A")):
        only = q[f"only_in_{side}"]
        if only:
            out.append(f"{len(only)} questions only in {side.upper()} (left out of the comparison, not in {other}): "
                       + ", ".join(r["id"] for r in only))
    if q["reworded"]:
        out.append(f"Same id, different question text in the two runs: {', '.join(q['reworded'])}")
    changed = cmp["settings_changed"]
    out.append("Settings changed from A to B: " + ("; ".join(f"{k} {fmt(v[0])} -> {fmt(v[1])}"
                                                            for k, v in changed.items()) or "none recorded"))
    t = cmp["test"]
    out.append(f"Test: {t['name']}, {t['permutations']} random swaps (every swap when fewer), seed {t['seed']}; "
               f"not significant when p >= {t['alpha']}. Intervals: {t['intervals']}; B - A: paired bootstrap.")
    return out


def console_text(cmp: dict) -> str:
    headers, rows = table(cmp)
    oc = cmp["changed_outcomes"]
    lines = ["\n== Compare runs ==", *notes(cmp), text_table(headers, rows),
             f"\nfixed in B ({len(oc['fixed'])}): " + ", ".join(r["id"] for r in oc["fixed"]),
             f"broken in B ({len(oc['broken'])}): " + ", ".join(r["id"] for r in oc["broken"])]
    return "\n".join(lines)


def markdown(cmp: dict, name: str) -> str:
    headers, rows = table(cmp)
    lines = [f"# citeqa eval: compare runs {cmp['runs']['a']['name']} (A) and {cmp['runs']['b']['name']} (B)", "",
             f"Created {cmp['created']} with `{cmp['command']}`.", ""]
    for n in notes(cmp):
        lines += [n, ""]
    lines += [md_table(headers, rows), "", f"![A and B per figure]({name}.png)", ""]
    oc = cmp["changed_outcomes"]
    for title, key, why in (("Fixed in B (failing in A, passing in B)", "fixed", "failure_in_a"),
                            ("Broken in B (passing in A, failing in B)", "broken", "failure_in_b")):
        lines += [f"## {title}: {len(oc[key])}", ""]
        lines += [f"- **{r['id']}** ({r['split']}, {r['category']}) {'was' if key == 'fixed' else 'now'}: {r[why]}"
                  + (f": {' '.join(r['question'].split())}" if r.get("question") else "") for r in oc[key]]
        lines.append("")
    return "\n".join(lines)


# --- chart


def chart_png(cmp: dict) -> bytes:
    """Paired bars A and B per figure with their intervals, one panel for answers and one for retrieval; the
    label of a figure whose difference is significant ends in '*', and each pair is annotated with B - A and p."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in cmp["metrics"] if m["key"] not in NOT_RATES and m["a"] is not None and m["b"] is not None]
    panels = [("answers and abstention", [m for m in shown if not m["key"].startswith("retrieval.")]),
              ("retrieval", [m for m in shown if m["key"].startswith("retrieval.")])]
    panels = [(title, ms) for title, ms in panels if ms]
    rows = max((len(ms) for _, ms in panels), default=1)
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(7.5 * max(1, len(panels)), 0.45 * rows + 1.6),
                             squeeze=False)
    names = cmp["runs"]["a"]["name"], cmp["runs"]["b"]["name"]
    for ax, (title, ms) in zip(axes[0], panels):
        y = np.arange(len(ms))[::-1]
        for offset, side, color, run in ((0.2, "a", "#9e9e9e", names[0]), (-0.2, "b", "#1f77b4", names[1])):
            values = [m[side] for m in ms]
            errors = np.array([[v - m[f"{side}_interval"][0], m[f"{side}_interval"][1] - v]
                               if m[f"{side}_interval"] else [0.0, 0.0] for v, m in zip(values, ms)]).T
            ax.barh(y + offset, values, height=0.38, color=color, xerr=np.clip(errors, 0, None),
                    error_kw={"elinewidth": 0.8, "capsize": 2}, label=f"{side.upper()}: {run}")
        for yi, m in zip(y, ms):
            note = f"{signed(m['difference'])}  {p_text(m['p_value'])}"
            ax.text(1.03, yi, note, va="center", fontsize=7, color="black" if m["significant"] else "#777777",
                    transform=ax.get_yaxis_transform())
        ax.set_yticks(y, [m["label"] + (" *" if m["significant"] else "") for m in ms], fontsize=7)
        ax.set_xlim(0, 1.0)
        ax.set_xlabel(f"value ({CONFIDENCE:.0%} bootstrap interval)")
        ax.set_title(f"{title} (* p < {ALPHA})", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# --- the command


def default_name(a: SavedRun, b: SavedRun) -> str:
    return re.sub(r"[^A-Za-z0-9_+-]+", "-", f"runs-{a.label}-vs-{b.label}").strip("-")


def write_comparison(cmp: dict, name: str, reports_dir: Path) -> dict[str, Path]:
    paths = {"json": reports_dir / f"{name}.json", "md": reports_dir / f"{name}.md",
             "png": reports_dir / f"{name}.png"}
    atomic_write_text(paths["json"], json.dumps({"name": name, **cmp}, indent=2, ensure_ascii=False) + "\n")
    atomic_write_bytes(paths["png"], chart_png(cmp))
    atomic_write_text(paths["md"], markdown(cmp, name))
    return paths


def run_compare_runs(
    a_ref: str,
    b_ref: str,
    reports_dir: Path | None = None,
    name: str | None = None,
    split: str = "all",
    echo: Callable[[str], None] = print,
) -> tuple[dict, dict[str, Path]]:
    """Compare two saved runs (paths to report JSON, or names in `reports_dir`) over their questions of `split`;
    print the table and write NAME.json, NAME.md and NAME.png into `reports_dir` (default eval/reports)."""
    reports_dir = Path(reports_dir or REPORTS_DIR)
    a, b = load_run(a_ref, reports_dir), load_run(b_ref, reports_dir)
    name = name or default_name(a, b) + ("" if split == "all" else f"-{split}")
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid report name {name!r}: use letters, digits, '-', '_' or '+'")
    cmp = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "citeqa " + shlex.join(sys.argv[1:]) if Path(sys.argv[0]).name == "citeqa"
        else f"citeqa eval --compare-runs {shlex.join([a_ref, b_ref])}",
        **compare(a, b, split),
    }
    echo(console_text(cmp))
    paths = write_comparison(cmp, name, reports_dir)
    echo("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return cmp, paths


__all__ = ["ALPHA", "FIGURES", "compare", "load_run", "paired_p_value", "resolve", "run_compare_runs"]
