"""API tokens: random strings shown once; the database keeps their SHA-256 only, so a copy of the database
gives no working token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from habmon.access.base import TOUCH_EVERY, AccessBase, as_utc, sha256_hex
from habmon.access.errors import AccessError
from habmon.access.model import Action, Principal
from habmon.access.policy import allowed, authorize
from habmon.problems import NotFound
from habmon.store import tables as t
from habmon.store.database import insert_id

TOKEN_PREFIX = "hm_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


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


class Tokens(AccessBase):
    """API tokens: created for a user, listed, revoked, and resolved to their principal."""

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
                    token_sha256=sha256_hex(plaintext),
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
                .where(a.token_sha256 == sha256_hex(plaintext), a.revoked_at.is_(None))
            ).first()
            if row is None or not row.active:
                return None
            now = self.clock()
            if row.last_used_at is None or now - as_utc(row.last_used_at) >= TOUCH_EVERY:
                conn.execute(update(t.api_token).where(a.id == row.id).values(last_used_at=now))
            return self._info(conn, row.username).principal

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
            as_utc(row.created_at),
            None if row.last_used_at is None else as_utc(row.last_used_at),
            None if row.revoked_at is None else as_utc(row.revoked_at),
        )
