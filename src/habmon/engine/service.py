"""Engine operations the CLI and the web app call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from habmon.engine.aggregate import Aggregate, Level, aggregate, fill_gaps
from habmon.engine.backends import connect
from habmon.geo.model import Geography, UnitKind
from habmon.indicators.model import GapFilling, Indicator, TargetBasis
from habmon.methods.comparison import Comparison, compare
from habmon.methods.progress import Method, Point, Progress, assess
from habmon.services import Monitor


@dataclass(frozen=True)
class IndicatorData:
    """The published totals of an indicator and its weight series, loaded once for many aggregations."""

    indicator: Indicator
    geography: Geography
    totals: pd.DataFrame  # columns series, geo, period, value (disaggregation totals only)

    @classmethod
    def load(cls, monitor: Monitor, code: str, *, as_of: int | None = None) -> IndicatorData:
        """``as_of``: only observations recorded up to this observation id (a run's input snapshot)."""
        indicator = monitor.registry().get(code)
        weight = indicator.aggregation.weight
        stored = monitor.store.current_frame([indicator.code, *([weight] if weight else [])], public=True, as_of=as_of)
        totals = stored[stored["disaggregation_key"] == ""][["series", "geo", "period", "value"]]
        return cls(indicator, monitor.geography(), totals)

    @property
    def years(self) -> list[int]:
        own = self.totals[self.totals["series"] == self.indicator.code]
        return sorted(int(y) for y in own["period"].unique())

    def aggregate(self, year: int, level: Level, backend: Any) -> list[Aggregate]:
        indicator, totals = self.indicator, self.totals
        countries = {u.code for u in self.geography.of_kind(UnitKind.COUNTRY, at=date(year, 12, 31))}
        own = totals[(totals["series"] == indicator.code) & totals["geo"].isin(countries)]
        gap = indicator.aggregation.max_gap_years if indicator.aggregation.gap_filling == GapFilling.NEAREST else 0
        values = fill_gaps(own[["geo", "period", "value"]], year, gap)
        weight = indicator.aggregation.weight
        if weight:
            at = totals[(totals["series"] == weight) & (totals["period"] == year)]
            weights = at[["geo", "value"]].rename(columns={"value": "weight"})
        else:
            weights = pd.DataFrame({"geo": sorted(countries), "weight": 1.0})
        return aggregate(
            indicator, year, level, values=values, weights=weights, geography=self.geography, backend=backend
        )


def aggregate_indicator(
    monitor: Monitor, code: str, year: int, level: Level, *, engine: str = "duckdb"
) -> tuple[Indicator, list[Aggregate]]:
    """Aggregates of an indicator's published country values for one year (totals, not disaggregations)."""
    data = IndicatorData.load(monitor, code)
    return data.indicator, data.aggregate(year, level, connect(engine))


SDG_BASELINE_YEAR = 2015
AGGREGATE_KINDS = {UnitKind.WORLD: Level.WORLD, UnitKind.REGION: Level.REGION, UnitKind.SUBREGION: Level.SUBREGION}


def aggregate_series(monitor: Monitor, code: str, geo: str, *, engine: str = "duckdb") -> list[tuple[int, Aggregate]]:
    """One aggregate per year with data, for a world/region/sub-region code; only those meeting the publication rule."""
    unit = monitor.geography().resolve(geo)
    data = IndicatorData.load(monitor, code)
    return series_of(data, unit.code, AGGREGATE_KINDS[unit.kind], connect(engine))


def series_of(data: IndicatorData, code: str, level: Level, backend: Any) -> list[tuple[int, Aggregate]]:
    out: list[tuple[int, Aggregate]] = []
    for year in data.years:
        match = next((r for r in data.aggregate(year, level, backend) if r.code == code), None)
        if match is not None and match.value is not None and match.published:
            out.append((year, match))
    return out


def progress_of(
    monitor: Monitor,
    code: str,
    geo: str,
    *,
    method: Method = Method.UNSD,
    baseline_year: int | None = None,
    engine: str = "duckdb",
) -> tuple[Progress, list[tuple[int, float]]]:
    """Progress of an indicator for a place (stored values) or an aggregate (computed per year)."""
    indicator = monitor.registry().get(code)
    unit = monitor.geography().resolve(geo)
    if unit.kind in AGGREGATE_KINDS:
        series = [(year, a.value) for year, a in aggregate_series(monitor, indicator.code, unit.code, engine=engine)]
    else:
        stored = monitor.store.series(indicator.code, unit.code, public=True)
        series = [(o.observation.period, o.observation.value) for o in stored if not o.observation.disaggregation]
    clean = [(year, value) for year, value in series if value is not None]
    targets = [t for t in indicator.targets.values if t.geo == unit.code and t.basis == TargetBasis.ABSOLUTE]
    target = max(targets, key=lambda t: t.year) if targets else None
    result = assess(
        clean,
        direction=indicator.direction,
        method=method,
        baseline_year=SDG_BASELINE_YEAR if baseline_year is None else baseline_year,
        target=None if target is None else Point(target.year, target.value),
    )
    return result, clean


def compare_places(
    monitor: Monitor, code: str, *, baseline_year: int = SDG_BASELINE_YEAR, latest_year: int | None = None
) -> tuple[Comparison, dict[str, object] | None]:
    """Change where UN-Habitat works against change elsewhere (para 92 e), with the engagement list used."""
    indicator = monitor.registry().get(code)
    stored = monitor.store.current_frame([indicator.code], public=True)
    panel = stored[stored["disaggregation_key"] == ""][["geo", "period", "value"]]
    latest = int(panel["period"].max()) if latest_year is None else latest_year
    engagements, header = monitor.engagements()
    mapping = {e.code: (e.start, e.end) for e in engagements}
    gap = indicator.aggregation.max_gap_years
    return compare(panel, mapping, baseline_year=baseline_year, latest_year=latest, max_gap_years=gap), header
