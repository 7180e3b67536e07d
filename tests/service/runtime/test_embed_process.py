"""The model in child processes (what `citeqa serve` uses): same vectors, clear failures, a dead process replaced
in the background, and nothing left running."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

from citeqa.settings import Settings
from citeqa.index.store import IndexProblem
from citeqa.service.http.app import open_engine
from citeqa.service.runtime.batching import ModelUnavailable
from citeqa.service.runtime.embed_process import EmbedderProcess, start_embedder_processes

# Only a guard against a hung restart, never a claim about speed: loading the model takes seconds.
RESTART_GIVE_UP_S = 300

TEXTS = [
    "What is baclofen used for?",
    "Baclofen is a muscle relaxant and an antispastic agent.",
    "How long does baclofen withdrawal last?",
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is not alive
        return fh.read().rpartition(")")[2].split()[0] != "Z"


def test_vectors_match_the_in_process_model(embedder):
    with EmbedderProcess(embedder.model_name, threads=1) as process:
        assert process.pid != os.getpid() and alive(process.pid)
        assert (process.identity, process.dimension) == (embedder.identity, embedder.dimension)
        got = process.encode(TEXTS)
        assert got.shape == (len(TEXTS), embedder.dimension) and got.dtype == np.float32
        assert np.allclose(got, embedder.encode(TEXTS), atol=1e-4)
        assert np.allclose(process.encode_one(TEXTS[0]), embedder.encode_one(TEXTS[0]), atol=1e-4)
        assert process.encode([]).shape == (0, embedder.dimension)
        pid = process.pid
    assert not alive(pid)
    with pytest.raises(RuntimeError, match="closed"):
        process.encode(TEXTS)  # a closed process is not silently restarted


def test_a_model_that_cannot_load_fails_with_a_message_naming_the_fix(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(RuntimeError, match="CITEQA_MODEL") as caught:
        EmbedderProcess(str(missing), threads=1)
    assert str(missing) in str(caught.value)
    assert not multiprocessing.active_children()


def wait_for(condition, what: str) -> None:
    give_up = time.monotonic() + RESTART_GIVE_UP_S
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting: {what}"
        time.sleep(0.1)


def test_a_killed_process_is_replaced_in_the_background_and_calls_meanwhile_say_when_to_retry(embedder):
    with EmbedderProcess(embedder.model_name, threads=1) as process:
        first = process.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not alive(first), "the killed process to be reaped")
        # The watcher saw it die and is loading a replacement; a call now is refused, not made to wait for it.
        if process.pid == first:
            with pytest.raises(ModelUnavailable, match="being restarted") as refused:
                process.encode(TEXTS)
            assert refused.value.retry_after_s >= 1
        wait_for(lambda: process.available, "the replacement to be ready")
        assert process.pid != first and alive(process.pid) and process.restarts == 1
        assert np.allclose(process.encode(TEXTS), embedder.encode(TEXTS), atol=1e-4)
        replacement = process.pid
    assert not alive(replacement)


def test_closing_while_a_replacement_loads_leaves_nothing_running(embedder):
    process = EmbedderProcess(embedder.model_name, threads=1)
    first = process.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not alive(first), "the killed process to be reaped")
    process.close()
    assert not process.available
    wait_for(lambda: not multiprocessing.active_children(), "the replacement to be stopped")
    with pytest.raises(RuntimeError, match="closed"):
        process.encode(TEXTS)


def test_the_configured_number_of_processes_start_and_stop(settings):
    processes = start_embedder_processes(settings.model_copy(update={"embed_processes": 2, "embed_threads": 1}))
    try:
        pids = [p.pid for p in processes]
        assert len(set(pids)) == 2 and all(alive(pid) for pid in pids)
    finally:
        for p in processes:
            p.close()
    assert not any(alive(pid) for pid in pids)
    assert start_embedder_processes(settings.model_copy(update={"embed_processes": 0})) == []


def test_an_engine_that_cannot_open_its_index_leaves_no_model_process(settings, tmp_path):
    broken = settings.model_copy(update={"index_dir": tmp_path / "empty", "embed_processes": 2, "embed_threads": 1})
    with pytest.raises(IndexProblem):
        open_engine(broken)
    assert not multiprocessing.active_children()


def test_settings_refuse_a_negative_process_count():
    with pytest.raises(ValueError, match="embed_processes"):
        Settings(embed_processes=-1)
