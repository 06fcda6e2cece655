"""Leave no one behind: the gap between each population group and the total, and whether parts agree with totals.

**Gaps.** For one place (a country, or an aggregate), a dimension d and a group g, with vg(y)
the group's value and T(y) the total in year y (for an aggregate: the total over the same members
that report the group — see ``habmon.engine.parts``)::

    gap(y)   = vg(y) − T(y)            ratio(y) = vg(y) / T(y)   (none when T(y) = 0)
    trend    = (gap(l) − gap(f)) / (l − f)      per year, f and l the first and latest year with both values

A group is *behind* when its gap points the wrong way for the indicator (above the total when a
decrease is wanted, below it when an increase is); the gap is *narrowing* when |gap(l)| < |gap(f)|.

**Consistency of parts with the total.** Where the parts of one dimension carry known weights
wg (e.g. urban population by sex) that add up to the total's weight w (within 1 %), they describe
the whole population and must recombine to the total::

    implied = Σ_g wg vg / Σ_g wg      consistent ⇔ |implied − T| ≤ max(0.05, 0.5 % × |T|)

For an aggregate the same test runs on sums over its members i with such parts:
Σ_i Σ_g wig vig / Σ_i Σ_g wig against Σ_i wi Ti / Σ_i wi. Pure functions over pandas frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from habmon.indicators.model import Direction

ABSOLUTE_TOLERANCE = 0.05  # in the indicator's unit (values are published to 2 decimals)
RELATIVE_TOLERANCE = 0.005
WEIGHT_SHARE_TOLERANCE = 0.01  # parts' weights must add up to the total's weight within 1 %


@dataclass(frozen=True, slots=True)
class GroupGap:
    dimension: str
    group: str
    year: int  # the latest year with both the group's value and the total
    value: float
    total: float
    gap: float
    ratio: float | None
    first_year: int
    first_gap: float
    gap_change_per_year: float | None  # None with a single year
    behind: bool
    narrowing: bool | None  # None with a single year
    coverage: float | None = None  # aggregates: the group's coverage at the latest year
    units: int | None = None  # aggregates: members with a value for the group at the latest year

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "group": self.group,
            "year": self.year,
            "value": self.value,
            "total": self.total,
            "gap": self.gap,
            "ratio": self.ratio,
            "first_year": self.first_year,
            "first_gap": self.first_gap,
            "gap_change_per_year": self.gap_change_per_year,
            "behind": self.behind,
            "narrowing": self.narrowing,
            "coverage": self.coverage,
            "units": self.units,
        }


def _optional(row: Any, column: str) -> Any:
    value = getattr(row, column, None)
    return None if value is None or pd.isna(value) else value


def gaps(frame: pd.DataFrame, direction: Direction) -> list[GroupGap]:
    """``frame``: columns dimension, group, period, value, total (optionally coverage, units); one row per year."""
    out: list[GroupGap] = []
    both = frame.dropna(subset=["value", "total"]).sort_values(["dimension", "group", "period"])
    sign = 1.0 if direction == Direction.DECREASE else -1.0
    for (dimension, group), rows in both.groupby(["dimension", "group"], sort=True):
        first, last = next(rows.head(1).itertuples(index=False)), next(rows.tail(1).itertuples(index=False))
        gap, first_gap = float(last.value - last.total), float(first.value - first.total)
        span = int(last.period) - int(first.period)
        units = _optional(last, "units")
        out.append(
            GroupGap(
                dimension=str(dimension),
                group=str(group),
                year=int(last.period),
                value=float(last.value),
                total=float(last.total),
                gap=gap,
                ratio=float(last.value / last.total) if last.total != 0 else None,
                first_year=int(first.period),
                first_gap=first_gap,
                gap_change_per_year=(gap - first_gap) / span if span else None,
                behind=sign * gap > 0,
                narrowing=abs(gap) < abs(first_gap) if span else None,
                coverage=_optional(last, "coverage"),
                units=None if units is None else int(units),
            )
        )
    return out


def within_tolerance(implied: float, total: float) -> bool:
    return abs(implied - total) <= max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * abs(total))


CHECK_COLUMNS = [
    "geo", "period", "dimension", "parts", "implied", "total", "weighted_parts", "weight_parts", "weighted_total",
    "weight_total", "consistent",
]  # fmt: skip


def check_parts(parts: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """Member-level consistency where the parts' weights are known and cover the total's weight.

    ``parts``: geo, period, dimension, group, value, weight (NaN when unknown); ``totals``: geo, period,
    value, weight. One row per (geo, period, dimension) that could be checked, columns :data:`CHECK_COLUMNS`.
    """
    if parts.empty or totals.empty:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    work = parts.assign(
        known=parts["weight"].notna(), weighted=parts["value"] * parts["weight"], one=1
    )  # one row per part
    grouped = work.groupby(["geo", "period", "dimension"], as_index=False).agg(
        parts=("one", "sum"),
        known=("known", "all"),
        weighted_parts=("weighted", "sum"),
        weight_parts=("weight", "sum"),
    )
    merged = grouped.merge(
        totals.rename(columns={"value": "total", "weight": "weight_total"}), on=["geo", "period"], how="inner"
    )
    share = merged["weight_parts"] / merged["weight_total"]
    usable = merged["known"] & merged["weight_total"].notna() & ((share - 1).abs() <= WEIGHT_SHARE_TOLERANCE)
    checked = merged[usable & (merged["weight_parts"] > 0)].copy()
    checked["implied"] = checked["weighted_parts"] / checked["weight_parts"]
    checked["weighted_total"] = checked["total"] * checked["weight_total"]
    checked["consistent"] = [within_tolerance(i, t) for i, t in zip(checked["implied"], checked["total"], strict=True)]
    return checked[CHECK_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class Recombined:
    """An aggregate's parts recombined with their own weights, against its total on the same members."""

    dimension: str
    period: int
    members: int
    implied: float
    total: float
    consistent: bool


def recombine(checked: pd.DataFrame, members: Iterable[str]) -> list[Recombined]:
    """Aggregate-level consistency from :func:`check_parts` rows, over the given members."""
    mine = checked[checked["geo"].isin(set(members))]
    out: list[Recombined] = []
    for (dimension, period), rows in mine.groupby(["dimension", "period"], sort=True):
        implied = float(rows["weighted_parts"].sum() / rows["weight_parts"].sum())
        total = float(rows["weighted_total"].sum() / rows["weight_total"].sum())
        out.append(Recombined(str(dimension), int(period), len(rows), implied, total, within_tolerance(implied, total)))
    return out
