"""Disaggregations and leave no one behind: aggregates of each part with the total over the same members, the
consistency of parts and totals (:mod:`habmon.methods.lnob`), and each group's gap to the total.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

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
    find_row,
)
from habmon.indicators.model import Codelists, Direction
from habmon.methods.lnob import GroupGap, check_parts, gaps, recombine
from habmon.problems import Problem, Report


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
                part = find_row(data.aggregate(year, level, backend, disaggregation=key), unit.code)
                if part is None or not part.units_reported or part.value is None:
                    continue
                total = find_row(data.aggregate(year, level, backend, only=reporting), unit.code)
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
