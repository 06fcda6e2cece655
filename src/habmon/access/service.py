"""Users, logins, API tokens and web sessions as a service (the CLI and the web app call it).

* Passwords are argon2id hashes (:mod:`habmon.access.passwords`).
* Logins are rate-limited from the database (``login_attempt``), so the limit survives restarts and
  holds across web workers: :data:`LOGIN_LIMIT` failures per username — counted since its last
  success — or per remote address within :data:`LOGIN_WINDOW` pause further attempts
  (:class:`LoginThrottled` with the seconds to wait).
* API tokens and web session tokens are random strings shown once; the database keeps their SHA-256
  only, so a copy of the database gives no working token or session.
* Every change is written to the audit log.

Management operations take the acting principal first and decide with
:func:`habmon.access.policy.authorize`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, false, func, insert, select, true, update

from habmon.access.model import Action, Principal, Role
from habmon.access.passwords import Passwords, check_policy
from habmon.access.policy import Forbidden, allowed, authorize
from habmon.geo.model import Geography
from habmon.problems import HabmonError, NotFound
from habmon.store import tables as t
from habmon.store.store import Store, insert_id

LOGIN_LIMIT = 5
LOGIN_WINDOW = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)  # absolute: a session ends 8 hours after login
SESSION_IDLE = timedelta(hours=1)  # and after an hour without a request
# a session's last request and a token's last use are written at most once a minute: a page that loads its JSON
# twin and a script polling the API would otherwise write a row per request (so "idle" is measured to the minute)
TOUCH_EVERY = timedelta(minutes=1)
TOKEN_PREFIX = "hm_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
SCOPED_ROLES = frozenset({Role.FOCAL_POINT})
ORGANIZATION_ROLES = frozenset({Role.PARTNER})

Clock = Callable[[], datetime]


class AccessError(HabmonError):
    """A user, token or session operation that cannot be done as asked."""


class AuthenticationFailed(HabmonError):
    """Wrong username or password (the message does not say which)."""


class LoginThrottled(HabmonError):
    """Too many failed logins; ``retry_after`` is the number of seconds to wait."""

    def __init__(self, message: str, *, retry_after: int, expected: str = "", found: str = "") -> None:
        super().__init__(message, expected=expected, found=found, hint=f"try again in {retry_after} seconds")
        self.retry_after = retry_after


class CsrfMismatch(HabmonError):
    """A form was sent without the CSRF token of its session."""


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sha256(text: str) -> str:
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


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": None if self.last_used_at is None else self.last_used_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    display_name: str
    organization: str | None = None
    geo_scope: tuple[str, ...] = ()


# Well-known accounts for the demo database ONLY: their passwords are published in docs/access.md.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo.admin", "demo-only-admin-2026", Role.ADMIN, "Demo administrator"),
    DemoAccount("demo.officer", "demo-only-officer-2026", Role.OFFICER, "Demo monitoring officer", "UN-Habitat"),
    DemoAccount(
        "demo.kenya",
        "demo-only-kenya-2026",
        Role.FOCAL_POINT,
        "Demo focal point, Kenya",
        "Kenya National Bureau of Statistics (demo)",
        ("404",),
    ),
    DemoAccount(
        "demo.nairobi",
        "demo-only-nairobi-2026",
        Role.FOCAL_POINT,
        "Demo focal point, Nairobi",
        "Nairobi City County (demo)",
        ("ke_nairobi",),
    ),
    DemoAccount("demo.partner", "demo-only-partner-2026", Role.PARTNER, "Demo partner", "Demo Partner Organization"),
)


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


class Access:
    """Users, their scopes, logins, API tokens and web sessions in one store."""

    def __init__(self, store: Store, *, passwords: Passwords | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.passwords = passwords or Passwords()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._geography: Geography | None = None

    # -- users ---------------------------------------------------------------------------

    def create_user(
        self,
        actor: Principal,
        username: str,
        *,
        role: Role,
        password: str | None = None,
        display_name: str | None = None,
        organization: str | None = None,
        geo_scope: Iterable[str] = (),
    ) -> UserInfo:
        """A new active user. A focal point needs a scope, a partner an organization; the password is optional
        (a user without one logs in only with an API token until a password is set)."""
        authorize(actor, Action.MANAGE_USERS)
        name = username.strip().casefold()
        if not USERNAME.fullmatch(name):
            raise AccessError(
                "not a valid username",
                expected="2–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
                found=username,
            )
        if role == Role.PUBLIC:
            raise AccessError("the public needs no account", expected="admin, officer, focal_point or partner")
        codes = self._canonical_scope(geo_scope)
        if role in SCOPED_ROLES and not codes:
            raise AccessError(
                f"a {role} needs a geographic scope", expected="one or more countries or cities", found="none"
            )
        if role not in SCOPED_ROLES and codes:
            raise AccessError("only focal points have a geographic scope", expected="no scope", found=", ".join(codes))
        org = organization.strip() if organization and organization.strip() else None
        if role in ORGANIZATION_ROLES and org is None:
            raise AccessError(f"a {role} needs an organization", expected="--org NAME", found="none")
        hashed = None
        if password is not None:
            check_policy(password, name)
            hashed = self.passwords.hash(password)
        now = self.clock()
        with self.store.transaction() as conn:
            if self._user_row(conn, name) is not None:
                raise AccessError(f"the user {name} exists already", expected="a new username", found=name)
            user_id = insert_id(
                conn,
                insert(t.user_account).values(
                    username=name,
                    role=str(role),
                    display_name=(display_name or name).strip(),
                    organization=org,
                    password_hash=hashed,
                    active=True,
                    created_at=now,
                    updated_at=now,
                    password_changed_at=now if hashed else None,
                ),
            )
            if codes:
                conn.execute(insert(t.user_scope), [{"user_id": user_id, "geo_code": c} for c in codes])
            self.store.audit(
                conn,
                actor.username,
                "user.create",
                "user",
                name,
                {"role": str(role), "organization": org, "scope": codes, "password": hashed is not None},
            )
            return self._info(conn, name)

    def users(self, actor: Principal) -> list[UserInfo]:
        authorize(actor, Action.MANAGE_USERS)
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            names = conn.execute(select(t.user_account.c.username).order_by(t.user_account.c.username)).scalars()
            return [self._info(conn, n) for n in list(names)]

    def user(self, username: str) -> UserInfo:
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            return self._info(conn, username.strip().casefold())

    def principal(self, username: str) -> Principal:
        """The principal of an active stored user."""
        info = self.user(username)
        if not info.active:
            raise AccessError(f"the user {info.username} is disabled", expected="an active user", found="disabled")
        return info.principal

    def set_active(self, actor: Principal, username: str, active: bool) -> UserInfo:
        """Disable (ends the user's sessions; their API tokens stop working) or enable a user."""
        authorize(actor, Action.MANAGE_USERS)
        name = username.strip().casefold()
        if not active and name == actor.username:
            raise AccessError("you cannot disable your own account", expected="another user", found=name)
        with self.store.transaction() as conn:
            row = self._require_user(conn, name)
            if bool(row["active"]) == active:
                return self._info(conn, name)
            conn.execute(
                update(t.user_account)
                .where(t.user_account.c.id == row["id"])
                .values(active=active, updated_at=self.clock())
            )
            ended = 0 if active else self._end_sessions(conn, row["id"])
            self.store.audit(
                conn,
                actor.username,
                "user.enable" if active else "user.disable",
                "user",
                name,
                {"sessions_ended": ended},
            )
            return self._info(conn, name)

    def set_password(self, actor: Principal, username: str, password: str, *, current: str | None = None) -> None:
        """Set a password (ends every session of the user). Changing one's own password needs the current one,
        unless the actor may manage users."""
        name = username.strip().casefold()
        authorize(actor, Action.CHANGE_OWN_PASSWORD, owner=name)
        check_policy(password, name)
        with self.store.transaction() as conn:
            row = self._require_user(conn, name)
            own_change = not allowed(actor, Action.MANAGE_USERS)
            if own_change and (current is None or not self.passwords.verify(row["password_hash"], current).ok):
                raise AuthenticationFailed(
                    "the current password is wrong", expected="the current password", found="another or none"
                )
            now = self.clock()
            conn.execute(
                update(t.user_account)
                .where(t.user_account.c.id == row["id"])
                .values(password_hash=self.passwords.hash(password), password_changed_at=now, updated_at=now)
            )
            ended = self._end_sessions(conn, row["id"])
            self.store.audit(conn, actor.username, "user.password", "user", name, {"sessions_ended": ended})

    def set_scope(self, actor: Principal, username: str, geo_codes: Iterable[str]) -> UserInfo:
        """Replace a focal point's geographic scope (codes as M49, ISO3, ISO2 or city id)."""
        authorize(actor, Action.MANAGE_USERS)
        name = username.strip().casefold()
        codes = self._canonical_scope(geo_codes)
        if not codes:
            raise AccessError("a focal point needs a geographic scope", expected="one or more places", found="none")
        with self.store.transaction() as conn:
            row = self._require_user(conn, name)
            if Role(row["role"]) not in SCOPED_ROLES:
                raise AccessError(
                    "only focal points have a geographic scope",
                    expected="a focal point",
                    found=f"{name} ({row['role']})",
                )
            before = self._scope(conn, row["id"])
            conn.execute(delete(t.user_scope).where(t.user_scope.c.user_id == row["id"]))
            conn.execute(insert(t.user_scope), [{"user_id": row["id"], "geo_code": c} for c in codes])
            conn.execute(update(t.user_account).where(t.user_account.c.id == row["id"]).values(updated_at=self.clock()))
            self.store.audit(conn, actor.username, "user.scope", "user", name, {"from": list(before), "to": codes})
            return self._info(conn, name)

    def _canonical_scope(self, codes: Iterable[str]) -> list[str]:
        wanted = [c.strip() for c in codes if c.strip()]
        if not wanted:
            return []
        if self._geography is None:
            self._geography = self.store.geography()
        return sorted({self._geography.resolve(c).code for c in wanted})

    # -- logging in ----------------------------------------------------------------------

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
        user_since = max(since, _utc(last_success)) if last_success is not None else since
        failed = (a.success == false()) & (a.id < before)
        by_user = conn.execute(
            select(a.at).where(a.username == name, failed, a.at > user_since).order_by(a.at, a.id)
        ).scalars()
        by_user_list = [_utc(x) for x in by_user]
        by_remote = conn.execute(
            select(a.at).where(a.remote == remote, failed, a.at > since).order_by(a.at, a.id)
        ).scalars()
        return by_user_list, [_utc(x) for x in by_remote]

    # -- API tokens ------------------------------------------------------------------------

    def create_token(self, principal: Principal, name: str, *, by: Principal | None = None) -> tuple[str, TokenInfo]:
        """A new API token for ``principal`` (created by ``by``, default the principal itself).

        Returns the token text — shown this once, only its SHA-256 is stored — and its description."""
        actor = by or principal
        authorize(actor, Action.MANAGE_OWN_TOKENS, owner=principal.username)
        label = name.strip()
        if not label or len(label) > 200:
            raise AccessError("a token needs a name", expected="1–200 characters", found=repr(name))
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
            row = self._require_active_user(conn, principal.username)
            token_id = insert_id(
                conn,
                insert(t.api_token).values(
                    user_id=row["id"],
                    name=label,
                    prefix=plaintext[:PREFIX_LENGTH],
                    token_sha256=_sha256(plaintext),
                    created_at=self.clock(),
                ),
            )
            self.store.audit(
                conn,
                actor.username,
                "token.create",
                "api_token",
                str(token_id),
                {"user": principal.username, "name": label, "prefix": plaintext[:PREFIX_LENGTH]},
            )
            return plaintext, self._token(conn, token_id)

    def tokens(self, actor: Principal, username: str | None = None) -> list[TokenInfo]:
        """The tokens of ``username`` (default: the actor's own; every user's for an administrator)."""
        a, u = t.api_token.c, t.user_account.c
        query = select(a.id).join(t.user_account, u.id == a.user_id).order_by(a.id)
        if username is not None or not allowed(actor, Action.MANAGE_USERS):
            owner = (username or actor.username).strip().casefold()
            authorize(actor, Action.MANAGE_OWN_TOKENS, owner=owner)
            query = query.where(u.username == owner)
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            return [self._token(conn, i) for i in list(conn.execute(query).scalars())]

    def revoke_token(self, actor: Principal, token_id: int) -> TokenInfo:
        with self.store.transaction() as conn:
            token = self._token(conn, token_id)
            authorize(actor, Action.MANAGE_OWN_TOKENS, owner=token.username)
            if token.revoked_at is not None:
                return token
            conn.execute(update(t.api_token).where(t.api_token.c.id == token_id).values(revoked_at=self.clock()))
            self.store.audit(
                conn,
                actor.username,
                "token.revoke",
                "api_token",
                str(token_id),
                {"user": token.username, "name": token.name, "prefix": token.prefix},
            )
            return self._token(conn, token_id)

    def principal_for_token(self, plaintext: str) -> Principal | None:
        """The principal of a valid token (not revoked, user active), recording when it was used; else None."""
        if not plaintext.startswith(TOKEN_PREFIX):
            return None
        a, u = t.api_token.c, t.user_account.c
        self.store.require_schema()
        with self.store.transaction() as conn:
            row = conn.execute(
                select(a.id, a.last_used_at, u.username, u.active)
                .join(t.user_account, u.id == a.user_id)
                .where(a.token_sha256 == _sha256(plaintext), a.revoked_at.is_(None))
            ).first()
            if row is None or not row.active:
                return None
            now = self.clock()
            if row.last_used_at is None or now - _utc(row.last_used_at) >= TOUCH_EVERY:
                conn.execute(update(t.api_token).where(a.id == row.id).values(last_used_at=now))
            return self._info(conn, row.username).principal

    # -- web sessions ------------------------------------------------------------------------

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
                    token_sha256=_sha256(session),
                    csrf_sha256=_sha256(csrf),
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
                .where(s.token_sha256 == _sha256(session))
            ).first()
            if row is None:
                return None
            if not row.active or now >= _utc(row.expires_at) or now - _utc(row.last_seen_at) >= SESSION_IDLE:
                conn.execute(delete(t.web_session).where(s.id == row.id))
                return None
            if now - _utc(row.last_seen_at) >= TOUCH_EVERY:
                conn.execute(update(t.web_session).where(s.id == row.id).values(last_seen_at=now))
            return self._info(conn, row.username).principal

    def check_csrf(self, session: str, csrf: str) -> None:
        """Raise :class:`CsrfMismatch` unless ``csrf`` is the CSRF token of this session."""
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            stored = conn.execute(
                select(t.web_session.c.csrf_sha256).where(t.web_session.c.token_sha256 == _sha256(session))
            ).scalar_one_or_none()
        if stored is None or not hmac.compare_digest(stored, _sha256(csrf)):
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
                .where(s.token_sha256 == _sha256(session))
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

    # -- demo ------------------------------------------------------------------------------------

    def ensure_demo_users(self, actor: Principal | None = None) -> list[tuple[DemoAccount, bool]]:
        """Create the well-known demo accounts that do not exist yet (DEMO ONLY: their passwords are public).

        Returns each account and whether it was created now; existing accounts are left as they are."""
        by = actor or Principal.system()
        out: list[tuple[DemoAccount, bool]] = []
        self.store.require_schema()
        for account in DEMO_ACCOUNTS:
            with self.store.engine.connect() as conn:
                exists = self._user_row(conn, account.username) is not None
            if not exists:
                self.create_user(
                    by,
                    account.username,
                    role=account.role,
                    password=account.password,
                    display_name=account.display_name,
                    organization=account.organization,
                    geo_scope=account.geo_scope,
                )
            out.append((account, not exists))
        return out

    # -- rows ------------------------------------------------------------------------------------

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
            created_at=_utc(row["created_at"]),
            password_changed_at=None if row["password_changed_at"] is None else _utc(row["password_changed_at"]),
        )

    def _token(self, conn: Connection, token_id: int) -> TokenInfo:
        a, u = t.api_token.c, t.user_account.c
        row = conn.execute(
            select(a.id, u.username, a.name, a.prefix, a.created_at, a.last_used_at, a.revoked_at)
            .join(t.user_account, u.id == a.user_id)
            .where(a.id == token_id)
        ).first()
        if row is None:
            raise NotFound(f"no API token {token_id}", hint="`habmon tokens list` shows them")
        return TokenInfo(
            row.id,
            row.username,
            row.name,
            row.prefix,
            _utc(row.created_at),
            None if row.last_used_at is None else _utc(row.last_used_at),
            None if row.revoked_at is None else _utc(row.revoked_at),
        )

    def _end_sessions(self, conn: Connection, user_id: int) -> int:
        result = conn.execute(delete(t.web_session).where(t.web_session.c.user_id == user_id))
        return int(result.rowcount or 0)


__all__ = [
    "DEMO_ACCOUNTS",
    "Access",
    "AccessError",
    "AuthenticationFailed",
    "CsrfMismatch",
    "DemoAccount",
    "Forbidden",
    "LoginThrottled",
    "TokenInfo",
    "UserInfo",
]
