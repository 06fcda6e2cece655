"""Our aggregates beside the custodian's published ones (``data/sources``), with the difference and the
coverage by own values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from habmon.engine.aggregate import (
    Level,
)
from habmon.engine.backends import connect
from habmon.engine.context import EngineContext as Monitor  # what the engine needs of habmon.services.Monitor
from habmon.engine.data import (
    IndicatorData,
    coverage_of,
    level_of,
)
from habmon.ingest.shipped import PublishedValue, read_published_aggregates
from habmon.problems import HabmonError, Report

COMPLETE_COVERAGE = 0.95  # a country table is "complete" for an aggregate when own values cover this much


@dataclass(frozen=True, slots=True)
class PublishedComparison:
    """Our aggregate against the custodian's published value for one aggregate and year."""

    entity: str  # the name in the published file
    geo: str
    level: Level
    year: int
    published: float
    value: float | None
    coverage: float | None  # with gap filling, as the aggregate is computed
    own_coverage: float | None  # by the members' own values of that year only
    imputed_units: int
    complete: bool  # own_coverage ≥ the completeness threshold

    @property
    def difference(self) -> float | None:
        return None if self.value is None else self.value - self.published

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "geo": self.geo,
            "level": str(self.level),
            "year": self.year,
            "published": self.published,
            "value": self.value,
            "difference": self.difference,
            "coverage": self.coverage,
            "own_coverage": self.own_coverage,
            "imputed_units": self.imputed_units,
            "complete": self.complete,
        }


def published_comparison(
    data: IndicatorData,
    published: list[PublishedValue],
    backend: Any,
    *,
    complete_at: float = COMPLETE_COVERAGE,
) -> list[PublishedComparison]:
    """For each published aggregate × year: ours, the difference, coverage and whether the country table is complete."""
    wanted: dict[tuple[int, Level], list[PublishedValue]] = {}
    for p in published:
        if p.series == data.indicator.code:
            _, level = level_of(data.geography, p.geo)
            wanted.setdefault((p.year, level), []).append(p)
    out: list[PublishedComparison] = []
    for (year, level), values in sorted(wanted.items()):
        ours = {a.code: a for a in data.aggregate(year, level, backend)}
        own = {a.code: coverage_of(a) for a in data.aggregate(year, level, backend, max_gap_years=0)}
        for p in values:
            mine = ours.get(p.geo)
            own_coverage = own.get(p.geo)
            out.append(
                PublishedComparison(
                    p.entity,
                    p.geo,
                    level,
                    year,
                    p.value,
                    None if mine is None else mine.value,
                    coverage_of(mine),
                    own_coverage,
                    0 if mine is None else mine.imputed_units,
                    own_coverage is not None and own_coverage >= complete_at,
                )
            )
    return sorted(out, key=lambda r: (r.geo, r.year))


def published_rows(
    data: IndicatorData, backend: Any, *, year: int | None, level: Level | None, complete_at: float
) -> tuple[list[PublishedComparison], Report]:
    published, problems = read_published_aggregates(data.geography)
    if not any(p.series == data.indicator.code for p in published):
        raise HabmonError(
            f"no published aggregates of {data.indicator.code} are shipped",
            expected="11.1.1",
            found=data.indicator.code,
            hint="see data/sources/PROVENANCE.md",
        )
    mine = [p for p in published if p.series == data.indicator.code and (year is None or p.year == year)]
    if level is not None:
        mine = [p for p in mine if level_of(data.geography, p.geo)[1] == level]
    return published_comparison(data, mine, backend, complete_at=complete_at), Report.of(problems)


def compare_published(
    monitor: Monitor,
    code: str,
    *,
    year: int | None = None,
    level: Level | None = None,
    engine: str = "duckdb",
    complete_at: float = COMPLETE_COVERAGE,
) -> tuple[list[PublishedComparison], Report]:
    """Our aggregates against the published ones shipped in ``data/sources`` (SDG 11.1.1), optionally one year/level."""
    data = IndicatorData.load(monitor, code)
    return published_rows(data, connect(engine), year=year, level=level, complete_at=complete_at)
