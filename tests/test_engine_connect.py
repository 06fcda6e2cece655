"""The monitoring run through a Spark Connect server (``sc://``: the engine as a thin gRPC client of a separate
JVM on loopback) gives the results DuckDB gives, key by key."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pytest

from habmon.engine.backends import configure, single_chunk_columns
from habmon.engine.run import compute, run_results
from habmon.engine.settings import EngineSettings
from habmon.services import Monitor
from habmon.store.store import Store
from tests.test_engine_cluster import assert_same_results


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitor]:
    url = f"sqlite:///{tmp_path_factory.mktemp('connect') / 'habmon.sqlite3'}"
    monitor = Monitor(Store(url), actor="test")
    monitor.init()
    monitor.load_shipped()
    yield monitor
    monitor.store.dispose()


def chunks(column: pd.Series) -> int:
    arrow = pa.array(column.array)
    return arrow.num_chunks if isinstance(arrow, pa.ChunkedArray) else 1


def test_multi_chunk_arrow_columns_are_handed_over_as_one_chunk_with_the_same_values_and_dtype() -> None:
    frame = pd.concat(
        [pd.DataFrame({"geo": ["KEN", "UGA"], "v": [1.0, 2.0]}), pd.DataFrame({"geo": ["TZA"], "v": [3.0]})]
    )
    assert chunks(frame["geo"]) == 2  # what PySpark 4.0's Connect client refuses
    rebuilt = single_chunk_columns(frame)
    assert chunks(rebuilt["geo"]) == 1
    assert rebuilt["geo"].dtype == frame["geo"].dtype and list(rebuilt["geo"]) == ["KEN", "UGA", "TZA"]
    assert list(rebuilt["v"]) == [1.0, 2.0, 3.0]
    single = pd.DataFrame({"geo": ["KEN"]})
    assert single_chunk_columns(single) is single  # nothing to rebuild: the frame itself


def test_the_demo_monitoring_run_through_spark_connect_equals_duckdbs(demo_sqlite: Monitor, spark_connect: str) -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    configure(EngineSettings.from_environment().with_changes(spark_master="local[2]"))
    try:
        on_duckdb = compute(demo_sqlite, engine="duckdb")
        configure(
            EngineSettings.from_environment().with_changes(spark_master=spark_connect, spark_shuffle_partitions=4)
        )
        on_connect = compute(demo_sqlite, engine="spark")
    finally:
        configure(None)
    assert on_connect.engine == "spark" and on_connect.snapshot_observation_id == on_duckdb.snapshot_observation_id
    reference = run_results(demo_sqlite, on_duckdb.run_id)
    assert len(reference) == on_duckdb.aggregates + on_duckdb.progress > 1000
    assert_same_results(reference, run_results(demo_sqlite, on_connect.run_id))
