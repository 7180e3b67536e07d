"""Serving benchmark: /v1/ask over real HTTP against `citeqa serve`, compared with the bare model in one run.

    .venv/bin/python -m bench.serving            # the shipped corpus; a few minutes
    .venv/bin/python -m bench.serving --tiny     # seconds: what the tests run (one small document, few requests)

What it measures, all in one run on this machine (so the ratios compare like with like):
  floor        bare `Embedder.encode([question])` of one question in this process (same CITEQA_* settings, and
               the torch thread count the server's model uses for a lone question), interleaved with the c=1
               requests so background load hits both
  c=1          /v1/ask p50/p95/p99, one request at a time over a keep-alive connection
  c=4/16/64    throughput (answers/s), p50/p95/p99 and errors with that many connections in parallel
  stages       the Answer's own `timings_ms` (question analysis, embed, passage search, key terms, candidates, ranking, reading, check),
               plus response serialization timed here through the app's own /v1/ask response field
  model alone  the server's model processes fed batches of 16/processes questions, no HTTP, no answering
  CPU          CPU time per answer of the server process, its model processes and the load client (/proc),
               and the CPU budget at c=16 that follows: the most answers/s the cores allow
  build        `build_index` of the corpus vs one bare `encode` of the same unit texts (alternated)
  cold start   from process start to the first 200 from /readyz; peak RSS of the server and its model
               processes (sum of each one's VmHWM)

The load generator is a minimal asyncio HTTP/1.1 client (keep-alive, Content-Length/chunked bodies): on two
shared cores a heavier client would take CPU from the server it measures. Every load level is bounded in
requests and seconds and talks to 127.0.0.1 only.

Writes bench/results/serving.json atomically and prints the table with each target's ratio and pass/miss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import (
    RESULTS,
    ROOT,
    Server,
    children,
    cpu_seconds,
    machine,
    mib,
    percentile,
    table,
    write_json_atomic,
)

TARGETS = {
    "p50_c1_vs_floor": ("/v1/ask p50 at c=1 / bare single-question encode", "<=", 1.5),
    "throughput_c16_vs_c1": ("throughput c=16 / c=1 (and zero errors at c=16)", ">=", 4.0),
    "p95_c16_vs_p50_c1": ("p95 at c=16 / p50 at c=1", "<=", 5.0),
    "build_vs_encode": ("index build / bare encode of all units", "<=", 1.3),
}
# the Answer's `timings_ms` stages, in pipeline order (they add up to its total)
STAGES = ["question_analysis", "embed", "passage_search", "key_terms", "candidates", "ranking", "reading", "check"]


# ---------------------------------------------------------------- a minimal HTTP/1.1 load client


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, data


async def run_load(
    host: str, port: int, questions: list[str], concurrency: int, n_requests: int, max_seconds: float, offset: int = 0
) -> dict:
    """`concurrency` connections send /v1/ask back to back until `n_requests` are done or time is up."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    answers: list[dict] = []
    overheads: list[float] = []  # request latency minus the answerer's own total: HTTP, app, thread hand-offs
    next_i = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal next_i
        conn = Connection(host, port)
        try:
            while next_i < n_requests and time.perf_counter() < deadline:
                i = next_i
                next_i += 1
                body = json.dumps({"question": questions[(offset + i) % len(questions)]}).encode()
                t0 = time.perf_counter()
                try:
                    status, data = await conn.post("/v1/ask", body)
                except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                    await conn.close()
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 200:
                    answer = json.loads(data)
                    answers.append(answer)
                    if "total" in answer.get("timings_ms", {}):
                        overheads.append(latencies[-1] * 1000 - answer["timings_ms"]["total"])
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    ok = statuses.get("200", 0)
    return {
        "concurrency": concurrency,
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "statuses": statuses,
        "wall_s": round(wall, 3),
        "throughput_rps": round(ok / wall, 2) if wall > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "abstained": sum(1 for a in answers if a.get("abstained")),
        "outside_answerer_p50_ms": round(percentile(overheads, 50), 3),
        "_answers": answers,
        "_latencies": latencies,
        "_overheads": overheads,
    }


