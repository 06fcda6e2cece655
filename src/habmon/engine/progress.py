"""Progress of an aggregate (like for like: one panel of countries at both ends) or of a place, against the
indicator's targets and each of its yearly targets (:mod:`habmon.methods.progress`,
:mod:`habmon.methods.likeforlike`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from habmon.engine.aggregate import (
    Aggregate,
    Level,
    members,
)
from habmon.engine.backends import connect
from habmon.engine.context import EngineContext as Monitor  # what the engine needs of habmon.services.Monitor
from habmon.engine.data import (
    AGGREGATE_KINDS,
    IndicatorData,
    coverage_of,
    find_row,
    level_of,
    series_of,
)
from habmon.indicators.model import Indicator, TargetBasis
from habmon.methods.likeforlike import LikeForLike, Panel, choose, explain, required_coverage
from habmon.methods.progress import Method, Point, Progress, Status, assess, milestone_dict, milestones

SDG_BASELINE_YEAR = 2015


def like_for_like(
    data: IndicatorData,
    code: str,
    level: Level,
    backend: Any,
    *,
    baseline_year: int | None = None,
    series: list[tuple[int, Aggregate]] | None = None,
) -> LikeForLike:
    """The baseline and constant panel for an aggregate's progress (rule in :mod:`habmon.methods.likeforlike`).

    ``series``: the aggregate's published yearly values if already computed (:func:`series_of`).
    """
    requested = SDG_BASELINE_YEAR if baseline_year is None else baseline_year
    rule = data.indicator.aggregation
    published = series_of(data, code, level, backend) if series is None else series
    tolerance = rule.like_for_like_tolerance
    if not published:
        reason = f"no year at which the aggregate meets the publication rule (coverage ≥ {rule.min_coverage:.0%})"
        return LikeForLike(requested, None, None, tolerance, None, None, (), (), reason)
    latest_year, latest = published[-1]
    latest_coverage = latest.coverage if latest.coverage is not None else 0.0
    required = required_coverage(latest_coverage, tolerance, rule.min_coverage)
    membership = members(data.geography, level, latest_year)
    in_group = set(membership.loc[membership["group"] == code, "geo"])
    at_latest = in_group & set(data.filled(latest_year)["geo"])
    panels: dict[int, tuple[str, ...]] = {}

    def candidates() -> Iterator[Panel]:
        for year in data.years:
            if year < requested or year >= latest_year:
                continue
            panel = at_latest & set(data.filled(year)["geo"])
            panels[year] = tuple(sorted(panel))
            start = find_row(data.aggregate(year, level, backend, only=panel), code)
            end = find_row(data.aggregate(latest_year, level, backend, only=panel), code)
            yield Panel(
                year,
                len(panel),
                coverage_of(start),
                coverage_of(end),
                None if start is None else start.value,
                None if end is None else end.value,
            )

    chosen, rejected = choose(candidates(), required)
    reason = explain(
        requested,
        chosen,
        rejected,
        latest_year=latest_year,
        latest_coverage=latest_coverage,
        tolerance=tolerance,
        required=required,
    )
    chosen_members = panels[chosen.year] if chosen is not None else ()
    return LikeForLike(
        requested, latest_year, latest.coverage, tolerance, required, chosen, rejected, chosen_members, reason
    )


@dataclass(frozen=True)
class ProgressReport:
    """Progress of an indicator for a place or an aggregate, with what it was computed from."""

    indicator: str
    geo: str
    progress: Progress
    series: list[tuple[int, float]]  # a place's stored values, or an aggregate's values meeting the publication rule
    coverage: Mapping[int, float | None] = field(default_factory=dict)  # aggregates: coverage of each year
    like_for_like: LikeForLike | None = None  # aggregates only
    milestones: tuple[Progress, ...] = ()  # the same trend against each yearly target of the place (2026–2029)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.progress.to_dict(),
            "indicator": self.indicator,
            "geo": self.geo,
            "series": [{"year": y, "value": v, "coverage": self.coverage.get(y)} for y, v in self.series],
            "like_for_like": None if self.like_for_like is None else self.like_for_like.to_dict(),
            "milestones": [milestone_dict(m) for m in self.milestones],
        }


def _targets(indicator: Indicator, geo: str) -> list[Point]:
    """The indicator's absolute targets for a place, earliest first (the last one is what progress aims at)."""
    chosen = [x for x in indicator.targets.values if x.geo == geo and x.basis == TargetBasis.ABSOLUTE]
    return sorted(Point(x.year, x.value) for x in chosen)


