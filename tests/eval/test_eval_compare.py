"""`--compare` plumbing and the question-set runner on a tiny corpus: one index per chunk size, every mode."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from citeqa.settings import Settings
from citeqa.eval.compare import overlap_for, run_compare
from citeqa.eval.report import write_report
from citeqa.eval.run import run
from citeqa.eval.runner import load_questions

DOCS = {
    "lighthouses": "Lighthouses\n\nA lighthouse is a tower that emits light to guide ships at night. The Pharos of "
    "Alexandria, built around 280 BC, stood more than 100 metres tall. Fresnel lenses, invented in 1822 by "
    "Augustin-Jean Fresnel, concentrate the lamp's light into a beam visible for over 20 nautical miles.\n\n"
    "Keepers\n\nLighthouse keepers trimmed the wicks and wound the clockwork that turned the lens. Most lights "
    "were automated during the twentieth century, and the last keepers in Britain left in 1998.\n",
    "bread": "Sourdough\n\nSourdough bread is leavened by a starter culture of wild yeast and lactic acid "
    "bacteria. A starter is fed with equal weights of flour and water every day. The bacteria produce lactic "
    "and acetic acids, which give the bread its sour taste and help it keep for longer.\n\nBaking\n\nA typical "
    "loaf is baked at 230 degrees Celsius for about 40 minutes, covered for the first half to trap steam.\n",
    "glaciers": "Glaciers\n\nA glacier is a persistent body of dense ice that moves under its own weight. Glaciers "
    "form where snow accumulates faster than it melts over many years. The Lambert Glacier in Antarctica is "
    "the largest glacier in the world, about 400 kilometres long.\n\nRetreat\n\nMost mountain glaciers have "
    "retreated since 1850, and their meltwater feeds rivers that millions of people rely on.\n",
}
QUESTIONS = [
    {"id": "t1", "question": "When was the Fresnel lens invented?", "expected_docs": ["lighthouses"],
     "expected_quotes": ["Fresnel lenses, invented in 1822 by Augustin-Jean Fresnel"], "key_fact": "1822",
     "category": "number/date", "answerable": True},
    {"id": "t2", "question": "At what temperature is a sourdough loaf baked?", "expected_docs": ["bread"],
     "expected_quotes": ["baked at 230 degrees Celsius for about 40 minutes"], "key_fact": "230 degrees",
     "category": "number/date", "answerable": True},
    {"id": "t3", "question": "Which is the largest glacier in the world?", "expected_docs": ["glaciers"],
     "expected_quotes": ["The Lambert Glacier in Antarctica is the largest glacier in the world"],
     "key_fact": "Lambert Glacier", "category": "fact", "answerable": True},
    {"id": "t4", "question": "What is the top speed of a cheetah in km/h?", "expected_docs": [],
     "expected_quotes": [], "key_fact": "", "category": "unanswerable", "answerable": False},
]


@pytest.fixture()
def tiny(tmp_path) -> tuple[Settings, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / f"{name}.txt").write_text(text, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), questions


def test_overlap_scales_with_chunk_size():
    assert [overlap_for(s) for s in (400, 600, 800, 1000)] == [67, 100, 133, 167]


def test_compare_runs_every_chunk_size_and_mode(tiny, embedder, tmp_path, monkeypatch):
    settings, questions = tiny
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cmp = run_compare(settings, embedder, load_questions(questions), chunk_sizes=(400, 1000), modes=("bm25", "hybrid"),
                      progress=False)
    labels = [c["label"] for c in cmp["configurations"]]
    assert labels == ["400/67 bm25", "400/67 hybrid", "1000/167 bm25", "1000/167 hybrid"]
    assert cmp["best"] in labels
    assert cmp["best_settings"]["chunk_size"] in (400, 1000)
    chunks = {c["chunk_size"]: c["chunks"] for c in cmp["configurations"]}
    assert chunks[400] > chunks[1000]  # smaller chunks, more of them
    for c in cmp["configurations"]:
        s = c["summary"]
        assert (s["chunk_size"], s["chunk_overlap"], s["retrieval_mode"], s["questions"], s["answerable"]) == (
            c["chunk_size"], c["chunk_overlap"], c["mode"], 4, 3)
        assert s["answer"]["citation_verbatim_rate"] == 1.0
        assert s["retrieval"]["document"]["recall@5"] == 1.0  # three documents
        assert s["retrieval"]["passage"]["queries"] == 3
        assert set(c["splits"]) == {"test"}  # the best is picked on dev when there is one (here: none)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("citeqa-compare-")] == []  # indexes removed
    paths = write_report({"name": "cmp", "created": "now", "command": "citeqa eval --compare", "compare": cmp},
                         tmp_path / "reports")
    md = paths["md"].read_text(encoding="utf-8")
    assert "## Configuration comparison" in md and "| 1000/167 hybrid |" in md
    assert paths["png"].exists()


def test_question_set_run_on_an_engine(tiny, embedder, tmp_path):
    from citeqa.index.builder import build_index
    from citeqa.index.retriever import Retriever
    from citeqa.service.engine import Engine

    settings, questions = tiny
    build_index(settings.index_config(), embedder)
    engine = Engine(settings, Retriever.open(settings.index_config(), embedder))
    report, paths = run(settings, set_file=questions, reports_dir=tmp_path / "r", progress=False,
                        echo=lambda _: None, engine=engine)
    qs = report["question_set"]
    assert [q["id"] for q in qs["questions"]] == ["t1", "t2", "t3", "t4"]
    s = qs["summary"]
    assert s["retrieval"]["document"]["mrr@10"] == 1.0  # distinct topics: the right document first
    assert s["answer"]["citation_verbatim_rate"] == 1.0 and s["answer"]["citations"] > 0
    assert s["answer"]["expected_doc_citation_rate"] == 1.0
    assert "gate" not in report  # thresholds belong to the shipped question set only
    assert json.loads(paths["json"].read_text())["question_set"]["summary"]["questions"] == 4
    # t1-t4 all hash into the test part: it is the only part, and --split dev finds nothing to run
    assert {q["split"] for q in qs["questions"]} == {"test"} and set(qs["splits"]) == {"test"}
    assert qs["splits"]["test"]["answer"] == s["answer"] and s["split"] == "test"
    with pytest.raises(ValueError, match="no question in the dev part"):
        run(settings, set_file=questions, split="dev", reports_dir=tmp_path / "r", progress=False,
            echo=lambda _: None, engine=engine)
    with pytest.raises(ValueError, match="unknown split"):
        run(settings, set_file=questions, split="train", reports_dir=tmp_path / "r", progress=False,
            echo=lambda _: None, engine=engine)
