"""Reading stored data for the monitor's principal: the series of an indicator for a place, the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from habmon.access.model import Action
from habmon.geo.model import GeoUnit
from habmon.indicators.model import Indicator
from habmon.services.authorization import Authorization
from habmon.store.observations import StoredObservation


@dataclass(frozen=True, slots=True)
class Series:
    """A series for one place, ready to show: the unit, the indicator and the stored values."""

    indicator: Indicator
    unit: GeoUnit
    observations: tuple[StoredObservation, ...]

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "indicator": {
                "code": self.indicator.code,
                "name": self.indicator.name.get(lang),
                "unit": str(self.indicator.unit),
            },
            "geo": {
                "code": self.unit.code,
                "m49": self.unit.m49,
                "iso3": self.unit.iso3,
                "name": self.unit.name(lang),
                "kind": str(self.unit.kind),
            },
            "observations": [o.to_dict() for o in self.observations],
        }


class DataReads(Authorization):
    """Stored values and audit events, as far as the principal may see them."""

    def series(self, indicator_code: str, geo_code: str, *, history: bool = False, public: bool = False) -> Series:
        """Stored values of an indicator for a place. Only published values (``public``) unless the principal may
        read unpublished values of this place; the public, partners and focal points outside their scope always
        get the published ones."""
        registry = self.registry()
        indicator = registry.get(indicator_code)
        unit = self.geography().resolve(geo_code)
        public = public or not self.allowed(Action.READ_UNPUBLISHED, geo_codes=[unit.code])
        observations = self.store.series(indicator.code, unit.code, history=history, public=public)
        return Series(indicator, unit, tuple(observations))

    def audit_events(self, object_type: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest audit events first (officers and administrators)."""
        self.authorize(Action.READ_AUDIT)
        return self.store.audit_events(object_type, limit)
