"""Shared fixtures: the real model and a real index of the shipped corpus, built once per test session.

Every answer a test obtains (from the library or over HTTP) goes through `citation_audit`, which at the end
of the session re-reads the corpus files and asserts that every citation's quote is the verbatim text at its
span of a file whose sha256 matches the index manifest.
"""

from __future__ import annotations

import hashlib

import pytest

from citeqa.settings import Settings
from citeqa.index.builder import build_index
from citeqa.index.embedder import Embedder
from tests.paths import ROOT

CORPUS_DIR = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(Settings().model)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings pointing at a fresh index of the shipped corpus in a temporary folder."""
    settings = Settings(corpus_dir=CORPUS_DIR, index_dir=tmp_path_factory.mktemp("index"))
    build_index(settings.index_config(), embedder)
    return settings


class CitationAudit:
    def __init__(self) -> None:
        self.answers: list[dict] = []

    def record(self, answer) -> None:
        self.answers.append(answer if isinstance(answer, dict) else answer.model_dump())

    def audited(self, engine):
        """`engine`, with every answer it gives recorded for the audit."""
        original = engine.answer

        def audited_answer(*args, **kwargs):
            answer = original(*args, **kwargs)
            self.record(answer)
            return answer

        engine.answer = audited_answer
        return engine

    def verify(self, manifest_docs: dict[str, str]) -> list[str]:
        texts, problems = {}, []
        for answer in self.answers:
            for c in answer["citations"]:
                doc_id = c["doc_id"]
                if doc_id not in texts:
                    path = CORPUS_DIR / f"{doc_id}.txt"
                    data = path.read_bytes()
                    if hashlib.sha256(data).hexdigest() != manifest_docs.get(doc_id):
                        problems.append(f"{doc_id}: file does not match the manifest")
                    texts[doc_id] = data.decode("utf-8")
                if texts[doc_id][c["start"] : c["end"]] != c["quote"]:
                    problems.append(f"{answer['question']!r} [{c['n']}] {doc_id} {c['start']}:{c['end']} is not verbatim")
        return problems


@pytest.fixture(scope="session")
def citation_audit(settings: Settings):
    audit = CitationAudit()
    yield audit
    from citeqa.index.store import current_build, read_manifest

    manifest = read_manifest(current_build(settings.index_dir))
    problems = audit.verify({d.doc_id: d.sha256 for d in manifest.documents})
    cited = sum(len(a["citations"]) for a in audit.answers)
    print(f"\ncitation audit: {len(audit.answers)} answers, {cited} citations checked verbatim")
    assert not problems, "citations that are not verbatim:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def engine(settings: Settings, embedder: Embedder, citation_audit: CitationAudit):
    """The real engine; every answer it gives is recorded for the citation audit."""
    from citeqa.index.retriever import Retriever
    from citeqa.service.engine import Engine

    return citation_audit.audited(Engine(settings, Retriever.open(settings.index_config(), embedder)))
