"""Global progress versus progress where UN-Habitat works (para 92 e): a difference in differences.

For each place i with a value at the baseline year b and the latest year t (each taken from the
nearest year within ``max_gap_years``), the change is Δᵢ = vᵢ(t) − vᵢ(b). Places where UN-Habitat
started working after b and still works at t are *supported*; places where it never worked are
*others*; places engaged before b, or whose engagement ended before t, are left out of both
sides (their exposure is mixed). Then::

    DiD = mean(Δ supported) − mean(Δ others)

with a 95 % confidence interval from a cluster bootstrap (places resampled with replacement
within each side; percentile interval). Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

CAVEAT = (
    "This compares changes, not causes. UN-Habitat does not choose places at random: it works where needs "
    "and requests are greatest, so the two groups differ before any support, and other actors work in the "
    "same places. A difference in the change is consistent with — but does not prove — a contribution of "
    "UN-Habitat's work; no difference does not prove the absence of one. Global progress is reported "
    "separately and is never credited to the agency."
)


@dataclass(frozen=True, slots=True)
class Side:
    places: int
    mean_baseline: float | None
    mean_latest: float | None
    mean_change: float | None


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline_year: int
    latest_year: int
    supported: Side
    others: Side
    difference: float | None  # DiD: mean change supported − mean change others
    ci_low: float | None
    ci_high: float | None
    excluded: int  # engaged before the baseline or no longer engaged at the latest year
    caveat: str = CAVEAT

    def to_dict(self) -> dict[str, object]:
        def side(s: Side) -> dict[str, object]:
            return {
                "places": s.places,
                "mean_baseline": s.mean_baseline,
                "mean_latest": s.mean_latest,
                "mean_change": s.mean_change,
            }

        return {
            "baseline_year": self.baseline_year,
            "latest_year": self.latest_year,
            "supported": side(self.supported),
            "others": side(self.others),
            "difference_in_differences": self.difference,
            "ci95": [self.ci_low, self.ci_high],
            "excluded_places": self.excluded,
            "caveat": self.caveat,
        }


def _value_near(panel: pd.DataFrame, year: int, gap: int) -> pd.Series:
    window = panel[(panel["period"] - year).abs() <= gap].copy()
    window["distance"] = (window["period"] - year).abs()
    chosen = window.sort_values(["geo", "distance", "period"]).drop_duplicates("geo")
    return chosen.set_index("geo")["value"]


def _side(frame: pd.DataFrame) -> Side:
    if frame.empty:
        return Side(0, None, None, None)
    return Side(len(frame), float(frame["b"].mean()), float(frame["t"].mean()), float(frame["change"].mean()))


def compare(
    panel: pd.DataFrame,
    engagements: Mapping[str, tuple[date, date | None]],
    *,
    baseline_year: int,
    latest_year: int,
    max_gap_years: int = 2,
    draws: int = 2000,
    seed: int = 20260,
) -> Comparison:
    """``panel``: columns geo, period, value. ``engagements``: geo → (start, end or None)."""
    b = _value_near(panel, baseline_year, max_gap_years)
    t = _value_near(panel, latest_year, max_gap_years)
    both = pd.DataFrame({"b": b, "t": t}).dropna()
    both["change"] = both["t"] - both["b"]
    start_of_baseline, end_of_latest = date(baseline_year, 12, 31), date(latest_year, 1, 1)

    def group(geo: str) -> str:
        if geo not in engagements:
            return "others"
        start, end = engagements[geo]
        if start > start_of_baseline and (end is None or end >= end_of_latest):
            return "supported"
        return "excluded"

    both["group"] = [group(g) for g in both.index]
    supported, others = both[both["group"] == "supported"], both[both["group"] == "others"]
    excluded = int((both["group"] == "excluded").sum())
    if supported.empty or others.empty:
        return Comparison(baseline_year, latest_year, _side(supported), _side(others), None, None, None, excluded)
    difference = float(supported["change"].mean() - others["change"].mean())
    rng = np.random.default_rng(seed)
    s, o = supported["change"].to_numpy(), others["change"].to_numpy()
    boot = rng.choice(s, (draws, s.size)).mean(axis=1) - rng.choice(o, (draws, o.size)).mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return Comparison(
        baseline_year, latest_year, _side(supported), _side(others), difference, float(low), float(high), excluded
    )
