"""`citeqa eval --compare`: the question set under each retrieval mode and several chunk sizes.

Each chunk size gets its own index, built by `build_index` in a temporary folder from the configured corpus;
every retrieval mode then runs over that index through `Engine.search` and `Engine.answer`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from citeqa.settings import Settings
from citeqa.eval.runner import evaluate_engine
from citeqa.index.embedder import Embedder

CHUNK_SIZES = (400, 600, 800, 1000)
MODES = ("dense", "bm25", "hybrid")
OVERLAP_RATIO = 1 / 6  # the shipped 600/100, scaled
RANKING = ("key_fact_rate", "citation_precision", "expected_doc_citation_rate")
RANKING_TEXT = ("key-fact rate, then citation precision, then expected-document citation rate, then passage nDCG@10, "
                "on the dev part")


def overlap_for(chunk_size: int) -> int:
    return round(chunk_size * OVERLAP_RATIO)


def rank_key(summary: dict) -> tuple:
    a = summary["answer"]
    return (*[(a[m] or 0.0) for m in RANKING], summary["retrieval"]["passage"]["ndcg@10"] or 0.0)


def run_compare(
    base: Settings,
    embedder: Embedder,
    questions: list[dict],
    chunk_sizes: Sequence[int] = CHUNK_SIZES,
    modes: Sequence[str] = MODES,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    from citeqa.index.builder import build_index
    from citeqa.index.retriever import Retriever
    from citeqa.service.engine import Engine

    configurations = []
    for size in chunk_sizes:
        overlap = overlap_for(size)
        tmp = Path(tempfile.mkdtemp(prefix=f"citeqa-compare-{size}-"))
        try:
            settings = base.model_copy(update={"chunk_size": size, "chunk_overlap": overlap, "index_dir": tmp})
            report = build_index(settings.index_config(), embedder)
            log(f"chunks {size}/{overlap}: {report.chunks} chunks, {report.sentences} sentences ({report.seconds:.0f}s)")
            engine = Engine(settings, Retriever.open(settings.index_config(), embedder))
            for mode in modes:
                label = f"{size}/{overlap} {mode}"
                result = evaluate_engine(engine, questions, retrieval_mode=mode, progress=progress, label=label)
                configurations.append({"label": label, "chunk_size": size, "chunk_overlap": overlap, "mode": mode,
                                       "chunks": report.chunks, "summary": result["summary"],
                                       "splits": result["splits"]})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    # chosen on the dev part when it ran (tune on dev); all questions only when the selection held no dev question
    best = max(configurations, key=lambda c: rank_key(c["splits"].get("dev", c["summary"])))
    return {
        "chunk_sizes": list(chunk_sizes),
        "modes": list(modes),
        "ranking": RANKING_TEXT,
        "best": best["label"],
        "best_settings": {"chunk_size": best["chunk_size"], "chunk_overlap": best["chunk_overlap"],
                          "retrieval_mode": best["mode"]},
        "configurations": configurations,
    }
