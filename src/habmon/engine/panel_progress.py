"""The panel engine's progress and supported-vs-others split (:meth:`habmon.engine.panel.Panel.progress`,
:meth:`~habmon.engine.panel.Panel.split`): per series the baseline and latest values by group-by with
arg_min/arg_max, the rate and both statuses without a target (thresholds of :mod:`habmon.methods.progress`);
per indicator the mean change where UN-Habitat works against elsewhere (:mod:`habmon.methods.comparison`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from habmon.engine.panel_spec import KEY
from habmon.methods.progress import (
    LADDERS,
    STATCAN_RATE_THRESHOLDS,
    UNSD_RATE_THRESHOLDS,
    Method,
    Status,
)

if TYPE_CHECKING:
    from habmon.engine.panel import Panel

PROGRESS_COLUMNS = (
    "indicator", "geo", "disaggregation", "baseline_period", "baseline_value", "latest_period", "latest_value",
    "points", "rate", "linear", "score", "unsd", "statcan",
)  # fmt: skip
SPLIT_COLUMNS = (
    "indicator", "baseline_year", "latest_year", "supported_places", "supported_baseline", "supported_latest",
    "supported_change", "others_places", "others_baseline", "others_latest", "others_change", "excluded", "difference",
)  # fmt: skip
RATE_THRESHOLDS = {Method.UNSD: UNSD_RATE_THRESHOLDS, Method.STATCAN: STATCAN_RATE_THRESHOLDS}


def progress(panel: Panel, series: Any) -> Any:
    """Per series: baseline and latest (year, value), number of points since the baseline, the rate (CAGR,
    or average absolute annual change where a value is ≤ 0), the signed score and both statuses (no target)."""
    specs = panel.spec_table().select("indicator", "sign")
    s = series.join(specs, "indicator")
    base, last = s.baseline_value, s.latest_value
    years = (s.latest_period - s.baseline_period).cast("float64")
    enough = (s.points >= 2) & (years > 0)
    linear = (base <= 0) | (last <= 0)
    span = ibis.ifelse(enough, years, 1.0)
    ratio = ibis.ifelse(linear, 1.0, last / ibis.ifelse(linear, 1.0, base))  # no 0 or negative base in pow
    rate = ibis.ifelse(linear, (last - base) / span, ratio ** (1.0 / span) - 1)
    rate = ibis.ifelse(enough, rate, ibis.null("float64"))
    score = s.sign * ibis.ifelse(linear, rate / ibis.greatest(base.abs(), 1e-12), rate)
    statuses = {str(method): _classify(score, enough, method) for method in Method}
    return s.select(
        *KEY,
        "baseline_period",
        "baseline_value",
        "latest_period",
        "latest_value",
        points=s.points.cast("int64"),
        rate=rate,
        linear=enough & linear,
        score=score,
        **statuses,
    )


def split(panel: Panel, series: Any, engagements: Any, *, baseline_year: int, latest_year: int | None = None) -> Any:
    """Per indicator (totals): mean change where UN-Habitat works vs elsewhere, as ``methods.comparison``."""
    specs = panel.spec_table().select("indicator", gap="comparison_gap")
    totals = series.filter(series.disaggregation == "")
    if latest_year is None:
        latest = panel.targets(totals).group_by("indicator").aggregate(latest_year=lambda t: t.period.max())
    else:
        latest = totals.select("indicator").distinct().mutate(latest_year=ibis.literal(latest_year, "int64"))
    latest = latest.mutate(baseline_year=ibis.literal(baseline_year, "int64"))
    ends = latest.select("indicator", "baseline_year", "latest_year")
    targets = (
        ends.select("indicator", period="baseline_year")
        .union(ends.select("indicator", period="latest_year"), distinct=True)
        .mutate(disaggregation=ibis.literal(""))
        .join(specs, "indicator")
        .select("indicator", "disaggregation", period=lambda t: t.period.cast("int64"), gap="gap")
    )
    filled = panel.filled(totals, targets)
    points = filled.join(ends, "indicator")
    at_base = points.filter(points.period == points.baseline_year).select("indicator", "geo", b="value")
    at_last = points.filter(points.period == points.latest_year).select("indicator", "geo", t="value")
    both = at_base.join(at_last, ["indicator", "geo"]).join(ends, "indicator")
    e = engagements.select("geo", "start_year", "end_year")
    both = both.left_join(e, "geo")
    supported = (both.start_year > both.baseline_year) & (both.end_year.isnull() | (both.end_year >= both.latest_year))
    side = ibis.cases((both.start_year.isnull(), "others"), (supported, "supported"), else_="excluded")
    both = both.mutate(side=side, change=both.t - both.b)
    sides: dict[str, Any] = {}
    for name in ("supported", "others"):
        on = both.side == name
        sides |= {
            f"{name}_places": on.sum(),
            f"{name}_baseline": both.b.mean(where=on),
            f"{name}_latest": both.t.mean(where=on),
            f"{name}_change": both.change.mean(where=on),
        }
    per = both.group_by(["indicator", "baseline_year", "latest_year"]).aggregate(
        **sides, excluded=(both.side == "excluded").sum()
    )
    per = ends.left_join(per, ["indicator", "baseline_year", "latest_year"])
    difference = ibis.ifelse(
        (per.supported_places > 0) & (per.others_places > 0),
        per.supported_change - per.others_change,
        ibis.null("float64"),
    )
    return per.select(
        "indicator", "baseline_year", "latest_year",
        supported_places=per.supported_places.fill_null(0).cast("int64"),
        supported_baseline="supported_baseline", supported_latest="supported_latest",
        supported_change="supported_change",
        others_places=per.others_places.fill_null(0).cast("int64"),
        others_baseline="others_baseline", others_latest="others_latest", others_change="others_change",
        excluded=per.excluded.fill_null(0).cast("int64"),
        difference=difference,
    )  # fmt: skip


def _classify(score: Any, enough: Any, method: Method) -> Any:
    high, middle, low = RATE_THRESHOLDS[method]
    top, second, third, bottom = (str(s) for s in LADDERS[method])
    return ibis.cases(
        (~enough, str(Status.INSUFFICIENT_DATA)),
        (score >= high, top),
        (score >= middle, second),
        (score >= low, third),
        else_=bottom,
    )
