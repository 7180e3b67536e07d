"""MicroBatchEmbedder with the real model: same vectors as a direct encode, fewer encode calls, and a failure
stays with the question that caused it (a text the encoder refuses, an embedder whose process went down)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from citeqa.service.runtime.batching import MicroBatchEmbedder, ModelUnavailable

QUESTIONS = [
    "What is baclofen used for?",
    "What is the usual starting dose of baclofen?",
    "Can baclofen be stopped suddenly?",
    "How long does baclofen withdrawal last?",
    "Does baclofen help with alcohol use disorder?",
    "What are the side effects of baclofen?",
    "Is baclofen an opioid?",
    "Was baclofen compared with clonidine for opiate withdrawal?",
    "What happens in a baclofen overdose?",
    "How does baclofen act on GABA-B receptors?",
    "Who first made baclofen?",
    "Can baclofen cause hallucinations when stopped?",
]


class CountingEmbedder:
    """The real embedder, with a record of every encode call's batch size."""

    def __init__(self, inner, fail_on: str | None = None, delay_s: float = 0.0) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.dimension = inner.dimension
        self.sizes: list[int] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        with self._lock:
            self.sizes.append(len(texts))
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError("model failure")
        time.sleep(self.delay_s)
        return self.inner.encode(texts)


def call_concurrently(fn, texts: list[str]) -> list:
    barrier = threading.Barrier(len(texts))
    results: list = [None] * len(texts)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(texts[i])
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_questions_get_direct_vectors_in_fewer_encode_calls(embedder):
    counting = CountingEmbedder(embedder)
    direct = embedder.encode(QUESTIONS)
    with MicroBatchEmbedder(counting, wait_ms=50, max_batch=64) as batcher:
        vectors = call_concurrently(batcher.embed, QUESTIONS)
    for question, got, want in zip(QUESTIONS, vectors, direct):
        assert isinstance(got, np.ndarray), got
        assert got.shape == (embedder.dimension,) and got.dtype == np.float32
        assert np.allclose(got, want, atol=1e-4), question
    assert sum(counting.sizes) == len(QUESTIONS)
    assert len(counting.sizes) < len(QUESTIONS), counting.sizes
    assert max(counting.sizes) > 1
    assert batcher.stats.batches == len(counting.sizes) and batcher.stats.calls == len(QUESTIONS)


def test_window_gathers_all_arrivals_into_one_call(embedder):
    counting = CountingEmbedder(embedder)
    # Non-adaptive with a long window: the first question waits for the rest; the batch closes when full.
    with MicroBatchEmbedder(counting, wait_ms=5000, max_batch=8, adaptive=False) as batcher:
        vectors = call_concurrently(batcher.embed, QUESTIONS[:8])
    assert counting.sizes == [8]
    assert np.allclose(np.stack(vectors), embedder.encode(QUESTIONS[:8]), atol=1e-4)


def test_max_batch_is_respected(embedder):
    counting = CountingEmbedder(embedder)
    with MicroBatchEmbedder(counting, wait_ms=20, max_batch=3, adaptive=False) as batcher:
        vectors = call_concurrently(batcher.embed, QUESTIONS)
    assert all(isinstance(v, np.ndarray) for v in vectors)
    assert max(counting.sizes) <= 3 and sum(counting.sizes) == len(QUESTIONS)


def test_sequential_calls_are_encoded_one_by_one(embedder):
    counting = CountingEmbedder(embedder)
    with MicroBatchEmbedder(counting, wait_ms=3, max_batch=64) as batcher:
        for q in QUESTIONS[:3]:
            assert np.allclose(batcher.embed(q), embedder.encode_one(q), atol=1e-4)
    assert counting.sizes == [1, 1, 1]


def test_a_text_the_encoder_refuses_fails_alone_and_the_rest_of_its_batch_get_their_vectors(embedder):
    counting = CountingEmbedder(embedder, fail_on="boom")
    texts = ["boom", *QUESTIONS[:5]]
    with MicroBatchEmbedder(counting, wait_ms=5000, max_batch=len(texts), adaptive=False) as batcher:
        results = call_concurrently(batcher.embed, texts)
        assert counting.sizes[0] == len(texts), "the test needs all texts in one batch"
        assert isinstance(results[0], ValueError), results[0]
        assert np.allclose(np.stack(results[1:]), embedder.encode(QUESTIONS[:5]), atol=1e-4)
        assert counting.sizes[1:] == [1] * len(texts), "after the failed batch, one call per text"
        assert np.allclose(batcher.embed(QUESTIONS[6]), embedder.encode_one(QUESTIONS[6]), atol=1e-4)


