"""The service object: model, index and corpus loaded once, shared by the CLI, the HTTP app and the evals."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from citeqa.settings import AnswerMode, RetrievalMode, Settings
from index.embedder import Embedder, TextEncoder
from index.retriever import Retriever
from service.abstention import CorpusVocabulary
from service.answerer import AnswerContext, answer_question
from service.citations import SupportJudge
from service.evidence import StemCache
from service.models import Answer, Passage
from service.search import search_passages
from service.sources import SourceStore


class Engine:
    """Read-only after construction, so one instance serves concurrent requests from worker threads.

    `embed` is the single place a question is turned into a vector; the HTTP app swaps in a micro-batching
    embedder there so that questions arriving together are encoded in one batch.
    """

    def __init__(self, settings: Settings, retriever: Retriever) -> None:
        self.settings = settings
        self.retriever = retriever
        self.sources = SourceStore(settings.corpus_dir, retriever.manifest)
        self.embed: Callable[[str], np.ndarray] = retriever.embedder.encode_one
        self.vocabulary = CorpusVocabulary.from_texts(
            self.sources.content_texts(), [s.text for s in retriever.sentences.units]
        )
        self.judge = SupportJudge(self._embed_many, settings.support_min_similarity, settings.support_min_overlap)
        self.stems = StemCache()
        # The support check embeds quotes and answer sentences, mostly corpus sentences that recur across
        # questions, so their vectors are kept. Questions never go through this cache.
        self._text_vector = lru_cache(maxsize=4096)(lambda text: self.embed(text))

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: TextEncoder | None = None) -> Engine:
        settings = settings or Settings()
        embedder = embedder or Embedder(settings.model, settings.embed_batch_size)
        return cls(settings, Retriever.open(settings, embedder))

    def _embed_many(self, texts: list[str]) -> np.ndarray:
        """Through `embed`, so the support check shares the micro-batches of the questions."""
        return np.stack([self._text_vector(t) for t in texts])

    @property
    def stale(self) -> list[str]:
        return self.retriever.stale

    def search(self, query: str, k: int | None = None, mode: RetrievalMode | None = None) -> list[Passage]:
        return search_passages(
            self.retriever, query, k=k or self.settings.top_k, mode=mode or self.settings.retrieval_mode,
            query_vector=self.embed(query),
        )

    def answer(
        self,
        question: str,
        mode: AnswerMode | None = None,
        max_sentences: int | None = None,
        retrieval_mode: RetrievalMode | None = None,
    ) -> Answer:
        ctx = AnswerContext(
            self.settings, self.retriever, self.sources, self.vocabulary, self.judge, self.embed, self.stems
        )
        return answer_question(
            question,
            ctx,
            mode=mode or self.settings.answer_mode,
            max_sentences=max_sentences or self.settings.max_answer_sentences,
            retrieval_mode=retrieval_mode or self.settings.retrieval_mode,
        )
