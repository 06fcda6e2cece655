"""Authorizing the monitor's principal: one place that asks :func:`habmon.access.policy.authorize`, with the
place hierarchy of the stored geography for scope decisions (docs/access.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from habmon.access.model import Action
from habmon.access.policy import allowed, authorize
from habmon.services.reading import ReferenceReads


class Authorization(ReferenceReads):
    """Decisions for this monitor's principal."""

    def ancestors(self, code: str) -> list[str]:
        """The codes above a place in the SDG hierarchy (Nairobi → Kenya → … → World), for scope decisions."""
        return [u.code for u in self.geography().ancestors(code)]

    def authorize(
        self,
        action: Action,
        *,
        geo_codes: Iterable[str] | None = None,
        organization: str | None = None,
        owner: str | None = None,
    ) -> None:
        """Raise :class:`~habmon.access.policy.Forbidden` unless this monitor's principal may do ``action``."""
        authorize(
            self.principal,
            action,
            geo_codes=geo_codes,
            organization=organization,
            owner=owner,
            ancestors=self.ancestors,
        )

    def allowed(
        self,
        action: Action,
        *,
        geo_codes: Iterable[str] | None = None,
        organization: str | None = None,
        owner: str | None = None,
    ) -> bool:
        return allowed(
            self.principal,
            action,
            geo_codes=geo_codes,
            organization=organization,
            owner=owner,
            ancestors=self.ancestors,
        )
