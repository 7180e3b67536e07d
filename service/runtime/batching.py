"""Micro-batching of question embeddings: questions that arrive together are encoded in one model call.

One background thread per model owns it. `embed` puts the question on a queue with a future and blocks on it;
the thread takes the first waiting question, gathers more for at most `wait_ms` (up to `max_batch`), encodes
them all with ONE `embedder.encode(list)` call and hands each caller its row.

The window is adaptive: while traffic is sequential (the last batch was a single question and nothing arrived
while it was encoded) a lone question is encoded at once, so one user at a time never pays the window. As
soon as questions overlap, the thread waits up to `wait_ms` for company. Questions that arrive while a batch
is being encoded are always taken together into the next batch, whatever the window.

Given several embedders (one per model process, service/runtime/embed_process.py), there is one such thread per
embedder, all taking from the same queue: while one process encodes a batch, the next batch forms and goes
to another, so both cores stay busy without two torch thread pools fighting over them.

Failures stay with the question that caused them. A batch whose encode call fails is encoded again question
by question, so only the offending question gets the error. An embedder whose model process died raises
`ModelUnavailable`: its questions go back on the queue for another embedder, and its thread takes nothing more
until the process is replaced. When no embedder is available, questions fail at once with `ModelUnavailable`
(the API's 503 with Retry-After) instead of waiting for a replacement that may take seconds to load.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

import numpy as np

from citeqa.index.embedder import TextEncoder

log = logging.getLogger(__name__)
_STOP = object()
_IDLE_POLL_S = 0.05  # how often the thread of an unavailable embedder looks whether it is back


class ModelUnavailable(RuntimeError):
    """No model process can encode the text now (it died and is being replaced): try again after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@runtime_checkable
class Supervised(Protocol):
    """An embedder that can be down for a while (a model process being replaced); a plain one never is."""

    @property
    def available(self) -> bool: ...

    def outage(self) -> ModelUnavailable: ...


@dataclass(eq=False)
class _Question:
    text: str
    future: Future
    crashes: int = 0  # embedders that went down while encoding it


@dataclass
class BatchStats:
    """Counters for tests, benchmarks and metrics (read without a lock: approximate while running)."""

    calls: int = 0  # questions embedded
    batches: int = 0  # embedder.encode calls
    largest: int = 0

    @property
    def mean_batch(self) -> float:
        return self.calls / self.batches if self.batches else 0.0


class MicroBatchEmbedder:
    """Thread-safe, blocking `embed(text) -> vector`, batching concurrent callers into one encode call."""

    def __init__(
        self, embedder: TextEncoder | Sequence[TextEncoder], wait_ms: float, max_batch: int, adaptive: bool = True
    ) -> None:
        embedders = list(embedder) if isinstance(embedder, Sequence) else [embedder]
        if not embedders:
            raise ValueError("at least one embedder is needed")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if wait_ms < 0:
            raise ValueError("wait_ms must not be negative")
        self.embedders = embedders
        self.wait_s = wait_ms / 1000.0
        self.max_batch = max_batch
        self.adaptive = adaptive
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, args=(e,), name=f"citeqa-embed-batcher-{i}", daemon=True)
            for i, e in enumerate(embedders)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def dimension(self) -> int:
        return self.embedders[0].dimension

    def embed(self, text: str) -> np.ndarray:
        """The text's vector; ModelUnavailable at once when no embedder can take it now."""
        if not any(self._available(e) for e in self.embedders):
            raise self._outage()
        question = _Question(text, Future())
        with self._lock:  # no question can slip in behind the stop marker and wait forever
            if self._closed:
                raise RuntimeError("the embedding batcher is closed")
            self._queue.put(question)
        return question.future.result()

    __call__ = embed

    def close(self, timeout: float | None = 10.0) -> None:
        """Encode what is already queued, then stop the thread. Later `embed` calls raise RuntimeError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _ in self._threads:  # each thread stops at the first marker it meets, after what was queued
                self._queue.put(_STOP)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        # Questions no thread took (their embedders were down) must not wait forever.
        for item in self._drain():
            if item is not _STOP:
                item.future.set_exception(RuntimeError("the embedding batcher is closed"))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def outage(self) -> ModelUnavailable | None:
        """Why no question can be encoded now (every model process is down), or None while one can."""
        if any(self._available(e) for e in self.embedders):
            return None
        return self._outage()

    # --- the batching thread

    @staticmethod
    def _available(embedder: TextEncoder) -> bool:
        return not isinstance(embedder, Supervised) or embedder.available

    def _outage(self) -> ModelUnavailable:
        """The error of the embedder back soonest."""
        outages = [e.outage() for e in self.embedders if isinstance(e, Supervised)]
        return min(outages, key=lambda o: o.retry_after_s, default=None) or ModelUnavailable(
            "no embedding model is available; try again shortly", retry_after_s=1
        )

    def _drain(self) -> list:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def _wait_until_available(self, embedder: TextEncoder) -> bool:
        """Block while `embedder` is down, failing the queued questions whenever no embedder at all is
        available; False when the batcher is closing."""
        while not self._available(embedder):
            if self._closed:
                return False
            if not any(self._available(e) for e in self.embedders):
                for item in self._drain():
                    if item is _STOP:
                        self._queue.put(item)
                    else:
                        item.future.set_exception(self._outage())
            time.sleep(_IDLE_POLL_S)
        return True

    def _run(self, embedder: TextEncoder) -> None:
        concurrent = not self.adaptive  # adaptive mode starts as "sequential traffic": no window
        stopping = False
        while not stopping:
            if not self._wait_until_available(embedder):
                return
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stopping = self._gather(batch, None)
            if not stopping and len(batch) < self.max_batch and self.wait_s > 0 and (len(batch) > 1 or concurrent):
                stopping = self._gather(batch, time.monotonic() + self.wait_s)
            if not self._available(embedder):  # it went down while this thread waited for questions
                for question in batch:
                    self._queue.put(question)
                continue
            self._encode(embedder, batch)
            # Sequential traffic: one question, and none arrived while it was being encoded.
            concurrent = not self.adaptive or len(batch) > 1 or not self._queue.empty()

    def _gather(self, batch: list, deadline: float | None) -> bool:
        """Fill the batch until it is full or `deadline` passes (None: take only what is already waiting);
        True when the stop marker was met."""
        while len(batch) < self.max_batch:
            try:
                if deadline is None:
                    item = self._queue.get_nowait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _encode(self, embedder: TextEncoder, batch: list[_Question]) -> None:
        try:
            vectors = embedder.encode([q.text for q in batch])
        except ModelUnavailable as exc:  # its process died: another embedder (or its replacement) takes them
            self._requeue(batch, exc)
            return
        except Exception as exc:  # noqa: BLE001 - the callers get the error, the thread lives on
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
            else:  # one question may be the cause: encode them one by one, so only it fails
                for question in batch:
                    self._encode(embedder, [question])
            return
        with self._stats_lock:
            self.stats.calls += len(batch)
            self.stats.batches += 1
            self.stats.largest = max(self.stats.largest, len(batch))
        for row, question in enumerate(batch):
            question.future.set_result(vectors[row].copy())

    def _requeue(self, batch: list[_Question], exc: ModelUnavailable) -> None:
        """Back on the queue for another embedder; a question that has seen as many embedders go down as there
        are fails (it may be what kills them)."""
        log.info("citeqa: %d question(s) of a batch whose model process went down are handed on", len(batch))
        for question in batch:
            question.crashes += 1
            if question.crashes >= len(self.embedders):
                question.future.set_exception(exc)
            else:
                self._queue.put(question)
