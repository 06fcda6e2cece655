"""Engine operations the CLI and the web app call.

Every aggregate here goes through the engine's one Ibis expression (:mod:`habmon.engine.aggregate`):
totals, disaggregations, like-for-like panels and the comparison with published values alike.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
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
from habmon.engine.backends import connect
from habmon.engine.context import EngineContext as Monitor  # what the engine needs of habmon.services.Monitor
from habmon.geo.model import Geography, UnitKind
from habmon.indicators.model import Codelists, Direction, GapFilling, Indicator, TargetBasis
from habmon.ingest.shipped import PublishedValue, read_published_aggregates
from habmon.methods.comparison import Comparison, compare
from habmon.methods.likeforlike import LikeForLike, Panel, choose, explain, required_coverage
from habmon.methods.lnob import GroupGap, check_parts, gaps, recombine
from habmon.methods.progress import Method, Point, Progress, Status, assess, milestone_dict, milestones
from habmon.problems import HabmonError, Problem, Report
from habmon.store import tables as t

SDG_BASELINE_YEAR = 2015
AGGREGATE_KINDS = {
    UnitKind.WORLD: Level.WORLD,
    UnitKind.REGION: Level.REGION,
    UnitKind.SUBREGION: Level.SUBREGION,
    UnitKind.GROUP: Level.GROUP,
    UnitKind.REGIONAL_OFFICE: Level.GROUP,
}
COMPLETE_COVERAGE = 0.95  # a country table is "complete" for an aggregate when own values cover this much


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


def _level_of(geography: Geography, code: str) -> tuple[str, Level]:
    unit = geography.resolve(code)
    level = AGGREGATE_KINDS.get(unit.kind)
    if level is None:
        raise HabmonError(
            f"{unit.code} ({unit.name()}) is not an aggregate",
            expected="the world, an SDG region or sub-region, or a group (LDC, LLDC, SIDS, regional office)",
            found=str(unit.kind),
        )
    return unit.code, level


def _find(rows: list[Aggregate], code: str) -> Aggregate | None:
    return next((r for r in rows if r.code == code), None)


def _coverage(row: Aggregate | None) -> float | None:
    """An aggregate's coverage, 0 where no member reports (the engine gives NaN there, which is not JSON)."""
    if row is None or row.coverage is None:
        return None
    return 0.0 if math.isnan(row.coverage) else row.coverage


def aggregate_indicator(
    monitor: Monitor, code: str, year: int, level: Level, *, engine: str = "duckdb"
) -> tuple[Indicator, list[Aggregate]]:
    """Aggregates of an indicator's published country values for one year (totals, not disaggregations)."""
    data = IndicatorData.load(monitor, code)
    return data.indicator, data.aggregate(year, level, connect(engine))


def aggregate_series(monitor: Monitor, code: str, geo: str, *, engine: str = "duckdb") -> list[tuple[int, Aggregate]]:
    """One aggregate per year with data, for a world/region/sub-region code; only those meeting the publication rule."""
    data = IndicatorData.load(monitor, code)
    unit, level = _level_of(data.geography, geo)
    return series_of(data, unit, level, connect(engine))


def series_of(data: IndicatorData, code: str, level: Level, backend: Any) -> list[tuple[int, Aggregate]]:
    out: list[tuple[int, Aggregate]] = []
    for year in data.years:
        match = _find(data.aggregate(year, level, backend), code)
        if match is not None and match.value is not None and match.published:
            out.append((year, match))
    return out


# -- progress ---------------------------------------------------------------------------


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
            start = _find(data.aggregate(year, level, backend, only=panel), code)
            end = _find(data.aggregate(latest_year, level, backend, only=panel), code)
            yield Panel(
                year,
                len(panel),
                _coverage(start),
                _coverage(end),
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
    code, level = _level_of(data.geography, geo)
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


# -- disaggregations and leave no one behind -----------------------------------------------


@dataclass(frozen=True, slots=True)
class PartAggregate:
    """An aggregate of one disaggregation (e.g. sex=F), with the total over the same members."""

    disaggregation: Mapping[str, str]
    key: str
    aggregate: Aggregate
    total_same_members: float | None  # the total's aggregate over the members that report this part

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.aggregate.to_dict(),
            "disaggregation": dict(self.disaggregation),
            "total_same_members": self.total_same_members,
        }


