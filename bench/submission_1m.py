"""Benchmark: validate and load a generated 1,000,000-row submission (issue #3; issue #16: submit ≤ 12 s, ≤ 1 GB).

Deterministic generator (POP.URBAN by country × year × sex × urbanisation × age, totals equal to
the sums of their parts), then, in one process:

* reference: pandas.read_csv of the file + a bare sqlite3 executemany of the same rows into a
  table of the same shape — the floor any loader pays on this machine;
* habmon: read → validate → stage (``Submissions.submit``), then approve (rows become revisions);
* habmon with errors: the same file with every 10th row broken; validation must report every error.

Usage: .venv/bin/python bench/submission_1m.py [--rows 1000000] [--keep DIR] [--database URL]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

import pandas as pd

from habmon.ingest.geography import build_geography
from habmon.services import Monitor
from habmon.store.store import Store
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType

AGES = ("Y0T14", "Y15T24", "Y25T64", "Y_GE65", "")


def generate(path: Path, rows: int, broken_every: int = 0) -> int:
    geography, _ = build_geography()
    countries = sorted(u.code for u in geography.units.values() if u.kind == "country" and u.validity.valid_to is None)
    cells = itertools.product(countries, range(1950, 2051), ("F", "M", ""), ("U", "R", ""), AGES)
    broken = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("indicator,geo,period,value,sex,urbanisation,age,source\n")
        for n, (geo, year, sex, area, age) in enumerate(itertools.islice(cells, rows), start=1):
            value = (1000 + year) * (1 if sex else 2) * (1 if area else 2) * (1 if age else 4)
            text = f"{value}"
            if broken_every and n % broken_every == 0:
                text, broken = "n/a", broken + 1
            handle.write(f"POP.URBAN,{geo},{year},{text},{sex},{area},{age},WUP synthetic\n")
    return broken


def peak_mb() -> float:
    """The process's peak resident memory since :func:`reset_peak` (Linux), else since it started."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start measuring the peak anew (Linux: writing 5 to clear_refs resets VmHWM); elsewhere a no-op."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def reference(path: Path, directory: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    db = sqlite3.connect(directory / "reference.sqlite3")
    db.execute(
        "CREATE TABLE staged (series TEXT, geo TEXT, period INTEGER, key TEXT, value REAL, unit TEXT, nature TEXT, "
        "source TEXT)"
    )
    rows = zip(
        frame["indicator"],
        frame["geo"],
        frame["period"].astype(int),
        frame["sex"] + frame["urbanisation"] + frame["age"],
        frame["value"].astype(float),
        itertools.repeat("persons"),
        itertools.repeat("M"),
        frame["source"],
        strict=False,
    )
    db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--database", help="database URL (default: SQLite in the work directory)")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="habmon-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    good, bad = directory / "good.csv", directory / "bad.csv"
    generate(good, args.rows)
    broken = generate(bad, args.rows, broken_every=10)
    print(f"file: {args.rows:,} rows, {good.stat().st_size / 1e6:.1f} MB; {broken:,} broken rows in the bad copy")

    ref = reference(good, directory)
    print(f"reference (pandas.read_csv + sqlite3 executemany): {ref:.2f} s")

    monitor = Monitor(Store(args.database or f"sqlite:///{directory / 'habmon.sqlite3'}"), actor="bench")
    print(f"database: {monitor.store.dialect}")
    monitor.init()
    subs = Submissions(monitor)

    reset_peak()
    start = time.perf_counter()
    table = subs.read(bad)
    checked = subs.check(table)
    t_bad = time.perf_counter() - start
    errors = len(checked.report.errors)
    print(
        f"habmon validate, file with errors: {t_bad:.2f} s, {errors:,} errors reported "
        f"({'all' if errors == broken else 'NOT all'} of {broken:,}); peak memory {peak_mb():,.0f} MB"
    )
    del table, checked

    gc.collect()
    reset_peak()
    start = time.perf_counter()
    outcome = subs.submit(good, organization="bench", organization_type=OrganizationType.SECRETARIAT)
    t_submit = time.perf_counter() - start
    submit_peak = peak_mb()
    assert outcome.created and outcome.report.valid, outcome.report
    print(
        f"habmon submit (read + validate + stage, one transaction): {t_submit:.2f} s "
        f"= {t_submit / ref:.2f}× reference; {args.rows / t_submit:,.0f} rows/s; peak memory {submit_peak:,.0f} MB"
    )
    reset_peak()

    start = time.perf_counter()
    summary = subs.approve(outcome.submission_id or 0)
    t_approve = time.perf_counter() - start
    print(
        f"habmon approve ({summary.new:,} new revisions): {t_approve:.2f} s = {t_approve / ref:.2f}× reference; "
        f"peak memory {peak_mb():,.0f} MB"
    )
    print(
        f"goal (issue #16): submit ≤ 12 s and ≤ 1 GB → {t_submit:.1f} s ({t_submit / ref:.2f}× reference), "
        f"{submit_peak:,.0f} MB"
    )


if __name__ == "__main__":
    main()
