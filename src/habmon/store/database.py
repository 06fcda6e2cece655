"""The database under the store: SQLite (embedded default) or PostgreSQL, its schema and its transactions.

:class:`Database` opens the engine, creates or migrates the schema (Alembic, ``store/migrations``) and refuses
to work on a database whose schema is missing or older than this habmon's. The parts of
:class:`~habmon.store.store.Store` build on it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from habmon.problems import HabmonError

DEFAULT_HOME = "var"


class StoreError(HabmonError):
    """The store cannot be opened or used."""


class DatabaseUnavailable(StoreError):
    """The database does not answer (down, restarting, out of reach): worth trying again shortly."""

    retry_after = 5  # seconds: about what a PostgreSQL restart takes


def default_url() -> str:
    """``HABMON_DATABASE_URL`` if set, else SQLite at ``$HABMON_HOME/habmon.sqlite3`` (HABMON_HOME: ./var)."""
    url = os.environ.get("HABMON_DATABASE_URL")
    if url:
        return url
    home = Path(os.environ.get("HABMON_HOME", DEFAULT_HOME))
    return f"sqlite:///{home / 'habmon.sqlite3'}"


MIGRATIONS = Path(__file__).parent / "migrations"


@functools.cache
def schema_head() -> str:
    """The newest migration revision shipped with this habmon."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # pragma: no cover - habmon always ships migrations
        raise StoreError("no migrations found", found=str(MIGRATIONS))
    return str(head)


def now() -> datetime:
    return datetime.now(UTC)


def insert_id(conn: Connection, statement: Any) -> int:
    key = conn.execute(statement).inserted_primary_key
    if key is None:  # pragma: no cover - every habmon table has an integer primary key
        raise StoreError("the database did not return the new row's id")
    return int(key[0])


class Database:
    """One database: its engine, its schema and its transactions."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(
                "not a database URL", expected="sqlite:///PATH or postgresql+psycopg://…", found=self.url
            ) from exc
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            self.engine: Engine = create_engine(parsed, future=True)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise StoreError(
                f"the database driver for {parsed.get_backend_name()} is not installed",
                hint="pip install 'habmon[postgresql]'",
            ) from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    # -- schema ----------------------------------------------------------------

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest version (Alembic)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            self._ready = True
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot open the database {self.display_url()}", found=str(exc.orig)) from exc

    def require_schema(self) -> None:
        """Raise a clear error when the database has no habmon schema yet."""
        if self._ready:
            return
        try:
            revision = self.schema_revision()
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot open the database {self.display_url()}", found=str(exc.orig)) from exc
        if revision is None:
            raise StoreError(
                f"the database {self.display_url()} has no habmon data yet", hint="run `habmon init` or `habmon demo`"
            )
        head = schema_head()
        if revision != head:
            raise StoreError(
                f"the database {self.display_url()} has an older schema",
                expected=f"schema revision {head}",
                found=f"revision {revision}",
                hint="run `habmon init` to migrate it (nothing is lost)",
            )
        self._ready = True

    def schema_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(
        "PRAGMA synchronous=NORMAL"
    )  # with WAL: no corruption on crash; the last commit may be lost on power loss
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache for large batches
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
