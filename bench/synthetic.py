"""Synthetic data for the scale benchmarks: clustered unit vectors, Zipfian text, a corpus folder, a cheap embedder.

Everything is deterministic for a given seed, generated in blocks so that a million 384-dimensional vectors
(1.5 GB as float32) never needs a float64 copy of the whole array.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK = 65_536


def _normalize(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-12
    return x


@dataclass
class ClusteredSpace:
    """Two-level cluster structure on the unit sphere, roughly like sentence embeddings of a topical corpus.

    `topics` broad directions; each has `subtopics` narrower ones around it; a point is a sub-centre plus
    isotropic noise of norm ~`noise`, normalized. With the defaults a point's cosine to its own sub-centre is
    about 0.7 and to a random other point about 0, so nearest neighbours are many and close but not trivial:
    recall@10 of an approximate index is a meaningful number.
    """

    dim: int = 384
    topics: int = 64
    subtopics: int = 32
    topic_spread: float = 0.8
    noise: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        topic = _normalize(rng.standard_normal((self.topics, self.dim)).astype(np.float32))
        sub = np.repeat(topic, self.subtopics, axis=0)
        sub += rng.standard_normal(sub.shape).astype(np.float32) * (self.topic_spread / math.sqrt(self.dim))
        self.centres = _normalize(sub)
        # Zipf-like cluster sizes: a few big subjects, a long tail of small ones.
        weights = 1.0 / np.arange(1, len(self.centres) + 1) ** 0.7
        self.weights = rng.permutation(weights / weights.sum())

    def sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        scale = np.float32(self.noise / math.sqrt(self.dim))
        for start in range(0, n, BLOCK):
            m = min(BLOCK, n - start)
            which = rng.choice(len(self.centres), size=m, p=self.weights)
            block = rng.standard_normal((m, self.dim), dtype=np.float32)
            block *= scale
            block += self.centres[which]
            out[start : start + m] = _normalize(block)
        return out


def clustered_vectors(n: int, dim: int = 384, n_queries: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(database, queries): queries are fresh points of the same distribution, not copies of database rows."""
    topics = max(8, min(256, round(math.sqrt(n) / 8)))
    space = ClusteredSpace(dim=dim, topics=topics, seed=seed)
    return space.sample(n, seed + 1), space.sample(n_queries, seed + 2)


# --- text

_SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"] + ["th", "st", "ar", "en", "ol", "in"]


def make_vocabulary(size: int, seed: int = 0) -> list[str]:
    """Distinct pronounceable pseudo-words (so stemming and stop-word removal leave them alone)."""
    rng = np.random.default_rng(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        n_syll = int(rng.integers(2, 5))
        word = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), n_syll))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass
