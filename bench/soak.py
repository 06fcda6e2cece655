"""Soak under faults (issue #16): several web workers and a job worker on PostgreSQL, submitters and readers at
once, PostgreSQL restarted and a web worker SIGKILLed in the middle — then every accepted write reconciled.

On loopback only. Starts a throwaway PostgreSQL cluster (Debian's ``postgresql``), loads the demo data, creates
one focal point per submitter (each with a country of its own) and one reviewer, then runs
``habmon serve --workers W --no-run-jobs`` and ``habmon worker`` as separate processes and, for ``--minutes``:

* ``--submitters`` clients, each in a loop: submit a one-row CSV for its country (a new year or value each
  time) through ``POST /api/v1/submissions``; the reviewer approves and publishes it;
* ``--readers`` clients reading public pages and API series (home, indicator page, place page, series JSON).

At 40 % of the time PostgreSQL is restarted (``pg_ctl restart -m fast``); at 60 % one web worker is SIGKILLed
(uvicorn's supervisor starts another). Printed: requests and errors by kind and status, p50/p95/p99 latency,
the 5xx outside the restart window, and the reconciliation: every submission that got a success answer is in
the store with its row, every published value is in the observations, every job ran once and no two monitoring
runs overlapped.

Usage: .venv/bin/python bench/soak.py [--minutes 10] [--submitters 50] [--readers 200] [--web-workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.pgserver: the suite's PostgreSQL helper

from tests.pgserver import _as_postgres, find_bindir

from habmon.access.model import Principal, Role
from habmon.access.service import Access
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.store.store import Store

HABMON = str(Path(sys.executable).with_name("habmon"))
READ_PATHS = ("/", "/indicators/11.1.1", "/places/{geo}", "/api/v1/indicators/11.1.1/series/{geo}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(find_bindir() / "pg_ctl"), "-D", str(self.data), *args]), check=True,
                       capture_output=True, cwd=self.root)  # fmt: skip

    @classmethod
    def start(cls) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="habmon-soak-pg-"))
        if os.geteuid() == 0:
            import shutil

            shutil.chown(root, "postgres")
            root.chmod(0o700)
        cluster = cls(root, free_port())
        subprocess.run(_as_postgres([str(find_bindir() / "initdb"), "-D", str(cluster.data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True, cwd=root)  # fmt: skip
        options = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300"
        cluster.pg_ctl("-o", options, "-l", str(root / "log"), "-w", "start")
        return cluster

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def restart(self) -> float:
        began = time.perf_counter()
        # -l: the new server writes to the log file; without it it would hold pg_ctl's output pipe open forever
        self.pg_ctl("-m", "fast", "-w", "-l", str(self.root / "log"), "restart")
        return time.perf_counter() - began

    def stop(self) -> None:
        self.pg_ctl("-m", "immediate", "stop")


@dataclass
class Tally:
    started: float = field(default_factory=time.perf_counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    server_errors: list[tuple[float, str, int]] = field(default_factory=list)  # (seconds since start, kind, status)
    restart_window: tuple[float, float] = (0.0, 0.0)  # from just before the restart to 15 s after it ended
    accepted: dict[int, tuple[str, int, float]] = field(default_factory=dict)  # submission → (geo, year, value)
    published: set[int] = field(default_factory=set)

    def record(self, kind: str, seconds: float, status: int | str) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.outcomes[(kind, str(status))] += 1
        if isinstance(status, int) and status >= 500:
            self.server_errors.append((time.perf_counter() - self.started, kind, status))


async def call(
    client: httpx.AsyncClient, tally: Tally, kind: str, method: str, url: str, **kw: object
) -> httpx.Response | None:
    began = time.perf_counter()
    try:
        response = await client.request(method, url, **kw)  # type: ignore[arg-type]
    except httpx.TransportError as error:
        tally.record(kind, time.perf_counter() - began, type(error).__name__)
        return None
    tally.record(kind, time.perf_counter() - began, response.status_code)
    return response


async def submitter(base: str, token: str, reviewer: str, geo: str, iso3: str, stop: float, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    review = {"Authorization": f"Bearer {reviewer}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        n = 0
        while time.perf_counter() < stop:
            n += 1
            year, value = 2023 + n % 3, round(random.uniform(5, 60), 1)
            body = f"indicator,geo,period,value,nature,source\n11.1.1,{iso3},{year},{value},C,soak {n}\n"
            files = {"file": (f"soak-{iso3}-{n}.csv", body.encode(), "text/csv")}
            data = {"organization": f"NSO {iso3}", "organization_type": "member_state"}
            answer = await call(client, tally, "submit", "POST", "/api/v1/submissions", files=files, data=data,
                                headers=headers)  # fmt: skip
            if answer is None or answer.status_code not in (200, 201):
                await asyncio.sleep(1)
                continue
            sid = int(answer.json()["submission"])
            tally.accepted[sid] = (geo, year, value)
            for step in ("approve", "publish"):
                for _ in range(20):  # a step refused by a database restart is taken again
                    done = await call(client, tally, step, "POST", f"/api/v1/submissions/{sid}/{step}", headers=review)
                    if done is not None and done.status_code == 200:
                        break
                    await asyncio.sleep(1)
                else:
                    break
            else:
                tally.published.add(sid)


async def reader(base: str, places: list[str], stop: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while time.perf_counter() < stop:
            path = random.choice(READ_PATHS).format(geo=random.choice(places))
            await call(client, tally, "read", "GET", path)


def web_workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


async def faults(
    cluster: Cluster, server: subprocess.Popen[bytes], seconds: float, tally: Tally, log: list[str]
) -> None:
    await asyncio.sleep(seconds * 0.4)
    at = time.perf_counter() - tally.started
    took = await asyncio.to_thread(cluster.restart)
    log.append(f"PostgreSQL restarted at {at:.0f} s (took {took:.1f} s)")
    tally.restart_window = (at - 1, at + took + 15)
    await asyncio.sleep(seconds * 0.2)
    children = [p for p in web_workers(server.pid) if p != server.pid]
    if children:
        victim = children[0]
        os.kill(victim, signal.SIGKILL)
        log.append(f"web worker {victim} SIGKILLed at {time.perf_counter() - tally.started:.0f} s")


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000 if len(values) > 1 else 0.0


def reconcile(url: str, tally: Tally) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = {
            sid: rows
            for sid, rows in conn.execute(
                select(t.submission_row.c.submission_id, func.count()).group_by(t.submission_row.c.submission_id)
            )
        }
        states = dict(conn.execute(select(t.submission.c.id, t.submission.c.state)).all())
        published_values = 0
        for sid in tally.published:
            geo, year, value = tally.accepted[sid]
            found = conn.execute(
                text(
                    "SELECT count(*) FROM observation WHERE series = '11.1.1'"
                    " AND geo_code = :g AND period = :p AND value = :v"
                ),
                {"g": geo, "p": year, "v": value},
            ).scalar_one()
            published_values += int(found > 0)
        jobs = conn.execute(text("SELECT state, count(*) FROM job GROUP BY state")).all()
        runs = conn.execute(text("SELECT started_at, finished_at FROM engine_run ORDER BY started_at")).all()
    engine.dispose()
    overlapping = sum(1 for a, b in itertools.pairwise(runs) if b[0] < a[1])
    return {
        "accepted submissions": len(tally.accepted),
        "accepted and stored with their row": sum(1 for sid in tally.accepted if stored.get(sid) == 1),
        "lost accepted submissions": sum(1 for sid in tally.accepted if sid not in states),
        "published (answered 200)": len(tally.published),
        "published and in the observations": published_values,
        "published but not in state published": sum(1 for sid in tally.published if states.get(sid) != "published"),
        "monitoring runs stored": len(runs),
        "overlapping runs": overlapping,
        **{f"jobs {state}": int(n) for state, n in jobs},
    }


def prepare(cluster: Cluster, submitters: int) -> tuple[str, list[tuple[str, str, str]], str, list[str]]:
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "habmon"'))
    admin.dispose()
    url = cluster.url("habmon")
    store = Store(url)
    monitor = Monitor(store, actor="soak")
    monitor.init()
    monitor.load_shipped()
    geography = monitor.geography()
    places = sorted(store.geos_with("11.1.1"))
    countries = [g for g in places if geography.units[g].iso3][:submitters]
    access = Access(store)
    system = Principal.system()
    focal: list[tuple[str, str, str]] = []
    for geo in countries:
        name = f"soak.{geo}"
        access.create_user(system, name, role=Role.FOCAL_POINT, geo_scope=[geo], organization=f"NSO {geo}")
        token, _ = access.create_token(access.principal(name), "soak")
        focal.append((geo, str(geography.units[geo].iso3), token))
    access.create_user(system, "soak.reviewer", role=Role.OFFICER)
    reviewer, _ = access.create_token(access.principal("soak.reviewer"), "soak")
    store.dispose()
    return url, focal, reviewer, places


def start(command: list[str], url: str, log: Path) -> subprocess.Popen[bytes]:
    """A process of habmon's, its output in ``log`` (a pipe nobody reads would block it once full)."""
    env = {**os.environ, "HABMON_DATABASE_URL": url}
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


