"""The inputs of the engine's operations: an indicator's published values and weights, loaded once, and the
aggregates of one year and level computed from them (:mod:`habmon.engine.aggregate`'s one Ibis expression).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from habmon.engine.aggregate import (
    Aggregate,
    Level,
    aggregate,
    fill_gaps,
    members,
    regional_means,
    world_rule,
)
from habmon.engine.context import EngineContext as Monitor  # what the engine needs of habmon.services.Monitor
from habmon.geo.model import Geography, UnitKind
from habmon.indicators.model import GapFilling, Indicator
from habmon.problems import HabmonError
from habmon.store import tables as t

AGGREGATE_KINDS = {
    UnitKind.WORLD: Level.WORLD,
    UnitKind.REGION: Level.REGION,
    UnitKind.SUBREGION: Level.SUBREGION,
    UnitKind.GROUP: Level.GROUP,
    UnitKind.REGIONAL_OFFICE: Level.GROUP,
}


def _no_parts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series": pd.Series(dtype=object),
            "geo": pd.Series(dtype=object),
            "period": pd.Series(dtype="int64"),
            "disaggregation_key": pd.Series(dtype=object),
            "value": pd.Series(dtype="float64"),
        }
    )


@dataclass(frozen=True)
class IndicatorData:
    """The published values of an indicator and its weight series, loaded once for many aggregations.

    ``totals`` holds the totals (columns series, geo, period, value); ``parts`` the disaggregated values of
    the indicator and of its weight series (plus disaggregation_key), and ``disaggregations`` each key's
    dimensions and codes as stored ({"sex": "F"}).
    """

    indicator: Indicator
    geography: Geography
    totals: pd.DataFrame
    parts: pd.DataFrame = field(default_factory=_no_parts)
    disaggregations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, monitor: Monitor, code: str, *, as_of: int | None = None) -> IndicatorData:
        """``as_of``: only observations recorded up to this observation id (a run's input snapshot)."""
        indicator = monitor.registry().get(code)
        weight = indicator.aggregation.weight
        names = [indicator.code, *([weight] if weight else [])]
        stored = monitor.store.current_frame(names, public=True, as_of=as_of)
        total = stored["disaggregation_key"] == ""
        totals = stored[total][["series", "geo", "period", "value"]]
        parts = stored[~total][["series", "geo", "period", "disaggregation_key", "value"]]
        keys = _disaggregations(monitor, names, as_of) if not parts.empty else {}
        return cls(indicator, monitor.geography(), totals, parts, keys)

    @property
    def max_gap_years(self) -> int:
        return self.indicator.aggregation.nearest_years

    @property
    def years(self) -> list[int]:
        own = self.totals[self.totals["series"] == self.indicator.code]
        return sorted(int(y) for y in own["period"].unique())

    def part_keys(self) -> list[str]:
        """Disaggregations of the indicator with a single dimension (cross-classifications are not shown)."""
        own = self.parts[self.parts["series"] == self.indicator.code]
        return sorted(k for k in own["disaggregation_key"].unique() if len(self.disaggregations.get(k, {})) == 1)

    def part_years(self) -> list[int]:
        own = self.parts[self.parts["series"] == self.indicator.code]
        return sorted(int(y) for y in own["period"].unique())

    def filled(
        self,
        year: int,
        *,
        disaggregation: str = "",
        only: Collection[str] | None = None,
        max_gap_years: int | None = None,
    ) -> pd.DataFrame:
        """Country values for ``year`` after gap filling (geo, value, imputed, period_used)."""
        countries = {u.code for u in self.geography.of_kind(UnitKind.COUNTRY, at=date(year, 12, 31))}
        source = self.parts[self.parts["disaggregation_key"] == disaggregation] if disaggregation else self.totals
        own = source[(source["series"] == self.indicator.code) & source["geo"].isin(countries)]
        if only is not None:
            own = own[own["geo"].isin(set(only))]
        gap = self.max_gap_years if max_gap_years is None else max_gap_years
        return fill_gaps(own[["geo", "period", "value"]], year, gap)

    def weights(self, year: int, disaggregation: str = "") -> pd.DataFrame:
        """The weight of each country in ``year`` (geo, weight); 1 for every country without a weight series."""
        weight = self.indicator.aggregation.weight
        if not weight:
            countries = sorted(u.code for u in self.geography.of_kind(UnitKind.COUNTRY, at=date(year, 12, 31)))
            return pd.DataFrame({"geo": countries, "weight": 1.0})
        source = self.parts[self.parts["disaggregation_key"] == disaggregation] if disaggregation else self.totals
        at = source[(source["series"] == weight) & (source["period"] == year)]
        return at[["geo", "value"]].rename(columns={"value": "weight"})

    def aggregate(
        self,
        year: int,
        level: Level,
        backend: Any,
        *,
        disaggregation: str = "",
        only: Collection[str] | None = None,
        max_gap_years: int | None = None,
    ) -> list[Aggregate]:
        """Aggregates for one year and level. ``disaggregation``: a part's key, aggregated with the total's
        weights and gap rule; ``only``: the countries whose values may count; ``max_gap_years``: override."""
        values = self.filled(year, disaggregation=disaggregation, only=only, max_gap_years=max_gap_years)
        weights = self.weights(year)
        if self.indicator.aggregation.gap_filling == GapFilling.REGIONAL_MEAN and only is None:
            # like for like (``only``) compares the countries that report: nothing is estimated for the others
            regions = members(self.geography, Level.SUBREGION, year)
            values = regional_means(values[["geo", "value", "imputed"]], weights, regions)

        def at(chosen: Level) -> list[Aggregate]:
            return aggregate(
                self.indicator,
                year,
                chosen,
                values=values,
                weights=weights,
                geography=self.geography,
                backend=backend,
            )

        rows = at(level)
        if level == Level.WORLD and only is None and any(r.published for r in rows):
            regions_rows = at(Level.REGION)  # the world is published for a year only when its regions are
            rows = [world_rule(r, regions_rows) for r in rows]
        return rows


def _disaggregations(monitor: Monitor, series: list[str], as_of: int | None) -> dict[str, dict[str, str]]:
    """Each stored disaggregation key with its dimensions and codes, as recorded (not parsed from the key)."""
    o = t.observation.c
    first = select(func.min(o.id)).where(o.series.in_(series), o.disaggregation_key != "")
    if as_of is not None:
        first = first.where(o.id <= as_of)
    query = select(o.disaggregation_key, o.disaggregation).where(o.id.in_(first.group_by(o.disaggregation_key)))
    with monitor.store.engine.connect() as conn:
        return {str(key): {str(d): str(c) for d, c in (codes or {}).items()} for key, codes in conn.execute(query)}


def level_of(geography: Geography, code: str) -> tuple[str, Level]:
    unit = geography.resolve(code)
    level = AGGREGATE_KINDS.get(unit.kind)
    if level is None:
        raise HabmonError(
            f"{unit.code} ({unit.name()}) is not an aggregate",
            expected="the world, an SDG region or sub-region, or a group (LDC, LLDC, SIDS, regional office)",
            found=str(unit.kind),
        )
    return unit.code, level


def find_row(rows: list[Aggregate], code: str) -> Aggregate | None:
    return next((r for r in rows if r.code == code), None)


def coverage_of(row: Aggregate | None) -> float | None:
    """An aggregate's coverage, 0 where no member reports (the engine gives NaN there, which is not JSON)."""
    if row is None or row.coverage is None:
        return None
    return 0.0 if math.isnan(row.coverage) else row.coverage


def series_of(data: IndicatorData, code: str, level: Level, backend: Any) -> list[tuple[int, Aggregate]]:
    out: list[tuple[int, Aggregate]] = []
    for year in data.years:
        match = find_row(data.aggregate(year, level, backend), code)
        if match is not None and match.value is not None and match.published:
            out.append((year, match))
    return out
