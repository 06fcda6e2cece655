"""The access rules as a table (action × role → rule) and the one function that applies them.

Pure domain: the caller passes what the decision needs — the places an object concerns, its
organization, its owner — and, for geographic scopes, a function giving a unit's ancestors
(from :meth:`habmon.geo.model.Geography.ancestors`), so a country in a focal point's scope covers
its cities without this module reading the geography.

:func:`authorize` raises :class:`Forbidden`; :func:`allowed` answers the same question as a bool,
for templates that hide buttons. Services always call :func:`authorize` themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from habmon.access.model import ACTION_TEXT, ROLE_TEXT, Action, Principal, Role
from habmon.problems import HabmonError


class Rule(StrEnum):
    ALWAYS = "always"
    OWN_SCOPE = "own scope"  # every place concerned lies within the principal's geographic scope
    OWN_ORGANIZATION = "own organization"  # the object belongs to the principal's organization
    OWN_OBJECT = "own object"  # the object belongs to the principal (own account, own tokens)
    OTHERS_OBJECT = "someone else's object"  # four eyes: a reviewer does not approve what they sent themselves
    NEVER = "never"


ROLES: tuple[Role, ...] = (Role.ADMIN, Role.OFFICER, Role.FOCAL_POINT, Role.PARTNER, Role.PUBLIC)

ALWAYS, SCOPE, ORG, OWN, NEVER = Rule.ALWAYS, Rule.OWN_SCOPE, Rule.OWN_ORGANIZATION, Rule.OWN_OBJECT, Rule.NEVER
OTHERS = Rule.OTHERS_OBJECT

# One row per action; columns in the order of ROLES: admin, officer, focal point, partner, public.
_TABLE: dict[Action, tuple[Rule, Rule, Rule, Rule, Rule]] = {
    Action.READ_PUBLISHED: (ALWAYS, ALWAYS, ALWAYS, ALWAYS, ALWAYS),
    Action.READ_UNPUBLISHED: (ALWAYS, ALWAYS, SCOPE, NEVER, NEVER),
    Action.LOAD_DATA: (ALWAYS, NEVER, NEVER, NEVER, NEVER),
    Action.SUBMIT: (ALWAYS, ALWAYS, SCOPE, ORG, NEVER),
    Action.READ_SUBMISSION: (ALWAYS, ALWAYS, SCOPE, ORG, NEVER),
    Action.APPROVE: (ALWAYS, OTHERS, NEVER, NEVER, NEVER),
    Action.RETURN: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
    Action.PUBLISH: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
    Action.READ_AUDIT: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
    Action.READ_METRICS: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
    Action.RUN_ENGINE: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
    Action.MANAGE_USERS: (ALWAYS, NEVER, NEVER, NEVER, NEVER),
    Action.MANAGE_OWN_TOKENS: (ALWAYS, OWN, OWN, OWN, NEVER),
    Action.CHANGE_OWN_PASSWORD: (ALWAYS, OWN, OWN, OWN, NEVER),
    Action.LOAD_SURVEY: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
    Action.COMPUTE_SURVEY: (ALWAYS, ALWAYS, NEVER, NEVER, NEVER),
}

POLICY: dict[Action, dict[Role, Rule]] = {
    action: dict(zip(ROLES, rules, strict=True)) for action, rules in _TABLE.items()
}

Ancestors = Callable[[str], Iterable[str]]
SCOPE_HINT = "an administrator sets scopes with `habmon users scope USERNAME GEO…`"


class Forbidden(HabmonError):
    """The principal may not do this (to this object)."""

    def __init__(self, message: str, *, action: Action, expected: str = "", found: str = "", hint: str = "") -> None:
        super().__init__(message, expected=expected, found=found, hint=hint)
        self.action = action


def rule_for(principal: Principal, action: Action) -> Rule:
    return POLICY[action][principal.role]


def covers(principal: Principal, code: str, ancestors: Ancestors | None = None) -> bool:
    """Whether a place lies within the principal's scope: the place itself or one of its ancestors is in it."""
    scope = principal.geo_scope
    if code in scope:
        return True
    return ancestors is not None and any(parent in scope for parent in ancestors(code))


def outside_scope(principal: Principal, codes: Iterable[str], ancestors: Ancestors | None = None) -> list[str]:
    """The places (sorted, once each) that the principal's scope does not cover."""
    return sorted({code for code in codes if not covers(principal, code, ancestors)})


@dataclass(frozen=True, slots=True)
class _Request:
    """What a decision looks at: who, what, and the object (its places, organization, owner)."""

    principal: Principal
    action: Action
    geo_codes: tuple[str, ...]
    organization: str | None
    owner: str | None
    ancestors: Ancestors | None


