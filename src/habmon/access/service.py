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

:class:`Access` is composed of one part per concept, each a module of its own: users and their scopes
(:mod:`~habmon.access.users`), logins and their rate limit (:mod:`~habmon.access.logins`), API tokens
(:mod:`~habmon.access.tokens`), web sessions (:mod:`~habmon.access.sessions`) and the demo accounts
(:mod:`~habmon.access.demo`), over what they share (:mod:`~habmon.access.base`, :mod:`~habmon.access.errors`).
Every name is importable from here as before.
"""

from __future__ import annotations

from habmon.access.base import TOUCH_EVERY, AccessBase, Clock, UserInfo
from habmon.access.demo import DEMO_ACCOUNTS, DemoAccount, DemoUsers
from habmon.access.errors import AccessError, AuthenticationFailed, CsrfMismatch, LoginThrottled
from habmon.access.logins import LOGIN_LIMIT, LOGIN_WINDOW, Logins
from habmon.access.policy import Forbidden
from habmon.access.sessions import SESSION_IDLE, SESSION_LIFETIME, Sessions
from habmon.access.tokens import PREFIX_LENGTH, TOKEN_PREFIX, TokenInfo, Tokens
from habmon.access.users import ORGANIZATION_ROLES, SCOPED_ROLES, USERNAME, Users


class Access(DemoUsers, Logins, Tokens, Sessions):
    """Users, their scopes, logins, API tokens and web sessions in one store."""


__all__ = [
    "DEMO_ACCOUNTS",
    "LOGIN_LIMIT",
    "LOGIN_WINDOW",
    "ORGANIZATION_ROLES",
    "PREFIX_LENGTH",
    "SCOPED_ROLES",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "TOKEN_PREFIX",
    "TOUCH_EVERY",
    "USERNAME",
    "Access",
    "AccessBase",
    "AccessError",
    "AuthenticationFailed",
    "Clock",
    "CsrfMismatch",
    "DemoAccount",
    "Forbidden",
    "LoginThrottled",
    "TokenInfo",
    "UserInfo",
    "Users",
]
