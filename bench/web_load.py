"""Benchmark: the indicator-series endpoint under 50 concurrent clients (issue #5: goal p95 ≤ 50 ms on 2 cores).

Starts the web app with uvicorn on a free loopback port over a demo store (a fresh SQLite store with the plan
and the shipped data, or ``--database URL``), then, against that one server:

* the target: ``GET /api/v1/indicators/11.1.1/series/{place}``, the place cycling over every country with values
  (published values read from the store on every request);
* the reference: ``GET /static/habmon.css`` — a trivial static file from the same server process, the floor
  this server stack pays per request.

Each run is bounded by time (``--seconds``); load comes from ``wrk`` (Debian package ``wrk``) when installed,
else from an httpx async client in this process (``--client httpx``; it competes for the same 2 cores, so its
latencies are pessimistic). Prints requests, throughput, p50/p95/p99 latency, errors and the ratio to the
reference, with the machine and the load average before and after. Loopback only; the server is stopped at the end.

Usage: .venv/bin/python bench/web_load.py [--seconds 20] [--connections 50] [--workers 1] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from habmon.services import Monitor
from habmon.store.store import Store

SERIES = "/api/v1/indicators/11.1.1/series/{geo}"
REFERENCE = "/static/habmon.css"
WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_store(directory: Path) -> str:
    url = f"sqlite:///{directory / 'habmon.sqlite3'}"
    monitor = Monitor(Store(url), actor="bench")
    monitor.init()
    monitor.load_shipped()
    monitor.store.dispose()
    return url


def places_with_values(url: str) -> list[str]:
    store = Store(url)
    try:
        return store.geos_with("11.1.1")
    finally:
        store.dispose()


def server_stack() -> str:
    """What uvicorn's ``auto`` picks in the server's environment: httptools + uvloop when importable."""
    probe = "import importlib.util as u; print(bool(u.find_spec('httptools')), bool(u.find_spec('uvloop')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    return f"{'httptools' if out[0] == 'True' else 'h11'} + {'uvloop' if out[1] == 'True' else 'asyncio'}"


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "habmon.web:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    env = {**os.environ, "HABMON_DATABASE_URL": url}
    server = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{REFERENCE}", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit("the server did not start within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def run_wrk(name: str, base: str, paths: list[str], seconds: int, connections: int, threads: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script.name, base]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, duration_us, p50, p95, p99, errors = (int(v) for v in line.split()[1:])
    return Result(name, requests, duration_us / 1e6, p50 / 1000, p95 / 1000, p99 / 1000, errors)


async def _httpx_load(base: str, paths: list[str], seconds: int, connections: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal errors
            k = offset
            while time.perf_counter() < stop:
                start = time.perf_counter()
                response = await client.get(paths[k % len(paths)])
                latencies.append(time.perf_counter() - start)
                errors += response.status_code >= 400
                k += connections

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        return latencies, errors, time.perf_counter() - began


def run_httpx(name: str, base: str, paths: list[str], seconds: int, connections: int) -> Result:
    latencies, errors, elapsed = asyncio.run(_httpx_load(base, paths, seconds, connections))
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Result(name, len(latencies), elapsed, cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000, errors)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.platform()}, Python {platform.python_version()}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="duration of each run")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--client", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--database", help="store URL (default: a fresh SQLite demo store in a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="habmon-web-load-") as directory:
        started = time.perf_counter()
        url = args.database or demo_store(Path(directory))
        places = places_with_values(url)
        ready = time.perf_counter() - started
        print(f"store: {url.split('@')[-1]} ({len(places)} places with 11.1.1 values; ready in {ready:.1f} s)")
        port = free_port()
        server = start_server(url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            series = [SERIES.format(geo=g) for g in places]
            for path in series:  # warm: reference data cached, every path answered once
                assert httpx.get(base + path, timeout=30).status_code == 200, path
            before = load_average()
            runs = [("indicator series", series), ("reference: static file", [REFERENCE])]
            results = []
            for name, paths in runs:
                if args.client == "wrk":
                    results.append(run_wrk(name, base, paths, args.seconds, args.connections, threads=2))
                else:
                    results.append(run_httpx(name, base, paths, args.seconds, args.connections))
            after = load_average()
        finally:
            stop_server(server)

    print(f"machine: {machine()}; load average before {before}, after {after}")
    print(
        f"server: uvicorn ({server_stack()}), {args.workers} worker(s), loopback; "
        f"client: {args.client}, {args.connections} connections, {args.seconds} s per run"
    )
    print(f"{'endpoint':<24}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for r in results:
        latency = f"{r.p50_ms:>10.1f}{r.p95_ms:>10.1f}{r.p99_ms:>10.1f}"
        print(f"{r.name:<24}{r.requests:>10}{r.throughput:>10.0f}{latency}{r.errors:>8}")
    target, reference = results
    print(
        f"series / reference: throughput {target.throughput / reference.throughput:.2f}×, "
        f"p95 {target.p95_ms / reference.p95_ms:.2f}×; goal p95 ≤ 50 ms: {'met' if target.p95_ms <= 50 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
