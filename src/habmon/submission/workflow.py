"""The life of a submission: draft → submitted → validated → approved → published, or returned.

Pure rules; the service applies them and records every transition in the audit log.
"""

from __future__ import annotations

from enum import StrEnum

from habmon.observation import Nature
from habmon.problems import HabmonError


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    APPROVED = "approved"
    PUBLISHED = "published"
    RETURNED = "returned"


class Action(StrEnum):
    SUBMIT = "submit"
    VALIDATE = "validate"
    APPROVE = "approve"
    PUBLISH = "publish"
    RETURN = "return"


class OrganizationType(StrEnum):
    """Who generates the data (para 92 b–c)."""

    MEMBER_STATE = "member_state"
    SECRETARIAT = "secretariat"
    PARTNER = "partner"


# the nature a blank cell means, by who submits: a member state's own data are country data (C),
# the secretariat's are global monitoring (G), a partner's are estimates (E)
DEFAULT_NATURE: dict[OrganizationType, Nature] = {
    OrganizationType.MEMBER_STATE: Nature.C,
    OrganizationType.SECRETARIAT: Nature.G,
    OrganizationType.PARTNER: Nature.E,
}

TRANSITIONS: dict[Action, tuple[frozenset[State], State]] = {
    Action.SUBMIT: (frozenset({State.DRAFT}), State.SUBMITTED),
    Action.VALIDATE: (frozenset({State.SUBMITTED}), State.VALIDATED),
    Action.APPROVE: (frozenset({State.VALIDATED}), State.APPROVED),
    Action.PUBLISH: (frozenset({State.APPROVED}), State.PUBLISHED),
    Action.RETURN: (frozenset({State.SUBMITTED, State.VALIDATED}), State.RETURNED),
}


class WorkflowError(HabmonError):
    """An action that the submission's state does not allow."""


def next_state(current: State, action: Action) -> State:
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise WorkflowError(
            f"cannot {action} a submission that is {current}",
            expected=f"a submission that is {' or '.join(sorted(allowed))}",
            found=str(current),
            hint="a returned or published submission is revised by a new submission",
        )
    return target
