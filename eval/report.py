"""Write an eval report: <name>.json (everything), <name>.md (summary tables with bootstrap intervals, the failing
questions), <name>.png (recall@k per configuration). Every file is written to a temporary file beside it and moved
into place with os.replace, so a reader never sees half a report."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.eval.intervals import METHOD
from citeqa.eval.runner import HEADLINE, failure, figure, headline

# relative, so reports land under the working directory (./eval/reports in the repository), never in the
# installed package
REPORTS_DIR = Path("eval", "reports")


# --- atomic files


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the report ordinary file permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# --- tables


@dataclass(frozen=True)
class Estimate:
    """A figure with its bootstrap 95% interval, shown as "0.546 [0.45, 0.64]" (the figure alone without one)."""

    value: float | None
    interval: Sequence[float] | None = None


def estimate(summary: dict, dotted: str) -> Estimate:
    """The figure at `dotted` of a summary with its interval (runner.summarize stores them by the same key)."""
    return Estimate(figure(summary, dotted), (summary.get("intervals") or {}).get(dotted))


def fmt(value) -> str:
    if isinstance(value, Estimate):
        if value.value is None or value.interval is None:
            return fmt(value.value)
        low, high = value.interval
        return f"{fmt(value.value)} [{low:.2f}, {high:.2f}]"
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def fmt_ms(p50, p95) -> str:
    return " / ".join("–" if v is None else f"{v:.0f}" for v in (p50, p95))


def text_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    cells = [[str(h) for h in headers]] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    out = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(out)


# --- sections: (title, headers, rows, notes)


# What each answer figure means; listed at the end of every question-set report's markdown.
DEFINITIONS = (
    "key fact in answer: the answer text contains the question's key fact (case-insensitive); over answerable "
    "questions, an abstention counts as a miss.",
    "key fact in first sentence: the first answer sentence (the first entry of `sentences`) contains the key fact; "
    "over answerable questions, an abstention counts as a miss.",
    "short-answer exact match: `short_answer.text` equals the expected short answer after normalising (NFKC, case, "
    "whitespace, every unicode dash as '-', trailing . , ; :); over questions with an expected short answer, a null "
    "short answer counts as a miss. Short-answer F1 gives token-overlap credit on the same questions.",
    "short answers verbatim: `short_answer.text` is the document's text at its span; over answers that give one.",
    "irrelevant sentences per answer: answer sentences none of whose citations overlaps an expected quote's span "
    "(same document, a shared character) and whose text does not contain the key fact; mean over answerable "
    "questions that were answered (not abstained). The share divides by all their sentences.",
    "expected-document citation: some citation is in an expected document; over answerable questions.",
    "citation precision: citations overlapping an expected quote's span / all citations of answerable questions.",
    "citations verbatim: a citation's quote is the document's text at its span; over all citations (must be 1).",
    "abstention precision / recall: positive = abstained, truth = not answerable; questions whose abstention is "
    "acceptable (false premises: the correction or an abstention) are left out. Per category, '–' = undefined.",
    "wrong refusals: answerable questions that abstained / answerable questions (false premises left out).",
    f"[low, high] after a figure: its 95% interval, a {METHOD}; a figure pooled over questions (citation "
    "precision, abstention precision) is recomputed on each resample. Two figures whose intervals overlap may "
    "still differ: compare two runs with `citeqa eval --compare-runs A B` (a paired test over the same questions).",
    "failing question: an answerable question whose answer lacks the key fact, or that was refused (unless "
    "abstaining is acceptable: a false premise), or an unanswerable question that was answered.",
)

# (row title, dotted key in a summary) of the answers table; runner.summarize holds an interval for every rate
ANSWER_ROWS = (
    ("answerable questions", "answerable"),
    ("key fact in answer", "answer.key_fact_rate"),
    ("key fact in first sentence", "answer.key_fact_first_sentence_rate"),
    ("short-answer exact match", "answer.short_answer_exact_match"),
    ("short-answer F1", "answer.short_answer_f1"),
    ("questions with an expected short answer", "answer.short_answer_questions"),
    ("short answers given", "answer.short_answers_given"),
    ("short answers verbatim", "answer.short_answer_verbatim_rate"),
    ("irrelevant sentences per answer", "answer.irrelevant_sentences_per_answer"),
    ("irrelevant share of answer sentences", "answer.irrelevant_sentence_share"),
    ("expected-document citation rate", "answer.expected_doc_citation_rate"),
    ("all expected documents cited", "answer.all_expected_docs_cited_rate"),
    ("citation precision (overlaps an expected quote)", "answer.citation_precision"),
    ("citations verbatim (quote == text[start:end])", "answer.citation_verbatim_rate"),
    ("citations checked", "answer.citations"),
    ("abstention precision", "abstention.precision"),
    ("abstention recall", "abstention.recall"),
    ("abstention F1", "abstention.f1"),
    ("wrong refusals (answerable, abstained)", "answer.wrong_refusal_rate"),
)
RETRIEVAL_COLUMNS = (("R@1", "recall@1"), ("R@5", "recall@5"), ("R@10", "recall@10"), ("MRR@10", "mrr@10"),
                     ("nDCG@10", "ndcg@10"))


def summary_parts(qs: dict) -> list[tuple[str, dict]]:
    """(part, summary) to show side by side: all (when more than one part ran), dev, test."""
    splits = qs.get("splits") or {}
    parts = [(p, splits[p]) for p in ("dev", "test") if p in splits]
    return parts if len(parts) == 1 else [("all", qs["summary"]), *parts]


def question_set_tables(qs: dict) -> list[tuple[str, list[str], list[list], list[str]]]:
    parts = summary_parts(qs)
    s = parts[0][1]
    columns = [f"{name} ({v['questions']})" for name, v in parts]
    retrieval_rows = [
        [f"{level}, {name} ({v['retrieval'][level]['queries']} questions)",
         *[estimate(v, f"retrieval.{level}.{m}") for _, m in RETRIEVAL_COLUMNS]]
        for level in ("document", "passage") for name, v in parts
    ]
    answer_rows = [
        *[[title, *[estimate(v, key) for _, v in parts]] for title, key in ANSWER_ROWS],
        ["answer latency p50 / p95 (ms)",
         *[fmt_ms(v["latency_ms"]["answer"]["p50"], v["latency_ms"]["answer"]["p95"]) for _, v in parts]],
    ]
    head = (f"{s['questions']} questions ({s['answerable']} answerable) from {qs.get('set', 'the question set')}; "
            f"mode {s['retrieval_mode']}, chunks {s['chunk_size']}/{s['chunk_overlap']}. Parts of the fixed "
            f"dev/test split (eval/split.py): tune on dev, judge on test.")
    notes = [head] + [
        (f"Passage level ({name}): {v['retrieval']['passage']['split_quotes']} expected quotes are cut by a chunk "
         f"boundary and judged by the chunk holding most of them; {v['retrieval']['passage']['unjudged_questions']} "
         "questions have no judged passage.") for name, v in parts[:1]
    ]
    category_headers = ["category", "questions", "abstained", "key fact", "key fact 1st", "short EM",
                        "cites exp. doc", "doc R@5", "irrel./answer", "abst. P", "abst. R", "wrong refusals"]
    category_keys = ("questions", "abstained", "key_fact_rate", "key_fact_first_sentence_rate",
                     "short_answer_exact_match", "expected_doc_citation_rate", "document_recall@5",
                     "irrelevant_sentences_per_answer", "abstention_precision", "abstention_recall",
                     "wrong_refusal_rate")
    category_tables = [
        (f"Question set: by category ({name})", category_headers,
         [[c, *[estimate(cat, k) for k in category_keys]] for c, cat in v["by_category"].items()], [])
        for name, v in parts
    ]
    return [
        ("Question set: retrieval", ["", *[c for c, _ in RETRIEVAL_COLUMNS]], retrieval_rows, notes),
        ("Question set: answers", ["metric", *columns], answer_rows,
         ["What each figure means: the Definitions at the end of the markdown report."]),
        *category_tables,
    ]


def compare_table(cmp: dict) -> tuple[str, list[str], list[list], list[str]]:
    headers = ["configuration", *[column for column, _ in HEADLINE]]
    rows = []
    for entry in cmp["configurations"]:
        values = headline(entry["summary"])
        intervals = entry["summary"].get("intervals") or {}
        rows.append([entry["label"], *[Estimate(values[column], intervals.get(key)) for column, key in HEADLINE]])
    notes = [
        ("Document level saturates at R@5 on a corpus of few documents; passage judgements depend on the chunk "
         "size (a longer chunk contains a quote more often), so compare answer figures across chunk sizes."),
        f"Ranked by {cmp['ranking']}: best is **{cmp['best']}**.",
    ]
    if cmp.get("command"):
        notes.insert(0, f"Command: `{cmp['command']}`")
    return ("Configuration comparison", headers, rows, notes)


def beir_table(b: dict) -> tuple[str, list[str], list[list], list[str]]:
    rows = [[m, *[Estimate(v[k], (v.get("intervals") or {}).get(k))
                  for k in ("ndcg@10", "recall@10", "mrr@10", "recall@1", "recall@5")]] for m, v in b["modes"].items()]
    idx = b["index"]
    notes = [
        (f"{b['path']}: {b['documents']} documents, {b['queries']} judged queries, {b['qrels']} judgements; "
         f"document score = best chunk ({b['passage_depth']} passages per query); chunks {b['chunk_size']}/"
         f"{b['chunk_overlap']}; index {idx['chunks']} chunks, {idx['sentences']} sentences, "
         f"{'reused' if idx['reused'] else 'built'} ({idx['build_seconds']:.0f}s to build).")
    ]
    return (f"BEIR {b['dataset']} (document level)", ["mode", "nDCG@10", "Recall@10", "MRR@10", "R@1", "R@5"], rows,
            notes)


def scifact_table(sf: dict) -> tuple[str, list[str], list[list], list[str]]:
    s = sf["summary"]

    def est(key: str) -> Estimate:
        return estimate(s, key)

    rows = [
        ["claims with evidence", s["evidence_claims"]],
        ["answered (not abstained)", est("evidence_answered_rate")],
        ["document hit rate (cites a gold evidence document)", est("document_hit_rate")],
        ["gold-sentence hit rate (cites a gold evidence sentence)", est("sentence_hit_rate")],
        ["sentence-level citation precision", est("sentence_citation_precision")],
        ["sentence-level citation recall", est("sentence_citation_recall")],
        ["citations verbatim", est("citation_verbatim_rate")],
        ["NEI claims (no evidence)", s["nei_claims"]],
        ["NEI abstention rate", est("nei_abstention_rate")],
        ["abstention rate on claims with evidence", est("evidence_abstention_rate")],
        ["answer latency p50 / p95 (ms)", fmt_ms(s["latency_ms"]["p50"], s["latency_ms"]["p95"])],
    ]
    notes = [(f"{sf['path']} ({sf['split']} split): each claim is given to Engine.answer over the {sf['documents']}-"
              f"abstract corpus; a citation is mapped to the abstract sentence(s) its span overlaps.")]
    return ("SciFact (original format, sentence evidence)", ["metric", "value"], rows, notes)


# --- failing questions


def judged(qs: dict) -> list[dict]:
    """The per-question records that carry the judgements a failure is read from."""
    return [r for r in qs.get("questions") or [] if {"answerable", "abstained", "split"} <= r.keys()]


def failing(records: Sequence[dict]) -> list[tuple[dict, str]]:
    """(record, why it fails) for every failing question, in the order asked."""
    return [(r, why) for r in records if (why := failure(r)) is not None]


def first_sentences(answer: str, n: int = 2, limit: int = 400) -> str:
    """The answer's first `n` sentences: the text up to its n-th run of citation markers ("… [1] … [2][3]")."""
    parts = re.split(r"(?<=\])\s+(?=[^\[\s])", " ".join(answer.split()))
    text = " ".join(parts[:n]) + (" …" if len(parts) > n else "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cited_docs(record: dict) -> list[str]:
    return list(dict.fromkeys(c.rsplit(":", 1)[0] for c in record.get("cited", [])))


def _quoted(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= limit else text[: limit - 1].rstrip() + "…") + "”"


def expected_text(record: dict) -> str:
    if not record["answerable"]:
        return "to abstain: the corpus does not answer this"
    if "expected_key_fact" not in record:  # a report written before the expectations were recorded
        return "the key fact (not recorded in this report; see the question set)"
    docs = ", ".join(record["expected_docs"]) or "no document"
    quotes = "; ".join(_quoted(q) for q in record["expected_quotes"])
    fact = f"key fact {_quoted(record['expected_key_fact'])}"
    if record.get("abstention_acceptable"):
        fact += " (or an abstention: a false premise)"
    return f"{fact} from {docs}" + (f", quote {quotes}" if quotes else "")


def returned_text(record: dict) -> str:
    if record["abstained"]:
        return f"abstained: {_quoted(record.get('reason') or record['answer'])}"
    docs = ", ".join(cited_docs(record)) or "nothing"
    return f"{_quoted(first_sentences(record['answer']), limit=400)} citing {docs}"


def failing_markdown(qs: dict) -> list[str]:
    """The markdown section listing every failing question: what was expected and what came back."""
    records = judged(qs)
    fails = failing(records)
    lines = ["## Failing questions", ""]
    kinds = {}
    for _, why in fails:
        kinds[why] = kinds.get(why, 0) + 1
    lines += [f"{len(fails)} of {len(records)} questions fail"
              + (": " + ", ".join(f"{n} {why}" for why, n in kinds.items()) if kinds else "") + ".", ""]
    for part in sorted({r["split"] for r, _ in fails}):  # dev, then test
        part_fails = [(r, why) for r, why in fails if r["split"] == part]
        in_part = sum(r["split"] == part for r in records)
        lines += [f"### {part} part ({len(part_fails)} of {in_part})", ""]
        for r, why in part_fails:
            question = f": {' '.join(r['question'].split())}" if r.get("question") else ""
            lines += [f"- **{r['id']}** ({r['category']}) {why}{question}",
                      f"  - expected: {expected_text(r)}",
                      f"  - came back: {returned_text(r)}"]
        lines.append("")
    return lines


def failing_console(qs: dict) -> str:
    records = judged(qs)
    fails = failing(records)
    by_kind: dict[str, list[str]] = {}
    for r, why in fails:
        by_kind.setdefault(why, []).append(r["id"])
    return "\n".join([f"\n== Failing questions: {len(fails)} of {len(records)} (listed in the markdown report) ==",
                      *[f"{why} ({len(ids)}): {', '.join(ids)}" for why, ids in by_kind.items()]])


def sections(report: dict) -> list[tuple[str, list[str], list[list], list[str]]]:
    out = []
    if "question_set" in report:
        out += question_set_tables(report["question_set"])
    if "compare" in report:
        out.append(compare_table(report["compare"]))
    if "beir" in report:
        out.append(beir_table(report["beir"]))
    if "scifact" in report:
        out.append(scifact_table(report["scifact"]))
    return out


def console_text(report: dict) -> str:
    parts = []
    for title, headers, rows, notes in sections(report):
        parts.append(f"\n== {title} ==")
        parts += [n.replace("**", "") for n in notes]
        parts.append(text_table(headers, rows))
    if "question_set" in report:
        parts.append(failing_console(report["question_set"]))
    if "gate" in report:
        g = report["gate"]
        on = f" ({g['split']} part)" if g.get("split") else ""
        parts.append(f"\ngate{on}: " + ("pass" if not g["failures"] else "FAIL\n  " + "\n  ".join(g["failures"])))
    return "\n".join(parts)


def markdown(report: dict) -> str:
    lines = [f"# citeqa eval: {report['name']}", "", f"Created {report['created']} with `{report['command']}`.", ""]
    if report.get("settings"):
        lines += ["Settings: " + ", ".join(f"{k}={v}" for k, v in report["settings"].items()), ""]
    for title, headers, rows, notes in sections(report):
        lines += [f"## {title}", ""]
        for n in notes:
            lines += [n, ""]
        lines += [md_table(headers, rows), ""]
    if "gate" in report:
        g = report["gate"]
        on = f"On the {g['split']} part: " if g.get("split") else ""
        lines += ["## Regression gate", "", on + ("pass" if not g["failures"] else "FAIL: " + "; ".join(g["failures"])),
                  ""]
    if "question_set" in report:
        lines += failing_markdown(report["question_set"])
    if report.get("curves"):
        lines += ["## Recall@k", "", f"![recall@k per configuration]({report['name']}.png)", ""]
    if "question_set" in report:
        lines += ["## Definitions", "", *[f"- {d}" for d in DEFINITIONS], ""]
    return "\n".join(lines)


# --- chart


def curves(report: dict) -> dict[str, dict[str, dict[str, float]]]:
    """{panel title: {configuration: {k: recall}}} for every ranking in the report."""
    panels: dict[str, dict[str, dict[str, float]]] = {}
    if "question_set" in report:
        parts = summary_parts(report["question_set"])
        for name, s in parts:
            label = s["label"] if "splits" not in report["question_set"] else f"{name} {s['label']}"
            for level in ("document", "passage"):
                panels.setdefault(f"question set: {level}s", {})[label] = s["retrieval"][level]["recall_curve"]
    if "compare" in report:
        for entry in report["compare"]["configurations"]:
            for level in ("document", "passage"):
                panels.setdefault(f"compare: {level}s", {})[entry["label"]] = \
                    entry["summary"]["retrieval"][level]["recall_curve"]
    if "beir" in report:
        b = report["beir"]
        panels[f"BEIR {b['dataset']}: documents"] = {m: v["recall_curve"] for m, v in b["modes"].items()}
    return {title: {label: c for label, c in lines.items() if c} for title, lines in panels.items() if lines}


def chart_png(panels: dict[str, dict[str, dict[str, float]]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"dense": "--", "bm25": ":", "hybrid": "-"}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, (title, lines) in zip(axes[0], panels.items()):
        # one colour per chunk size (the label's first word), one line style per retrieval mode
        groups = list(dict.fromkeys(label.split()[0] for label in lines))
        palette = plt.get_cmap("tab10")
        for label, curve in lines.items():
            ks = sorted(int(k) for k in curve)
            words = label.split()
            color = palette(groups.index(words[0]) % 10) if len(words) > 1 else None
            ax.plot(ks, [curve[str(k)] for k in ks], marker="o", markersize=4, label=label, color=color,
                    linestyle=styles.get(words[-1], "-"))
        ax.set_xscale("log")
        ks = sorted({int(k) for c in lines.values() for k in c})
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_report(report: dict, reports_dir: Path | None = None) -> dict[str, Path]:
    """Write <name>.json, <name>.md and (when the report has rankings) <name>.png; returns the paths."""
    reports_dir = Path(reports_dir or REPORTS_DIR)
    name = report["name"]
    report = {**report, "curves": curves(report)}
    paths = {"json": reports_dir / f"{name}.json", "md": reports_dir / f"{name}.md"}
    atomic_write_text(paths["json"], json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if report["curves"]:
        paths["png"] = reports_dir / f"{name}.png"
        atomic_write_bytes(paths["png"], chart_png(report["curves"]))
    atomic_write_text(paths["md"], markdown(report))
    return paths
