"""Helpers shared by the benchmarks: timing, memory from /proc, tables, atomic JSON, a citeqa server subprocess."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Self

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def time_each(fn: Callable[[object], object], items: Sequence[object]) -> list[float]:
    """Seconds per call, one call per item."""
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM (peak) / VmSize in bytes, from /proc (Linux)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "VmSize"):
                out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def rss(pid: int | str = "self") -> int:
    return proc_status(pid).get("VmRSS", 0)


def peak_rss(pid: int | str = "self") -> int:
    return proc_status(pid).get("VmHWM", 0)


def children(pid: int) -> list[int]:
    """Descendants, through every thread: a child started from a worker thread is listed under that thread."""
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                kids += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        return []
    return kids + [g for k in kids for g in children(k)]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_peak_rss(pid: int) -> int:
    """Peak RSS of a process plus its descendants (each one's own peak; an upper bound on the joint peak)."""
    return sum(peak_rss(p) for p in [pid, *children(pid)])


def mib(n_bytes: float) -> float:
    return round(n_bytes / 2**20, 1)


def write_json_atomic(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, default=_jsonable)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join([line, rule, *body])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("-", "").replace("%", "").replace("x", "").isdigit()


def machine() -> dict[str, object]:
    import platform

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


# --- a `citeqa serve` subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`citeqa serve` as a child process on 127.0.0.1, configured through CITEQA_* variables."""

    def __init__(self, env: dict[str, str], log_path: Path, command: Sequence[str] | None = None) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "CITEQA_HOST": "127.0.0.1", "CITEQA_PORT": str(self.port)}
        script = Path(sys.executable).with_name("citeqa")
        default = [str(script), "serve"] if script.exists() else [sys.executable, "-m", "citeqa.cli", "serve"]
        self.command = list(command or default)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_seconds = float("nan")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> float:
        """Start and wait for /readyz 200; returns seconds from process start to ready."""
        import httpx

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = self.started_at + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"citeqa serve exited with {self.proc.returncode}; see {self.log_path}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/readyz").status_code == 200:
                        self.ready_seconds = time.perf_counter() - self.started_at
                        return self.ready_seconds
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"citeqa serve was not ready within {timeout:.0f}s; see {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def peak_rss(self) -> int:
        return tree_peak_rss(self.proc.pid) if self.proc and self.proc.poll() is None else 0

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
