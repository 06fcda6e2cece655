"""The monitoring run on a real Spark cluster (a standalone master and two workers, separate processes on
loopback) gives the results DuckDB gives, key by key; and Spark stays quiet on the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from habmon.services import Monitor
from tests.spark_runs import assert_spark_run_equals_duckdbs, demo_monitor


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitor]:
    yield from demo_monitor(tmp_path_factory.mktemp("cluster"))


def test_the_demo_monitoring_run_on_a_standalone_cluster_equals_duckdbs(
    demo_sqlite: Monitor, spark_cluster: str
) -> None:
    assert_spark_run_equals_duckdbs(demo_sqlite, spark_cluster)


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
