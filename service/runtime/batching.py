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
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Self

import numpy as np

from citeqa.index.embedder import TextEncoder

_STOP = object()


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
        future: Future[np.ndarray] = Future()
        with self._lock:  # no question can slip in behind the stop marker and wait forever
            if self._closed:
                raise RuntimeError("the embedding batcher is closed")
            self._queue.put((text, future))
        return future.result()

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the batching thread

    def _run(self, embedder: TextEncoder) -> None:
        concurrent = not self.adaptive  # adaptive mode starts as "sequential traffic": no window
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stopping = self._gather(batch, None)
            if not stopping and len(batch) < self.max_batch and self.wait_s > 0 and (len(batch) > 1 or concurrent):
                stopping = self._gather(batch, time.monotonic() + self.wait_s)
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

    def _encode(self, embedder: TextEncoder, batch: list) -> None:
        live = [(text, fut) for text, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            vectors = embedder.encode([text for text, _ in live])
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error, the thread lives on
            for _, fut in live:
                fut.set_exception(exc)
            return
        with self._stats_lock:
            self.stats.calls += len(live)
            self.stats.batches += 1
            self.stats.largest = max(self.stats.largest, len(live))
        for row, (_, fut) in enumerate(live):
            fut.set_result(vectors[row].copy())