async def soak(args: argparse.Namespace, base: str, focal: list[tuple[str, str, str]], reviewer: str,
               places: list[str], cluster: Cluster,
               server: subprocess.Popen[bytes]) -> tuple[Tally, list[str]]:  # fmt: skip
    tally = Tally()
    seconds = args.minutes * 60
    stop_at = time.perf_counter() + seconds
    log: list[str] = []
    tasks = [submitter(base, token, reviewer, geo, iso3, stop_at, tally) for geo, iso3, token in focal]
    tasks += [reader(base, places, stop_at, tally) for _ in range(args.readers)]
    await asyncio.gather(faults(cluster, server, seconds, tally, log), *tasks)
    return tally, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=4)
    args = parser.parse_args()
    cluster = Cluster.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        url, focal, reviewer, places = prepare(cluster, args.submitters)
        port = free_port()
        logs = cluster.root.parent / f"{cluster.root.name}-logs"
        logs.mkdir()
        serve = [HABMON, "serve", "--port", str(port), "--workers", str(args.web_workers), "--no-run-jobs",
                 "--log-format", "json"]  # fmt: skip
        server = start(serve, url, logs / "web.log")
        processes.append(server)
        processes.append(start([HABMON, "worker", "--poll", "1"], url, logs / "worker.log"))
        print(f"logs in {logs}")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the web workers were not ready within 300 s: see {logs / 'web.log'}")
            time.sleep(0.5)
        print(f"{len(focal)} submitters, {args.readers} readers, {args.web_workers} web workers + 1 job worker, "
              f"{args.minutes:g} min, PostgreSQL on 127.0.0.1:{cluster.port}; "
              f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
        tally, log = asyncio.run(soak(args, base, focal, reviewer, places, cluster, server))
        time.sleep(20)  # the last publications' runs
        for line in log:
            print(line)
        window = tally.restart_window
        print(f"\n{'kind':<10}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}  outcomes")
        for kind, values in sorted(tally.latencies.items()):
            outcomes = ", ".join(f"{s}: {n}" for (k, s), n in sorted(tally.outcomes.items()) if k == kind)
            print(f"{kind:<10}{len(values):>10}{percentile(values, 50):>10.1f}{percentile(values, 95):>10.1f}"
                  f"{percentile(values, 99):>10.1f}  {outcomes}")  # fmt: skip
        outside = [e for e in tally.server_errors if not window[0] <= e[0] <= window[1]]
        print(
            f"\n5xx inside the restart window ({window[0]:.0f}–{window[1]:.0f} s): "
            f"{len(tally.server_errors) - len(outside)}"
        )
        print(f"5xx outside it: {len(outside)} {Counter((k, s) for _, k, s in outside).most_common(5)}")
        print("\nreconciliation:")
        for name, value in reconcile(url, tally).items():
            print(f"  {name}: {value}")
    finally:
        for process in processes:
            stop(process)
        cluster.stop()


if __name__ == "__main__":
    main()
