"""The benchmarks run end to end on a tiny setting and produce their table and JSON. No timing is asserted:
the figures of a tiny run on a shared machine mean nothing, only their presence and shape are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.serving import STAGES
from tests.paths import ROOT

# A guard against a hung run, not a claim about speed.
GIVE_UP_S = 1200


def run_bench(module: str, out: Path, *extra: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", module, "--tiny", "--out", str(out), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=GIVE_UP_S, check=False,
    )
    assert proc.returncode == 0, f"{module} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert out.exists(), f"{module} wrote no JSON"
    return proc.stdout


def test_serving_benchmark_tiny(tmp_path):
    out = tmp_path / "serving.json"
    stdout = run_bench("bench.serving", out)
    result = json.loads(out.read_text())

    for key in ("machine", "process", "build", "cold_start_s", "floor_ms", "c1", "levels", "stages_ms",
                "serialization_ms", "server_peak_rss_mib", "targets"):
        assert key in result, key
    assert result["floor_ms"]["p50"] > 0
    for key in ("p50_ms", "p95_ms", "p99_ms", "throughput_rps", "errors", "requests"):
        assert key in result["c1"], key
    assert result["c1"]["ok"] > 0
    assert [lvl["concurrency"] for lvl in result["levels"]] == [4, 16, 64]
    for lvl in result["levels"]:
        for key in ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "errors", "ok", "mean_embed_batch"):
            assert key in lvl, key
        assert lvl["ok"] > 0
    stages = result["stages_ms"]["c1"]
    for stage in (*STAGES, "total"):
        assert stage in stages, stage
    assert "model_dump_json_ms" in result["serialization_ms"]
    for key in ("build_s", "bare_encode_s", "ratio", "units"):
        assert key in result["build"], key
    assert result["cold_start_s"] > 0 and result["server_peak_rss_mib"] > 0
    assert {t["target"] for t in result["targets"]} == {
        "p50_c1_vs_floor", "throughput_c16_vs_c1", "p95_c16_vs_p50_c1", "build_vs_encode",
    }
    assert all(t["status"] in ("pass", "miss") for t in result["targets"])
    assert result["model_ceiling"]["questions_per_s"] > 0 and result["model_ceiling"]["cpu_ms_per_question"] > 0
    for lvl in [result["c1"], *result["levels"]]:
        assert set(lvl["cpu_ms_per_answer"]) == {"server", "model_processes", "load_client"}
    assert result["levels"][1]["cpu_ms_per_answer"]["model_processes"] > 0  # the model ran outside the server process
    assert result["bounds"]["max_answers_per_s_c16"] > 0 and result["bounds"]["max_throughput_ratio"] > 0

    for text in ("bare encode, 1 question (floor)", "/v1/ask", "Per-stage p50", "serialization", "cold start",
                 "peak RSS", "Targets", "index build / bare encode", "model alone", "CPU per answer", "CPU budget"):
        assert text in stdout, text


def test_scale_benchmark_tiny(tmp_path):
    out = tmp_path / "scale.json"
    stdout = run_bench("bench.scale", out)
    result = json.loads(out.read_text())

    kinds = {row["kind"] for row in result["dense"]}
    assert kinds == {"flat", "hnsw", "ivfpq", "ivfsq8"}
    for row in result["dense"]:
        assert row["n"] == 2_000
        for key in ("build_s", "index_mib", "query_p50_ms", "query_p50_ms_1thread", "recall_at_10", "load_s"):
            assert key in row, key
        assert 0.0 <= row["recall_at_10"] <= 1.0
    assert next(r for r in result["dense"] if r["kind"] == "flat")["recall_at_10"] == 1.0

    (bm25,) = result["bm25"]
    for key in ("index_s", "rss_delta_mib", "disk_mib", "query_p50_ms", "query_p50_ms_fast_topk"):
        assert key in bm25, key

    service = result["service"]
    assert service["chunks"] > 0 and service["sentences"] > service["chunks"]
    # tiny thresholds: the sentences cross hnsw_min_units, the chunks do not -> `auto` picked both kinds
    assert service["dense_kinds"] == {"chunks": "flat", "sentences": "hnsw"}
    assert "retrieve_p50_ms" in service

    for text in ("Dense indexes", "recall@10", "BM25", "normal builder", "Exact search costs"):
        assert text in stdout, text
