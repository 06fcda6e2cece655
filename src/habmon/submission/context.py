"""What the submission service needs from the application around it, as a protocol.

The service sits below the application services (docs/architecture.md) and so does not import them:
``habmon.services.Monitor`` satisfies this protocol, and so may any other object that knows who acts, on which
store, with which reference data, and how to decide whether that principal may do something.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from habmon.access.model import Action, Principal
from habmon.geo.model import Geography
from habmon.indicators.registry import Registry
from habmon.store.store import Store


class Context(Protocol):
    @property
    def store(self) -> Store: ...

    @property
    def principal(self) -> Principal: ...

    @property
    def actor(self) -> str:
        """The username the audit log records."""
        ...

    def registry(self) -> Registry: ...

    def geography(self) -> Geography: ...

    def ancestors(self, code: str) -> list[str]:
        """The codes above a place, for scope decisions."""
        ...

    def authorize(
        self,
        action: Action,
        *,
        geo_codes: Iterable[str] | None = None,
        organization: str | None = None,
        owner: str | None = None,
    ) -> None:
        """Raise :class:`~habmon.access.policy.Forbidden` unless the principal may do ``action``."""
        ...

    def allowed(
        self,
        action: Action,
        *,
        geo_codes: Iterable[str] | None = None,
        organization: str | None = None,
        owner: str | None = None,
    ) -> bool: ...
