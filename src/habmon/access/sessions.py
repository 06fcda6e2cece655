"""Web sessions: a session token for an HttpOnly cookie and a CSRF token for forms, both shown once and stored
only as SHA-256. A session ends :data:`SESSION_LIFETIME` after login, or after :data:`SESSION_IDLE` without a request.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from habmon.access.base import TOUCH_EVERY, AccessBase, as_utc, sha256_hex
from habmon.access.errors import CsrfMismatch
from habmon.access.logins import LOGIN_WINDOW
from habmon.access.model import Principal
from habmon.store import tables as t
from habmon.store.database import insert_id

SESSION_LIFETIME = timedelta(hours=8)  # absolute: a session ends 8 hours after login
SESSION_IDLE = timedelta(hours=1)  # and after an hour without a request


class Sessions(AccessBase):
    """Server-side web sessions with their CSRF tokens; housekeeping of expired sessions and old login attempts."""

    def open_session(self, principal: Principal) -> tuple[str, str]:
        """A server-side session for a logged-in user: (session token for an HttpOnly cookie, CSRF token for forms).

        Both are random and shown once; the database keeps their SHA-256 only."""
        session = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.transaction() as conn:
            row = self._require_active_user(conn, principal.username)
            session_id = insert_id(
                conn,
                insert(t.web_session).values(
                    user_id=row["id"],
                    token_sha256=sha256_hex(session),
                    csrf_sha256=sha256_hex(csrf),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + SESSION_LIFETIME,
                ),
            )
            self.store.audit(
                conn,
                principal.username,
                "session.open",
                "web_session",
                str(session_id),
                {"expires_at": (now + SESSION_LIFETIME).isoformat()},
            )
        return session, csrf

    def principal_for_session(self, session: str) -> Principal | None:
        """The principal of a live session (refreshing its idle timer), or None when unknown, expired or idle."""
        s, u = t.web_session.c, t.user_account.c
        now = self.clock()
        self.store.require_schema()
        with self.store.transaction() as conn:
            row = conn.execute(
                select(s.id, s.expires_at, s.last_seen_at, u.username, u.active)
                .join(t.user_account, u.id == s.user_id)
                .where(s.token_sha256 == sha256_hex(session))
            ).first()
            if row is None:
                return None
            if not row.active or now >= as_utc(row.expires_at) or now - as_utc(row.last_seen_at) >= SESSION_IDLE:
                conn.execute(delete(t.web_session).where(s.id == row.id))
                return None
            if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
                conn.execute(update(t.web_session).where(s.id == row.id).values(last_seen_at=now))
            return self._info(conn, row.username).principal

    def check_csrf(self, session: str, csrf: str) -> None:
        """Raise :class:`CsrfMismatch` unless ``csrf`` is the CSRF token of this session."""
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            stored = conn.execute(
                select(t.web_session.c.csrf_sha256).where(t.web_session.c.token_sha256 == sha256_hex(session))
            ).scalar_one_or_none()
        if stored is None or not hmac.compare_digest(stored, sha256_hex(csrf)):
            raise CsrfMismatch(
                "the form did not carry this session's CSRF token",
                expected="the csrf token of the page the form came from",
                found="another or none",
                hint="reload the page and send the form again",
            )

    def close_session(self, session: str) -> bool:
        """Log out: the session ends. False when there was no such session."""
        s = t.web_session.c
        self.store.require_schema()
        with self.store.transaction() as conn:
            row = conn.execute(
                select(s.id, t.user_account.c.username)
                .join(t.user_account, t.user_account.c.id == s.user_id)
                .where(s.token_sha256 == sha256_hex(session))
            ).first()
            if row is None:
                return False
            conn.execute(delete(t.web_session).where(s.id == row.id))
            self.store.audit(conn, row.username, "session.close", "web_session", str(row.id), {})
            return True

    def purge(self) -> dict[str, int]:
        """Delete expired sessions and login attempts older than the rate-limit window (housekeeping)."""
        now = self.clock()
        s, a = t.web_session.c, t.login_attempt.c
        with self.store.transaction() as conn:
            sessions = conn.execute(
                delete(t.web_session).where((s.expires_at <= now) | (s.last_seen_at <= now - SESSION_IDLE))
            ).rowcount
            attempts = conn.execute(delete(t.login_attempt).where(a.at <= now - LOGIN_WINDOW)).rowcount
        return {"sessions": int(sessions or 0), "login_attempts": int(attempts or 0)}
