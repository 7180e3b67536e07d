"""Public benchmarks (minutes to hours: `pytest -m slow`). SciFact in BEIR format and in its original format.

The benchmark copies are read from $CITEQA_BENCHMARKS (default ../shared/benchmarks beside the checkout). Indexing the 5,183
abstracts is the slow part (about 75 minutes on two busy cores), so the index is kept under $CITEQA_EVAL_WORK_DIR
(default var/eval-bench) and reused by later runs while the documents, chunk settings, model and unit code match.

Minimums are the figures measured with the default settings (chunks 600/100, hybrid), minus a small margin:
BEIR SciFact nDCG@10 bm25 0.662, dense 0.665, hybrid 0.719; Recall@10 0.786 / 0.814 / 0.850
(published: BM25 0.665, all-MiniLM-L6-v2 0.645).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from citeqa.settings import Settings
from tests.paths import ROOT

pytestmark = pytest.mark.slow

BENCHMARKS = Path(os.environ.get("CITEQA_BENCHMARKS", ROOT.parent / "shared" / "benchmarks"))
WORK_DIR = Path(os.environ.get("CITEQA_EVAL_WORK_DIR", ROOT / "var" / "eval-bench"))
MARGIN = 0.02

BEIR_MIN = {
    "bm25": {"ndcg@10": 0.662, "recall@10": 0.786},
    "dense": {"ndcg@10": 0.665, "recall@10": 0.814},
    "hybrid": {"ndcg@10": 0.719, "recall@10": 0.850},
}
SCIFACT_MIN = {
    "document_hit_rate": 0.814,
    "sentence_hit_rate": 0.622,
    "sentence_citation_precision": 0.302,
    "sentence_citation_recall": 0.366,
    "nei_abstention_rate": 0.179,
}


def folder(name: str) -> Path:
    path = BENCHMARKS / name
    if not path.is_dir():
        pytest.skip(f"{path} is not here; set CITEQA_BENCHMARKS to the folder holding {name}/")
    return path


def test_beir_scifact(embedder):
    from citeqa.eval.beir import run_beir

    result = run_beir(folder("scifact"), Settings(), embedder, work_dir=WORK_DIR, progress=False)
    assert (result["documents"], result["queries"], result["qrels"]) == (5183, 300, 339)
    modes = result["modes"]
    print({m: {k: round(v[k], 4) for k in ("ndcg@10", "recall@10", "mrr@10")} for m, v in modes.items()})
    for mode, minima in BEIR_MIN.items():
        for metric, measured in minima.items():
            assert modes[mode][metric] >= measured - MARGIN, f"{mode} {metric} {modes[mode][metric]:.4f}"
    assert modes["hybrid"]["ndcg@10"] > max(modes["bm25"]["ndcg@10"], modes["dense"]["ndcg@10"])


def test_scifact_original_dev(embedder):
    from citeqa.eval.scifact import run_scifact

    result = run_scifact(folder("scifact-original"), Settings(), embedder, work_dir=WORK_DIR, progress=False)
    s = result["summary"]
    print({k: v for k, v in s.items() if k != "latency_ms"})
    assert (s["claims"], s["evidence_claims"], s["nei_claims"]) == (300, 188, 112)
    assert s["citations"] > 0 and s["citation_verbatim_rate"] == 1.0
    for metric, measured in SCIFACT_MIN.items():
        assert s[metric] >= measured - MARGIN, f"{metric} {s[metric]:.4f}"