class ProcessLikeEmbedder(CountingEmbedder):
    """The real model behind a switch, as a model process that dies and is replaced looks to the batcher:
    `going_down` makes the next encode call fail as a dead process does, and it stays down until `back_up()`."""

    def __init__(self, inner, delay_s: float = 0.0) -> None:
        super().__init__(inner, delay_s=delay_s)
        self.available = True
        self.going_down = False

    def outage(self) -> ModelUnavailable:
        return ModelUnavailable("the model process is being restarted", retry_after_s=7)

    def back_up(self) -> None:
        self.available, self.going_down = True, False

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.going_down or not self.available:
            with self._lock:
                self.sizes.append(len(texts))
            self.available = False
            raise self.outage()
        return super().encode(texts)


def test_questions_of_a_batch_whose_embedder_went_down_are_encoded_by_another(embedder):
    dying, healthy = ProcessLikeEmbedder(embedder), ProcessLikeEmbedder(embedder, delay_s=0.3)
    dying.going_down = True
    with MicroBatchEmbedder([dying, healthy], wait_ms=50, max_batch=4, adaptive=False) as batcher:
        vectors = call_concurrently(batcher.embed, QUESTIONS)
        assert all(isinstance(v, np.ndarray) for v in vectors), vectors
        assert np.allclose(np.stack(vectors), embedder.encode(QUESTIONS), atol=1e-4)
        assert dying.sizes and not dying.available, "the test needs a batch on the embedder that went down"
        assert sum(healthy.sizes) == len(QUESTIONS)
        # once its process is back, it takes questions again
        calls_while_down = len(dying.sizes)
        healthy.available = False
        dying.back_up()
        assert np.allclose(batcher.embed(QUESTIONS[0]), embedder.encode_one(QUESTIONS[0]), atol=1e-4)
        assert len(dying.sizes) == calls_while_down + 1


def test_with_every_embedder_down_questions_fail_at_once_saying_when_to_retry(embedder):
    first, second = ProcessLikeEmbedder(embedder), ProcessLikeEmbedder(embedder)
    with MicroBatchEmbedder([first, second], wait_ms=50, max_batch=4, adaptive=False) as batcher:
        first.going_down = second.going_down = True  # both die with questions in flight
        results = call_concurrently(batcher.embed, QUESTIONS[:6])
        assert all(isinstance(r, ModelUnavailable) and r.retry_after_s == 7 for r in results), results
        assert first.sizes and second.sizes, "both must have been tried"
        calls = len(first.sizes) + len(second.sizes)
        with pytest.raises(ModelUnavailable, match="restarted"):
            batcher.embed(QUESTIONS[0])  # refused without a model call
        assert len(first.sizes) + len(second.sizes) == calls
        assert batcher.outage() is not None and batcher.outage().retry_after_s == 7  # what /readyz reports
        second.back_up()
        assert batcher.outage() is None
        assert np.allclose(batcher.embed(QUESTIONS[1]), embedder.encode_one(QUESTIONS[1]), atol=1e-4)


def test_batches_go_to_every_embedder_while_the_others_are_busy(embedder):
    # Two slow embedders (two model processes in the server): while one encodes a batch the next batch forms
    # and goes to the other, so both are used and every caller still gets its own vector.
    first, second = CountingEmbedder(embedder, delay_s=0.3), CountingEmbedder(embedder, delay_s=0.3)
    with MicroBatchEmbedder([first, second], wait_ms=50, max_batch=4, adaptive=False) as batcher:
        vectors = call_concurrently(batcher.embed, QUESTIONS)
    assert np.allclose(np.stack(vectors), embedder.encode(QUESTIONS), atol=1e-4)
    assert first.sizes and second.sizes, (first.sizes, second.sizes)
    assert sum(first.sizes) + sum(second.sizes) == len(QUESTIONS)
    assert max(first.sizes + second.sizes) <= 4
    assert batcher.stats.calls == len(QUESTIONS)


def test_close_stops_the_thread_and_refuses_new_questions(embedder):
    batcher = MicroBatchEmbedder([embedder, embedder], wait_ms=1, max_batch=4)
    batcher.embed(QUESTIONS[0])
    batcher.close()
    batcher.close()  # idempotent
    assert not any(t.is_alive() for t in batcher._threads)
    with pytest.raises(RuntimeError):
        batcher.embed(QUESTIONS[1])
