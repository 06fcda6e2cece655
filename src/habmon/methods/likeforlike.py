"""Like-for-like progress of an aggregate: both ends computed on one member set.

An aggregate's membership *with values* changes from year to year (a country reports in 2022 but
not in 2016), so comparing the aggregate of 2016 with that of 2022 compares different sets of
countries. The rule, with t the latest year at which the aggregate meets the publication rule,
C(t) its coverage, τ the registry's ``aggregation.like_for_like_tolerance`` and m its
``min_coverage``:

For each candidate baseline year b (years with data, from the requested baseline on, before t)
the *panel* P(b) is the members with a value — own or gap-filled — at both b and t::

    value_P(y)    = Σ_{i∈P} wᵢ(y) vᵢ(y) / Σ_{i∈P} wᵢ(y)                 y = b and y = t, each with its own weights
    coverage_P(y) = Σ_{i∈P} wᵢ(y) / Σ_{i∈members(y)} wᵢ(y)
    required      = max(C(t) − τ, m)
    accepted(b)   ⇔ min(coverage_P(b), coverage_P(t)) ≥ required

The baseline used is the first accepted candidate; progress compares value_P(b) with value_P(t).
Every rejected candidate is kept with its coverage, so the result says why the baseline moved.
Pure functions; the engine computes the panels (``habmon.engine.progress``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EPSILON = 1e-12  # coverage equal to the requirement up to rounding is accepted


@dataclass(frozen=True, slots=True)
class Panel:
    """The constant member set for one candidate baseline year and its values at both ends."""

    year: int  # the candidate baseline year b
    units: int  # members of the aggregate in the panel
    coverage_baseline: float | None  # coverage_P(b)
    coverage_latest: float | None  # coverage_P(t)
    value_baseline: float | None  # value_P(b)
    value_latest: float | None  # value_P(t)

    @property
    def coverage(self) -> float | None:
        """The smaller of the two coverages: the panel must cover enough at both ends."""
        if self.coverage_baseline is None or self.coverage_latest is None:
            return None
        return min(self.coverage_baseline, self.coverage_latest)

    def usable(self, required: float) -> bool:
        return (
            self.value_baseline is not None
            and self.value_latest is not None
            and self.coverage is not None
            and self.coverage >= required - EPSILON
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "units": self.units,
            "coverage_baseline": self.coverage_baseline,
            "coverage_latest": self.coverage_latest,
            "value_baseline": self.value_baseline,
            "value_latest": self.value_latest,
        }


@dataclass(frozen=True, slots=True)
class LikeForLike:
    """Which baseline an aggregate's progress uses, on which panel, and why."""

    requested_baseline: int
    latest_year: int | None
    latest_coverage: float | None  # C(t): coverage of the whole aggregate at the latest year
    tolerance: float
    required_coverage: float | None
    panel: Panel | None  # the accepted candidate; None when none qualifies
    rejected: tuple[Panel, ...]
    members: tuple[str, ...]  # codes of the panel's members
    reason: str

    @property
    def baseline_year(self) -> int | None:
        return None if self.panel is None else self.panel.year

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested_baseline": self.requested_baseline,
            "baseline_used": self.baseline_year,
            "latest_year": self.latest_year,
            "latest_coverage": self.latest_coverage,
            "tolerance": self.tolerance,
            "required_coverage": self.required_coverage,
            "panel": None if self.panel is None else {**self.panel.to_dict(), "members": list(self.members)},
            "rejected": [p.to_dict() for p in self.rejected],
            "reason": self.reason,
        }


def required_coverage(latest_coverage: float, tolerance: float, min_coverage: float) -> float:
    return max(latest_coverage - tolerance, min_coverage)


def choose(candidates: Iterable[Panel], required: float) -> tuple[Panel | None, tuple[Panel, ...]]:
    """The first usable panel (candidates in ascending year order) and the ones rejected before it.

    ``candidates`` may be lazy: nothing after the accepted one is computed.
    """
    rejected: list[Panel] = []
    for panel in candidates:
        if panel.usable(required):
            return panel, tuple(rejected)
        rejected.append(panel)
    return None, tuple(rejected)


def _pct(value: float | None) -> str:
    return "no value" if value is None else f"{value:.1%}"


def explain(
    requested: int,
    panel: Panel | None,
    rejected: tuple[Panel, ...],
    *,
    latest_year: int,
    latest_coverage: float,
    tolerance: float,
    required: float,
) -> str:
    """One sentence for people: the baseline used and why the earlier candidates were not."""
    rule = (
        f"the panel must cover ≥ {required:.1%} at both ends (coverage {latest_coverage:.1%} in {latest_year} "
        f"− tolerance {tolerance:.1%}, not below the publication rule)"
    )
    refused = "; ".join(f"{p.year}: {p.units} units, {_pct(p.coverage)}" for p in rejected)
    if panel is None:
        found = f"candidates rejected — {refused}" if rejected else f"no year with data from {requested} on"
        return f"no like-for-like baseline from {requested} to {latest_year}: {rule}; {found}"
    used = f"baseline {panel.year} (requested {requested})" if panel.year != requested else f"baseline {requested}"
    head = f"{used}: {panel.units} units with values in both {panel.year} and {latest_year}, {_pct(panel.coverage)}"
    return f"{head}; {rule}" + (f"; rejected — {refused}" if rejected else "")
