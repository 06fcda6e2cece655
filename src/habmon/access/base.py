"""What the parts of the access service share: the store and clock, user rows read as :class:`UserInfo`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select

from habmon.access.errors import AccessError
from habmon.access.model import Principal, Role
from habmon.access.passwords import Passwords
from habmon.geo.model import Geography
from habmon.problems import NotFound
from habmon.store import tables as t
from habmon.store.store import Store

# a session's last request and a token's last use are written at most once a minute: a page that loads its JSON
# twin and a script polling the API would otherwise write a row per request (so "idle" is measured to the minute)
TOUCH_EVERY = timedelta(minutes=1)

Clock = Callable[[], datetime]


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    role: Role
    display_name: str
    organization: str | None
    geo_scope: tuple[str, ...]
    active: bool
    has_password: bool
    created_at: datetime
    password_changed_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, frozenset(self.geo_scope), self.organization, self.display_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": str(self.role),
            "display_name": self.display_name,
            "organization": self.organization,
            "geo_scope": list(self.geo_scope),
            "active": self.active,
            "has_password": self.has_password,
            "created_at": self.created_at.isoformat(),
            "password_changed_at": None if self.password_changed_at is None else self.password_changed_at.isoformat(),
        }


class AccessBase:
    """The store, password hasher and clock that the parts of :class:`~habmon.access.service.Access` share, and
    the reading of user rows."""

    def __init__(self, store: Store, *, passwords: Passwords | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.passwords = passwords or Passwords()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._geography: Geography | None = None

    def _user_row(self, conn: Connection, name: str) -> dict[str, Any] | None:
        row = conn.execute(select(t.user_account).where(t.user_account.c.username == name)).first()
        return None if row is None else dict(row._mapping)

    def _require_user(self, conn: Connection, name: str) -> dict[str, Any]:
        self.store.require_schema()
        row = self._user_row(conn, name)
        if row is None:
            raise NotFound(f"no user {name}", expected="a stored username", found=name, hint="`habmon users list`")
        return row

    def _require_active_user(self, conn: Connection, name: str) -> dict[str, Any]:
        row = self._require_user(conn, name)
        if not row["active"]:
            raise AccessError(f"the user {name} is disabled", expected="an active user")
        return row

    def _scope(self, conn: Connection, user_id: int) -> tuple[str, ...]:
        s = t.user_scope.c
        return tuple(conn.execute(select(s.geo_code).where(s.user_id == user_id).order_by(s.geo_code)).scalars())

    def _info(self, conn: Connection, name: str) -> UserInfo:
        row = self._require_user(conn, name)
        return UserInfo(
            id=row["id"],
            username=row["username"],
            role=Role(row["role"]),
            display_name=row["display_name"],
            organization=row["organization"],
            geo_scope=self._scope(conn, row["id"]),
            active=bool(row["active"]),
            has_password=row["password_hash"] is not None,
            created_at=as_utc(row["created_at"]),
            password_changed_at=None if row["password_changed_at"] is None else as_utc(row["password_changed_at"]),
        )

    def _end_sessions(self, conn: Connection, user_id: int) -> int:
        result = conn.execute(delete(t.web_session).where(t.web_session.c.user_id == user_id))
        return int(result.rowcount or 0)
