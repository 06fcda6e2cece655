"""A submission killed in the middle of its load (a real process, SIGKILL) leaves the store exactly as before."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from habmon.ingest.geography import build_geography
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.store.store import Store
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType

ROWS = 400_000
COUNTED = (t.submission, t.submission_row, t.submission_file, t.observation, t.batch, t.audit_event)


def big_file(path: Path) -> None:
    geography, _ = build_geography()
    countries = sorted(u.code for u in geography.units.values() if u.kind == "country" and u.validity.valid_to is None)
    cells = itertools.product(countries, range(1950, 2051), ("F", "M", ""), ("U", "R", ""))
    with path.open("w", encoding="utf-8") as handle:
        handle.write("indicator,geo,period,value,sex,urbanisation,source\n")
        for geo, year, sex, area in itertools.islice(cells, ROWS):
            value = (1000 + year) * (1 if sex else 2) * (1 if area else 2)  # totals are the sums of their parts
            handle.write(f"POP.URBAN,{geo},{year},{value},{sex},{area},synthetic\n")


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        result = {tbl.name: int(conn.execute(select(func.count()).select_from(tbl)).scalar_one()) for tbl in COUNTED}
    engine.dispose()
    return result


def writing(url: str, database_file: Path | None) -> bool:
    """True once the submitting process is inserting staged rows (before its commit)."""
    if database_file is not None:
        wal = database_file.with_name(database_file.name + "-wal")
        return wal.exists() and wal.stat().st_size > 4_000_000
    engine = create_engine(url)
    with engine.connect() as conn:
        active = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE state = 'active' "
                "AND (query LIKE 'COPY submission_row%' OR query LIKE 'INSERT INTO submission_row%')"
            )
        ).scalar_one()
    engine.dispose()
    return bool(active)


def test_kill_9_during_a_submission_leaves_the_store_unchanged(store_url: str, tmp_path: Path) -> None:
    monitor = Monitor(Store(store_url), actor="test")
    monitor.init()
    monitor.store.dispose()
    before = counts(store_url)
    data = tmp_path / "big.csv"
    big_file(data)
    database_file = Path(store_url.removeprefix("sqlite:///")) if store_url.startswith("sqlite") else None

    process = subprocess.Popen(
        [sys.executable, "-m", "habmon", "--database", store_url, "submit", str(data), "--as", "NSO"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while not writing(store_url, database_file):
        assert process.poll() is None, f"the load ended before it could be killed: {process.stderr.read()!r}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the load never started writing"
        time.sleep(0.02)
    assert process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL

    assert counts(store_url) == before
    # the store is usable afterwards: a small submission goes through
    small = tmp_path / "small.csv"
    small.write_text("indicator,geo,period,value,source\n11.1.1,KEN,2024,36.0,KNBS\n", encoding="utf-8")
    after_kill = Monitor(Store(store_url), actor="test")
    outcome = Submissions(after_kill).submit(
        small, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE
    )
    assert outcome.created and counts(store_url)["submission_row"] == 1
    after_kill.store.dispose()
