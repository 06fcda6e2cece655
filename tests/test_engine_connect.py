"""The monitoring run through a Spark Connect server (``sc://``: the engine as a thin gRPC client of a separate
JVM on loopback) gives the results DuckDB gives, key by key."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pytest

from habmon.engine.backends import single_chunk_columns
from habmon.services import Monitor
from tests.spark_runs import assert_spark_run_equals_duckdbs, demo_monitor


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitor]:
    yield from demo_monitor(tmp_path_factory.mktemp("connect"))


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
    assert_spark_run_equals_duckdbs(demo_sqlite, spark_connect)
