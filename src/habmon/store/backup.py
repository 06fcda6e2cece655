"""Backup and restore of a whole store, and a checksum of its content to prove a restore exact.

* **SQLite**: the online backup API of SQLite (``sqlite3.Connection.backup``) copies the database page by
  page while the app goes on reading and writing; the backup is itself a SQLite database.
* **PostgreSQL**: ``pg_dump --format=custom`` and ``pg_restore`` (Debian's ``postgresql-client``), the
  tools every PostgreSQL operator knows; the dump is consistent (one snapshot) while the app runs.

A restore goes only into an empty database (no tables): restoring over live data would mix two
histories, which the append-only store exists to prevent. :func:`content_checksum` hashes every row of
every table in primary-key order, so "restored identical" is a comparison of two hex strings.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, inspect, select
from sqlalchemy.engine import make_url

from habmon.problems import HabmonError
from habmon.store.store import Store

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(HabmonError):
    """A backup or restore that cannot be made."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    kind: str  # sqlite | postgresql-custom
    bytes: int
    checksum: str  # content_checksum of the store when it was backed up

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "bytes": self.bytes, "checksum": self.checksum}


def content_checksum(store: Store) -> str:
    """SHA-256 over every table's rows (tables by name, rows in primary-key order, values as JSON)."""
    metadata = MetaData()
    metadata.reflect(store.engine)
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        for name in sorted(metadata.tables):
            table = metadata.tables[name]
            order = list(table.primary_key.columns) or list(table.columns)
            digest.update(f"\x00table {name}\x00".encode())
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(json.dumps([_canonical(v) for v in row], default=str).encode())
                digest.update(b"\n")
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """One spelling per value whichever driver read it (JSON text on SQLite, parsed JSON on PostgreSQL)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def backup(store: Store, out: Path) -> BackupInfo:
    """Write a backup of ``store`` to ``out`` (refused if ``out`` exists: a backup never overwrites another)."""
    store.require_schema()
    if out.exists():
        raise BackupError(f"{out} exists already", expected="a new file name", found=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    checksum = content_checksum(store)
    if store.dialect == "sqlite":
        source = _sqlite_path(store)
        with sqlite3.connect(source) as src, sqlite3.connect(out) as dst:
            src.backup(dst)
        kind = "sqlite"
    else:
        _run(_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={out}", _libpq_url(store))
        kind = "postgresql-custom"
    return BackupInfo(out, kind, out.stat().st_size, checksum)


def restore(store: Store, backup_file: Path) -> str:
    """Restore ``backup_file`` into ``store``, which must be empty; returns the restored content's checksum."""
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}", expected="a file written by `habmon backup`", found="nothing")
    magic = backup_file.read_bytes()[:16]
    tables = inspect(store.engine).get_table_names()
    if tables:
        raise BackupError(
            f"the database {store.display_url()} is not empty",
            expected="an empty database (restore never mixes two histories)",
            found=f"{len(tables)} tables, e.g. {', '.join(sorted(tables)[:3])}",
            hint="create a new database and restore into it",
        )
    if store.dialect == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise _wrong_kind(backup_file, "a SQLite backup", magic)
        store.dispose()
        target = _sqlite_path(store)
        with sqlite3.connect(backup_file) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    else:
        if not magic.startswith(PG_CUSTOM_MAGIC):
            raise _wrong_kind(backup_file, "a PostgreSQL custom-format dump", magic)
        _run(_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq_url(store)}", str(backup_file))
    store.dispose()
    return content_checksum(store)


def _wrong_kind(path: Path, expected: str, magic: bytes) -> BackupError:
    found = (
        "a SQLite database"
        if magic.startswith(SQLITE_MAGIC)
        else ("a PostgreSQL dump" if magic.startswith(PG_CUSTOM_MAGIC) else "neither a SQLite nor a PostgreSQL backup")
    )
    return BackupError(f"{path} cannot be restored into this database", expected=expected, found=found)


def _sqlite_path(store: Store) -> str:
    database = make_url(store.url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up", expected="a SQLite file", found=store.url)
    return database


def _libpq_url(store: Store) -> str:
    """The store's URL as libpq reads it (no SQLAlchemy driver suffix)."""
    url = make_url(store.url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if found is None:
        raise BackupError(
            f"{name} is not installed", expected=name, found="nothing", hint="apt-get install postgresql-client"
        )
    return str(found)


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed", expected="exit code 0", found=f"{done.returncode}: {done.stderr.strip()}")
