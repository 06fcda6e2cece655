"""Engine settings: the machine's defaults, the environment over them, options over both, and a setting that
cannot be used refused with what was expected and found."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.engine.backends import connect, log4j2_file
from habmon.engine.settings import EngineSettings, InvalidEngineSetting, machine_cores


def test_defaults_fit_the_machine() -> None:
    settings = EngineSettings.from_environment({})
    cores = machine_cores()
    assert (settings.duckdb_threads, settings.spark_master) == (cores, f"local[{cores}]")
    assert settings.spark_shuffle_partitions == max(8, 2 * cores)
    assert settings.duckdb_memory_limit is None and settings.spark_log_level == "ERROR"


def test_the_environment_overrides_the_defaults_and_options_override_the_environment() -> None:
    environ = {
        "HABMON_DUCKDB_THREADS": "3",
        "HABMON_DUCKDB_MEMORY_LIMIT": "2GB",
        "HABMON_SPARK_MASTER": "spark://10.0.0.5:7077",
        "HABMON_SPARK_EXECUTOR_MEMORY": "8g",
        "HABMON_SPARK_LOG_LEVEL": "info",
    }
    settings = EngineSettings.from_environment(environ)
    assert (settings.duckdb_threads, settings.duckdb_memory_limit) == (3, "2GB")
    assert (settings.spark_master, settings.spark_executor_memory, settings.spark_log_level) == (
        "spark://10.0.0.5:7077",
        "8g",
        "INFO",
    )
    changed = settings.with_changes(spark_master="local[4]", duckdb_threads=None)
    assert (changed.spark_master, changed.duckdb_threads) == ("local[4]", 3)  # None leaves a setting as it was
    assert changed.spark_conf()["spark.executor.memory"] == "8g"
    assert changed.spark_conf()["spark.ui.showConsoleProgress"] == "false"


@pytest.mark.parametrize(
    ("changes", "field", "found"),
    [
        ({"spark_master": "local[x]"}, "spark_master", "'local[x]'"),
        ({"duckdb_memory_limit": "lots"}, "duckdb_memory_limit", "'lots'"),
        ({"duckdb_threads": 0}, "duckdb_threads", "0"),
        ({"spark_executor_memory": "8 gigs"}, "spark_executor_memory", "'8 gigs'"),
        ({"spark_log_level": "LOUD"}, "spark_log_level", "'LOUD'"),
    ],
)
def test_a_setting_that_cannot_be_used_is_refused(changes: dict[str, object], field: str, found: str) -> None:
    with pytest.raises(InvalidEngineSetting) as refused:
        EngineSettings.for_machine().with_changes(**changes)
    assert field in str(refused.value) and refused.value.found == found and refused.value.expected


def test_a_variable_that_is_not_a_number_names_itself() -> None:
    with pytest.raises(InvalidEngineSetting) as refused:
        EngineSettings.from_environment({"HABMON_DUCKDB_THREADS": "many"})
    assert "HABMON_DUCKDB_THREADS" in str(refused.value) and refused.value.found == "'many'"


def test_duckdb_is_built_with_the_settings(tmp_path: object) -> None:
    settings = EngineSettings.for_machine().with_changes(duckdb_threads=1, duckdb_memory_limit="512MiB")
    backend = connect("duckdb", settings)
    ((threads, limit),) = backend.con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')"
    ).fetchall()
    assert threads == 1 and limit in {"512.0 MiB", "536.8 MB", "512.0MiB"}


def test_the_spark_log_configuration_sets_the_level() -> None:
    text = log4j2_file("ERROR").read_text()
    assert "rootLogger.level = error" in text


def test_compute_refuses_a_bad_setting_before_running(monitor: object) -> None:
    result = CliRunner().invoke(app, ["compute", "--spark-master", "local[x]", "--engine", "spark"])
    assert result.exit_code == 1
    assert "spark_master" in result.output and "local[x]" in result.output


def test_a_spark_connect_master_is_a_client_that_sets_only_runtime_sql_settings() -> None:
    settings = EngineSettings.for_machine().with_changes(spark_master="sc://spark.example.org:15002")
    assert settings.spark_connect and not EngineSettings.for_machine().spark_connect
    assert settings.spark_connect_conf() == {
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
    }
    with pytest.raises(InvalidEngineSetting) as refused:
        settings.with_changes(spark_executor_memory="4g")
    assert refused.value.found == "'4g'" and "Spark Connect" in str(refused.value.expected)
