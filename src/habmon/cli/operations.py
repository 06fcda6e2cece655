"""Operations commands: ``habmon backup``, ``habmon restore`` and ``habmon worker``."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from habmon.access.model import Principal
from habmon.cli.context import monitor, state
from habmon.cli.output import console, emit, handled
from habmon.store.backup import backup as backup_store
from habmon.store.backup import restore as restore_store
from habmon.store.store import Store

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout (see docs/cli-json.md).")]


def backup(
    out: Annotated[Path, typer.Option("--out", help="the backup file to write (must not exist)")],
    json_output: JsonOpt = False,
) -> None:
    """Back up the whole store while it runs: SQLite's online backup, or pg_dump's custom format."""
    with handled(json_output):
        info = backup_store(Store(state.database), out)
    emit(
        json_output,
        info.to_dict(),
        f"backed up to {info.path} ({info.kind}, {info.bytes:,} bytes), checksum {info.checksum}",
    )


def restore(
    backup_file: Annotated[Path, typer.Argument(help="a file written by `habmon backup`")],
    json_output: JsonOpt = False,
) -> None:
    """Restore a backup into an empty database (the one --database / HABMON_DATABASE_URL names)."""
    with handled(json_output):
        checksum = restore_store(Store(state.database), backup_file)
    emit(
        json_output,
        {"restored": str(backup_file), "checksum": checksum},
        f"restored {backup_file}, checksum {checksum}",
    )


def worker(
    once: Annotated[bool, typer.Option("--once", help="run the jobs waiting now, then stop")] = False,
    poll: Annotated[float, typer.Option("--poll", help="seconds between looks at the queue when idle")] = 2.0,
) -> None:
    """Run queued jobs (monitoring runs) without the web app; any number of workers may run on any hosts."""
    from habmon.access.service import Access
    from habmon.engine.run import RunSummary, compute
    from habmon.jobs import JobQueue, Worker
    from habmon.jobs.metrics import observe_job
    from habmon.jobs.monitoring import MONITORING_RUN, monitoring_run, requester
    from habmon.services import Monitor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with handled():
        store = monitor().store
        store.require_schema()

        def run(who: Principal) -> RunSummary:
            return compute(Monitor(store, actor=who.username, principal=who))

        jobs = Worker(
            JobQueue(store), {MONITORING_RUN: monitoring_run(run, requester(Access(store)))}, observe=observe_job
        )
    if once:
        done = jobs.run_until_idle()
        console.print(f"{done} job(s) run")
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    console.print(f"worker {jobs.name} is working the job queue of {store.display_url()} — Ctrl+C stops it")
    jobs.run_forever(stop, poll_seconds=poll)
