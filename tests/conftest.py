"""Shared fixtures. Every store test runs on each backend in HABMON_TEST_BACKENDS
(default: sqlite and postgresql — a real server started for the session)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from habmon.services import Monitor
from habmon.store.store import Store
from tests.pgserver import PostgresUnavailable, postgres_server
from tests.sparkcluster import SparkClusterUnavailable, spark_connect_server, spark_standalone

BACKENDS = [b.strip() for b in os.environ.get("HABMON_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def spark_cluster() -> Iterator[str]:
    """The master URL of a Spark standalone cluster (2 workers × 1 core, separate processes on loopback)."""
    try:
        with spark_standalone(workers=2, cores=1) as master:
            yield master
    except SparkClusterUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def spark_connect() -> Iterator[str]:
    """The ``sc://`` URL of a Spark Connect server (its own JVM on loopback, local[2])."""
    try:
        with spark_connect_server() as url:
            yield url
    except SparkClusterUnavailable as exc:
        pytest.fail(str(exc))


def _database_url(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'habmon.sqlite3'}"
    server: str = request.getfixturevalue("pg_server")
    name = f"habmon_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _database_url(request.param, request, tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def monitor(store: Store) -> Monitor:
    m = Monitor(store, actor="test")
    m.init()
    return m


@pytest.fixture(scope="session", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitor]:
    """A store with the plan, registry, geography and all shipped data loaded (read-only in tests)."""
    url = _database_url(request.param, request, tmp_path_factory.mktemp(f"demo-{request.param}"))
    m = Monitor(Store(url), actor="test")
    m.init()
    m.load_shipped()
    yield m
    m.store.dispose()