def _always(_: _Request) -> Forbidden | None:
    return None


def _never(r: _Request) -> Forbidden | None:
    roles = [ROLE_TEXT[role] for role in ROLES if POLICY[r.action][role] != Rule.NEVER]
    return Forbidden(
        f"{r.principal.label} may not {ACTION_TEXT[r.action]}",
        action=r.action,
        expected=f"a user with the role {' or '.join(roles)}",
        found=r.principal.label,
        hint="see docs/access.md for who may do what",
    )


def _own_scope(r: _Request) -> Forbidden | None:
    outside = outside_scope(r.principal, r.geo_codes, r.ancestors)
    if r.geo_codes and not outside:
        return None
    return Forbidden(
        f"{r.principal.label} may {ACTION_TEXT[r.action]} only for places within their scope",
        action=r.action,
        expected=f"places within {', '.join(sorted(r.principal.geo_scope)) or 'a scope (none is set)'}",
        found=", ".join(outside) if r.geo_codes else "no place",
        hint=SCOPE_HINT,
    )


def _own_organization(r: _Request) -> Forbidden | None:
    if r.principal.organization is not None and r.organization == r.principal.organization:
        return None
    return Forbidden(
        f"{r.principal.label} may {ACTION_TEXT[r.action]} only for their own organization",
        action=r.action,
        expected=r.principal.organization or "an organization (none is set for this user)",
        found=r.organization or "no organization",
        hint="an administrator sets a user's organization",
    )


def _own_object(r: _Request) -> Forbidden | None:
    if r.owner is not None and r.owner == r.principal.username:
        return None
    return Forbidden(
        f"{r.principal.label} may {ACTION_TEXT[r.action]} only for their own account",
        action=r.action,
        expected=r.principal.username,
        found=r.owner or "no owner",
    )


def _others_object(r: _Request) -> Forbidden | None:
    if r.owner is not None and r.owner != r.principal.username:
        return None
    return Forbidden(
        f"{r.principal.label} may not {ACTION_TEXT[r.action]} that they sent themselves",
        action=r.action,
        expected="an object sent by someone else (four eyes)",
        found=f"sent by {r.owner}" if r.owner else "no sender",
        hint="another monitoring officer or an administrator does it",
    )


CHECKS: dict[Rule, Callable[[_Request], Forbidden | None]] = {
    Rule.ALWAYS: _always,
    Rule.OWN_SCOPE: _own_scope,
    Rule.OWN_ORGANIZATION: _own_organization,
    Rule.OWN_OBJECT: _own_object,
    Rule.OTHERS_OBJECT: _others_object,
    Rule.NEVER: _never,
}


def refusal(
    principal: Principal,
    action: Action,
    *,
    geo_codes: Iterable[str] | None = None,
    organization: str | None = None,
    owner: str | None = None,
    ancestors: Ancestors | None = None,
) -> Forbidden | None:
    """Why the principal may not do ``action`` to the object described, or None when allowed."""
    request = _Request(principal, action, tuple(sorted(set(geo_codes or ()))), organization, owner, ancestors)
    return CHECKS[rule_for(principal, action)](request)


def authorize(
    principal: Principal,
    action: Action,
    *,
    geo_codes: Iterable[str] | None = None,
    organization: str | None = None,
    owner: str | None = None,
    ancestors: Ancestors | None = None,
) -> None:
    """Raise :class:`Forbidden` (expected, found, hint) unless the principal may do ``action`` to this object."""
    problem = refusal(
        principal, action, geo_codes=geo_codes, organization=organization, owner=owner, ancestors=ancestors
    )
    if problem is not None:
        raise problem


def allowed(
    principal: Principal,
    action: Action,
    *,
    geo_codes: Iterable[str] | None = None,
    organization: str | None = None,
    owner: str | None = None,
    ancestors: Ancestors | None = None,
) -> bool:
    """The decision of :func:`authorize` as a bool (to hide a button); the service decides again."""
    found = refusal(principal, action, geo_codes=geo_codes, organization=organization, owner=owner, ancestors=ancestors)
    return found is None


def markdown_table() -> str:
    """The policy as the Markdown table in docs/access.md (a test keeps the two equal)."""
    header = "| action | `Action` | " + " | ".join(ROLE_TEXT[r] for r in ROLES) + " |"
    lines = [header, "|" + "---|" * (len(ROLES) + 2)]
    for action, rules in POLICY.items():
        cells = " | ".join(str(rules[r]) for r in ROLES)
        lines.append(f"| {ACTION_TEXT[action]} | `{action}` | {cells} |")
    return "\n".join(lines)
