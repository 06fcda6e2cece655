"""The monitoring run on a real Spark cluster (a standalone master and two workers, separate processes on
loopback) gives the results DuckDB gives, key by key; and Spark stays quiet on the command line."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from habmon.engine.backends import configure
from habmon.engine.run import compute, run_results
from habmon.engine.settings import EngineSettings
from habmon.services import Monitor
from habmon.store.store import Store

KEY = ("kind", "indicator", "geo_code", "level", "period", "method")


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitor]:
    """A demo store of its own (SQLite): the runs here do not depend on the store's backend."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cluster') / 'habmon.sqlite3'}"
    monitor = Monitor(Store(url), actor="test")
    monitor.init()
    monitor.load_shipped()
    yield monitor
    monitor.store.dispose()


def keyed(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row.get(k) for k in KEY): row for row in rows}


def test_the_demo_monitoring_run_on_a_standalone_cluster_equals_duckdbs(
    demo_sqlite: Monitor, spark_cluster: str
) -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    configure(EngineSettings.from_environment().with_changes(spark_master="local[2]"))
    try:
        on_duckdb = compute(demo_sqlite, engine="duckdb")
        configure(
            EngineSettings.from_environment().with_changes(spark_master=spark_cluster, spark_shuffle_partitions=4)
        )
        on_cluster = compute(demo_sqlite, engine="spark")
    finally:
        configure(None)
    assert on_cluster.engine == "spark" and on_cluster.snapshot_observation_id == on_duckdb.snapshot_observation_id
    reference = run_results(demo_sqlite, on_duckdb.run_id)
    assert len(reference) == on_duckdb.aggregates + on_duckdb.progress > 1000
    assert_same_results(reference, run_results(demo_sqlite, on_cluster.run_id))


def assert_same_results(on_duckdb: list[dict[str, Any]], on_spark: list[dict[str, Any]]) -> None:
    """The same keys, values equal to 1e-9, and the same statuses and counts."""
    duck, spark = keyed(on_duckdb), keyed(on_spark)
    assert len(duck) == len(on_duckdb) and spark.keys() == duck.keys()
    for key, expected in duck.items():
        found = spark[key]
        for column in ("value", "people", "coverage"):
            a, b = expected.get(column), found.get(column)
            assert (a is None) == (b is None) and (a is None or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)), (
                key,
                column,
                a,
                b,
            )
        for column in ("status", "units_reported", "units_total", "imputed_units", "published"):
            assert found.get(column) == expected.get(column), (key, column)


def test_spark_prints_nothing_of_its_own_on_the_command_line(demo_sqlite: Monitor, tmp_path: Path) -> None:
    habmon = Path(sys.executable).with_name("habmon")
    env = {**os.environ, "HABMON_DATABASE_URL": demo_sqlite.store.url, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(
        [str(habmon), "compute", "--engine", "spark", "--spark-master", "local[1]", "--indicator", "11.1.1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run #" in done.stdout and "spark (local[1]" in done.stdout
    spark_lines = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if "[Stage" in line or " INFO " in line or " WARN " in line or "log4j" in line.lower()
    ]
    assert spark_lines == []
