"""Admission's bookkeeping: every admitted question gives its place in the bound back, also one cancelled while
it still waits for a thread (anyio then never runs it; a request task is cancelled so at shutdown, and would be
at its deadline did the threads not free up first). Were a place lost, the bound would shrink for good and the
service would end up refusing every question. Real threads and real blocking work; no server is needed to see
the count."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi import HTTPException

from citeqa.service.http.admission import Admission

GUARD_S = 30.0  # only a guard against a hang, never a claim about speed


async def status_of(admission: Admission, fn, *args) -> int:
    try:
        await admission.run(fn, *args)
    except HTTPException as exc:
        return exc.status_code
    return 200


def test_a_question_cancelled_while_it_waits_for_a_thread_never_runs_and_gives_its_place_back():
    release = threading.Event()
    ran: list[str] = []

    def hold() -> str:  # takes the only answer thread until released
        release.wait(GUARD_S)
        ran.append("held")
        return "held"

    def quick(name: str) -> str:
        ran.append(name)
        return name

    async def scenario() -> None:
        admission = Admission(max_in_flight=2, max_generative=1, deadline_s=GUARD_S, answer_threads=1)
        admission.start()
        try:
            held = asyncio.ensure_future(admission.run(hold))
            waiting = asyncio.ensure_future(admission.run(quick, "cancelled"))
            await asyncio.sleep(0.1)  # `hold` is on the thread, `quick` waits for it
            assert admission.full() and not held.done() and not waiting.done()
            assert await status_of(admission, quick, "refused") == 503
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert not admission.full()  # the cancelled question's place is free at once
            release.set()
            assert await held == "held"
            # both places are free again: two questions at once are both answered
            both = await asyncio.gather(status_of(admission, quick, "a"), status_of(admission, quick, "b"))
            assert both == [200, 200]
            assert sorted(ran) == ["a", "b", "held"]  # the cancelled one never ran, the refused one neither
        finally:
            release.set()
            admission.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("generative", [False, True])
def test_every_finished_question_gives_its_place_back(generative):
    """Answered, failed or refused, extractive or generative: afterwards the whole bound is free."""

    def fails() -> None:
        raise ValueError("the answer failed")

    async def scenario() -> None:
        admission = Admission(max_in_flight=3, max_generative=3, deadline_s=5.0, answer_threads=2)
        admission.start()
        try:
            assert await admission.run(lambda: "ok", generative=generative) == "ok"
            with pytest.raises(ValueError):
                await admission.run(fails, generative=generative)
            results = await asyncio.gather(
                *(admission.run(lambda: "ok", generative=generative) for _ in range(3))
            )
            assert results == ["ok"] * 3  # all three places were free
        finally:
            admission.close()

    asyncio.run(scenario())
