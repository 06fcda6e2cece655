"""Aggregation of country values over the geography: weighted means, sums, ratios of sums, with coverage.

The expression is written once in Ibis over three tables — ``values`` (geo, value),
``weights`` (geo, weight) and ``members`` (group, geo: which countries make up each
aggregate) — and executed by whichever backend the caller connects.

For a weighted mean (e.g. 11.1.1 weighted by urban population)::

    value    = Σ wᵢ vᵢ / Σ wᵢ             over members i with a value (own or filled)
    coverage = Σ wᵢ (with a value, own or filled) / Σ wᵢ (all members)
    coverage_reported = Σ wᵢ (with a value reported for the year) / Σ wᵢ (all members)
    filled_share      = Σ wᵢ (filled) / Σ wᵢ (with a value)       the share of the value's weight that is filled
    people   = value × Σ wᵢ (all members)   (non-reporting members taken at the group's mean)

The publication rule is judged on ``coverage_reported`` ≥ the registry's ``min_coverage``; the world meets it
for a year only when every SDG region does too (:func:`world_rule`). An aggregate with a value that does not
meet it is an estimate (nature ``E``): shown as such, never a headline, the latest figure or a progress end.

Gaps: a member without a value for the year takes the value of its nearest year within the
indicator's ``max_gap_years`` (registry ``aggregation.gap_filling: nearest``; the earlier year on a
tie). Such values are counted as ``imputed_units`` (nature E), included in ``coverage`` and ``filled_share``, not
in ``coverage_reported``.
With ``gap_filling: regional_mean`` a country still without a value then takes its SDG sub-region's
weighted mean of the year (:func:`regional_means`): it counts in the value, the people and
``imputed_units``, but neither in the coverage nor in ``units_reported`` — the coverage stays the share
of the weight that reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

import ibis
import pandas as pd

from habmon.geo.model import Geography, UnitKind
from habmon.indicators.model import AggregationMethod, Indicator, Unit
from habmon.problems import HabmonError

WORLD = "001"
ESTIMATE = "E"  # the nature of an aggregate that does not meet the publication rule (SDG Global Database)


class Level(StrEnum):
    WORLD = "world"
    REGION = "region"
    SUBREGION = "subregion"
    GROUP = "group"  # LDC, LLDC, SIDS and UN-Habitat regional offices


class NotAggregable(HabmonError):
    """The indicator's registry entry says it does not aggregate this way."""


@dataclass(frozen=True, slots=True)
class Aggregate:
    code: str
    name: str
    value: float | None
    people: float | None
    coverage: float | None
    units_reported: int
    units_total: int
    imputed_units: int
    published: bool  # coverage_reported at least the indicator's minimum (registry min_coverage); world: regions too
    gap_filling: str = "none"
    coverage_reported: float | None = None  # by values reported for the year only (no filled value)
    filled_share: float | None = None  # share of the value's weight that is filled (nearest year or regional mean)

    @property
    def nature(self) -> str | None:
        """``E`` (estimated) for a value that does not meet the publication rule; None for a published one."""
        return None if self.published or self.value is None else ESTIMATE

    def to_dict(self) -> dict[str, Any]:
        return {
            "geo": self.code,
            "name": self.name,
            "value": self.value,
            "people": self.people,
            "coverage": self.coverage,
            "units_reported": self.units_reported,
            "units_total": self.units_total,
            "imputed_units": self.imputed_units,
            "gap_filling": self.gap_filling,
            "meets_publication_rule": self.published,
            "coverage_reported": self.coverage_reported,
            "filled_share": self.filled_share,
            "nature": self.nature,
        }


def world_rule(world: Aggregate, regions: Iterable[Aggregate]) -> Aggregate:
    """The world meets the publication rule only when it does itself and every SDG region does too."""
    if not world.published or all(r.published for r in regions):
        return world
    return replace(world, published=False)


def members(geography: Geography, level: Level, year: int) -> pd.DataFrame:
    """Countries in each aggregate of a level, by the hierarchy valid at the end of ``year``."""
    when = date(year, 12, 31)
    rows: list[tuple[str, str]] = []
    for country in geography.of_kind(UnitKind.COUNTRY, at=when):
        for group in _groups_of(geography, country.code, level, when):
            rows.append((group, country.code))
    return pd.DataFrame(rows, columns=["group", "geo"])


def _groups_of(geography: Geography, code: str, level: Level, when: date) -> Iterable[str]:
    if level == Level.WORLD:
        return [WORLD]
    if level == Level.GROUP:
        return [g.code for g in geography.groups(code, at=when)]
    wanted = UnitKind.REGION if level == Level.REGION else UnitKind.SUBREGION
    return [u.code for u in geography.ancestors(code, at=when) if u.kind == wanted]


def fill_gaps(values: pd.DataFrame, year: int, max_gap_years: int) -> pd.DataFrame:
    """Per place: the value of ``year``, else of the nearest year within ``max_gap_years`` (earlier on a tie).

    ``values`` has columns geo, period, value; the result has geo, value, imputed, period_used.
    """
    window = values[(values["period"] - year).abs() <= max_gap_years].copy()
    window["distance"] = (window["period"] - year).abs()
    window = window.sort_values(["geo", "distance", "period"])
    chosen = window.drop_duplicates("geo", keep="first")
    return pd.DataFrame(
        {
            "geo": chosen["geo"].to_numpy(),
            "value": chosen["value"].to_numpy(dtype="float64"),
            "imputed": (chosen["period"] != year).to_numpy(),
            "period_used": chosen["period"].to_numpy(),
        }
    )


