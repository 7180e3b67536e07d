"""Settings from the environment reach the parameter objects the library parts take."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

from citeqa.service.answering.params import AnsweringParams
from citeqa.settings import Settings


def test_environment_reaches_index_and_answering_parameters(monkeypatch, tmp_path):
    monkeypatch.setenv("CITEQA_CORPUS_DIR", str(tmp_path / "docs"))
    monkeypatch.setenv("CITEQA_CHUNK_SIZE", "321")
    monkeypatch.setenv("CITEQA_DENSE_INDEX", "hnsw")
    monkeypatch.setenv("CITEQA_TOP_K", "7")
    monkeypatch.setenv("CITEQA_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("CITEQA_MAX_ANSWER_SENTENCES", "2")
    monkeypatch.setenv("CITEQA_LEXICAL_WEIGHT", "0.9")
    monkeypatch.setenv("CITEQA_READER_MIN_FOCUS", "0.75")
    config, answering = Settings().index_config(), Settings().answering()
    assert config.corpus_dir == tmp_path / "docs"
    assert config.chunking.chunk_size == 321 and config.dense.kind == "hnsw"
    assert (config.retrieval.top_k, config.retrieval.mode) == (7, "bm25")
    assert (answering.max_sentences, answering.lexical_weight, answering.reader_min_focus) == (2, 0.9, 0.75)


def test_defaults_are_the_parameter_objects_defaults_and_paths_follow_the_working_directory(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("CITEQA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.answering() == AnsweringParams()
    assert {f.name for f in fields(AnsweringParams)} - set(Settings.model_fields) == {"max_sentences", "passages"}
    assert settings.corpus_dir == Path(tmp_path) / "corpus" and settings.index_dir == Path(tmp_path) / "var" / "index"