def stage_summary(answers: list[dict]) -> dict[str, dict[str, float]]:
    """p50 and mean of each `timings_ms` entry over the answers."""
    keys = sorted({k for a in answers for k in a.get("timings_ms", {})})
    out = {}
    for k in keys:
        values = [a["timings_ms"][k] for a in answers if k in a.get("timings_ms", {})]
        out[k] = {"p50": round(percentile(values, 50), 3), "mean": round(statistics.fmean(values), 3)}
    return out


# ---------------------------------------------------------------- measurements in this process


def load_questions(limit: int | None = None) -> list[str]:
    path = ROOT / "eval" / "questions.jsonl"
    questions = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    questions = questions or ["What is baclofen used for?", "How long does baclofen withdrawal last?"]
    return questions[:limit] if limit else questions


def unit_texts(settings) -> list[str]:
    """Exactly the texts `build_index` encodes for a full build, in the same order."""
    from citeqa.index.builder import chunk_embedding_text, split_document
    from citeqa.index.documents import load_corpus

    units = [split_document(doc, settings.index_config().chunking) for doc in load_corpus(settings.corpus_dir)]
    texts = [chunk_embedding_text(c, du.doc.title) for du in units for c in du.chunks]
    return texts + [s.text for du in units for s in du.sentences]


