"""Execution backends for the engine's Ibis expressions. DuckDB is embedded and the default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from habmon.problems import HabmonError

ENGINES = ("duckdb", "spark")


class EngineUnavailable(HabmonError):
    """The requested engine is not installed or not known."""


def _duckdb() -> Any:
    import ibis

    return ibis.duckdb.connect(threads=2)


def _spark() -> Any:
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:
        raise EngineUnavailable(
            "the spark engine needs PySpark",
            expected="pyspark installed",
            found="not installed",
            hint="pip install 'habmon[spark]'",
        ) from exc
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    return ibis.pyspark.connect(session)


CONNECTORS: dict[str, Callable[[], Any]] = {"duckdb": _duckdb, "spark": _spark}


def connect(engine: str = "duckdb") -> Any:
    connector = CONNECTORS.get(engine)
    if connector is None:
        raise EngineUnavailable("unknown engine", expected=" or ".join(ENGINES), found=engine)
    return connector()
