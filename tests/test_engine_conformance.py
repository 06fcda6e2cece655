"""One conformance suite for every engine backend (DuckDB, Spark in local mode, Spark on a standalone cluster,
Spark through a Spark Connect server).

Backends come from HABMON_TEST_ENGINES (default "duckdb,spark,spark-cluster,spark-connect"); a listed backend that
cannot start fails its tests — it is never skipped silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import ibis
import pandas as pd
import pytest

from habmon.engine.aggregate import Level, aggregate_expr, fill_gaps, regional_means
from habmon.engine.backends import configure, connect, current_settings
from habmon.engine.service import aggregate_indicator
from habmon.engine.settings import EngineSettings
from habmon.indicators.model import AggregationMethod
from habmon.services import Monitor

ENGINES = [
    e.strip()
    for e in os.environ.get("HABMON_TEST_ENGINES", "duckdb,spark,spark-cluster,spark-connect").split(",")
    if e.strip()
]


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The engine a module's tests run on: DuckDB, Spark in local mode, or Spark on a standalone cluster of two
    workers (separate JVM processes on loopback, started once per session), or Spark as a client of a Spark
    Connect server — the same engine name "spark", with the master in the process's engine settings."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # Spark must not bind a non-loopback address
    if request.param in ("spark-cluster", "spark-connect"):
        master: str = request.getfixturevalue(request.param.replace("-", "_"))
        configure(EngineSettings.from_environment().with_changes(spark_master=master, spark_shuffle_partitions=4))
        try:
            yield "spark"
        finally:
            configure(None)
        return
    configure(EngineSettings.from_environment().with_changes(spark_master="local[2]"))
    try:
        yield str(request.param)
    finally:
        configure(None)


@pytest.fixture(scope="module")
def backend(engine: str) -> Iterator[Any]:
    yield connect(engine)


def test_the_spark_engine_runs_where_the_settings_say(engine: str, backend: Any) -> None:
    if engine != "spark":
        assert backend.name == "duckdb"
        ((threads,),) = backend.con.execute("SELECT current_setting('threads')").fetchall()
        assert threads == current_settings().duckdb_threads
        return
    if current_settings().spark_connect:  # a thin client: the server runs the queries, with this session's SQL conf
        session = backend._session.wrapped
        assert type(session).__module__ == "pyspark.sql.connect.session"
        assert session.conf.get("spark.sql.shuffle.partitions") == str(current_settings().spark_shuffle_partitions)
        assert session.range(5).count() == 5
        return
    context = backend._session.sparkContext
    assert context.master == current_settings().spark_master
    assert context.getConf().get("spark.ui.showConsoleProgress") == "false"
    if context.master.startswith("spark://"):  # on the cluster, tasks run in the workers' executors
        hosts = (
            backend._session.sparkContext.parallelize(range(8), 4).map(lambda _: __import__("os").getpid()).collect()
        )
        assert os.getpid() not in hosts


VALUES = pd.DataFrame({"geo": ["A", "B", "C"], "value": [10.0, 30.0, 50.0], "imputed": [False, True, False]})
WEIGHTS = pd.DataFrame({"geo": ["A", "B", "C", "D"], "weight": [100.0, 300.0, 100.0, 500.0]})
MEMBERS = pd.DataFrame({"group": ["X", "X", "Y", "Y"], "geo": ["A", "B", "C", "D"]})


def run(backend: Any, method: AggregationMethod) -> dict[str, dict[str, float]]:
    expr = aggregate_expr(ibis.memtable(VALUES), ibis.memtable(WEIGHTS), ibis.memtable(MEMBERS), method)
    frame = backend.execute(expr)
    return {row["group"]: row for row in frame.to_dict("records")}


def test_weighted_mean_with_coverage(backend: Any) -> None:
    rows = run(backend, AggregationMethod.WEIGHTED_MEAN)
    x, y = rows["X"], rows["Y"]
    assert x["value"] == pytest.approx((10 * 100 + 30 * 300) / 400)  # 25
    assert (x["weight_reported"], x["weight_total"], x["units_reported"], x["imputed_units"]) == (400, 400, 2, 1)
    assert y["value"] == pytest.approx(50.0)  # D has no value: not in the mean …
    assert y["weight_reported"] / y["weight_total"] == pytest.approx(100 / 600)  # … but in the coverage
    assert (y["units_reported"], y["units_total"]) == (1, 2)


def test_sum(backend: Any) -> None:
    rows = run(backend, AggregationMethod.SUM)
    assert rows["X"]["value"] == pytest.approx(40.0) and rows["Y"]["value"] == pytest.approx(50.0)


def test_world_slum_share_2022_on_every_engine(engine: str, demo: Monitor) -> None:
    _, (world,) = aggregate_indicator(demo, "11.1.1", 2022, Level.WORLD, engine=engine)
    assert world.value == pytest.approx(24.78, abs=0.01)
    assert world.people == pytest.approx(1.115e9, rel=0.002)
    assert (world.units_reported, world.imputed_units) == (197, 1)


def test_gap_filling_is_backend_independent() -> None:
    values = pd.DataFrame(
        {"geo": ["A", "A", "B", "C"], "period": [2020, 2024, 2021, 2019], "value": [1.0, 2.0, 3.0, 4.0]}
    )
    filled = fill_gaps(values, 2022, 2).set_index("geo")
    assert filled.loc["A", "value"] == 1.0 and filled.loc["A", "period_used"] == 2020  # tie: the earlier year
    assert filled.loc["B", "value"] == 3.0 and bool(filled.loc["B", "imputed"])
    assert "C" not in filled.index  # 3 years away: no value


def test_regional_means_fill_missing_members_outside_the_coverage(backend: Any) -> None:
    # X: A reports 10 (w 100), B is missing (w 300) → B takes 10; Y: C reports 50 (w 100), D (w 500) takes 50
    values = pd.DataFrame({"geo": ["A", "C"], "value": [10.0, 50.0], "imputed": [False, False]})
    regions = pd.DataFrame({"group": ["X", "X", "Y", "Y"], "geo": ["A", "B", "C", "D"]})
    filled = regional_means(values, WEIGHTS, regions).set_index("geo")
    assert filled.loc["B", "value"] == 10.0 and filled.loc["D", "value"] == 50.0
    assert list(filled["regional"]) == [False, False, True, True] and list(filled["imputed"]) == [
        False,
        False,
        True,
        True,
    ]
    world = pd.DataFrame({"group": ["001"] * 4, "geo": ["A", "B", "C", "D"]})
    expr = aggregate_expr(
        ibis.memtable(filled.reset_index()),
        ibis.memtable(WEIGHTS),
        ibis.memtable(world),
        AggregationMethod.WEIGHTED_MEAN,
    )
    (row,) = backend.execute(expr).to_dict("records")
    assert row["value"] == pytest.approx((10 * 400 + 50 * 600) / 1000)  # each region at its full weight: 34
    assert row["weight_reported"] / row["weight_total"] == pytest.approx(200 / 1000)  # reporters only
    assert (row["units_reported"], row["imputed_units"], row["units_total"]) == (2, 2, 4)
