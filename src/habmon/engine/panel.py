"""The panel engine: the monitoring run over whole long tables, as Ibis expressions written once.

Inputs are Ibis tables on one backend (DuckDB by default, Spark through
:func:`habmon.engine.backends.connect`):

* ``observations`` — indicator, geo, period, disaggregation ('' for the total), value; one value per
  series (indicator × geo × disaggregation) and period;
* ``weights`` — series, geo, period, weight (e.g. urban population);
* ``membership`` — level, group, geo, first_period, last_period: which places make up each aggregate,
  valid from ``first_period`` to ``last_period`` (inclusive; null = open);
* ``engagements`` — geo, start_year, end_year (null = still running): places where UN-Habitat works.

and the indicators' aggregation rules as :class:`~habmon.engine.panel_spec.IndicatorSpec` (from the registry).
This module holds the panel, its year masks and the gap filling; the aggregation is in
:mod:`habmon.engine.panel_aggregates`, progress and the split in :mod:`habmon.engine.panel_progress`.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from habmon.engine import panel_aggregates, panel_progress
from habmon.engine.aggregate import Level
from habmon.engine.panel_spec import KEY, MASK_BITS, IndicatorSpec, spec_frame


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

    # -- aggregation, progress, supported vs others (:mod:`habmon.engine.panel_aggregates`, ``panel_progress``) --

    def signatures(self) -> tuple[Any, Any, Any]:
        """(gid → level, group; geo → sig; sig → gid and validity): see :func:`panel_aggregates.signatures`."""
        return panel_aggregates.signatures(self)

    def aggregates(self, series: Any) -> Any:
        """One row per level × group × indicator × disaggregation × period (AGGREGATE_COLUMNS)."""
        return panel_aggregates.aggregates(self, series)

    def progress(self, series: Any) -> Any:
        """Per series: baseline, latest, rate and both statuses without a target (PROGRESS_COLUMNS)."""
        return panel_progress.progress(self, series)

    def split(self, series: Any, engagements: Any, *, baseline_year: int, latest_year: int | None = None) -> Any:
        """Per indicator (totals): mean change where UN-Habitat works vs elsewhere (SPLIT_COLUMNS)."""
        return panel_progress.split(self, series, engagements, baseline_year=baseline_year, latest_year=latest_year)


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
