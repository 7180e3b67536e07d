"""The service object: model, index and corpus loaded once, shared by the CLI, the HTTP app and the evals."""

from __future__ import annotations

from collections.abc import Callable
from collections import Counter
from functools import lru_cache

import numpy as np

from citeqa.settings import AnswerMode, RetrievalMode, Settings
from citeqa.index.embedder import Embedder, TextEncoder
from citeqa.index.retriever import Retriever
from citeqa.index.text import tokens
from citeqa.service.answering.abstention import CorpusVocabulary
from citeqa.service.answering.pipeline import AnswerContext, answer_question
from citeqa.service.answering.citations import SupportJudge
from citeqa.service.answering.evidence import StemCache
from citeqa.service.answering.llm import chat_backend
from citeqa.service.answering.reader import SentenceJudgements
from citeqa.service.answering.spelling import SpellingCorrector
from citeqa.service.models import Answer, Passage
from citeqa.service.search import search_passages
from citeqa.service.sources import SourceStore


class Engine:
    """Read-only after construction, so one instance serves concurrent requests from worker threads.

    `embed` is the single place a question is turned into a vector; the HTTP app swaps in a micro-batching
    embedder there so that questions arriving together are encoded in one batch.
    """

    def __init__(self, settings: Settings, retriever: Retriever) -> None:
        self.settings = settings
        self.params = settings.answering()
        self.retriever = retriever
        self.sources = SourceStore(settings.corpus_dir, retriever.manifest)
        self.embed: Callable[[str], np.ndarray] = retriever.embedder.encode_one
        texts = self.sources.content_texts()
        self.vocabulary = CorpusVocabulary.from_texts(
            texts, [s.text for s in retriever.sentences.units], self.params.affix_chars
        )
        # only the reader reads near-spellings; building the corrector costs ~0.1 s and ~16 MB at start-up
        self.speller = (
            SpellingCorrector.from_corpus(Counter(token.lower() for text in texts for token in tokens(text)))
            if self.params.reader else None
        )
        self.judge = SupportJudge(self._embed_many, self.params.support_min_similarity, self.params.support_min_overlap)
        self.stems = StemCache()
        # The support check embeds quotes and answer sentences, mostly corpus sentences that recur across
        # questions, so their vectors are kept. Questions never go through this cache.
        self._text_vector = lru_cache(maxsize=4096)(lambda text: self.embed(text))
        self.judgements = SentenceJudgements()
        self.backend = chat_backend(settings)  # one client, so its connections are reused across questions

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: TextEncoder | None = None) -> Engine:
        settings = settings or Settings()
        embedder = embedder or Embedder(settings.model, settings.embed_batch_size)
        return cls(settings, Retriever.open(settings.index_config(), embedder))

    def _embed_many(self, texts: list[str]) -> np.ndarray:
        """Through `embed`, so the support check shares the micro-batches of the questions."""
        return np.stack([self._text_vector(t) for t in texts])

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()

    def warm_up(self) -> None:
        """Answer one question before serving, so that lazy loads (wordfreq's tables, the model's first batch,
        the caches) are paid at start-up and never by the first person who asks."""
        self.answer("What is this document about?")

    @property
    def stale(self) -> list[str]:
        return self.retriever.stale

    def search(self, query: str, k: int | None = None, mode: RetrievalMode | None = None) -> list[Passage]:
        return search_passages(self.retriever, query, k=k, mode=mode, query_vector=self.embed(query))

    def answer(
        self,
        question: str,
        mode: AnswerMode | None = None,
        max_sentences: int | None = None,
        retrieval_mode: RetrievalMode | None = None,
    ) -> Answer:
        ctx = AnswerContext(
            self.params, self.retriever, self.sources, self.vocabulary, self.judge, self.embed, self.stems,
            self.speller, self.judgements, self.backend,
        )
        return answer_question(
            question,
            ctx,
            mode=mode or self.settings.answer_mode,
            max_sentences=max_sentences or self.params.max_sentences,
            retrieval_mode=retrieval_mode or self.settings.retrieval_mode,
        )
