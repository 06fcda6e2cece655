"""Logins and their rate limit.

Logins are rate-limited from the database (``login_attempt``), so the limit survives restarts and holds across web
workers: :data:`LOGIN_LIMIT` failures per username — counted since its last success — or per remote address within
:data:`LOGIN_WINDOW` pause further attempts (:class:`~habmon.access.errors.LoginThrottled` with the seconds to wait).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, false, func, insert, select, true, update

from habmon.access.base import AccessBase, as_utc
from habmon.access.errors import AuthenticationFailed, LoginThrottled
from habmon.access.model import Principal
from habmon.store import tables as t
from habmon.store.database import insert_id

LOGIN_LIMIT = 5
LOGIN_WINDOW = timedelta(minutes=15)


def _throttled(by_user: list[datetime], by_remote: list[datetime], now: datetime) -> LoginThrottled | None:
    """The refusal when the username or the address has reached the limit of failed logins, else None."""
    for kind, failures in (("username", by_user), ("address", by_remote)):
        if len(failures) >= LOGIN_LIMIT:
            wait = failures[len(failures) - LOGIN_LIMIT] + LOGIN_WINDOW - now
            return LoginThrottled(
                f"too many failed logins for this {kind}",
                retry_after=max(1, math.ceil(wait.total_seconds())),
                expected=f"at most {LOGIN_LIMIT} failed logins in {LOGIN_WINDOW.seconds // 60} minutes",
                found=f"{len(failures)} failed",
            )
    return None


class Logins(AccessBase):
    """Logging in with a username and password, rate-limited from the database (``login_attempt``)."""

    def authenticate(self, username: str, password: str, remote: str) -> Principal:
        """The principal for a username and password, or :class:`AuthenticationFailed`;
        :class:`LoginThrottled` (before any password is checked) after too many failures."""
        name = username.strip().casefold()[:200]
        where = remote.strip()[:100] or "unknown"
        now = self.clock()
        self.store.require_schema()
        a = t.login_attempt.c
        # The attempt is recorded, as a failure, before anything is checked, and counts only the attempts
        # recorded before it: two workers checking at once cannot both let one more attempt through.
        with self.store.transaction() as conn:
            attempt = insert_id(
                conn, insert(t.login_attempt).values(at=now, username=name, remote=where, success=False)
            )
        with self.store.transaction() as conn:
            by_user, by_remote = self._recent_failures(conn, name, where, now, before=attempt)
            throttled = _throttled(by_user, by_remote, now)
            if throttled is not None:
                conn.execute(delete(t.login_attempt).where(a.id == attempt))  # refused unheard: not counted
            else:
                row = self._user_row(conn, name)
                stored = row["password_hash"] if row is not None and row["active"] else None
                verified = self.passwords.verify(stored, password)
                if verified.ok and row is not None:
                    conn.execute(update(t.login_attempt).where(a.id == attempt).values(success=True))
                    if verified.new_hash is not None:
                        conn.execute(
                            update(t.user_account)
                            .where(t.user_account.c.id == row["id"])
                            .values(password_hash=verified.new_hash)
                        )
                    details = {"remote": where, "rehashed": verified.new_hash is not None}
                    self.store.audit(conn, name, "user.login", "user", name, details)
                    return self._info(conn, name).principal
        if throttled is not None:
            raise throttled
        # the failure is committed (it counts towards the limit) before it is reported
        left = LOGIN_LIMIT - 1 - max(len(by_user), len(by_remote))
        minutes = LOGIN_WINDOW.seconds // 60
        raise AuthenticationFailed(
            "wrong username or password",
            hint=f"{left} more failed attempt(s) pause logins for {minutes} minutes"
            if left > 0
            else f"logins are now paused for {minutes} minutes",
        )

    def _recent_failures(
        self, conn: Connection, name: str, remote: str, now: datetime, *, before: int
    ) -> tuple[list[datetime], list[datetime]]:
        """Failed logins in the window for this username (since its last success) and this address, among the
        attempts recorded before attempt ``before``."""
        a = t.login_attempt.c
        since = now - LOGIN_WINDOW
        last_success = conn.execute(
            select(func.max(a.at)).where(a.username == name, a.success == true(), a.id < before)
        ).scalar_one_or_none()
        user_since = max(since, as_utc(last_success)) if last_success is not None else since
        failed = (a.success == false()) & (a.id < before)
        by_user = conn.execute(
            select(a.at).where(a.username == name, failed, a.at > user_since).order_by(a.at, a.id)
        ).scalars()
        by_user_list = [as_utc(x) for x in by_user]
        by_remote = conn.execute(
            select(a.at).where(a.remote == remote, failed, a.at > since).order_by(a.at, a.id)
        ).scalars()
        return by_user_list, [as_utc(x) for x in by_remote]
