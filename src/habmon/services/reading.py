"""Reading the reference data a monitor works with: the stored plan, the registry, the geography, the engagements.

:class:`ReferenceReads` also holds the monitor's state (the store and the acting principal); the other use cases of
:class:`~habmon.services.monitor.Monitor` build on it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from habmon.access.model import Principal
from habmon.geo.model import Engagement, Geography
from habmon.indicators.registry import Registry
from habmon.ingest.files import load_registry
from habmon.plan.model import Plan
from habmon.plan.validate import parse_plan
from habmon.store.store import Store


class ReferenceReads:
    """The store, the acting principal, and the plan, registry and geography read from the store."""

    def __init__(
        self,
        store: Store,
        actor: str = "habmon",
        *,
        registry: Registry | None = None,
        principal: Principal | None = None,
        geography: Geography | None = None,
    ) -> None:
        """``registry``, ``geography``: already loaded reference data to share (the web app reads them once per
        process). ``principal``: who is acting — every operation is authorized for it (docs/access.md); the
        default is the local operator ``actor`` (:meth:`Principal.system`, an administrator), so the CLI and
        scripts act as before. The audit log records the principal's username."""
        self.store = store
        self.principal = principal or Principal.system(actor)
        self.actor = self.principal.username
        self._registry: Registry | None = registry
        self._geography: Geography | None = geography

    def plan(self, version_id: int | None = None) -> Plan:
        return parse_plan(self.store.plan_document(version_id), file=f"stored plan version {version_id or 'latest'}")

    def registry(self) -> Registry:
        """The registry files of this installation, validated against the stored plan (read once per Monitor)."""
        if self._registry is None:
            self._registry = load_registry(self.plan())
        return self._registry

    def geography(self) -> Geography:
        """The stored geography (read once per Monitor; ``init`` reads it again)."""
        if self._geography is None:
            self._geography = self.store.geography()
        return self._geography

    def engagements(self) -> tuple[list[Engagement], dict[str, Any] | None]:
        return self.store.engagements()

    def works_in(self, code: str, when: date | None = None) -> Engagement | None:
        engagements, _ = self.store.engagements()
        for engagement in engagements:
            if engagement.code == code and (when is None or engagement.active(when)):
                return engagement
        return None