class TextSpace:
    """Zipfian background words plus a topic vocabulary per text, so BM25 has real work and real hits."""

    vocab_size: int = 50_000
    topics: int = 500
    topic_words: int = 60
    topic_share: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.vocab = np.array(make_vocabulary(self.vocab_size, self.seed), dtype=object)
        ranks = np.arange(1, self.vocab_size + 1, dtype=np.float64)
        p = 1.0 / ranks**1.07
        self.background = p / p.sum()
        self._cdf = np.cumsum(self.background)
        self.topic_vocab = rng.integers(self.vocab_size // 20, self.vocab_size, size=(self.topics, self.topic_words))

    def _word_ids(self, rng: np.random.Generator, n_words: int, topic: int | np.ndarray) -> np.ndarray:
        """Word ids: background Zipf words, a `topic_share` of them replaced by the topic's own words."""
        ids = np.searchsorted(self._cdf, rng.random(n_words))
        ids = np.minimum(ids, self.vocab_size - 1)
        own = rng.random(n_words) < self.topic_share
        topics = np.broadcast_to(np.asarray(topic), (n_words,))
        ids[own] = self.topic_vocab[topics[own], rng.integers(0, self.topic_words, int(own.sum()))]
        return ids

    def texts(self, n: int, words: int = 90, seed: int = 1) -> list[str]:
        rng = np.random.default_rng(seed)
        out: list[str] = []
        for start in range(0, n, 4096):
            m = min(4096, n - start)
            topics = np.repeat(rng.integers(0, self.topics, m), words)
            ids = self._word_ids(rng, m * words, topics).reshape(m, words)
            out.extend(" ".join(row) for row in self.vocab[ids])
        return out

    def queries(self, n: int, seed: int = 2) -> list[str]:
        """Three to six words, mostly from one topic's vocabulary: the shape of a keyword question."""
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            topic = int(rng.integers(0, self.topics))
            k = int(rng.integers(3, 7))
            ids = np.where(
                rng.random(k) < 0.7,
                self.topic_vocab[topic, rng.integers(0, self.topic_words, k)],
                rng.integers(50, 5_000, size=k),  # the 50 commonest words play the stop words' part
            )
            out.append(" ".join(self.vocab[ids]))
        return out

    def document(self, rng: np.random.Generator, title: str, n_chars: int) -> str:
        """A document the citeqa chunker and sentence splitter treat like a real one: headings, paragraphs."""
        topic = int(rng.integers(0, self.topics))
        pool = self.vocab[self._word_ids(rng, n_chars // 5 + 64, topic)]
        lengths = rng.integers(8, 26, size=n_chars // 40 + 8)
        parts = [f"# {title}\n\n"]
        size, used, sent, section = len(parts[0]), 0, 0, 0
        while size < n_chars and used + 30 < len(pool) and sent + 6 < len(lengths):
            if section == 0 or rng.random() < 0.25:
                section += 1
                parts.append(f"## {section}. {' '.join(pool[used : used + 3]).capitalize()}\n\n")
                used += 3
            sentences = []
            for _ in range(int(rng.integers(2, 6))):
                k = int(lengths[sent])
                sentences.append(" ".join(pool[used : used + k]).capitalize() + ".")
                used, sent = used + k, sent + 1
            paragraph = " ".join(sentences) + "\n\n"
            parts.append(paragraph)
            size += len(paragraph)
        return "".join(parts)


def write_corpus(folder: Path, n_chars: int, doc_chars: int = 60_000, seed: int = 0) -> int:
    """Write about `n_chars` of synthetic documents into `folder`; returns the number of files."""
    folder.mkdir(parents=True, exist_ok=True)
    space = TextSpace(seed=seed)
    rng = np.random.default_rng(seed + 7)
    n_docs = max(1, math.ceil(n_chars / doc_chars))
    width = len(str(n_docs))
    for i in range(n_docs):
        text = space.document(rng, f"Synthetic document {i}", doc_chars)
        (folder / f"synthetic-{i:0{width}d}.txt").write_text(text, encoding="utf-8")
    return n_docs


# --- a cheap stand-in for the sentence-transformers model


_TOKEN = re.compile(r"\w+")


class HashingEmbedder:
    """Bag-of-words random projection: deterministic, ~1000x cheaper than the model, same interface.

    Texts that share words get similar vectors, so FAISS sees structured data rather than noise. It exists to
    build and serve indexes of 100k+ units on two cores; its vectors mean nothing to the real model. `identity`
    may be set to the real model's identity so the service accepts the index for a load-and-serve check.
    """

    def __init__(self, dimension: int = 384, identity: str = "hashing-bow", buckets: int = 1 << 15, seed: int = 0):
        self.dimension = dimension
        self.identity = identity
        self.model_name = f"bench-hashing-standin[{identity}]"
        self.batch_size = 4096
        self.buckets = buckets
        rng = np.random.default_rng(seed)
        self._projection = rng.standard_normal((buckets, dimension), dtype=np.float32)
        self._ids: dict[str, int] = {}
        self.encode_calls = 0

    def _bucket(self, token: str) -> int:
        b = self._ids.get(token)
        if b is None:
            b = self._ids[token] = zlib.crc32(token.encode("utf-8")) % self.buckets
        return b

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        from scipy.sparse import csr_matrix

        self.encode_calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), 8192):
            block = texts[start : start + 8192]
            indptr, indices = [0], []
            for text in block:
                indices.extend(self._bucket(t) for t in _TOKEN.findall(text.lower()))
                indptr.append(len(indices))
            data = np.ones(len(indices), dtype=np.float32)
            counts = csr_matrix((data, indices, indptr), shape=(len(block), self.buckets))
            counts.sum_duplicates()
            counts.data = 1.0 + np.log(counts.data)
            dense = np.asarray(counts @ self._projection, dtype=np.float32)
            dense[~dense.any(axis=1), 0] = 1.0  # empty text: any fixed unit vector
            out[start : start + len(block)] = _normalize(dense)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
