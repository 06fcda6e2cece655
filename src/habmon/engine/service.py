"""Engine operations the CLI and the web app call: an indicator's aggregates for one year and level, with the
published values and disaggregations beside them, and change where UN-Habitat works against elsewhere.

Every aggregate goes through the engine's one Ibis expression (:mod:`habmon.engine.aggregate`): totals,
disaggregations, like-for-like panels and the comparison with published values alike. The inputs are in
:mod:`habmon.engine.data`, progress in :mod:`habmon.engine.progress`, parts and leave no one behind in
:mod:`habmon.engine.parts`, published values in :mod:`habmon.engine.published`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from habmon.engine.aggregate import (
    Aggregate,
    Level,
)
from habmon.engine.backends import connect
from habmon.engine.context import EngineContext as Monitor  # what the engine needs of habmon.services.Monitor
from habmon.engine.data import (
    IndicatorData,
    level_of,
    series_of,
)
from habmon.engine.parts import PartAggregate, aggregate_parts
from habmon.engine.progress import SDG_BASELINE_YEAR
from habmon.engine.published import COMPLETE_COVERAGE, PublishedComparison, published_rows
from habmon.indicators.model import Indicator
from habmon.methods.comparison import Comparison, compare
from habmon.problems import Problem, Report


def aggregate_indicator(
    monitor: Monitor, code: str, year: int, level: Level, *, engine: str = "duckdb"
) -> tuple[Indicator, list[Aggregate]]:
    """Aggregates of an indicator's published country values for one year (totals, not disaggregations)."""
    data = IndicatorData.load(monitor, code)
    return data.indicator, data.aggregate(year, level, connect(engine))


def aggregate_series(monitor: Monitor, code: str, geo: str, *, engine: str = "duckdb") -> list[tuple[int, Aggregate]]:
    """One aggregate per year with data, for a world/region/sub-region code; only those meeting the publication rule."""
    data = IndicatorData.load(monitor, code)
    unit, level = level_of(data.geography, geo)
    return series_of(data, unit, level, connect(engine))


@dataclass(frozen=True)
class AggregateView:
    """What ``habmon aggregate`` shows: the aggregates of one year and level, optionally with the published values
    beside them and the aggregates of each disaggregation with their consistency problems."""

    indicator: Indicator
    year: int
    level: Level
    rows: list[Aggregate]
    published: Mapping[str, PublishedComparison] | None = None  # when asked for: by aggregate code
    parts: list[PartAggregate] | None = None  # when asked for
    report: Report | None = None  # problems of the parts (and of the published file)

    def row_dict(self, row: Aggregate) -> dict[str, Any]:
        out = row.to_dict()
        if self.published is not None:
            p = self.published.get(row.code)
            out["published"] = (
                None
                if p is None
                else {
                    "value": p.published,
                    "difference": p.difference,
                    "own_coverage": p.own_coverage,
                    "complete": p.complete,
                }
            )
        return out

    def to_json(self) -> list[dict[str, Any]] | dict[str, Any]:
        """A list of aggregates (as before); an object with disaggregations and problems when those were asked for."""
        rows = [self.row_dict(r) for r in self.rows]
        if self.parts is None:
            return rows
        return {
            "aggregates": rows,
            "disaggregations": [p.to_dict() for p in self.parts],
            "problems": (self.report or Report()).to_dict(),
        }


def aggregate_view(
    monitor: Monitor,
    code: str,
    year: int,
    level: Level,
    *,
    engine: str = "duckdb",
    disaggregations: bool = False,
    compare_published: bool = False,
) -> AggregateView:
    data = IndicatorData.load(monitor, code)
    backend = connect(engine)
    rows = data.aggregate(year, level, backend)
    problems: list[Problem] = []
    published: dict[str, PublishedComparison] | None = None
    if compare_published:
        found, report = published_rows(data, backend, year=year, level=level, complete_at=COMPLETE_COVERAGE)
        published = {p.geo: p for p in found}
        problems += report.problems
    parts: list[PartAggregate] | None = None
    if disaggregations:
        parts, report = aggregate_parts(data, year, level, backend)
        problems += report.problems
    return AggregateView(data.indicator, year, level, rows, published, parts, Report.of(problems))


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