def _checks(data: IndicatorData, years: Collection[int]) -> pd.DataFrame:
    """Member-level consistency rows (:func:`habmon.methods.lnob.check_parts`) for single-dimension parts."""
    code, weight = data.indicator.code, data.indicator.aggregation.weight
    keys = set(data.part_keys())
    parts = data.parts[data.parts["period"].isin(set(years)) & data.parts["disaggregation_key"].isin(keys)]
    values = parts[parts["series"] == code]
    if values.empty or not weight:
        return check_parts(values.iloc[0:0], values.iloc[0:0])
    part_weights = parts[parts["series"] == weight][["geo", "period", "disaggregation_key", "value"]]
    frame = values[["geo", "period", "disaggregation_key", "value"]].merge(
        part_weights.rename(columns={"value": "weight"}), on=["geo", "period", "disaggregation_key"], how="left"
    )
    dimension = {k: next(iter(data.disaggregations[k])) for k in keys}
    frame["dimension"] = frame["disaggregation_key"].map(dimension)
    frame["group"] = [data.disaggregations[k][dimension[k]] for k in frame["disaggregation_key"]]
    totals = data.totals[data.totals["period"].isin(set(years))]
    own = totals[totals["series"] == code][["geo", "period", "value"]]
    weights = totals[totals["series"] == weight][["geo", "period", "value"]].rename(columns={"value": "weight"})
    return check_parts(frame, own.merge(weights, on=["geo", "period"], how="left"))


def _member_problems(data: IndicatorData, checked: pd.DataFrame) -> list[Problem]:
    weight = data.indicator.aggregation.weight
    return [
        Problem(
            "totals",
            expected=f"the {r.dimension} parts, recombined with their {weight}, to equal the total {r.total:g}",
            found=f"{r.implied:.4g} from {r.parts} parts",
            path=f"{data.indicator.code} / {r.geo} / {r.period} / {r.dimension}",
            hint="correct the parts, the total or the parts' weights at the source",
        )
        for r in checked[~checked["consistent"].astype(bool)].itertuples(index=False)
    ]


def _aggregate_problems(data: IndicatorData, checked: pd.DataFrame, code: str, level: Level) -> list[Problem]:
    problems: list[Problem] = []
    for year in sorted({int(y) for y in checked["period"]}):
        membership = members(data.geography, level, year)
        mine = membership.loc[membership["group"] == code, "geo"]
        for r in recombine(checked[checked["period"] == year], mine):
            if not r.consistent:
                problems.append(
                    Problem(
                        "totals",
                        expected=f"the {r.dimension} parts, recombined, to equal the aggregate total {r.total:.4g} "
                        f"(over the {r.members} members with weighted parts)",
                        found=f"{r.implied:.4g}",
                        path=f"{data.indicator.code} / {code} / {r.period} / {r.dimension}",
                        hint="see the member-level problems for the countries that disagree",
                    )
                )
    return problems


def aggregate_parts(data: IndicatorData, year: int, level: Level, backend: Any) -> tuple[list[PartAggregate], Report]:
    """Aggregates of every single-dimension disaggregation for one year and level, and the consistency problems.

    Each part is aggregated like the total (same weights, same gap rule); ``total_same_members`` is the total
    over the members reporting the part. Where the parts' own weights are stored, parts and totals are checked.
    """
    out: list[PartAggregate] = []
    for key in data.part_keys():
        reporting = set(data.filled(year, disaggregation=key)["geo"])
        if not reporting:
            continue
        matched = {a.code: a.value for a in data.aggregate(year, level, backend, only=reporting)}
        for part in data.aggregate(year, level, backend, disaggregation=key):
            if part.units_reported:
                out.append(PartAggregate(data.disaggregations[key], key, part, matched.get(part.code)))
    checked = _checks(data, [year])
    groups = sorted({p.aggregate.code for p in out})
    problems = _member_problems(data, checked)
    for code in groups:
        problems += _aggregate_problems(data, checked, code, level)
    return out, Report.of(problems)


def aggregate_disaggregations(
    monitor: Monitor, code: str, year: int, level: Level, *, engine: str = "duckdb"
) -> tuple[list[PartAggregate], Report]:
    data = IndicatorData.load(monitor, code)
    return aggregate_parts(data, year, level, connect(engine))


@dataclass(frozen=True)
class LnobView:
    """Leave no one behind for one indicator and place: each group against the total, and the trend of the gap."""

    indicator: str
    geo: str
    name: str
    is_aggregate: bool
    direction: Direction
    gaps: list[GroupGap]
    labels: Mapping[tuple[str, str], tuple[str, str]]  # (dimension, group) → their English names
    plan_groups: Mapping[str, tuple[str, ...]]  # dimension → the groups of para 54 it makes visible
    report: Report

    def to_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "geo": self.geo,
            "name": self.name,
            "aggregate": self.is_aggregate,
            "direction": str(self.direction),
            "groups": [
                {
                    **g.to_dict(),
                    "dimension_name": self.labels.get((g.dimension, g.group), (g.dimension, g.group))[0],
                    "group_name": self.labels.get((g.dimension, g.group), (g.dimension, g.group))[1],
                    "plan_groups": list(self.plan_groups.get(g.dimension, ())),
                }
                for g in self.gaps
            ],
            "problems": self.report.to_dict(),
        }


