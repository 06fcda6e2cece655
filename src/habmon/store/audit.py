"""The audit log: who did what to which object, append-only (database triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from habmon.store import tables as t
from habmon.store.database import Database, now


class AuditLog(Database):
    """Writing an audit event inside the caller's transaction, and reading the newest ones."""

    def audit(
        self,
        conn: Connection,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        conn.execute(
            insert(t.audit_event).values(
                at=now(),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details=dict(details or {}),
            )
        )

    def audit_events(self, object_type: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        self.require_schema()
        query = select(t.audit_event).order_by(t.audit_event.c.id.desc()).limit(limit)
        if object_type:
            query = query.where(t.audit_event.c.object_type == object_type)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