def _target(indicator: Indicator, geo: str) -> Point | None:
    targets = _targets(indicator, geo)
    return targets[-1] if targets else None


def aggregate_progress(
    data: IndicatorData,
    geo: str,
    method: Method,
    backend: Any,
    *,
    baseline_year: int | None = None,
    series: list[tuple[int, Aggregate]] | None = None,
) -> ProgressReport:
    """Progress of an aggregate from already loaded inputs, comparing like with like (one panel at both ends).

    ``series``: the aggregate's published yearly values if already computed (the monitoring run has them).
    """
    code, level = level_of(data.geography, geo)
    published = series_of(data, code, level, backend) if series is None else series
    lff = like_for_like(data, code, level, backend, baseline_year=baseline_year, series=published)
    return assess_like_for_like(data, code, published, lff, method)


def assess_like_for_like(
    data: IndicatorData, code: str, published: list[tuple[int, Aggregate]], lff: LikeForLike, method: Method
) -> ProgressReport:
    """Assess an aggregate's progress on the constant panel ``lff`` chose (one method)."""
    target = _target(data.indicator, code)
    panel = lff.panel
    if panel is None or panel.value_baseline is None or panel.value_latest is None or lff.latest_year is None:
        latest = Point(published[-1][0], published[-1][1].value or 0.0) if published else None
        result = Progress(method, Status.INSUFFICIENT_DATA, None, latest, target, None, None, None, lff.reason)
        steps: tuple[Progress, ...] = ()
    else:
        ends = [(panel.year, panel.value_baseline), (lff.latest_year, panel.value_latest)]
        direction = data.indicator.direction
        result = assess(ends, direction=direction, method=method, baseline_year=panel.year, target=target)
        steps = milestones(
            ends, direction=direction, targets=_targets(data.indicator, code), method=method, baseline_year=panel.year
        )
    return ProgressReport(
        data.indicator.code,
        code,
        result,
        [(y, a.value) for y, a in published if a.value is not None],
        {y: a.coverage for y, a in published},
        lff,
        steps,
    )


def progress_of(
    monitor: Monitor,
    code: str,
    geo: str,
    *,
    method: Method = Method.UNSD,
    baseline_year: int | None = None,
    engine: str = "duckdb",
) -> ProgressReport:
    """Progress of an indicator for a place (stored values) or an aggregate (computed per year, like for like)."""
    indicator = monitor.registry().get(code)
    unit = monitor.geography().resolve(geo)
    if unit.kind in AGGREGATE_KINDS:
        data = IndicatorData.load(monitor, indicator.code)
        return aggregate_progress(data, unit.code, method, connect(engine), baseline_year=baseline_year)
    stored = monitor.store.series(indicator.code, unit.code, public=True)
    series = [(o.observation.period, o.observation.value) for o in stored if not o.observation.disaggregation]
    clean = [(year, value) for year, value in series if value is not None]
    since = SDG_BASELINE_YEAR if baseline_year is None else baseline_year
    targets = _targets(indicator, unit.code)
    target = targets[-1] if targets else None
    result = assess(clean, direction=indicator.direction, method=method, baseline_year=since, target=target)
    steps = milestones(clean, direction=indicator.direction, targets=targets, method=method, baseline_year=since)
    return ProgressReport(indicator.code, unit.code, result, clean, milestones=steps)
