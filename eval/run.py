"""What `citeqa eval` does: run the requested evaluations, print their tables and write the report."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from citeqa.settings import Settings
from citeqa.eval import report as reporting
from citeqa.eval.intervals import beir_intervals, scifact_intervals
from citeqa.eval.metrics import RETRIEVAL_METRICS
from citeqa.eval.runner import DEFAULT_SET, evaluate_engine, load_questions
from citeqa.eval.split import SELECTIONS, select


def default_name(run_set: bool, compare: bool, beir: Path | None, scifact: Path | None, split: str = "all") -> str:
    parts = []
    if compare:
        parts.append("compare")
    elif run_set:
        parts.append("questions")
    if run_set and split != "all":
        parts[-1] += f"-{split}"
    if beir:
        parts.append(f"beir-{Path(beir).resolve().name}")
    if scifact:
        parts.append(f"scifact-{Path(scifact).resolve().name}")
    return "+".join(parts)


def run(
    settings: Settings,
    set_file: Path | None = None,
    name: str | None = None,
    compare: bool = False,
    beir: Path | None = None,
    scifact: Path | None = None,
    work_dir: Path | None = None,
    limit: int | None = None,
    split: str = "all",
    reports_dir: Path | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    engine=None,
    embedder=None,
) -> tuple[dict, dict[str, Path]]:
    """The question set runs when asked for (`set_file`, `compare`) or when no benchmark is; returns (report, paths).

    `split` picks the questions of one part of the fixed dev/test split (eval/split.py) or all of them, before
    `limit`; a run over all reports each part beside the whole. The gate checks the dev part of the shipped set.
    `reports_dir` is where the report goes (default eval/reports under the working directory).
    `engine` / `embedder` let a caller that already holds them (tests) skip loading the model again.
    """
    from citeqa.index.embedder import Embedder

    if split not in SELECTIONS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SELECTIONS)}")
    run_set = set_file is not None or compare or not (beir or scifact)
    set_file = Path(set_file or DEFAULT_SET)
    name = name or default_name(run_set, compare, beir, scifact, split)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid report name {name!r}: use letters, digits, '-', '_' or '+'")
    if embedder is None:
        embedder = engine.retriever.embedder if engine is not None else Embedder(settings.model, settings.embed_batch_size)
    report: dict = {
        "name": name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "citeqa " + shlex.join(sys.argv[1:]) if Path(sys.argv[0]).name == "citeqa" else f"citeqa.eval.run.run(name={name!r})",
        "settings": {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
                     "retrieval_mode": settings.retrieval_mode, "answer_mode": settings.answer_mode,
                     "model": "/".join(Path(settings.model).parts[-2:]) if Path(settings.model).exists()
                     else settings.model,
                     "answering": asdict(settings.answering())},  # every number of answering, so runs compare
    }
    if run_set:
        questions = select(load_questions(set_file), split)[:limit]  # a slice up to None keeps them all
        if not questions:
            raise ValueError(f"{set_file} has no question in the {split} part")
        if compare:
            from citeqa.eval.compare import run_compare

            report["compare"] = run_compare(settings, embedder, questions, progress=progress, log=echo)
            report["compare"]["set"] = str(set_file)
            report["compare"]["split"] = split
            report["compare"]["command"] = report["command"]
        else:
            if engine is None:
                from citeqa.service.engine import Engine

                engine = Engine.load(settings, embedder)
                if engine.stale:
                    echo(f"warning: the index is stale ({'; '.join(engine.stale)}); run `citeqa index` first")
            result = evaluate_engine(engine, questions, progress=progress)
            report["question_set"] = {"set": str(set_file), "split": split, **result}
            if set_file.resolve() == DEFAULT_SET.resolve() and not limit:
                from citeqa.eval.gate import GATE_SPLIT, check, gated_summary, load_thresholds

                gated = gated_summary(result)
                if gated is None:
                    echo(f"gate not checked: it checks the {GATE_SPLIT} part, which this run left out")
                else:
                    report["gate"] = {"split": GATE_SPLIT, "failures": check(gated, load_thresholds())}
    if beir:
        from citeqa.eval.beir import run_beir

        report["beir"] = run_beir(Path(beir), settings, embedder, work_dir=work_dir, progress=progress, log=echo)
        for mode_result in report["beir"]["modes"].values():
            mode_result["intervals"] = beir_intervals(mode_result, RETRIEVAL_METRICS)
    if scifact:
        from citeqa.eval.scifact import run_scifact

        report["scifact"] = run_scifact(Path(scifact), settings, embedder, limit=limit, work_dir=work_dir,
                                        progress=progress, log=echo)
        report["scifact"]["summary"]["intervals"] = scifact_intervals(report["scifact"]["claims"])
    echo(reporting.console_text(report))
    paths = reporting.write_report(report, reports_dir)
    echo("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return report, paths
