"""The panel engine's aggregation (:meth:`habmon.engine.panel.Panel.aggregates`): every indicator × level × group
× period × disaggregation in one Ibis expression — Σwv/Σw over members with a value and a positive weight (or Σv),
coverage with filled values and by values reported for the year, the filled share, units, the publication rule
judged on reported coverage with the world tied to its regions, and the regional means of ``regional`` indicators.

Members are grouped by *signature* (the set of dated groups a place belongs to): the weighted sums are first taken
per signature, then added up per group, so a place that belongs to four levels is read once, not four times."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from habmon.engine.aggregate import Level
from habmon.engine.panel_spec import KEY, NO_WEIGHT

if TYPE_CHECKING:
    from habmon.engine.panel import Panel

AGGREGATE_COLUMNS = (
    "level", "group", "indicator", "disaggregation", "period", "value", "people", "coverage", "units_reported",
    "units_total", "imputed_units", "published", "weight_reported", "weight_total", "coverage_reported",
    "filled_share",
)  # fmt: skip


def signatures(panel: Panel) -> tuple[Any, Any, Any]:
    """(gid → level, group; geo → sig; sig → gid and validity): places with the same dated groups share a
    signature, so their sums are taken once per signature and then added up per group."""
    m = panel.membership
    gids = m.select("level", "group").distinct()
    gids = gids.mutate(gid=ibis.row_number().over(order_by=["level", "group"]))
    dated = m.join(gids, ["level", "group"]).select("geo", "gid", "first_period", "last_period")
    bounds = (dated.first_period.cast("string").fill_null(""), dated.last_period.cast("string").fill_null(""))
    entry = dated.gid.cast("string") + ":" + bounds[0] + ":" + bounds[1]
    per_geo = dated.group_by("geo").aggregate(signature=entry.collect().sort().join(";"))
    ids = per_geo.select("signature").distinct()
    ids = ids.mutate(sig=ibis.row_number().over(order_by="signature"))
    geo_sig = per_geo.join(ids, "signature").select("geo", "sig")
    sig_groups = dated.join(geo_sig, "geo").select("sig", "gid", "first_period", "last_period").distinct()
    return gids, geo_sig, sig_groups


def aggregates(panel: Panel, series: Any) -> Any:
    """One row per level × group × indicator × disaggregation × period (AGGREGATE_COLUMNS)."""
    specs = panel.spec_table()
    cells = series.select("indicator", "disaggregation").distinct()
    cells = cells.mutate(cell=ibis.row_number().over(order_by=["indicator", "disaggregation"])).join(specs, "indicator")
    targets = panel.targets(series).join(cells, ["indicator", "disaggregation"])
    gaps = targets.select("indicator", "disaggregation", "period", gap="aggregation_gap")
    filled = panel.filled(series, gaps, every_observed=True)
    regional = any(s.regional for s in panel.specs)
    if regional:
        columns = [*KEY, "period", "value", "imputed"]
        own = filled.select(*columns, regional=ibis.literal(False))
        filled = own.union(_regional_means(panel, filled, targets))
    gids, geo_sig, sig_groups = signatures(panel)
    rows = (
        filled.join(geo_sig, "geo")
        .join(
            cells.select("indicator", "disaggregation", "cell", "weight_key", "weighted"),
            ["indicator", "disaggregation"],
        )
        .left_join(_weights(panel), ["weight_key", "geo", "period"])
    )
    weight = rows.weight.fill_null(ibis.ifelse(rows.weight_key == NO_WEIGHT, 1.0, 0.0))
    # one BIGINT group key (signature, cell, year) and unfiltered sums: the cheapest group-by of the run
    key = rows.sig.cast("int64") * (1 << 40) + rows.cell.cast("int64") * (1 << 16) + (rows.period - panel.first_period)
    rows = rows.select("value", "imputed", *(["regional"] if regional else []), "weighted", w=weight, key=key)
    positive = rows.w > 0
    valued = ibis.ifelse(rows.weighted, ibis.ifelse(positive, rows.w, 0.0), rows.w)  # weight in the value
    if regional:  # values from a regional mean are in the value, not in the coverage or the units reported
        counted = {
            "weight_reported": rows.w.sum(where=~rows.regional).fill_null(0.0),
            "units_reported": rows.count(where=~rows.regional),
        }
    else:
        counted = {"weight_reported": rows.w.sum(), "units_reported": rows.count()}
    keyed = rows.group_by("key").aggregate(  # numerator: Σwv over positive weights for means, Σv for sums
        numerator=ibis.ifelse(rows.weighted, ibis.ifelse(positive, rows.value * rows.w, 0.0), rows.value).sum(),
        denominator=ibis.ifelse(positive, rows.w, 0.0).sum(),
        **counted,
        imputed_units=rows.count(where=rows.imputed),
        # coverage by values reported for the year, and the filled share of the value's weight
        weight_own=ibis.ifelse(rows.imputed, 0.0, rows.w).sum(),
        weight_valued=valued.sum(),
        weight_filled=ibis.ifelse(rows.imputed, valued, 0.0).sum(),
    )
    low = (1 << 40) - 1  # cell and year: the same bits in both keys
    partial = keyed.mutate(sig=keyed.key >> 40, period=(keyed.key & 0xFFFF) + panel.first_period)
    joined = partial.join(sig_groups, [partial.sig == sig_groups.sig, _valid(sig_groups, partial.period)])
    joined = joined.mutate(key=joined.gid.cast("int64") * (1 << 40) + (joined.key & low))
    summed = joined.group_by("key").aggregate(
        numerator=joined.numerator.sum(),
        denominator=joined.denominator.sum(),
        weight_reported=joined.weight_reported.sum(),
        units_reported=joined.units_reported.sum(),
        imputed_units=joined.imputed_units.sum(),
        weight_own=joined.weight_own.sum(),
        weight_valued=joined.weight_valued.sum(),
        weight_filled=joined.weight_filled.sum(),
    )
    grid = targets.select("cell", "period", "weight_key").join(_totals(panel, targets, gids), ["weight_key", "period"])
    grid = grid.mutate(
        key=grid.gid.cast("int64") * (1 << 40)
        + grid.cell.cast("int64") * (1 << 16)
        + (grid.period - panel.first_period)
    )
    out = (
        grid.left_join(summed, "key")
        .join(gids, "gid")
        .join(cells.drop("weight_key", "aggregation_gap", "comparison_gap", "sign"), "cell")
    )
    out = out.select(
        "level", "group", "indicator", "disaggregation", "period", "weighted", "min_coverage", "people",
        "weight_total", "units_total", "numerator", "denominator",
        weight_reported=out.weight_reported.fill_null(0.0),
        units_reported=out.units_reported.fill_null(0),
        imputed_units=out.imputed_units.fill_null(0),
        weight_own=out.weight_own.fill_null(0.0),
        weight_valued=out.weight_valued.fill_null(0.0),
        weight_filled=out.weight_filled.fill_null(0.0),
    )  # fmt: skip
    mean = ibis.ifelse(out.denominator != 0, out.numerator / out.denominator, ibis.null("float64"))
    value = ibis.ifelse(out.weighted, mean, out.numerator)
    coverage = ibis.ifelse(out.weight_total != 0, out.weight_reported / out.weight_total, ibis.null("float64"))
    own = ibis.ifelse(out.weight_total != 0, out.weight_own / out.weight_total, ibis.null("float64"))
    filled = ibis.ifelse(out.weight_valued != 0, out.weight_filled / out.weight_valued, ibis.null("float64"))
    out = out.mutate(value=value, coverage=coverage, coverage_reported=own, filled_share=filled)
    out = out.mutate(
        published=out.coverage_reported.notnull()
        & out.value.notnull()
        & (out.coverage_reported >= out.min_coverage).fill_null(False)
    )
    out = _world_rule(out)
    return out.select(
        *AGGREGATE_COLUMNS[:5],
        "value",
        people=ibis.ifelse(out.people & out.value.notnull(), out.value / 100 * out.weight_total, ibis.null("float64")),
        coverage="coverage",
        units_reported=out.units_reported.cast("int64"),
        units_total=out.units_total.cast("int64"),
        imputed_units=out.imputed_units.cast("int64"),
        published="published",
        weight_reported="weight_reported",
        weight_total="weight_total",
        coverage_reported="coverage_reported",
        filled_share="filled_share",
    )


def _regional_means(panel: Panel, filled: Any, targets: Any) -> Any:
    """For each member of a ``regional_level`` group without a value (own or nearest year) at a target period
    of a ``regional`` indicator: the group's weighted mean of the members with a value and a positive weight
    (imputed, regional). A group where no member has a value gives nothing."""
    t = targets.filter(targets.regional).select("indicator", "disaggregation", "period", "weight_key")
    m = panel.membership
    m = m.filter(m.level == panel.regional_level).select("group", "geo", "first_period", "last_period")
    candidates = t.cross_join(m).filter(lambda x: _valid(x, x.period))
    candidates = candidates.select("indicator", "disaggregation", "period", "weight_key", "group", "geo")
    candidates = candidates.left_join(_weights(panel), ["weight_key", "geo", "period"])
    have = filled.select(*KEY, "period", "value")
    candidates = candidates.left_join(have, [*KEY, "period"])
    w = candidates.weight.fill_null(ibis.ifelse(candidates.weight_key == NO_WEIGHT, 1.0, 0.0))
    candidates = candidates.select(*KEY, "period", "group", "value", w=w)
    known = candidates.value.notnull() & (candidates.w > 0)
    cell = ["indicator", "disaggregation", "period", "group"]
    sums = candidates.group_by(cell).aggregate(
        vw=(candidates.value * candidates.w).sum(where=known), w=candidates.w.sum(where=known)
    )
    means = sums.filter(sums.w > 0)
    means = means.select(*cell, mean=means.vw / means.w)
    missing = candidates.filter(candidates.value.isnull()).select(*KEY, "period", "group")
    estimated = missing.join(means, cell)
    return estimated.select(
        *KEY,
        "period",
        value=estimated.mean.cast("float64"),
        imputed=ibis.literal(True),
        regional=ibis.literal(True),
    )


def _totals(panel: Panel, targets: Any, gids: Any) -> Any:
    """weight_key, period, gid: Σ weight and count over every member (reporting or not)."""
    m = panel.membership.join(gids, ["level", "group"])
    keys = targets.select("weight_key").distinct()
    periods = targets.select("period").distinct()
    members = m.cross_join(periods).filter(lambda t: _valid(t, t.period)).cross_join(keys)
    joined = members.left_join(_weights(panel), ["weight_key", "geo", "period"])
    weight = joined.weight.fill_null(ibis.ifelse(joined.weight_key == NO_WEIGHT, 1.0, 0.0))
    return joined.group_by(["weight_key", "period", "gid"]).aggregate(
        weight_total=weight.sum(), units_total=joined.count()
    )


def _weights(panel: Panel) -> Any:
    w = panel.weights
    return w.select(weight_key=w.series, geo=w.geo, period=w.period.cast("int64"), weight=w.weight.cast("float64"))


def _world_rule(out: Any) -> Any:
    """The world meets the publication rule for a year only when every SDG region of the cell meets its own."""
    cell = ["indicator", "disaggregation", "period"]
    regions = out.filter(out.level == str(Level.REGION))
    failing = regions.group_by(cell).aggregate(regions_failing=(~regions.published).cast("int64").sum())
    joined = out.left_join(failing, cell).select(out, "regions_failing")
    world = joined.level == str(Level.WORLD)
    ok = ~world | (joined.regions_failing.fill_null(0) == 0)
    return joined.mutate(published=joined.published & ok).drop("regions_failing")


def _valid(table: Any, period: Any) -> Any:
    return (table.first_period.isnull() | (table.first_period <= period)) & (
        table.last_period.isnull() | (period <= table.last_period)
    )
