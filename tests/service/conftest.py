"""A real `citeqa serve` process (uvicorn) over the session's index, shared by the HTTP, OpenAI-client and browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citeqa.settings import Settings
from tests.paths import ROOT

# Only a guard against a hung start-up, never a claim about speed: loading the model takes seconds.
STARTUP_GIVE_UP_S = 600


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, index_dir: Path, corpus_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = dict(os.environ, CITEQA_INDEX_DIR=str(index_dir), CITEQA_CORPUS_DIR=str(corpus_dir), **(extra_env or {}))
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "citeqa.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_serving(self) -> None:
        """Return once /healthz answers (uvicorn accepts connections only after the lifespan has loaded the engine)."""
        give_up = time.monotonic() + STARTUP_GIVE_UP_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"citeqa serve exited with code {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > give_up:
                pytest.fail(f"citeqa serve did not start listening on {self.url}:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def ready_server(settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """A `citeqa serve` over the session's index, yielded once /readyz says it is ready, stopped afterwards."""
    proc = ServerProcess(settings.index_dir, settings.corpus_dir, log_dir / "server.log", extra_env)
    try:
        proc.wait_until_serving()
        ready = httpx.get(f"{proc.url}/readyz", timeout=30)
        if ready.status_code != 200:
            pytest.fail(f"the server is up but not ready: {ready.status_code} {ready.text}\n{proc.log()}")
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def server_process(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from ready_server(settings, tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="session")
def server(server_process: ServerProcess) -> str:
    """Base URL of a ready `citeqa serve` over the session's index of the shipped corpus."""
    return server_process.url


@pytest.fixture(scope="session")
def reader_server_process(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from ready_server(settings, tmp_path_factory.mktemp("server-reader"), {"CITEQA_READER": "true"})


@pytest.fixture(scope="session")
def reader_server(reader_server_process: ServerProcess) -> str:
    """Base URL of a ready `citeqa serve` with the reader on (CITEQA_READER=true): answers carry a short answer
    and the question's spelling corrections."""
    return reader_server_process.url


@pytest.fixture(scope="session")
def unindexed_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a `citeqa serve` whose CITEQA_INDEX_DIR is an empty folder (nobody ran `citeqa index`)."""
    empty = tmp_path_factory.mktemp("empty-index")
    proc = ServerProcess(empty, settings.corpus_dir, tmp_path_factory.mktemp("server-unindexed") / "server.log")
    try:
        proc.wait_until_serving()
        yield proc.url
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def stale_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, changed doc_id) of a `citeqa serve` whose corpus changed after the index was built."""
    corpus = tmp_path_factory.mktemp("changed-corpus") / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    changed = sorted(corpus.glob("*.txt"))[0]
    changed.write_bytes(changed.read_bytes() + b"\nA line added after indexing.\n")
    proc = ServerProcess(settings.index_dir, corpus, tmp_path_factory.mktemp("server-stale") / "server.log")
    try:
        proc.wait_until_serving()
        yield proc.url, changed.stem
    finally:
        proc.stop()