def lnob_view(data: IndicatorData, geo: str, backend: Any, codelists: Codelists | None = None) -> LnobView:
    """The leave-no-one-behind view from already loaded inputs (country: stored values; aggregate: engine)."""
    unit = data.geography.resolve(geo)
    code = data.indicator.code
    keys = data.part_keys()
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    checked = _checks(data, data.part_years())
    level = AGGREGATE_KINDS.get(unit.kind)
    if level is None:
        totals = data.totals[(data.totals["series"] == code) & (data.totals["geo"] == unit.code)]
        total_of = dict(zip(totals["period"].astype(int), totals["value"], strict=True))
        mine = data.parts[(data.parts["series"] == code) & (data.parts["geo"] == unit.code)]
        for r in mine[mine["disaggregation_key"].isin(set(keys))].itertuples(index=False):
            ((dimension, group),) = data.disaggregations[r.disaggregation_key].items()
            rows.append(
                {
                    "dimension": dimension,
                    "group": group,
                    "period": int(r.period),
                    "value": r.value,
                    "total": total_of.get(int(r.period)),
                }
            )
        problems = _member_problems(data, checked[checked["geo"] == unit.code])
    else:
        for year in data.part_years():
            for key in keys:
                reporting = set(data.filled(year, disaggregation=key)["geo"])
                part = _find(data.aggregate(year, level, backend, disaggregation=key), unit.code)
                if part is None or not part.units_reported or part.value is None:
                    continue
                total = _find(data.aggregate(year, level, backend, only=reporting), unit.code)
                ((dimension, group),) = data.disaggregations[key].items()
                rows.append(
                    {
                        "dimension": dimension,
                        "group": group,
                        "period": year,
                        "value": part.value,
                        "total": None if total is None else total.value,
                        "coverage": part.coverage,
                        "units": part.units_reported,
                    }
                )
        problems = _member_problems(data, checked[checked["geo"].isin(_members_of(data, unit.code, level))])
        problems += _aggregate_problems(data, checked, unit.code, level)
    frame = pd.DataFrame(rows, columns=["dimension", "group", "period", "value", "total", "coverage", "units"])
    labels: dict[tuple[str, str], tuple[str, str]] = {}
    plan_groups: dict[str, tuple[str, ...]] = {}
    if codelists is not None:
        for dim in codelists.dimensions:
            plan_groups[dim.id] = dim.groups
            for c in dim.codes:
                labels[(dim.id, c.id)] = (dim.name.get("en"), c.name.get("en"))
    return LnobView(
        code,
        unit.code,
        unit.name(),
        level is not None,
        data.indicator.direction,
        gaps(frame.astype({"value": "float64", "total": "float64"}), data.indicator.direction),
        labels,
        plan_groups,
        Report.of(problems),
    )


def _members_of(data: IndicatorData, code: str, level: Level) -> set[str]:
    """Countries that are members of an aggregate in any year with disaggregated data."""
    found: set[str] = set()
    for year in data.part_years():
        membership = members(data.geography, level, year)
        found |= set(membership.loc[membership["group"] == code, "geo"])
    return found


def lnob(monitor: Monitor, code: str, geo: str, *, engine: str = "duckdb") -> LnobView:
    data = IndicatorData.load(monitor, code)
    return lnob_view(data, geo, connect(engine), monitor.registry().codelists)


# -- published values ---------------------------------------------------------------------


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
            _, level = _level_of(data.geography, p.geo)
            wanted.setdefault((p.year, level), []).append(p)
    out: list[PublishedComparison] = []
    for (year, level), values in sorted(wanted.items()):
        ours = {a.code: a for a in data.aggregate(year, level, backend)}
        own = {a.code: _coverage(a) for a in data.aggregate(year, level, backend, max_gap_years=0)}
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
                    _coverage(mine),
                    own_coverage,
                    0 if mine is None else mine.imputed_units,
                    own_coverage is not None and own_coverage >= complete_at,
                )
            )
    return sorted(out, key=lambda r: (r.geo, r.year))


def _published(
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
        mine = [p for p in mine if _level_of(data.geography, p.geo)[1] == level]
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
    return _published(data, connect(engine), year=year, level=level, complete_at=complete_at)


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
        found, report = _published(data, backend, year=year, level=level, complete_at=COMPLETE_COVERAGE)
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
