"""A Spark standalone cluster on loopback for the tests and benchmarks: one master and N workers, each a
separate JVM process started with ``spark-class`` from the installed PySpark — a real cluster, not local mode.
And a Spark Connect server (``SparkConnectServer``, whose jar ships with PySpark) started with ``spark-submit``,
for the engine as a thin gRPC client (``sc://``).

The driver (the test process) reaches the master at ``spark://127.0.0.1:PORT``; the workers start executors
that run Python with this interpreter. Everything listens on 127.0.0.1 only, and is stopped at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOOPBACK = "127.0.0.1"


class SparkClusterUnavailable(RuntimeError):
    pass


def spark_class() -> Path:
    try:
        import pyspark
    except ModuleNotFoundError as exc:
        raise SparkClusterUnavailable("PySpark is not installed: pip install 'habmon[spark]'") from exc
    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.exists():
        raise SparkClusterUnavailable(f"spark-class not found at {path}")
    return path


def _spark_bin(name: str) -> Path:
    return spark_class().with_name(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{ui_port}/json/", timeout=2) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except OSError:
        return 0


@contextmanager
def spark_standalone(workers: int = 2, cores: int = 1, memory: str = "1g") -> Iterator[str]:
    """Yield the master URL of a fresh standalone cluster of ``workers`` × ``cores``; stop it afterwards."""
    launcher = spark_class()
    root = Path(tempfile.mkdtemp(prefix="habmon-spark-"))
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": LOOPBACK,
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_WORKER_DIR": str(root / "work"),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_NO_DAEMONIZE": "1",
    }
    port, ui = _free_port(), _free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        log = (root / f"{name}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [str(launcher), *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", LOOPBACK, "--port", str(port),
              "--webui-port", str(ui))  # fmt: skip
        master = f"spark://{LOOPBACK}:{port}"
        for n in range(workers):
            start(f"worker-{n}", "org.apache.spark.deploy.worker.Worker", "--host", LOOPBACK, "--cores", str(cores),
                  "--memory", memory, "--webui-port", str(_free_port()), master)  # fmt: skip
        deadline = time.monotonic() + 120
        while _alive_workers(ui) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                logs = "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-2000:]}" for f in root.glob("*.log"))
                raise SparkClusterUnavailable(f"the Spark standalone cluster did not start:\n{logs}")
            time.sleep(0.5)
        yield master
    finally:
        for process in reversed(processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((LOOPBACK, port)) == 0


@contextmanager
def spark_connect_server(master: str = "local[2]") -> Iterator[str]:
    """Yield the ``sc://`` URL of a fresh Spark Connect server on loopback running on ``master``; stop it after."""
    root = Path(tempfile.mkdtemp(prefix="habmon-spark-connect-"))
    port = _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": LOOPBACK, "PYSPARK_PYTHON": sys.executable}
    log = (root / "server.log").open("wb")
    command = [
        str(_spark_bin("spark-submit")),
        "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master", master,
        "--conf", f"spark.connect.grpc.binding.address={LOOPBACK}",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.ui.showConsoleProgress=false",
        "spark-internal",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not _listening(port):
            if time.monotonic() > deadline or process.poll() is not None:
                tail = (root / "server.log").read_text(errors="replace")[-3000:]
                raise SparkClusterUnavailable(f"the Spark Connect server did not start:\n{tail}")
            time.sleep(0.5)
        yield f"sc://{LOOPBACK}:{port}"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
