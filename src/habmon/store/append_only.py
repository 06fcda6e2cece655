"""Database triggers that make tables append-only (used by the migrations).

Each migration calls these with the tables it creates, so the SQL for a revision
never changes after it ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PG_FUNCTION = """
CREATE FUNCTION habmon_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'habmon: % rows are append-only; record a new revision instead', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def create_function(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)


def drop_function(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS habmon_append_only()")


def create_triggers(op: Any, tables: Sequence[str]) -> None:
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION habmon_append_only()"
            )
        elif dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'habmon: {table} rows are append-only; record a new revision instead'); "
                    "END"
                )


def drop_triggers(op: Any, tables: Sequence[str]) -> None:
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif dialect == "sqlite":
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
