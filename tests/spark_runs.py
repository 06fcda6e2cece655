"""The demo's monitoring run on DuckDB and on a Spark master, compared key by key (for the cluster and the
Spark Connect tests)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from habmon.engine.backends import configure
from habmon.engine.run import compute, run_results
from habmon.engine.settings import EngineSettings
from habmon.services import Monitor
from habmon.store.store import Store

KEY = ("kind", "indicator", "geo_code", "level", "period", "method")


def demo_monitor(directory: Path) -> Iterator[Monitor]:
    """A demo store of its own (SQLite): the runs compared do not depend on the store's backend."""
    monitor = Monitor(Store(f"sqlite:///{directory / 'habmon.sqlite3'}"), actor="test")
    monitor.init()
    monitor.load_shipped()
    yield monitor
    monitor.store.dispose()


def keyed(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row.get(k) for k in KEY): row for row in rows}


def assert_spark_run_equals_duckdbs(monitor: Monitor, master: str) -> None:
    """The monitoring run on ``master`` has DuckDB's keys, values (to 1e-9), statuses and counts."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    configure(EngineSettings.from_environment().with_changes(spark_master="local[2]"))
    try:
        on_duckdb = compute(monitor, engine="duckdb")
        configure(EngineSettings.from_environment().with_changes(spark_master=master, spark_shuffle_partitions=4))
        on_spark = compute(monitor, engine="spark")
    finally:
        configure(None)
    assert on_spark.engine == "spark" and on_spark.snapshot_observation_id == on_duckdb.snapshot_observation_id
    reference = run_results(monitor, on_duckdb.run_id)
    assert len(reference) == on_duckdb.aggregates + on_duckdb.progress > 1000
    duck, spark = keyed(reference), keyed(run_results(monitor, on_spark.run_id))
    assert len(duck) == len(reference) and spark.keys() == duck.keys()
    for key, expected in duck.items():
        found = spark[key]
        for column in ("value", "people", "coverage"):
            a, b = expected.get(column), found.get(column)
            same = (a is None) == (b is None) and (a is None or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9))
            assert same, (key, column, a, b)
        for column in ("status", "units_reported", "units_total", "imputed_units", "published"):
            assert found.get(column) == expected.get(column), (key, column)