def measure_build(settings, embedder, rounds: int, log) -> dict:
    """Alternate a full build and a bare encode of the same texts; compare medians."""
    from citeqa.index.builder import build_index

    texts = unit_texts(settings)
    builds, encodes, inner = [], [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        embedder.encode(texts)
        encodes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = build_index(settings.index_config(), embedder, full=True)
        builds.append(time.perf_counter() - t0)
        inner.append(report.encode_seconds)
        log(f"build round {r + 1}: bare encode {encodes[-1]:.2f}s, build {builds[-1]:.2f}s (its encode {inner[-1]:.2f}s)")
    build_s, encode_s = statistics.median(builds), statistics.median(encodes)
    return {
        "units": len(texts), "chunks": report.chunks, "sentences": report.sentences, "rounds": rounds,
        "build_s": round(build_s, 3), "bare_encode_s": round(encode_s, 3),
        "build_encode_s": round(statistics.median(inner), 3),
        "build_other_s": round(build_s - statistics.median(inner), 3),
        "builds_s": [round(x, 3) for x in builds], "bare_encodes_s": [round(x, 3) for x in encodes],
        "ratio": round(build_s / encode_s, 3),
    }


def floor_block(embedder, questions: list[str], threads: int) -> list[float]:
    """Bare single-question encodes, with the torch thread count the server's model uses for a lone question."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = []
        for q in questions:
            t0 = time.perf_counter()
            embedder.encode([q])
            out.append(time.perf_counter() - t0)
        return out
    finally:
        torch.set_num_threads(before)


def measure_model_ceiling(settings, embedder, questions: list[str], concurrency: int, seconds: float) -> dict:
    """Questions/s the model alone gives at this concurrency, set up as the server sets it up.

    The server's model processes (or the in-process model) are fed batches of concurrency/processes questions
    back to back, with no HTTP and no answering. Its CPU per question is the model's share of the CPU budget
    that bounds throughput at this concurrency (`evaluate`).
    """
    from citeqa.service.runtime.embed_process import start_embedder_processes

    processes = start_embedder_processes(settings)
    encoders = processes or [embedder]
    batch = max(1, concurrency // len(encoders))
    done = [0] * len(encoders)
    try:
        for e in encoders:  # warm
            e.encode(questions[:batch])
        cpu_before = sum(cpu_seconds(p.pid) for p in processes) if processes else time.process_time()
        deadline = time.perf_counter() + seconds

        def drive(i: int) -> None:
            k = i * 997
            while time.perf_counter() < deadline:
                e_batch = [questions[(k + j) % len(questions)] for j in range(batch)]
                encoders[i].encode(e_batch)
                done[i] += batch
                k += batch

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(encoders)) as pool:
            list(pool.map(drive, range(len(encoders))))
        wall = time.perf_counter() - started
        cpu = (sum(cpu_seconds(p.pid) for p in processes) if processes else time.process_time()) - cpu_before
    finally:
        for process in processes:
            process.close()
    return {"concurrency": concurrency, "model_processes": len(processes), "batch": batch,
            "questions_per_s": round(sum(done) / wall, 1), "cpu_ms_per_question": round(cpu * 1000 / sum(done), 2)}


def cpu_split(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server process, of its model processes, and of this process (the load client)."""
    return {
        "server": cpu_seconds(server_pid),
        "model_processes": sum(cpu_seconds(k) for k in children(server_pid)),
        "load_client": time.process_time(),
    }


def measure_serialization(answers: list[dict], repeat: int = 20) -> dict:
    """Time the app's own response path for /v1/ask on real answers: response-field validate + serialize +
    JSONResponse.render (what FastAPI does after the endpoint returns), and pydantic's model_dump_json."""
    from citeqa.service.models import Answer

    models = [Answer.model_validate(a) for a in answers]
    out: dict[str, float] = {}
    try:
        from fastapi.responses import JSONResponse

        from citeqa.service.http.app import create_app

        route = next(r for r in create_app().routes if getattr(r, "path", None) == "/v1/ask")
        field = route.response_field

        def fastapi_path(m: Answer) -> bytes:
            value, errors = field.validate(m, {}, loc=("response",))
            assert not errors, errors
            return JSONResponse(field.serialize(value, by_alias=True, exclude_unset=False)).body

        out["fastapi_response_ms"] = _time_per_item(fastapi_path, models, repeat)
    except Exception as exc:  # noqa: BLE001 - the app's internals moved; the pydantic figure still stands
        out["fastapi_error"] = f"{type(exc).__name__}: {exc}"
    out["model_dump_json_ms"] = _time_per_item(lambda m: m.model_dump_json(), models, repeat)
    out["response_kib_p50"] = round(percentile([len(json.dumps(a)) for a in answers], 50) / 1024, 2)
    return out


def _time_per_item(fn, items: list, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for m in items:
            fn(m)
        samples.append((time.perf_counter() - t0) / max(1, len(items)))
    return round(statistics.median(samples) * 1000, 4)


def scrape_batches(base_url: str) -> tuple[float, float]:
    """(questions, batches) embedded so far by the server's micro-batcher, from /metrics."""
    import httpx

    try:
        text = httpx.get(f"{base_url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return float("nan"), float("nan")

    def value(name: str) -> float:
        m = re.search(rf"^{name}(?:_total)?(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.MULTILINE)
        return float(m.group(1)) if m else float("nan")

    return value("citeqa_embed_questions"), value("citeqa_embed_batches")


# ---------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: CITEQA_CORPUS_DIR / shipped)")
    ap.add_argument("--c1-requests", type=int, default=200, help="requests at concurrency 1 (split in rounds)")
    ap.add_argument("--requests", type=int, default=400, help="requests at each higher concurrency")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--rounds", type=int, default=4, help="floor / c=1 interleaved rounds")
    ap.add_argument("--build-rounds", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=120.0, help="time cap of each load level")
    ap.add_argument("--profile", type=int, default=0, metavar="C",
                    help="record a py-spy profile of the server during an extra run at concurrency C")
    ap.add_argument("--threads", type=int, default=0,
                    help="OpenMP/torch threads for the server and the floor (OMP_NUM_THREADS); 0 = library default")
    ap.add_argument("--tiny", action="store_true", help="one small document and a few requests: seconds")
    ap.add_argument("--out", type=Path, default=None, help="JSON path (default results/serving.json, or serving-tiny.json)")
    args = ap.parse_args(argv)
    args.out = args.out or RESULTS / ("serving-tiny.json" if args.tiny else "serving.json")

    def log(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    from citeqa.settings import Settings
    from citeqa.index.embedder import Embedder

    tmp = Path(tempfile.mkdtemp(prefix="citeqa-serving-"))
    corpus = args.corpus
    if args.tiny:
        corpus = tmp / "corpus"
        corpus.mkdir()
        shutil.copy(ROOT / "corpus" / "what-is-baclofen.txt", corpus)
        args.c1_requests, args.requests, args.rounds, args.build_rounds = 12, 0, 2, 1
    settings = Settings(index_dir=tmp / "index", **({"corpus_dir": corpus} if corpus else {}))
    env = {"CITEQA_INDEX_DIR": str(settings.index_dir), "CITEQA_CORPUS_DIR": str(settings.corpus_dir)}
    if args.threads:
        import faiss
        import torch

        env.update({"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)})
        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)
    questions = load_questions()
    result: dict = {"machine": machine(), "corpus_dir": str(settings.corpus_dir), "tiny": args.tiny}
    try:
        import torch

        embedder = Embedder(settings.model, settings.embed_batch_size)
        from citeqa.service.runtime.embed_process import threads_per_process

        lone_threads = 1 if settings.embed_processes else torch.get_num_threads()
        result["process"] = {
            "torch_threads": torch.get_num_threads(), "omp_num_threads_env": env.get("OMP_NUM_THREADS"),
            "embed_processes": settings.embed_processes,
            "embed_threads": threads_per_process(settings) if settings.embed_processes else torch.get_num_threads(),
            "floor_threads": lone_threads,
            "batch_wait_ms": settings.batch_wait_ms,
            "batch_max_size": settings.batch_max_size, "model": embedder.identity,
        }
        embedder.encode(questions[:16])  # warm
        log("measuring the index build against a bare encode of the same texts")
        result["build"] = measure_build(settings, embedder, args.build_rounds, log)

        with Server(env, tmp / "serve.log") as server:
            log("starting citeqa serve")
            result["cold_start_s"] = round(server.start(), 3)
            log(f"ready in {result['cold_start_s']}s at {server.base_url}")
            port = server.port
            asyncio.run(run_load("127.0.0.1", port, questions, 1, 10, 60))  # warm the server

            floor, floor_main, c1_lat, c1_answers, c1_over, c1_errors, c1_wall, c1_ok = [], [], [], [], [], 0, 0.0, 0
            per_round = max(1, args.c1_requests // args.rounds)
            c1_cpu: dict[str, float] = {}
            # The floor is taken on a worker thread, and for a third of the questions on the main thread too
            # (reported beside it): with torch's OpenMP pool on a busy machine the two once differed several-fold.
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floor")
            for r in range(args.rounds):
                block = questions[(r * per_round) % len(questions):][:per_round] or questions[:per_round]
                floor += worker.submit(floor_block, embedder, block, lone_threads).result()
                floor_main += floor_block(embedder, block[: max(1, len(block) // 3)], lone_threads)
                cpu0 = cpu_split(server.proc.pid)
                run = asyncio.run(run_load("127.0.0.1", port, questions, 1, per_round, args.max_seconds, offset=r * per_round))
                cpu1 = cpu_split(server.proc.pid)
                for k in cpu0:
                    c1_cpu[k] = c1_cpu.get(k, 0.0) + cpu1[k] - cpu0[k]
                c1_lat += run["_latencies"]
                c1_answers += run["_answers"]
                c1_over += run["_overheads"]
                c1_errors += run["errors"]
                c1_wall += run["wall_s"]
                c1_ok += run["ok"]
            worker.shutdown()
            result["floor_ms"] = {
                "p50": round(percentile(floor, 50) * 1000, 2), "p95": round(percentile(floor, 95) * 1000, 2), "n": len(floor),
                "thread": "worker thread (as the server's batcher)",
                "main_thread_p50": round(percentile(floor_main, 50) * 1000, 2),
            }
            result["c1"] = {
                "concurrency": 1, "requests": len(c1_lat) + c1_errors, "ok": c1_ok, "errors": c1_errors,
                "throughput_rps": round(c1_ok / c1_wall, 2) if c1_wall else 0.0,
                "p50_ms": round(percentile(c1_lat, 50) * 1000, 2), "p95_ms": round(percentile(c1_lat, 95) * 1000, 2),
                "p99_ms": round(percentile(c1_lat, 99) * 1000, 2),
                "abstained": sum(1 for a in c1_answers if a.get("abstained")),
                "outside_answerer_p50_ms": round(percentile(c1_over, 50), 3),
                "cpu_ms_per_answer": {k: round(v * 1000 / c1_ok, 2) if c1_ok else float("nan") for k, v in c1_cpu.items()},
                "cpu_busy_pct": {k: round(v * 100 / c1_wall) if c1_wall else 0 for k, v in c1_cpu.items()},
            }
            log(f"floor p50 {result['floor_ms']['p50']} ms; c=1 {result['c1']}")
            result["stages_ms"] = {"c1": stage_summary(c1_answers)}
            if 16 in args.concurrency:
                log("measuring the model alone at c=16 (the server's model setup, no HTTP, no answering)")
                result["model_ceiling"] = measure_model_ceiling(settings, embedder, questions, 16, 2 if args.tiny else 6)
                log(f"model alone: {result['model_ceiling']}")

            result["levels"] = []
            for c in args.concurrency:
                n = max(args.requests, c if args.tiny else 2 * c)
                q0, b0 = scrape_batches(server.base_url)
                cpu0 = cpu_split(server.proc.pid)
                run = asyncio.run(run_load("127.0.0.1", port, questions, c, n, args.max_seconds))
                cpu1 = cpu_split(server.proc.pid)
                q1, b1 = scrape_batches(server.base_url)
                run["cpu_ms_per_answer"] = {
                    k: round((cpu1[k] - cpu0[k]) * 1000 / run["ok"], 2) if run["ok"] else float("nan") for k in cpu0
                }
                run["cpu_busy_pct"] = {k: round((cpu1[k] - cpu0[k]) * 100 / run["wall_s"]) for k in cpu0}
                answers = run.pop("_answers")
                run.pop("_latencies")
                run.pop("_overheads")
                run["mean_embed_batch"] = round((q1 - q0) / (b1 - b0), 2) if b1 > b0 else float("nan")
                result["levels"].append(run)
                result["stages_ms"][f"c{c}"] = stage_summary(answers)
                log(f"c={c}: {run}")

            result["serialization_ms"] = measure_serialization(c1_answers[:50])
            if args.profile:
                result["profile"] = profile_server(server, questions, args.profile, args.requests, tmp, log)
            result["server_peak_rss_mib"] = mib(server.peak_rss())
            server.stop()
            result["server_log_problems"] = log_problems(server.log_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    result["targets"] = evaluate(result)
    write_json_atomic(args.out, result)
    args.out.with_suffix(".txt").write_text(render(result) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwrote {args.out}")
    return result


def log_problems(path: Path, limit: int = 5) -> list[str]:
    """The server log's tracebacks (innermost frames and the exception line) and ERROR lines, at most `limit`."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    out: list[str] = []
    i = 0
    while i < len(lines) and len(out) < limit:
        if lines[i].startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("Traceback") or not lines[j].strip()
                                      or lines[j].startswith(("The above exception", "During handling"))):
                j += 1
            block = lines[i : j + 1]
            out.append("\n".join(block[-12:]))
            i = j + 1
            continue
        i += 1
    return out


def profile_server(server: Server, questions: list[str], c: int, n: int, tmp: Path, log) -> dict:
    """py-spy on the server during load at concurrency c, twice: every running thread (where the CPU goes),
    then only the thread holding the GIL (what serializes Python work). Collapsed stacks are kept in results/."""
    import subprocess
    import sys

    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        return {"error": "py-spy is not installed in this environment (pip install py-spy)"}
    out: dict = {"concurrency": c}
    duration = 15
    for view, flags in (("running", []), ("gil", ["--gil"])):
        raw = tmp / f"profile-{view}.txt"
        spy = subprocess.Popen(
            [str(py_spy), "record", "-p", str(server.proc.pid), "-o", str(raw), "--format", "raw", "-r", "250", "--subprocesses",
             "-d", str(duration), *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        run = asyncio.run(run_load("127.0.0.1", server.port, questions, c, 100_000, duration - 1))
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()
        if not raw.exists():
            out[view] = {"error": (spy.stderr.read() or b"").decode(errors="replace")[-500:]}
            continue
        keep = RESULTS / f"serving-profile-c{c}-{view}.txt"
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(raw, keep)
        out[view] = {"throughput_rps": run["throughput_rps"], "collapsed_stacks": str(keep.relative_to(ROOT)),
                     **summarize_profile(keep, running=view == "running")}
        log(f"profile ({view}) at c={c}: {run['throughput_rps']} answers/s; {out[view]['by_role_pct']}")
    return out


def summarize_profile(path: Path, top: int = 15, running: bool = True) -> dict:
    """Share of samples per role, and the functions with most self time, from py-spy collapsed stacks."""
    self_time: dict[str, int] = {}
    roles: dict[str, int] = {}
    server_roles: dict[str, int] = {}  # without the model processes' stacks
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf = re.sub(r"^(.*?) \((?:.*/)?([^/]+)\)$", r"\1 (\2)", frames[-1])
        self_time[leaf] = self_time.get(leaf, 0) + n
        role = classify(frames, running)
        roles[role] = roles.get(role, 0) + n
        if not role.startswith(("model process", "(waiting) model process")):
            server_roles[role] = server_roles.get(role, 0) + n
    top_frames = sorted(self_time.items(), key=lambda kv: -kv[1])[:top]

    def shares(counts: dict[str, int]) -> dict[str, float]:
        whole = sum(counts.values())
        return {k: round(100 * v / whole, 1) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])} if whole else {}

    return {
        "samples": total,
        "by_role_pct": shares(roles),
        "server_process_by_role_pct": shares(server_roles),
        "top_self_pct": [[f, round(100 * v / total, 1)] for f, v in top_frames] if total else [],
    }


ROLES = (
    ("batching.py", "answer: waiting for its embedding"),
    ("rank_evidence", "answer: sentence ranking"),
    ("search_sentences", "answer: sentence retrieval"),
    ("collect_candidates", "answer: sentence candidates"),
    ("bm25", "answer: BM25"),
    ("vector_store.py", "answer: dense search"),
    ("reciprocal_rank_fusion", "answer: fusion"),
    ("conflicts.py", "answer: conflict detection (tokenizing sentence pairs)"),
    ("check_answer", "answer: citation check"),
    ("missing_key_terms", "answer: abstention terms"),
    ("extractive_answer", "answer: compose"),
    ("model_copy", "answer: pydantic copies"),
)


IDLE_LEAVES = ("wait (threading.py", "get (queue.py", "select (selectors.py", "acquire", "sleep", "Runner.run (runners.py",
               "_recv (multiprocessing")


def classify(frames: list[str], running: bool = True) -> str:
    text = ";".join(frames)
    if "_child (service/runtime/embed_process.py" in text:  # a model process (py-spy --subprocesses)
        if "encode" in text and not (running and any(k in frames[-1] for k in IDLE_LEAVES + ("recv", "_recv"))):
            return "model process: encode"
        return "(waiting) model process idle"
    if "batching.py" in text and "embed_process.py" in text:
        return "(waiting) batcher thread, for its model process" if running else "batcher thread: pipe to its model process"
    if running and frames and any(k in frames[-1] for k in IDLE_LEAVES) and "encode" not in text:
        # a thread blocked on a lock, a queue or the event loop's poll (uvloop runs in C under Runner.run)
        return "(waiting) answer for its embedding" if "answer_question" in text else "(waiting) other / event loop poll"
    if "answer_question" in text:
        for needle, role in ROLES:
            if needle in text:
                return role
        return "answer: other"
    if "batching.py" in text:
        if "index/embedder.py" in text:
            return "model encode (batcher thread, model in the server process)"
        return "batcher thread: hand-off" if "_encode" in text else "batcher thread waiting"
    if "serialize_response" in text or "jsonable_encoder" in text or "render (starlette" in text:
        return "response serialization"
    if any(k in text for k in ("uvicorn", "starlette", "fastapi", "asyncio", "anyio", "h11", "httptools")):
        return "event loop / HTTP / middleware"
    return "other"


def evaluate(result: dict) -> list[dict]:
    floor = result["floor_ms"]["p50"]
    c1 = result["c1"]
    by_c = {lvl["concurrency"]: lvl for lvl in result.get("levels", [])}
    values: dict[str, tuple[float, str]] = {
        "p50_c1_vs_floor": (c1["p50_ms"] / floor, f"{c1['p50_ms']:.1f} ms / {floor:.1f} ms"),
        "build_vs_encode": (result["build"]["ratio"], f"{result['build']['build_s']:.2f} s / {result['build']['bare_encode_s']:.2f} s"),
    }
    c16 = by_c.get(16)
    if c16:
        values["throughput_c16_vs_c1"] = (
            c16["throughput_rps"] / c1["throughput_rps"] if c1["throughput_rps"] else float("nan"),
            f"{c16['throughput_rps']:.1f} / {c1['throughput_rps']:.1f} answers/s, {c16['errors']} errors",
        )
        values["p95_c16_vs_p50_c1"] = (c16["p95_ms"] / c1["p50_ms"], f"{c16['p95_ms']:.1f} ms / {c1['p50_ms']:.1f} ms")
    ceiling = result.get("model_ceiling")
    if ceiling and c16 and c16.get("cpu_ms_per_answer") and c1["throughput_rps"]:
        # A CPU budget: every answer at c=16 needs the model's CPU for one question (at best what the model
        # alone needs, in batches of the same size) plus what the server process and the load client spend on
        # it; all cores together cannot give more answers per second than that allows.
        per = c16["cpu_ms_per_answer"]
        need = ceiling["cpu_ms_per_question"] + per["server"] + per["load_client"]
        cores = result["machine"]["cpus"]
        best = cores * 1000 / need
        result["bounds"] = {
            "model_cpu_ms_per_question_best": ceiling["cpu_ms_per_question"],
            "server_cpu_ms_per_answer_c16": per["server"],
            "load_client_cpu_ms_per_answer_c16": per["load_client"],
            "cores": cores,
            "max_answers_per_s_c16": round(best, 1),
            "max_throughput_ratio": round(best / c1["throughput_rps"], 2),
            "min_mean_latency_c16_ms": round(16 / best * 1000, 1),
            "min_mean_latency_c16_vs_p50_c1": round(16 / best * 1000 / c1["p50_ms"], 2),
        }
    out = []
    for key, (label, op, target) in TARGETS.items():
        if key not in values:
            out.append({"target": key, "label": label, "ratio": None, "limit": f"{op} {target}", "status": "not run"})
            continue
        ratio, detail = values[key]
        ok = ratio <= target if op == "<=" else ratio >= target
        if key == "throughput_c16_vs_c1":
            ok = ok and c16["errors"] == 0
        out.append({"target": key, "label": label, "ratio": round(ratio, 2), "limit": f"{op} {target}",
                    "detail": detail, "status": "pass" if ok else "miss"})
    return out


def render(result: dict) -> str:
    out = []
    proc = result.get("process", {})
    out.append(f"citeqa serving benchmark  (corpus {result['corpus_dir']}; {result['machine']['cpus']} cpus; "
               f"model processes {proc.get('embed_processes')} x {proc.get('embed_threads')} torch threads, "
               f"1 thread for a lone question, floor on {proc.get('floor_threads')}; "
               f"batch_wait_ms {proc.get('batch_wait_ms')}; "
               f"load at start {result['machine']['loadavg_at_start']})")
    c1 = result["c1"]
    rows = [["bare encode, 1 question (floor)", "1", "-", result["floor_ms"]["p50"], result["floor_ms"]["p95"], "-", "-"]]
    if "main_thread_p50" in result["floor_ms"]:
        rows.append(["  same, on the main thread", "1", "-", result["floor_ms"]["main_thread_p50"], "-", "-", "-"])
    rows.append(["/v1/ask", "1", c1["throughput_rps"], c1["p50_ms"], c1["p95_ms"], c1["p99_ms"], c1["errors"]])
    for lvl in result.get("levels", []):
        rows.append(["/v1/ask", str(lvl["concurrency"]), lvl["throughput_rps"], lvl["p50_ms"], lvl["p95_ms"], lvl["p99_ms"], lvl["errors"]])
    ceiling = result.get("model_ceiling")
    if ceiling:
        rows.append([f"model alone, batches of {ceiling['batch']} (no HTTP, no answer)", str(ceiling["concurrency"]),
                     ceiling["questions_per_s"], "-", "-", "-", "-"])
    out.append(table(["what", "c", "answers/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows))
    batches = [f"c={lvl['concurrency']}: {lvl['mean_embed_batch']}" for lvl in result.get("levels", [])]
    if batches:
        out.append("mean questions per model call (micro-batching): " + ", ".join(batches))

    stages = result["stages_ms"]
    columns = [k for k in stages if stages[k]]
    names = STAGES
    extra = sorted({k for col in columns for k in stages[col]} - set(names) - {"total"})
    rows = []
    for name in [*names, *extra, "total"]:
        rows.append([name, *[stages[col].get(name, {}).get("p50", float("nan")) for col in columns]])
    levels = {f"c{lvl['concurrency']}": lvl for lvl in result.get("levels", [])}
    levels["c1"] = result["c1"]
    rows.append(["outside the answerer (HTTP, app, threads)", *[levels.get(col, {}).get("outside_answerer_p50_ms", float("nan")) for col in columns]])
    ser = result.get("serialization_ms", {})
    rows.append(["serialization (FastAPI response path)", ser.get("fastapi_response_ms", float("nan")), *["" for _ in columns[1:]]])
    rows.append(["serialization (model_dump_json)", ser.get("model_dump_json_ms", float("nan")), *["" for _ in columns[1:]]])
    out.append("\nPer-stage p50 (ms) from the Answer's timings_ms" )
    out.append(table(["stage", *[f"at {c.replace('c', 'c=')}" for c in columns]], rows))

    cpu_rows = []
    for lvl in [result["c1"], *result.get("levels", [])]:
        per, busy = lvl.get("cpu_ms_per_answer"), lvl.get("cpu_busy_pct")
        if per:
            total = sum(per.values())
            cpu_rows.append([str(lvl["concurrency"]), per["server"], per["model_processes"], per["load_client"],
                             round(total, 2), f"{sum(busy.values())}%"])
    if cpu_rows:
        cpus = result["machine"]["cpus"]
        out.append(f"\nCPU per answer (ms of CPU time, from /proc), and how busy the {cpus} cores were ({100 * cpus}% = all)")
        out.append(table(["c", "server process", "model processes", "load client", "total", "busy"], cpu_rows))

    b = result["build"]
    out.append("\nOther figures")
    out.append(table(["what", "value"], [
        ["index build of the corpus (s)", f"{b['build_s']} (its encode {b['build_encode_s']}, other {b['build_other_s']})"],
        ["bare encode of the same units (s)", f"{b['bare_encode_s']} ({b['units']} texts: {b['chunks']} chunks + {b['sentences']} sentences)"],
        ["cold start to /readyz 200 (s)", result["cold_start_s"]],
        ["server peak RSS (MiB)", result["server_peak_rss_mib"]],
    ]))
    out.append("\nTargets")
    out.append(table(["target", "ratio", "limit", "figures", "result"],
                     [[t["label"], t["ratio"] if t["ratio"] is not None else "-", t["limit"], t.get("detail", ""), t["status"].upper()] for t in result["targets"]]))
    gil = result.get("profile", {}).get("gil", {})
    if gil.get("server_process_by_role_pct"):
        top = [f"{role} {pct}%" for role, pct in gil["server_process_by_role_pct"].items() if pct >= 1.0]
        out.append(f"\npy-spy --gil at c={result['profile']['concurrency']}, the server process's GIL time "
                   f"({gil['throughput_rps']} answers/s while sampled): " + "; ".join(top))
    bounds = result.get("bounds")
    if bounds:
        out.append(
            f"\nCPU budget at c=16: the model needs {bounds['model_cpu_ms_per_question_best']} ms of CPU per question even "
            f"alone in batches of {ceiling['batch']}, the server process {bounds['server_cpu_ms_per_answer_c16']} ms per "
            f"answer, the load client {bounds['load_client_cpu_ms_per_answer_c16']} ms: {bounds['cores']} cores allow at "
            f"most {bounds['max_answers_per_s_c16']} answers/s, {bounds['max_throughput_ratio']}x the c=1 rate. "
            f"16 questions in flight at that rate wait {bounds['min_mean_latency_c16_ms']} ms on average "
            f"(Little's law), {bounds['min_mean_latency_c16_vs_p50_c1']}x the c=1 p50, before any tail."
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()
