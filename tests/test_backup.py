"""Backup and restore on SQLite and PostgreSQL give identical content (a checksum over every table's rows); a
restore refuses a database that is not empty and a backup of the other kind; migrations go down and up again."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from habmon.jobs import JobQueue
from habmon.services import Monitor
from habmon.store.backup import BackupError, backup, content_checksum, restore
from habmon.store.database import MIGRATIONS, schema_head
from habmon.store.store import Store


def empty_database_like(store: Store, tmp_path: Path) -> Store:
    """A new, empty database on the same server (or a new SQLite file)."""
    if store.dialect == "sqlite":
        return Store(f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:6]}.sqlite3'}")
    server = store.url.rsplit("/", 1)[0]
    name = f"habmon_restore_{uuid.uuid4().hex[:10]}"
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return Store(f"{server}/{name}")


def test_a_restored_backup_has_identical_content(monitor: Monitor, tmp_path: Path) -> None:
    JobQueue(monitor.store).request("monitoring_run", "alice")  # a row in the newest table too
    before = content_checksum(monitor.store)
    info = backup(monitor.store, tmp_path / "habmon.backup")
    assert info.checksum == before and info.bytes > 0
    assert info.kind == ("sqlite" if monitor.store.dialect == "sqlite" else "postgresql-custom")
    target = empty_database_like(monitor.store, tmp_path)
    assert restore(target, info.path) == before
    assert target.schema_revision() == schema_head()
    assert Monitor(target).registry().get("11.1.1").code == "11.1.1"
    target.dispose()


def test_the_checksum_sees_a_single_changed_row(monitor: Monitor) -> None:
    before = content_checksum(monitor.store)
    JobQueue(monitor.store).request("report", "bob")
    assert content_checksum(monitor.store) != before


def test_restore_refuses_a_database_that_is_not_empty(monitor: Monitor, tmp_path: Path) -> None:
    info = backup(monitor.store, tmp_path / "habmon.backup")
    before = content_checksum(monitor.store)
    with pytest.raises(BackupError) as refused:
        restore(monitor.store, info.path)
    assert "is not empty" in str(refused.value) and refused.value.expected.startswith("an empty database")
    assert content_checksum(monitor.store) == before


def test_a_backup_never_overwrites_a_file(monitor: Monitor, tmp_path: Path) -> None:
    existing = tmp_path / "habmon.backup"
    existing.write_bytes(b"an earlier backup")
    with pytest.raises(BackupError, match="exists already"):
        backup(monitor.store, existing)
    assert existing.read_bytes() == b"an earlier backup"


def test_restore_refuses_a_file_of_the_other_kind(store: Store, tmp_path: Path) -> None:
    wrong = tmp_path / "not-a-backup"
    wrong.write_bytes(b"PGDMP" if store.dialect == "sqlite" else b"SQLite format 3\x00" + b"\x00" * 100)
    target = empty_database_like(store, tmp_path)
    with pytest.raises(BackupError) as refused:
        restore(target, wrong)
    assert refused.value.found in {"a SQLite database", "a PostgreSQL dump"}
    assert inspect(target.engine).get_table_names() == []
    target.dispose()


def test_migrations_go_down_to_nothing_and_up_again(store: Store) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert [t for t in inspect(store.engine).get_table_names() if t != "alembic_version"] == []
    store.upgrade()
    assert store.schema_revision() == schema_head()
    Monitor(store).init()  # the schema works after the round trip
