"""Who is acting and what they may ask for: roles, principals and the actions that are authorized.

Pure domain: no I/O. A :class:`Principal` is what the services receive from the CLI (the local
operator, :meth:`Principal.system`), from the web app (a logged-in user, an API token) or for
anonymous readers (:meth:`Principal.public`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"  # monitoring officer: reviews, approves, publishes
    FOCAL_POINT = "focal_point"  # bound to countries or cities; submits only for them
    PARTNER = "partner"  # bound to one organization
    PUBLIC = "public"  # no login: published data only


ROLE_TEXT: dict[Role, str] = {
    Role.ADMIN: "administrator",
    Role.OFFICER: "monitoring officer",
    Role.FOCAL_POINT: "focal point",
    Role.PARTNER: "partner",
    Role.PUBLIC: "the public",
}


class Action(StrEnum):
    """Everything that is authorized. The values are stable: the web app and the audit log use them."""

    READ_PUBLISHED = "data.read_published"
    READ_UNPUBLISHED = "data.read_unpublished"
    LOAD_DATA = "data.load"
    SUBMIT = "submission.submit"
    READ_SUBMISSION = "submission.read"
    APPROVE = "submission.approve"
    RETURN = "submission.return"
    PUBLISH = "submission.publish"
    READ_AUDIT = "audit.read"
    READ_METRICS = "ops.metrics"
    RUN_ENGINE = "engine.run"
    MANAGE_USERS = "users.manage"
    MANAGE_OWN_TOKENS = "tokens.manage_own"
    CHANGE_OWN_PASSWORD = "account.password"
    LOAD_SURVEY = "survey.load"
    COMPUTE_SURVEY = "survey.compute"


ACTION_TEXT: dict[Action, str] = {
    Action.READ_PUBLISHED: "read published values",
    Action.READ_UNPUBLISHED: "read values not yet published (approved, awaiting publication)",
    Action.LOAD_DATA: "load the plan, indicators, geography, engagement lists, shipped data",
    Action.SUBMIT: "send a submission",
    Action.READ_SUBMISSION: "read a submission (its rows, report, diff and original file)",
    Action.APPROVE: "approve a submission",
    Action.RETURN: "return a submission to its submitter",
    Action.PUBLISH: "publish an approved submission",
    Action.READ_AUDIT: "read the audit log",
    Action.READ_METRICS: "read the operations metrics (/metrics)",
    Action.RUN_ENGINE: "run and store a monitoring run",
    Action.MANAGE_USERS: "create, disable and change users and their scopes",
    Action.MANAGE_OWN_TOKENS: "create, list and revoke API tokens",
    Action.CHANGE_OWN_PASSWORD: "change a password",
    Action.LOAD_SURVEY: "register a survey and load its microdata (confidential)",
    Action.COMPUTE_SURVEY: "compute indicators from survey microdata",
}

PUBLIC_USERNAME = "(public)"


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone acting: a stored user, the local operator, or the anonymous public.

    ``geo_scope`` holds geography unit codes (``404`` for Kenya, ``ke_nairobi``); a code covers the
    unit and everything below it in the SDG hierarchy (a country covers its cities).
    """

    username: str
    role: Role
    geo_scope: frozenset[str] = field(default_factory=frozenset)
    organization: str | None = None
    display_name: str = ""

    @classmethod
    def public(cls) -> Principal:
        return cls(PUBLIC_USERNAME, Role.PUBLIC, display_name="the public")

    @classmethod
    def system(cls, name: str = "habmon") -> Principal:
        """The local operator (CLI, tests, scripts): acts as an administrator under its own name."""
        return cls(name, Role.ADMIN, display_name=f"{name} (local operator)")

    @property
    def label(self) -> str:
        return f"{self.username} ({ROLE_TEXT[self.role]})"
