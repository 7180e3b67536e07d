"""BEIR and SciFact-original plumbing end to end, on tiny benchmark folders written by the tests: the real
model, a real index built by build_index, real FAISS and BM25."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citeqa.cli import app
from citeqa.settings import Settings
from citeqa.eval import report as reporting
from citeqa.eval.beir import run_beir
from citeqa.eval.scifact import run_scifact

DOCS = {
    "bee/1": ("Honeybee communication", (
        "Honeybees perform a waggle dance inside the hive. The angle and duration of the dance tell "
        "other foragers the direction and distance of a flower patch.")),
    "tide": ("Ocean tides", (
        "Tides are the rise and fall of sea levels caused by the gravitational pull of the Moon and the "
        "Sun on the oceans. Most coasts see two high tides a day.")),
    "moon": ("The Moon", (
        "The Moon orbits the Earth every 27.3 days. Its gravity raises the ocean tides, and the tidal "
        "bulge slowly lengthens the day.")),
    "mercury": ("Mercury (element)", (
        "Mercury is the only metal that is liquid at room temperature. It was used in thermometers and "
        "barometers.")),
    "volcano": ("Volcanoes", (
        "A volcano is a rupture in the crust where lava, ash and gases escape from a magma chamber below "
        "the surface.")),
    "bread": ("Sourdough", (
        "Sourdough bread is leavened by wild yeast and lactic acid bacteria kept in a starter culture of "
        "flour and water.")),
    "chess": ("Chess openings", (
        "The Sicilian Defence is a chess opening that begins with 1.e4 c5 and leads to sharp, "
        "asymmetrical positions.")),
    "glacier": ("Glaciers", (
        "A glacier is a persistent body of dense ice that moves under its own weight and carves valleys "
        "into the rock it flows over.")),
    "jazz": ("Bebop", (
        "Bebop is a style of jazz with fast tempos, complex chord progressions and virtuoso "
        "improvisation that developed in the 1940s.")),
    "rust": ("Rust (corrosion)", "Rust is iron oxide that forms when iron reacts with oxygen and water over time."),
}
QUERIES = {
    "q1": ("How do honeybees tell other bees where flowers are?", {"bee/1": 1}),
    "q2": ("What causes ocean tides?", {"tide": 1, "moon": 1}),
    "q3": ("Which metal is liquid at room temperature?", {"mercury": 1}),
}


@pytest.fixture(scope="module")
def beir_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("beir-fixture")
    (root / "qrels").mkdir()
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"_id": d, "title": t, "text": x, "metadata": {}}) + "\n" for d, (t, x) in DOCS.items())
    with open(root / "queries.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"_id": qid, "text": text}) + "\n" for qid, (text, _) in QUERIES.items())
        fh.write(json.dumps({"_id": "q-unjudged", "text": "What is bebop?"}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, (_, rel) in QUERIES.items() for d, s in rel.items()]
    (root / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_beir_scores_each_mode_at_document_level(beir_dir, embedder, tmp_path):
    result = run_beir(beir_dir, Settings(), embedder, work_dir=tmp_path, progress=False)
    assert (result["documents"], result["queries"], result["qrels"]) == (10, 3, 4)
    assert set(result["modes"]) == {"bm25", "dense", "hybrid"}
    for mode, m in result["modes"].items():
        # well-separated topics: the relevant document comes first, and both tide documents make the top 10
        assert m["mrr@10"] == 1.0, mode
        assert m["recall@10"] == 1.0, mode
        assert m["per_query"]["q2"]["recall@1"] == 0.5, mode  # two relevant documents, one slot
        assert 0.9 < m["ndcg@10"] <= 1.0, mode
        assert set(m["per_query"]) == {"q1", "q2", "q3"}  # the unjudged query is not scored
    assert not result["index"]["reused"]

    again = run_beir(beir_dir, Settings(), embedder, work_dir=tmp_path, progress=False, modes=("bm25",))
    assert again["index"]["reused"]
    assert again["modes"]["bm25"]["ndcg@10"] == result["modes"]["bm25"]["ndcg@10"]


def test_beir_without_work_dir_leaves_no_temporary_index(beir_dir, embedder, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run_beir(beir_dir, Settings(), embedder, modes=("dense",), progress=False)
    assert result["modes"]["dense"]["recall@10"] == 1.0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("citeqa-bench-")] == []


def test_cli_eval_beir_writes_the_report(beir_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(reporting, "REPORTS_DIR", tmp_path)
    result = CliRunner().invoke(app, ["eval", "--beir", str(beir_dir), "--name", "fixture"])
    assert result.exit_code == 0, result.output
    assert "BEIR" in result.output and "nDCG@10" in result.output
    data = json.loads((tmp_path / "fixture.json").read_text(encoding="utf-8"))
    assert data["beir"]["modes"]["hybrid"]["recall@10"] == 1.0
    assert "question_set" not in data  # a benchmark alone does not run the question set
    assert (tmp_path / "fixture.png").read_bytes()[:4] == b"\x89PNG"
    assert "| hybrid |" in (tmp_path / "fixture.md").read_text(encoding="utf-8")


def test_cli_eval_rejects_a_missing_folder(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--beir", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


# --- SciFact, original format

ABSTRACTS = [
    {"doc_id": 11, "title": "Waggle dance", "abstract": [
        "Honeybees share food locations with nestmates.  ",
        "The waggle dance encodes the direction of a food source relative to the sun.\n",
        "Dance duration encodes the distance to the food source."], "structured": False},
    {"doc_id": 22, "title": "Liquid metals", "abstract": [
        "Most metals are solid at room temperature.",
        "Mercury is the only metal that is liquid at room temperature.",
        "Gallium melts just above room temperature."], "structured": False},
    {"doc_id": 33, "title": "Tides", "abstract": [
        "Tides are caused by the gravitational pull of the Moon.",
        "Spring tides occur when the Sun and Moon align."], "structured": False},
]
CLAIMS = [
    {"id": 1, "claim": "The waggle dance encodes the direction of a food source relative to the sun.",
     "evidence": {"11": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [11]},
    {"id": 2, "claim": "Mercury is the only metal that is liquid at room temperature.",
     "evidence": {"22": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [22]},
    {"id": 3, "claim": "Quantum chromodynamics predicts quark confinement in hadrons.", "evidence": {},
     "cited_doc_ids": [33]},
]


def test_scifact_maps_citations_to_gold_sentences(embedder, tmp_path):
    folder = tmp_path / "scifact"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(a) for a in ABSTRACTS) + "\n", encoding="utf-8")
    (folder / "claims_dev.jsonl").write_text("\n".join(json.dumps(c) for c in CLAIMS) + "\n", encoding="utf-8")
    result = run_scifact(folder, Settings(), embedder, progress=False)
    s = result["summary"]
    assert (s["claims"], s["evidence_claims"], s["nei_claims"]) == (3, 2, 1)
    assert s["citations"] > 0 and s["citation_verbatim_rate"] == 1.0
    # each claim is an evidence sentence word for word: the answer must cite that sentence of that abstract
    assert s["document_hit_rate"] == 1.0 and s["sentence_hit_rate"] == 1.0
    by_id = {r["id"]: r for r in result["claims"]}
    assert "11:1" in by_id[1]["cited"] and "22:1" in by_id[2]["cited"]
    assert 0 < s["sentence_citation_precision"] <= 1.0 and s["sentence_citation_recall"] == 1.0
    for r in result["claims"]:
        for pair in r["cited"]:
            doc, i = pair.split(":")
            assert 0 <= int(i) < len(next(a["abstract"] for a in ABSTRACTS if str(a["doc_id"]) == doc))


def test_scifact_refuses_a_split_without_labels(embedder, tmp_path):
    (tmp_path / "corpus.jsonl").write_text(json.dumps(ABSTRACTS[0]) + "\n", encoding="utf-8")
    (tmp_path / "claims_test.jsonl").write_text(json.dumps({"id": 1, "claim": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no evidence labels"):
        run_scifact(tmp_path, Settings(), embedder, split="test", progress=False)
