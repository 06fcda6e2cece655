"""Observations: one value of one series for one place, period and disaggregation.

An observation is identified by its :class:`ObservationKey`; the store keeps every
*revision* of the value under that key and never changes one in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

# The fields of an observation as they travel in frames (validation → store), in order.
OBSERVATION_FIELDS = (
    "series",
    "geo",
    "period",
    "disaggregation_key",
    "disaggregation",  # JSON text, e.g. {"sex": "F"}
    "value",
    "numerator",
    "denominator",
    "unit",
    "nature",
    "source",
    "note",
)


class Nature(StrEnum):
    """Nature of the data, as in the SDG Global Database."""

    C = "C"  # country data
    CA = "CA"  # country data adjusted
    E = "E"  # estimated
    M = "M"  # modelled
    G = "G"  # global monitoring data


def disaggregation_key(values: Mapping[str, str], totals: Mapping[str, str] | None = None) -> str:
    """Canonical text for a disaggregation: ``age=Y15T24;sex=F``; totals are dropped; '' is the total."""
    totals = totals or {}
    kept = sorted((dim, code) for dim, code in values.items() if code != totals.get(dim, "_T"))
    return ";".join(f"{dim}={code}" for dim, code in kept)


@dataclass(frozen=True, slots=True)
class ObservationKey:
    series: str
    geo: str
    period: int
    disaggregation: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    series: str  # an indicator code (11.1.1) or an auxiliary series code (POP.URBAN)
    geo: str  # canonical geography code
    period: int  # year
    value: float
    unit: str
    nature: Nature
    source: str
    disaggregation: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None

    @property
    def key(self) -> ObservationKey:
        return ObservationKey(self.series, self.geo, self.period, disaggregation_key(self.disaggregation))

    def same_value(self, other: Observation) -> bool:
        """True when a re-submission carries nothing new (value, parts, unit, nature, source)."""
        return (
            self.value == other.value
            and self.numerator == other.numerator
            and self.denominator == other.denominator
            and self.unit == other.unit
            and self.nature == other.nature
            and self.source == other.source
        )
