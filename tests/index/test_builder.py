"""Builds are atomic, incremental, and refuse an index made with another model."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from citeqa.index.builder import build_index
from citeqa.index.params import IndexConfig
from citeqa.index.retriever import Retriever
from citeqa.index.store import (
    IndexMismatchError,
    IndexMissingError,
    current_build,
    read_manifest,
)
from tests.paths import ROOT

SMALL = ["what-is-baclofen.txt", "baclofen-encyclopedia.txt"]


@pytest.fixture()
def small_corpus(tmp_path: Path) -> IndexConfig:
    """The index used as a library: a parameter object, no app-wide Settings."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL:
        shutil.copyfile(ROOT / "corpus" / name, corpus / name)
    return IndexConfig(corpus_dir=corpus, index_dir=tmp_path / "index")


def test_missing_index_names_the_fix(small_corpus, embedder):
    with pytest.raises(IndexMissingError, match="citeqa index"):
        Retriever.open(small_corpus, embedder)


def test_incremental_rebuild_reembeds_only_the_changed_file(small_corpus, embedder):
    first = build_index(small_corpus, embedder)
    assert sorted(first.embedded) == ["baclofen-encyclopedia", "what-is-baclofen"]

    unchanged = build_index(small_corpus, embedder)
    assert unchanged.embedded == [] and sorted(unchanged.reused) == sorted(first.embedded)

    path = small_corpus.corpus_dir / "what-is-baclofen.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nBaclofen tablets are white.\n", encoding="utf-8")
    (small_corpus.corpus_dir / "new-note.md").write_text("# Note\n\nTizanidine is another muscle relaxant.\n")
    edited = build_index(small_corpus, embedder)
    assert sorted(edited.embedded) == ["new-note", "what-is-baclofen"]
    assert edited.reused == ["baclofen-encyclopedia"]

    (small_corpus.corpus_dir / "new-note.md").unlink()
    dropped = build_index(small_corpus, embedder)
    assert dropped.dropped == ["new-note"] and dropped.embedded == []

    retriever = Retriever.open(small_corpus, embedder)
    assert retriever.stale == []
    assert "Baclofen tablets are white." in {s.text for s in retriever.sentences.units}
    # reused vectors still belong to their own units
    hit = retriever.search("What is the half-life of baclofen?", k=1)[0]
    assert "half-life" in hit.unit.text

    full = build_index(small_corpus, embedder, full=True)
    assert sorted(full.embedded) == ["baclofen-encyclopedia", "what-is-baclofen"]


def test_a_build_that_fails_midway_leaves_the_previous_index_loadable(small_corpus, embedder):
    build_index(small_corpus, embedder)
    before = current_build(small_corpus.index_dir)
    path = small_corpus.corpus_dir / "what-is-baclofen.txt"
    path.write_text("Completely different text about nothing.\n", encoding="utf-8")

    def crash() -> None:
        raise RuntimeError("simulated crash midway through the build")

    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(small_corpus, embedder, fail_after_embedding=crash)
    assert current_build(small_corpus.index_dir) == before
    assert [p.name for p in (small_corpus.index_dir / "builds").iterdir()] == [before.name]
    retriever = Retriever.open(small_corpus, embedder)
    assert retriever.stale == ["what-is-baclofen changed"]
    assert retriever.search("What is the half-life of baclofen?", k=1)[0].unit.doc_id == "baclofen-encyclopedia"


def test_an_index_built_with_another_model_is_refused(small_corpus, embedder):
    build_index(small_corpus, embedder)
    build = current_build(small_corpus.index_dir)
    manifest = read_manifest(build)
    other = manifest.model_copy(update={"model": "other/model-768", "model_identity": "model-768", "dimension": 768})
    (build / "manifest.json").write_text(other.model_dump_json(), encoding="utf-8")
    with pytest.raises(IndexMismatchError) as excinfo:
        Retriever.open(small_corpus, embedder)
    message = str(excinfo.value)
    assert "model-768" in message and "citeqa index --full" in message and "dimension 768" in message


def test_a_model_change_rebuilds_everything(small_corpus, embedder, caplog):
    build_index(small_corpus, embedder)
    build = current_build(small_corpus.index_dir)
    manifest = read_manifest(build)
    (build / "manifest.json").write_text(
        manifest.model_copy(update={"model_identity": "another-model"}).model_dump_json(), encoding="utf-8"
    )
    with caplog.at_level(logging.INFO, logger="citeqa.index.builder"):
        report = build_index(small_corpus, embedder)
    assert sorted(report.embedded) == ["baclofen-encyclopedia", "what-is-baclofen"]
    assert any("full rebuild" in r.getMessage() and "another-model" in r.getMessage() for r in caplog.records)
