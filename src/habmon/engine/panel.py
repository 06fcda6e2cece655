"""The panel engine: the monitoring run over whole long tables, as Ibis expressions written once.

Inputs are Ibis tables on one backend (DuckDB by default, Spark through
:func:`habmon.engine.backends.connect`):

* ``observations`` — indicator, geo, period, disaggregation ('' for the total), value; one value per
  series (indicator × geo × disaggregation) and period;
* ``weights`` — series, geo, period, weight (e.g. urban population);
* ``membership`` — level, group, geo, first_period, last_period: which places make up each aggregate,
  valid from ``first_period`` to ``last_period`` (inclusive; null = open);
* ``engagements`` — geo, start_year, end_year (null = still running): places where UN-Habitat works.

and the indicators' aggregation rules as :class:`IndicatorSpec` (from the registry).

**Aggregation** (:meth:`Panel.aggregates`): every indicator × level × group × period × disaggregation
in one expression, with the semantics of :mod:`habmon.engine.aggregate` — Σwv/Σw over reporting members
with a positive weight (or Σv for sums), coverage Σw(reporting)/Σw(all members), units reported/total,
imputed units, the publication rule ``min_coverage``; the periods of an indicator × disaggregation are
those with any value. Without a weight series every member weighs 1. Gap filling ("nearest year within
N years, the earlier on a tie") is done inside the expression: each series carries a bit mask of the
years it reports (:meth:`Panel.series`), so a missing year finds its nearest reported year by bit
tests and only the filled cells are looked up again — the panel is never densified or windowed.

Members are grouped by *signature* (the set of dated groups a place belongs to — for cities in one
country the same): the weighted sums are first taken per signature, then added up per group, so a
place that belongs to four levels is read once, not four times. This is exact for any membership,
overlapping groups included.

**Progress** (:meth:`Panel.progress`): for every series the baseline (first year ≥ the baseline year)
and the latest value with their years, by group-by with ``argmin``/``argmax``, the CAGR (the average
absolute annual change where a value is ≤ 0) and the UNSD and Statistics Canada statuses without a
target, vectorised with the thresholds of :mod:`habmon.methods.progress`.

**Supported vs others** (:meth:`Panel.split`): per indicator (totals), the point estimate of
:mod:`habmon.methods.comparison` — mean change where UN-Habitat works minus mean change elsewhere;
the bootstrap interval stays in that module.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import pandas as pd

from habmon.engine.aggregate import Level, NotAggregable, members
from habmon.geo.model import Geography
from habmon.indicators.model import AggregationMethod, Direction, GapFilling, Indicator, Unit
from habmon.methods.progress import (
    LADDERS,
    STATCAN_RATE_THRESHOLDS,
    UNSD_RATE_THRESHOLDS,
    Method,
    Status,
)

MASK_BITS = 62  # years per int64 mask word (bit 63 is the sign)
NO_WEIGHT = ""  # weight key of an indicator without a weight series: every member weighs 1
KEY = ("indicator", "geo", "disaggregation")
AGGREGATE_COLUMNS = (
    "level", "group", "indicator", "disaggregation", "period", "value", "people", "coverage", "units_reported",
    "units_total", "imputed_units", "published", "weight_reported", "weight_total", "coverage_reported",
    "filled_share",
)  # fmt: skip
PROGRESS_COLUMNS = (
    "indicator", "geo", "disaggregation", "baseline_period", "baseline_value", "latest_period", "latest_value",
    "points", "rate", "linear", "score", "unsd", "statcan",
)  # fmt: skip
SPLIT_COLUMNS = (
    "indicator", "baseline_year", "latest_year", "supported_places", "supported_baseline", "supported_latest",
    "supported_change", "others_places", "others_baseline", "others_latest", "others_change", "excluded", "difference",
)  # fmt: skip
RATE_THRESHOLDS = {Method.UNSD: UNSD_RATE_THRESHOLDS, Method.STATCAN: STATCAN_RATE_THRESHOLDS}


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """What the engine needs to know of an indicator (from its registry entry)."""

    indicator: str
    method: AggregationMethod
    weight: str | None = None
    gap_filling: bool = True  # registry aggregation.gap_filling: nearest (or regional_mean, which starts with it)
    max_gap_years: int = 2
    min_coverage: float = 0.5
    direction: Direction = Direction.INCREASE
    people: bool = False  # a percentage aggregated as a weighted mean: people = value / 100 × Σw
    regional: bool = False  # registry gap_filling: regional_mean — then the region's mean (Panel.regional_level)

    def __post_init__(self) -> None:
        if self.method not in (AggregationMethod.WEIGHTED_MEAN, AggregationMethod.SUM):
            raise NotAggregable(
                f"indicator {self.indicator} aggregates by {self.method}",
                expected="weighted_mean or sum",
                found=str(self.method),
                hint="organizational indicators are not aggregated over the geography",
            )
        if self.regional and self.method != AggregationMethod.WEIGHTED_MEAN:
            raise NotAggregable(
                f"indicator {self.indicator}: a regional mean fills gaps of weighted means only",
                expected="weighted_mean",
                found=str(self.method),
                hint="use gap_filling nearest or none for sums",
            )

    @classmethod
    def of(cls, indicator: Indicator) -> IndicatorSpec:
        rule = indicator.aggregation
        return cls(
            indicator=indicator.code,
            method=rule.method,
            weight=rule.weight,
            gap_filling=rule.gap_filling != GapFilling.NONE,
            max_gap_years=rule.max_gap_years,
            min_coverage=rule.min_coverage,
            direction=indicator.direction,
            people=indicator.unit == Unit.PERCENT and rule.method == AggregationMethod.WEIGHTED_MEAN,
            regional=rule.gap_filling == GapFilling.REGIONAL_MEAN,
        )

    @property
    def aggregation_gap(self) -> int:
        return self.max_gap_years if self.gap_filling else 0


def spec_frame(specs: Iterable[IndicatorSpec]) -> pd.DataFrame:
    rows = [
        {
            "indicator": s.indicator,
            "weighted": s.method == AggregationMethod.WEIGHTED_MEAN,
            "weight_key": s.weight or NO_WEIGHT,
            "aggregation_gap": s.aggregation_gap,
            "comparison_gap": s.max_gap_years,
            "min_coverage": float(s.min_coverage),
            "sign": 1.0 if s.direction == Direction.INCREASE else -1.0,
            "people": s.people,
            "regional": s.regional,
        }
        for s in specs
    ]
    columns = ["indicator", "weighted", "weight_key", "aggregation_gap", "comparison_gap", "min_coverage", "sign"]
    return pd.DataFrame(rows, columns=[*columns, "people", "regional"]).astype(
        {"weighted": bool, "aggregation_gap": "int64", "comparison_gap": "int64", "people": bool, "regional": bool}
    )


def membership_frame(
    geography: Geography, years: Iterable[int], levels: Sequence[Level] = tuple(Level)
) -> pd.DataFrame:
    """The dated membership of countries in each level's groups, resolved per year (``members``) and
    kept as runs of consecutive years: level, group, geo, first_period, last_period."""
    rows: list[tuple[str, str, str, int]] = []
    for year in sorted(set(years)):
        for level in levels:
            rows += [(str(level), g, geo, year) for g, geo in members(geography, level, year).itertuples(index=False)]
    frame = pd.DataFrame(rows, columns=["level", "group", "geo", "period"]).sort_values(
        ["level", "group", "geo", "period"]
    )
    keys = ["level", "group", "geo"]
    breaks = (frame[keys] != frame[keys].shift()).any(axis=1) | (frame["period"].diff() != 1)
    frame["run"] = breaks.cumsum()
    runs = frame.groupby("run", sort=False).agg(
        level=("level", "first"), group=("group", "first"), geo=("geo", "first"),
        first_period=("period", "min"), last_period=("period", "max"),
    )  # fmt: skip
    return runs.reset_index(drop=True).astype({"first_period": "int64", "last_period": "int64"})


def engagement_frame(engagements: Iterable[tuple[str, date, date | None]]) -> pd.DataFrame:
    """geo, start_year, end_year from (code, start, end); the last entry of a code wins, as in ``compare``."""
    latest = {code: (start.year, None if end is None else end.year) for code, start, end in engagements}
    return pd.DataFrame(
        {
            "geo": pd.Series(list(latest), dtype=object),
            "start_year": pd.Series([start for start, _ in latest.values()], dtype="int64"),
            # Python ints and None: a pandas Int64 column arrives all-null on Spark (ibis 12, PySpark 4, pandas 3)
            "end_year": pd.Series([end for _, end in latest.values()], dtype=object),
        }
    )


@dataclass(frozen=True)
class Panel:
    """The inputs of a monitoring run as Ibis tables; every method returns an unexecuted expression.

    ``first_period``..``last_period`` must contain every observed period (they size the year masks;
    :func:`period_range` finds them).
    """

    observations: Any
    weights: Any
    membership: Any
    specs: tuple[IndicatorSpec, ...]
    first_period: int
    last_period: int
    regional_level: str = str(Level.SUBREGION)  # whose groups' means fill the gaps of ``regional`` indicators

    @property
    def words(self) -> int:
        return max(1, math.ceil((self.last_period - self.first_period + 1) / MASK_BITS))

    def spec_table(self) -> Any:
        return ibis.memtable(spec_frame(self.specs))

    # -- series ------------------------------------------------------------------------------------

    def series(self, baseline_year: int) -> Any:
        """One row per series: the masks of the years it reports, and its baseline and latest values.

        Used by the gap filling and by progress; cache it (``.cache()``) when both run.
        """
        o = self.observations
        offset = (o.period - self.first_period).cast("int64")
        one = ibis.literal(1).cast("int64")  # a BIGINT 1: a bare literal is a 32-bit INTEGER on DuckDB
        masks = {}
        if self.words == 1:  # every offset is a bit of the one word
            masks["mask0"] = (one << offset).sum().cast("int64")
        for w in range(self.words if self.words > 1 else 0):
            bit = one << ibis.greatest(ibis.least(offset - w * MASK_BITS, MASK_BITS - 1), 0)
            inside = (offset >= w * MASK_BITS) & (offset < (w + 1) * MASK_BITS)
            masks[f"mask{w}"] = bit.sum(where=inside).fill_null(0).cast("int64")
        after = o.period >= baseline_year
        return o.group_by(list(KEY)).aggregate(
            **masks,
            baseline_period=o.period.min(where=after),
            baseline_value=o.value.argmin(o.period, where=after),
            latest_period=o.period.max(where=after),
            latest_value=o.value.argmax(o.period, where=after),
            points=after.sum(),
        )

    def _positions(self) -> Any:
        """period, word, shift: where each year of ``first_period``..``last_period`` sits in the masks."""
        years = range(self.first_period, self.last_period + 1)
        offsets = [year - self.first_period for year in years]
        return ibis.memtable(
            pd.DataFrame(
                {
                    "period": list(years),
                    "word": [k // MASK_BITS for k in offsets],
                    "shift": [k % MASK_BITS for k in offsets],
                }
            ).astype("int64")
        )

    def _observed(self, table: Any, period: Any) -> Any:
        """Whether the series of ``table`` (which carries the masks) reports ``period`` (any year)."""
        offset = (period - self.first_period).cast("int64")
        branches = []
        for w in range(self.words):
            shift = ibis.greatest(ibis.least(offset - w * MASK_BITS, MASK_BITS - 1), 0)
            inside = (offset >= w * MASK_BITS) & (offset < (w + 1) * MASK_BITS)
            branches.append((inside, ((table[f"mask{w}"] >> shift) & 1) == 1))
        return ibis.cases(*branches, else_=False)

    def targets(self, series: Any) -> Any:
        """indicator, disaggregation, period: the periods with any value (from the masks, not the panel)."""
        masks = [f"mask{w}" for w in range(self.words)]
        distinct = series.select("indicator", "disaggregation", *masks).distinct()
        pairs = distinct.cross_join(self._positions())
        word = ibis.cases(*((pairs.word == w, pairs[f"mask{w}"]) for w in range(self.words)))
        seen = pairs.filter(((word >> pairs.shift) & 1) == 1)
        return seen.select("indicator", "disaggregation", "period").distinct()

    # -- gap filling -------------------------------------------------------------------------------

    def filled(self, series: Any, targets: Any, *, every_observed: bool = False) -> Any:
        """indicator, geo, disaggregation, period, value, imputed: each series' value at each target period
        (``targets``: indicator, disaggregation, period, gap) — its own, else its nearest within ``gap`` years,
        the earlier on a tie. ``every_observed``: the targets are exactly the periods with any value of each
        indicator × disaggregation (:meth:`targets`), so every observation is an exact row and the missing
        cells are read off the masks."""
        o = self.observations
        values = o.select(*KEY, source=o.period.cast("int64"), value=o.value)
        reach = max((s.max_gap_years for s in self.specs), default=0)
        if every_observed:
            own = o.select(*KEY, period=o.period.cast("int64"), value="value", imputed=ibis.literal(False))
            if reach == 0:
                return own
            missing = self._missing(series, targets)
        else:  # few targets: the reported year and the nearest one are found alike, and read in one join
            missing = series.join(targets, ["indicator", "disaggregation"])
        branches = [] if every_observed else [(self._observed(missing, missing.period), missing.period)]
        for d in range(1, reach + 1):
            for candidate in (missing.period - d, missing.period + d):  # the earlier year first on a tie
                branches.append(((missing.gap >= d) & self._observed(missing, candidate), candidate))
        chosen = missing.select(*KEY, "period", source=ibis.cases(*branches, else_=ibis.null("int64")))
        chosen = chosen.filter(chosen.source.notnull())
        found = chosen.join(values, [*KEY, "source"])
        found = found.select(*KEY, "period", "value", imputed=found.source != found.period)
        return own.union(found) if every_observed else found  # disjoint: a period is reported or filled

    def _missing(self, series: Any, targets: Any) -> Any:
        """The target periods a series does not report, from its masks and the targets' masks (gap > 0 only)."""
        one = ibis.literal(1).cast("int64")
        t = targets.join(self._positions(), "period")
        wanted = t.group_by(["indicator", "disaggregation", "gap"]).aggregate(
            **{f"want{w}": (one << t.shift).sum(where=t.word == w).fill_null(0) for w in range(self.words)}
        )
        s = series.join(wanted.filter(wanted.gap > 0), ["indicator", "disaggregation"])
        masks = [f"mask{w}" for w in range(self.words)]
        parts = []
        for w in range(self.words):
            want = s[f"want{w}"]
            lacking = s.select(*KEY, "gap", *masks, lacking=want - (want & s[f"mask{w}"])).filter(
                lambda x: x.lacking != 0
            )
            positions = self._positions().filter(lambda x: x.word == w)  # noqa: B023 - applied at once
            pairs = lacking.cross_join(positions)
            parts.append(pairs.filter(((pairs.lacking >> pairs.shift) & 1) == 1).select(*KEY, "period", "gap", *masks))
        return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])

    # -- aggregation -------------------------------------------------------------------------------

    def signatures(self) -> tuple[Any, Any, Any]:
        """(gid → level, group; geo → sig; sig → gid and validity): places with the same dated groups share a
        signature, so their sums are taken once per signature and then added up per group."""
        m = self.membership
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

    def aggregates(self, series: Any) -> Any:
        """One row per level × group × indicator × disaggregation × period (AGGREGATE_COLUMNS)."""
        specs = self.spec_table()
        cells = series.select("indicator", "disaggregation").distinct()
        cells = cells.mutate(cell=ibis.row_number().over(order_by=["indicator", "disaggregation"])).join(
            specs, "indicator"
        )
        targets = self.targets(series).join(cells, ["indicator", "disaggregation"])
        gaps = targets.select("indicator", "disaggregation", "period", gap="aggregation_gap")
        filled = self.filled(series, gaps, every_observed=True)
        regional = any(s.regional for s in self.specs)
        if regional:
            columns = [*KEY, "period", "value", "imputed"]
            own = filled.select(*columns, regional=ibis.literal(False))
            filled = own.union(self._regional_means(filled, targets))
        gids, geo_sig, sig_groups = self.signatures()
        rows = (
            filled.join(geo_sig, "geo")
            .join(
                cells.select("indicator", "disaggregation", "cell", "weight_key", "weighted"),
                ["indicator", "disaggregation"],
            )
            .left_join(self._weights(), ["weight_key", "geo", "period"])
        )
        weight = rows.weight.fill_null(ibis.ifelse(rows.weight_key == NO_WEIGHT, 1.0, 0.0))
        # one BIGINT group key (signature, cell, year) and unfiltered sums: the cheapest group-by of the run
        key = (
            rows.sig.cast("int64") * (1 << 40) + rows.cell.cast("int64") * (1 << 16) + (rows.period - self.first_period)
        )
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
        partial = keyed.mutate(sig=keyed.key >> 40, period=(keyed.key & 0xFFFF) + self.first_period)
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
        grid = targets.select("cell", "period", "weight_key").join(
            self._totals(targets, gids), ["weight_key", "period"]
        )
        grid = grid.mutate(
            key=grid.gid.cast("int64") * (1 << 40)
            + grid.cell.cast("int64") * (1 << 16)
            + (grid.period - self.first_period)
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
            people=ibis.ifelse(
                out.people & out.value.notnull(), out.value / 100 * out.weight_total, ibis.null("float64")
            ),
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

    def _regional_means(self, filled: Any, targets: Any) -> Any:
        """For each member of a ``regional_level`` group without a value (own or nearest year) at a target period
        of a ``regional`` indicator: the group's weighted mean of the members with a value and a positive weight
        (imputed, regional). A group where no member has a value gives nothing."""
        t = targets.filter(targets.regional).select("indicator", "disaggregation", "period", "weight_key")
        m = self.membership
        m = m.filter(m.level == self.regional_level).select("group", "geo", "first_period", "last_period")
        candidates = t.cross_join(m).filter(lambda x: _valid(x, x.period))
        candidates = candidates.select("indicator", "disaggregation", "period", "weight_key", "group", "geo")
        candidates = candidates.left_join(self._weights(), ["weight_key", "geo", "period"])
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

    def _totals(self, targets: Any, gids: Any) -> Any:
        """weight_key, period, gid: Σ weight and count over every member (reporting or not)."""
        m = self.membership.join(gids, ["level", "group"])
        keys = targets.select("weight_key").distinct()
        periods = targets.select("period").distinct()
        members = m.cross_join(periods).filter(lambda t: _valid(t, t.period)).cross_join(keys)
        joined = members.left_join(self._weights(), ["weight_key", "geo", "period"])
        weight = joined.weight.fill_null(ibis.ifelse(joined.weight_key == NO_WEIGHT, 1.0, 0.0))
        return joined.group_by(["weight_key", "period", "gid"]).aggregate(
            weight_total=weight.sum(), units_total=joined.count()
        )

    def _weights(self) -> Any:
        w = self.weights
        return w.select(weight_key=w.series, geo=w.geo, period=w.period.cast("int64"), weight=w.weight.cast("float64"))

    # -- progress ----------------------------------------------------------------------------------

    def progress(self, series: Any) -> Any:
        """Per series: baseline and latest (year, value), number of points since the baseline, the rate (CAGR,
        or average absolute annual change where a value is ≤ 0), the signed score and both statuses (no target)."""
        specs = self.spec_table().select("indicator", "sign")
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

    # -- supported vs others -----------------------------------------------------------------------

    def split(self, series: Any, engagements: Any, *, baseline_year: int, latest_year: int | None = None) -> Any:
        """Per indicator (totals): mean change where UN-Habitat works vs elsewhere, as ``methods.comparison``."""
        specs = self.spec_table().select("indicator", gap="comparison_gap")
        totals = series.filter(series.disaggregation == "")
        if latest_year is None:
            latest = self.targets(totals).group_by("indicator").aggregate(latest_year=lambda t: t.period.max())
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
        filled = self.filled(totals, targets)
        points = filled.join(ends, "indicator")
        at_base = points.filter(points.period == points.baseline_year).select("indicator", "geo", b="value")
        at_last = points.filter(points.period == points.latest_year).select("indicator", "geo", t="value")
        both = at_base.join(at_last, ["indicator", "geo"]).join(ends, "indicator")
        e = engagements.select("geo", "start_year", "end_year")
        both = both.left_join(e, "geo")
        supported = (both.start_year > both.baseline_year) & (
            both.end_year.isnull() | (both.end_year >= both.latest_year)
        )
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


def period_range(backend: Any, observations: Any) -> tuple[int, int]:
    """The first and last observed period (to size the year masks)."""
    frame = backend.execute(observations.aggregate(first=observations.period.min(), last=observations.period.max()))
    first, last = frame.iloc[0]
    if pd.isna(first):
        return (0, 0)
    return int(first), int(last)


def _temp_table(backend: Any, expr: Any) -> tuple[Any, Callable[[], object]]:
    # ibis 12 with sqlglot 30 renders drop_table/drop_view as a DROP without the name: drop by raw SQL
    name = f"habmon_panel_{uuid.uuid4().hex}"
    table = backend.create_table(name, expr, temp=True)
    return table, lambda: backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def _cached_view(backend: Any, expr: Any) -> tuple[Any, Callable[[], object]]:
    name = f"habmon_panel_{uuid.uuid4().hex}"
    table = backend.create_view(name, expr)
    backend.raw_sql(f"CACHE TABLE `{name}`")  # eager in Spark SQL

    def release() -> None:
        backend.raw_sql(f"UNCACHE TABLE IF EXISTS `{name}`")
        backend.raw_sql(f"DROP VIEW IF EXISTS `{name}`")

    return table, release


MATERIALIZERS: dict[str, Callable[[Any, Any], tuple[Any, Callable[[], object]]]] = {
    "duckdb": _temp_table,
    "pyspark": _cached_view,
}


@contextmanager
def materialized(backend: Any, expr: Any) -> Iterator[Any]:
    """``expr`` computed once into a temporary table of ``backend`` (DuckDB) or a cached view (Spark)."""
    table, release = MATERIALIZERS[backend.name](backend, expr)
    try:
        yield table
    finally:
        release()
