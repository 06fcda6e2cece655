"""What every request needs: the store, and the plan, registry and geography read once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from habmon.geo.model import Geography
from habmon.indicators.registry import Registry
from habmon.plan.model import Plan
from habmon.services import Monitor
from habmon.store.store import Store
from habmon.web.settings import WebSettings


@dataclass
class WebServices:
    """One per app. Reference data (plan, registry, geography) is cached; observations are always read fresh."""

    settings: WebSettings
    store: Store
    _cache: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: WebSettings) -> WebServices:
        store = Store(settings.database)
        store.require_schema()
        return cls(settings, store)

    def _cached(self, key: str, build: Any) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def plan(self) -> Plan:
        plan: Plan = self._cached("plan", lambda: Monitor(self.store).plan())
        return plan

    def registry(self) -> Registry:
        registry: Registry = self._cached("registry", lambda: Monitor(self.store).registry())
        return registry

    def geography(self) -> Geography:
        geography: Geography = self._cached("geography", self.store.geography)
        return geography

    def forget(self) -> None:
        """Drop cached reference data (after `habmon init` loads a new plan, registry or geography)."""
        with self._lock:
            self._cache.clear()
