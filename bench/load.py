"""Load run: /v1/ask at concurrency 64 and 256 against `citeqa serve` on the configured index.

    .venv/bin/python -m bench.load                                # 5,000 at c=64, then 2,000 at c=256
    .venv/bin/python -m bench.load --requests-64 500 --requests-256 300   # a shorter run
    .venv/bin/python -m bench.load --backoff 0      # clients that retry at once instead of after Retry-After

What it checks (issue 12, backpressure): at c=64 every request is answered (the default bound on questions at
once, CITEQA_MAX_IN_FLIGHT, is above 64); at c=256 every request is either answered (200) or refused (503 with
Retry-After), never dropped or failed, and refusals are fast (their p99); the server's memory (RSS of the server
and its model processes, sampled every second) stays flat across both. Needs a built index (`citeqa index`).
Writes bench/results/load.json atomically and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

from bench.common import RESULTS, Server, children, machine, mib, percentile, rss, table, write_json_atomic
from bench.serving import Connection, load_questions

REFUSAL_P99_MS = 50.0


async def hammer(port: int, questions: list[str], concurrency: int, n_requests: int, backoff_s: float) -> dict:
    """`concurrency` keep-alive connections send /v1/ask back to back until `n_requests` have been sent; after a
    503 a connection waits `backoff_s` (the server's Retry-After), as the OpenAI client and polite ones do."""
    latencies: dict[str, list[float]] = {}
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        conn = Connection("127.0.0.1", port)
        try:
            while next_i < n_requests:
                i, next_i = next_i, next_i + 1
                body = json.dumps({"question": questions[i % len(questions)]}).encode()
                t0 = time.perf_counter()
                try:
                    status, _ = await conn.post("/v1/ask", body)
                    key = str(status)
                except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    key = type(exc).__name__
                    await conn.close()
                latencies.setdefault(key, []).append(time.perf_counter() - t0)
                if key == "503" and backoff_s:
                    await asyncio.sleep(backoff_s)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    answered, refused = latencies.get("200", []), latencies.get("503", [])
    return {
        "concurrency": concurrency,
        "backoff_after_503_s": backoff_s,
        "requests": sum(len(v) for v in latencies.values()),
        "statuses": {k: len(v) for k, v in sorted(latencies.items())},
        "failed": sum(len(v) for k, v in latencies.items() if k not in ("200", "503")),
        "wall_s": round(wall, 2),
        "answers_per_s": round(len(answered) / wall, 1) if wall else 0.0,
        "answered_p50_ms": round(percentile(answered, 50) * 1000, 1) if answered else None,
        "answered_p99_ms": round(percentile(answered, 99) * 1000, 1) if answered else None,
        "refused_p50_ms": round(percentile(refused, 50) * 1000, 1) if refused else None,
        "refused_p99_ms": round(percentile(refused, 99) * 1000, 1) if refused else None,
    }


class MemorySampler:
    """RSS of the server and its model processes, once a second, in a thread beside the load."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.samples.append(sum(rss(p) for p in [self.pid, *children(self.pid)]))
            except OSError:
                pass

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests-64", type=int, default=5000)
    parser.add_argument("--requests-256", type=int, default=2000)
    parser.add_argument("--backoff", type=float, default=1.0,
                        help="seconds a connection waits after a 503 (the server's Retry-After); 0 = none")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args(argv)

    questions = load_questions()
    with tempfile.TemporaryDirectory() as tmp, Server({}, Path(tmp) / "server.log") as server:
        server.start()
        with MemorySampler(server.proc.pid) as memory:
            runs = [asyncio.run(hammer(server.port, questions, c, n, args.backoff))
                    for c, n in ((64, args.requests_64), (256, args.requests_256))]
        log_tail = server.log_tail()
    mem = memory.samples or [0]
    first, last = runs
    result = {
        "machine": machine(),
        "runs": runs,
        "rss_mib": {"first": round(mib(mem[0]), 1), "last": round(mib(mem[-1]), 1), "max": round(mib(max(mem)), 1),
                    "samples": len(memory.samples)},
        "checks": {
            "c64: every request answered": first["statuses"] == {"200": first["requests"]},
            "c256: every request answered or refused (503)": last["failed"] == 0,
            f"c256: refusals' p99 under {REFUSAL_P99_MS:g} ms": (last["refused_p99_ms"] or 0.0) < REFUSAL_P99_MS,
        },
    }
    write_json_atomic(args.out, result)
    print(table(
        ["concurrency", "requests", "statuses", "answers/s", "answered p50/p99 ms", "refused p50/p99 ms"],
        [[r["concurrency"], r["requests"], r["statuses"], r["answers_per_s"],
          f"{r['answered_p50_ms']} / {r['answered_p99_ms']}", f"{r['refused_p50_ms']} / {r['refused_p99_ms']}"]
         for r in runs],
    ))
    rss_mib = result["rss_mib"]
    print(f"\nRSS of server + model processes (MiB): first {rss_mib['first']}, last {rss_mib['last']}, "
          f"max {rss_mib['max']} over {rss_mib['samples']} samples")
    for check, passed in result["checks"].items():
        print(f"{'pass' if passed else 'MISS'}  {check}")
    if not all(result["checks"].values()):
        print("\nserver log (last lines):\n" + log_tail)
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
