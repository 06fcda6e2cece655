"""Users and their scopes (administered with :data:`~habmon.access.model.Action.MANAGE_USERS`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update

from habmon.access.base import AccessBase, UserInfo
from habmon.access.errors import AccessError, AuthenticationFailed
from habmon.access.model import Action, Principal, Role
from habmon.access.passwords import check_policy
from habmon.access.policy import allowed, authorize
from habmon.store import tables as t
from habmon.store.database import insert_id

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
SCOPED_ROLES = frozenset({Role.FOCAL_POINT})
ORGANIZATION_ROLES = frozenset({Role.PARTNER})


class Users(AccessBase):
    """Users and their geographic scopes: create, list, enable or disable, set a password, set a scope."""

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