def regional_means(values: pd.DataFrame, weights: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """``values`` (geo, value, imputed) and, for each country of ``regions`` (group, geo) without a value, its
    region's weighted mean (over members with a value and a positive weight), flagged ``imputed`` and
    ``regional``; a region where no member reports gives nothing."""
    own = values.assign(regional=False)
    weight = weights.set_index("geo")["weight"]
    members = regions.merge(own[["geo", "value"]], on="geo", how="left")
    members["w"] = members["geo"].map(weight).fillna(0.0).astype("float64")
    known = members[members["value"].notna() & (members["w"] > 0)]
    sums = known.assign(vw=known["value"] * known["w"]).groupby("group")[["vw", "w"]].sum()
    mean = (sums["vw"] / sums["w"]).rename("mean")
    missing = members[members["value"].isna()].join(mean, on="group").dropna(subset=["mean"])
    filled = pd.DataFrame(
        {"geo": missing["geo"].to_numpy(), "value": missing["mean"].to_numpy(dtype="float64"), "imputed": True}
    ).assign(regional=True)
    return pd.concat([own, filled], ignore_index=True) if len(filled) else own


def aggregate_expr(values: Any, weights: Any, membership: Any, method: AggregationMethod) -> Any:
    """The Ibis expression: one row per group with value, weights, counts. ``values`` may carry ``regional``
    (values estimated from a regional mean: in the value, not in the coverage or the units reported)."""
    weights = weights.rename(weight_geo="geo")
    values = values.rename(value_geo="geo")
    joined = membership.left_join(weights, membership.geo == weights.weight_geo).left_join(
        values, membership.geo == values.value_geo
    )
    has_value = joined.value.notnull()
    regional = joined.regional.fill_null(False) if "regional" in values.columns else ibis.literal(False)
    reported = has_value & ~regional
    imputed = joined.imputed.fill_null(False)
    weight = joined.weight.fill_null(0)
    counted = has_value & (weight > 0) if method == AggregationMethod.WEIGHTED_MEAN else has_value
    if method == AggregationMethod.WEIGHTED_MEAN:
        numerator = (joined.value * weight).sum(where=has_value & (weight > 0))
        denominator = weight.sum(where=has_value & (weight > 0))
    else:  # SUM
        numerator = joined.value.sum(where=has_value)
        denominator = ibis.literal(1.0)
    grouped = joined.group_by(joined.group).aggregate(
        numerator=numerator,
        denominator=denominator,
        weight_reported=weight.sum(where=reported),
        weight_own=weight.sum(where=has_value & ~imputed),
        weight_valued=weight.sum(where=counted),
        weight_filled=weight.sum(where=counted & imputed),
        weight_total=weight.sum(),
        units_reported=reported.sum(),
        imputed_units=(has_value & imputed).sum(),
        units_total=joined.count(),
    )
    return grouped.mutate(value=grouped.numerator / grouped.denominator)


def aggregate(
    indicator: Indicator,
    year: int,
    level: Level,
    *,
    values: pd.DataFrame,
    weights: pd.DataFrame,
    geography: Geography,
    backend: Any,
) -> list[Aggregate]:
    """Aggregates of one indicator for one year; ``values``/``weights`` have columns geo, value/weight."""
    method = indicator.aggregation.method
    if method not in (AggregationMethod.WEIGHTED_MEAN, AggregationMethod.SUM):
        raise NotAggregable(
            f"indicator {indicator.code} aggregates by {method}",
            expected="weighted_mean or sum",
            found=str(method),
            hint="organizational indicators are not aggregated over the geography",
        )
    membership = members(geography, level, year)
    columns = ["geo", "value", "imputed", *(["regional"] if "regional" in values.columns else [])]
    expr = aggregate_expr(
        ibis.memtable(values[columns]),
        ibis.memtable(weights[["geo", "weight"]]),
        ibis.memtable(membership),
        method,
    )
    frame = backend.execute(expr).sort_values("group")
    people_applies = indicator.unit == Unit.PERCENT and method == AggregationMethod.WEIGHTED_MEAN
    result = []
    for row in frame.itertuples(index=False):
        value = None if pd.isna(row.value) else float(row.value)
        coverage = float(row.weight_reported / row.weight_total) if row.weight_total else None
        own = float(_zero(row.weight_own) / row.weight_total) if row.weight_total else None
        filled = float(_zero(row.weight_filled) / row.weight_valued) if _zero(row.weight_valued) else None
        result.append(
            Aggregate(
                code=row.group,
                name=geography.units[row.group].name(),
                value=value,
                people=value / 100 * float(row.weight_total) if people_applies and value is not None else None,
                coverage=coverage,
                units_reported=int(row.units_reported),
                units_total=int(row.units_total),
                imputed_units=int(row.imputed_units),
                published=own is not None and value is not None and own >= indicator.aggregation.min_coverage,
                gap_filling=indicator.aggregation.gap_filling_text(),
                coverage_reported=own,
                filled_share=filled,
            )
        )
    return result


def _zero(x: Any) -> float:
    """A sum over no row is null: 0."""
    return 0.0 if pd.isna(x) else float(x)
