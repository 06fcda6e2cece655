"""Execution backends for the engine's Ibis expressions. DuckDB is embedded and the default.

Both are built from :class:`~habmon.engine.settings.EngineSettings`: those given, else the ones the process
was configured with (:func:`configure`, which the CLI calls with its options), else the environment's.

Spark is either a session of its own (``local[N]``, a standalone ``spark://`` master, YARN, Kubernetes) or a thin
client of a Spark Connect server (``sc://host:port``), which owns the JVM, the executors and their logs.

Spark stays quiet: no console progress bar, no UI, and its JVM logs at the settings' level (``ERROR``; ``INFO``
with habmon's ``--verbose``) through a log4j2 configuration of habmon's, from the JVM's very start — so
nothing of Spark's is interleaved with habmon's own progress.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from habmon.engine.settings import EngineSettings
from habmon.problems import HabmonError

ENGINES = ("duckdb", "spark")

_configured: EngineSettings | None = None


class EngineUnavailable(HabmonError):
    """The requested engine is not installed or not known."""


def configure(settings: EngineSettings | None) -> None:
    """The settings every later :func:`connect` of this process uses (None: the environment's again)."""
    global _configured
    _configured = settings


def current_settings() -> EngineSettings:
    return _configured if _configured is not None else EngineSettings.from_environment()


def _duckdb(settings: EngineSettings) -> Any:
    import ibis

    options: dict[str, Any] = {"threads": settings.duckdb_threads}
    if settings.duckdb_memory_limit:
        options["memory_limit"] = settings.duckdb_memory_limit
    if settings.duckdb_temp_directory:
        Path(settings.duckdb_temp_directory).mkdir(parents=True, exist_ok=True)
        options["temp_directory"] = settings.duckdb_temp_directory
    return ibis.duckdb.connect(**options)


LOG4J2 = """status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{{1}}: %m%n
rootLogger.level = {level}
rootLogger.appenderRef.stdout.ref = console
"""


def log4j2_file(level: str) -> Path:
    """A log4j2 configuration for the JVM at ``level`` (written once per level and process)."""
    path = Path(tempfile.gettempdir()) / f"habmon-spark-log4j2-{level.lower()}.properties"
    text = LOG4J2.format(level=level.lower())
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _spark(settings: EngineSettings) -> Any:
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
    if settings.spark_connect:
        return ibis.pyspark.connect(SingleChunkFrames(_spark_connect(SparkSession, settings)))
    active = SparkSession.getActiveSession()
    if active is not None and _master_of(active) != settings.spark_master:
        active.stop()  # a session on another master (or a Spark Connect client): the settings changed
    builder = SparkSession.builder.master(settings.spark_master).appName("habmon")
    log4j = f"-Dlog4j2.configurationFile=file:{log4j2_file(settings.spark_log_level)}"
    conf = {**settings.spark_conf(), "spark.driver.extraJavaOptions": log4j, "spark.executor.extraJavaOptions": log4j}
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(settings.spark_log_level)
    return ibis.pyspark.connect(session)


_connect_session: tuple[str, Any] | None = None  # the Spark Connect client this process opened, and its URL


def _master_of(session: Any) -> str:
    """The master a session runs on; a Spark Connect client has no SparkContext, only its server's URL."""
    if _connect_session is not None and _connect_session[1] is session:
        return _connect_session[0]
    return str(session.sparkContext.master)


class SingleChunkFrames:
    """A Spark Connect session that hands ``createDataFrame`` pandas frames whose Arrow columns are one chunk each.

    PySpark 4.0's Spark Connect client builds record batches with ``pa.RecordBatch.from_arrays``, which refuses
    the multi-chunk Arrow arrays that pandas 3's string columns have after a concat ("Cannot convert
    pyarrow.lib.ChunkedArray to pyarrow.lib.Array", SPARK-46776, fixed after 4.0; ibis 12 needs PySpark < 4.1).
    Everything else is the session's own.
    """

    def __init__(self, session: Any) -> None:
        self.wrapped = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)

    def createDataFrame(self, data: Any, *args: Any, **kwargs: Any) -> Any:  # PySpark's name
        return self.wrapped.createDataFrame(single_chunk_columns(data), *args, **kwargs)


def single_chunk_columns(data: Any) -> Any:
    """``data`` with each multi-chunk Arrow-backed column of a pandas frame rebuilt as one chunk (same dtype)."""
    import pandas as pd
    import pyarrow as pa

    if not isinstance(data, pd.DataFrame):
        return data
    rebuilt = {}
    for name, column in data.items():
        if hasattr(column.array, "__arrow_array__"):
            arrow = pa.array(column.array)
            if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks > 1:
                rebuilt[name] = pd.Series(column.to_numpy(dtype=object), index=column.index, dtype=column.dtype)
    return data.assign(**rebuilt) if rebuilt else data


def _spark_connect(session_class: Any, settings: EngineSettings) -> Any:
    global _connect_session
    active = session_class.getActiveSession()
    if active is not None and _master_of(active) == settings.spark_master:
        return active
    if active is not None:
        active.stop()
    # a Spark Connect client ignores createDataFrame's schema check and says so on every table Ibis registers
    warnings.filterwarnings("ignore", message="'verifySchema' is ignored", category=UserWarning)
    builder = session_class.builder.remote(settings.spark_master)
    for key, value in settings.spark_connect_conf().items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    _connect_session = (settings.spark_master, session)
    return session


CONNECTORS: dict[str, Callable[[EngineSettings], Any]] = {"duckdb": _duckdb, "spark": _spark}


def connect(engine: str = "duckdb", settings: EngineSettings | None = None) -> Any:
    connector = CONNECTORS.get(engine)
    if connector is None:
        raise EngineUnavailable("unknown engine", expected=" or ".join(ENGINES), found=engine)
    return connector(settings or current_settings())
