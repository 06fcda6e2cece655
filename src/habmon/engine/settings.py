"""Engine settings: how much of the machine DuckDB uses, and which Spark the engine talks to.

Typed and immutable; read from the environment (so the web app's runs and ``habmon worker`` use the same
settings as the CLI) and overridden by command-line options. The defaults fit the machine habmon runs on —
all its cores — rather than a constant:

| setting | environment | default |
|---|---|---|
| DuckDB threads | ``HABMON_DUCKDB_THREADS`` | the machine's cores |
| DuckDB memory limit | ``HABMON_DUCKDB_MEMORY_LIMIT`` (``2GB``) | DuckDB's own (80 % of RAM) |
| DuckDB spill directory | ``HABMON_DUCKDB_TEMP_DIRECTORY`` | DuckDB's own (next to the database, or ``.tmp``) |
| Spark master | ``HABMON_SPARK_MASTER`` (``local[N]``, ``spark://host:7077``, ``sc://host:15002``) | ``local[cores]`` |
| executor cores / memory | ``HABMON_SPARK_EXECUTOR_CORES`` / ``HABMON_SPARK_EXECUTOR_MEMORY`` | Spark's own |
| shuffle partitions | ``HABMON_SPARK_SHUFFLE_PARTITIONS`` | 2 × the cores (at least 8) |
| Spark log level | ``HABMON_SPARK_LOG_LEVEL`` | ``ERROR`` (``INFO`` with ``--verbose``) |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from habmon.problems import HabmonError

SPARK_MASTER = re.compile(
    r"local(\[(\d+|\*)\])?|spark://[\w.-]+(:\d+)?(,[\w.-]+(:\d+)?)*|yarn|k8s://\S+|sc://[\w.-]+(:\d+)?(/;\S*)?"
)
MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
SPARK_MEMORY = re.compile(r"\d+[kmgt]", re.IGNORECASE)
LOG_LEVELS = ("ALL", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")


class InvalidEngineSetting(HabmonError):
    """An engine setting that cannot be used."""


def machine_cores() -> int:
    """The cores this process may use (the affinity mask, as a container limits it), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class EngineSettings:
    duckdb_threads: int
    duckdb_memory_limit: str | None = None
    duckdb_temp_directory: str | None = None
    spark_master: str = "local[2]"
    spark_executor_cores: int | None = None
    spark_executor_memory: str | None = None
    spark_shuffle_partitions: int = 8
    spark_log_level: str = "ERROR"

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("duckdb_threads", self.duckdb_threads >= 1, "a whole number ≥ 1"),
            ("spark_shuffle_partitions", self.spark_shuffle_partitions >= 1, "a whole number ≥ 1"),
            (
                "spark_master",
                bool(SPARK_MASTER.fullmatch(self.spark_master)),
                "local[N], spark://host:port, yarn, k8s://…, or a Spark Connect sc://host:port",
            ),
            ("spark_log_level", self.spark_log_level in LOG_LEVELS, " or ".join(LOG_LEVELS)),
        ]
        if self.duckdb_memory_limit is not None:
            checks.append(("duckdb_memory_limit", bool(MEMORY.fullmatch(self.duckdb_memory_limit)), "e.g. 2GB, 512MiB"))
        if self.spark_executor_cores is not None:
            checks.append(("spark_executor_cores", self.spark_executor_cores >= 1, "a whole number ≥ 1"))
        if self.spark_executor_memory is not None:
            checks.append(
                ("spark_executor_memory", bool(SPARK_MEMORY.fullmatch(self.spark_executor_memory)), "e.g. 2g")
            )
        if self.spark_connect:  # a Spark Connect client only asks; executors are the server's to size
            for name in ("spark_executor_cores", "spark_executor_memory"):
                checks.append((name, getattr(self, name) is None, "unset with a Spark Connect master (the server's)"))
        for name, ok, expected in checks:
            if not ok:
                raise InvalidEngineSetting(
                    f"the engine setting {name} cannot be used",
                    expected=expected,
                    found=repr(getattr(self, name)),
                    hint=f"set {ENVIRONMENT[name]} or the matching option of `habmon compute`",
                )

    @classmethod
    def for_machine(cls) -> EngineSettings:
        cores = machine_cores()
        return cls(duckdb_threads=cores, spark_master=f"local[{cores}]", spark_shuffle_partitions=max(8, 2 * cores))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> EngineSettings:
        """The machine's defaults, overridden by the ``HABMON_…`` variables that are set."""
        environ = os.environ if environ is None else environ
        found: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(ENVIRONMENT[field.name], "").strip()
            if raw:
                found[field.name] = _typed(field.name, raw)
        return cls.for_machine().with_changes(**found)

    def with_changes(self, **changes: Any) -> EngineSettings:
        """These settings with the given ones replaced (None leaves a setting as it is)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def spark_connect(self) -> bool:
        """True when the master is a Spark Connect server (``sc://``): the session is a thin client of it."""
        return self.spark_master.startswith("sc://")

    def spark_connect_conf(self) -> dict[str, str]:
        """What a Spark Connect client may set on its session: runtime SQL settings only (the UI, the driver
        and the executors belong to the server)."""
        return {
            "spark.sql.shuffle.partitions": str(self.spark_shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
        }

    def spark_conf(self) -> dict[str, str]:
        """The Spark configuration of a session with these settings (quiet: no console progress, no UI)."""
        conf = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(self.spark_shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.bindAddress": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
            "spark.driver.host": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        }
        if self.spark_executor_cores is not None:
            conf["spark.executor.cores"] = str(self.spark_executor_cores)
            conf["spark.cores.max"] = str(self.spark_executor_cores * 2)
        if self.spark_executor_memory is not None:
            conf["spark.executor.memory"] = self.spark_executor_memory
        return conf

    def describe(self, engine: str) -> str:
        """One line for a person: what the engine ran on."""
        if engine == "spark":
            return f"spark ({self.spark_master}, {self.spark_shuffle_partitions} shuffle partitions)"
        limit = f", memory limit {self.duckdb_memory_limit}" if self.duckdb_memory_limit else ""
        return f"duckdb ({self.duckdb_threads} threads{limit})"


ENVIRONMENT: dict[str, str] = {
    "duckdb_threads": "HABMON_DUCKDB_THREADS",
    "duckdb_memory_limit": "HABMON_DUCKDB_MEMORY_LIMIT",
    "duckdb_temp_directory": "HABMON_DUCKDB_TEMP_DIRECTORY",
    "spark_master": "HABMON_SPARK_MASTER",
    "spark_executor_cores": "HABMON_SPARK_EXECUTOR_CORES",
    "spark_executor_memory": "HABMON_SPARK_EXECUTOR_MEMORY",
    "spark_shuffle_partitions": "HABMON_SPARK_SHUFFLE_PARTITIONS",
    "spark_log_level": "HABMON_SPARK_LOG_LEVEL",
}
_INTEGERS = {"duckdb_threads", "spark_executor_cores", "spark_shuffle_partitions"}


def _typed(name: str, raw: str) -> Any:
    if name not in _INTEGERS:
        return raw.upper() if name == "spark_log_level" else raw
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidEngineSetting(
            f"the environment variable {ENVIRONMENT[name]} is not a whole number", expected="e.g. 4", found=repr(raw)
        ) from exc
