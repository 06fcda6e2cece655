"""The monitoring run: every aggregate and progress status, stored with what is needed to reproduce it.

A run records the engine, the parameters and the *input snapshot* — the highest observation id
it could see; re-running with the same snapshot and parameters gives the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import func, insert, select

from habmon.engine.aggregate import Aggregate, Level
from habmon.engine.backends import connect
from habmon.engine.context import EngineContext as Monitor  # what the engine needs of habmon.services.Monitor
from habmon.engine.data import IndicatorData
from habmon.engine.panel import Panel, materialized
from habmon.engine.panel_aggregates import AGGREGATE_COLUMNS
from habmon.engine.panel_spec import IndicatorSpec, membership_frame
from habmon.engine.progress import SDG_BASELINE_YEAR, assess_like_for_like, like_for_like
from habmon.indicators.model import AggregationMethod, Indicator
from habmon.methods.progress import Method
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.database import insert_id

AGGREGABLE = (AggregationMethod.WEIGHTED_MEAN, AggregationMethod.SUM)
PROGRESS_LEVELS = (Level.WORLD, Level.REGION)
RESULT_COLUMNS = [
    "run_id", "kind", "indicator", "geo_code", "level", "period", "value", "people", "coverage", "units_reported",
    "units_total", "imputed_units", "published", "method", "status", "details", "coverage_reported", "filled_share",
]  # fmt: skip

Progress = Callable[[str, int, int], None]

# A stored run must be reproducible to the last bit; parallel hash aggregation adds floats in whatever order the
# threads finish, so a run pins the backend to one thread where it can (the panel engine itself is the same).
REPRODUCIBLE: dict[str, Callable[[Any], object]] = {"duckdb": lambda backend: backend.raw_sql("SET threads = 1")}


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: int
    engine: str
    snapshot_observation_id: int
    indicators: int
    aggregates: int
    progress: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "engine": self.engine,
            "snapshot_observation_id": self.snapshot_observation_id,
            "indicators": self.indicators,
            "aggregates": self.aggregates,
            "progress": self.progress,
        }


def _number(x: Any) -> float | None:
    return None if pd.isna(x) else float(x)


def _aggregate_row(code: str, gap_filling: str, a: Any) -> dict[str, Any]:
    """A stored result row from a row of the panel's aggregates (AGGREGATE_COLUMNS)."""
    return {
        "kind": "aggregate", "indicator": code, "geo_code": str(a.group), "level": str(a.level),
        "period": int(a.period), "value": _number(a.value), "people": _number(a.people),
        "coverage": _number(a.coverage), "units_reported": int(a.units_reported), "units_total": int(a.units_total),
        "imputed_units": int(a.imputed_units), "published": bool(a.published),
        "coverage_reported": _number(a.coverage_reported), "filled_share": _number(a.filled_share),
        "details": json.dumps({"gap_filling": gap_filling}),
    }  # fmt: skip


def aggregate_frame(backend: Any, panel: Panel | None, *, baseline_year: int = SDG_BASELINE_YEAR) -> pd.DataFrame:
    """Every aggregate of the panel, executed on ``backend`` (AGGREGATE_COLUMNS)."""
    if panel is None or not panel.specs:
        return pd.DataFrame(columns=list(AGGREGATE_COLUMNS))
    with materialized(backend, panel.series(baseline_year)) as series:
        return backend.execute(panel.aggregates(series))


def _published_series(group: str, frame: pd.DataFrame) -> list[tuple[int, Aggregate]]:
    """An aggregate's yearly values that meet the publication rule, from the panel's rows (AGGREGATE_COLUMNS)."""
    return [
        (
            int(a.period),
            Aggregate(
                code=group,
                name="",
                value=_number(a.value),
                people=_number(a.people),
                coverage=_number(a.coverage),
                units_reported=int(a.units_reported),
                units_total=int(a.units_total),
                imputed_units=int(a.imputed_units),
                published=True,
                coverage_reported=_number(a.coverage_reported),
                filled_share=_number(a.filled_share),
            ),
        )
        for a in frame.sort_values("period").itertuples(index=False)
    ]


def aggregate_progress(
    indicator: Indicator, aggregates: pd.DataFrame, data: IndicatorData, backend: Any
) -> list[dict[str, Any]]:
    """Progress of the world and regional aggregates of one indicator with both methods, like for like
    (:func:`habmon.engine.progress.like_for_like`: one panel of countries at baseline and latest year)."""
    rows: list[dict[str, Any]] = []
    for level in PROGRESS_LEVELS:
        kept = aggregates[
            (aggregates["level"] == str(level))
            & (aggregates["disaggregation"] == "")
            & aggregates["published"].astype(bool)
            & aggregates["value"].notna()
        ]
        for group, frame in sorted(kept.groupby("group"), key=lambda item: str(item[0])):
            published = _published_series(str(group), frame)
            lff = like_for_like(data, str(group), level, backend, series=published)
            for method in Method:
                report = assess_like_for_like(data, str(group), published, lff, method)
                rows.append(
                    {
                        "kind": "progress", "indicator": indicator.code, "geo_code": str(group), "level": str(level),
                        "value": report.progress.score, "method": str(method), "status": str(report.progress.status),
                        "details": json.dumps(report.to_dict(), default=str),
                    }
                )  # fmt: skip
    return rows


def snapshot_totals(monitor: Monitor, indicators: Sequence[Indicator], *, as_of: int) -> pd.DataFrame:
    """The published totals (no disaggregation) of these indicators and their weight series as of an observation
    id (columns series, geo, period, value), read once for the whole run, in key order.

    The store returns rows in whatever order its plan produces (PostgreSQL's hash joins differ run to run), and
    float sums depend on the order they add up in: the engine gets its input in one order, so a run is
    reproducible to the last bit."""
    weights = sorted({i.aggregation.weight for i in indicators if i.aggregation.weight})
    stored = monitor.store.current_frame([*(i.code for i in indicators), *weights], public=True, as_of=as_of)
    totals = stored[stored["disaggregation_key"] == ""][["series", "geo", "period", "value"]]
    return totals.sort_values(["series", "geo", "period"], kind="stable").reset_index(drop=True)


def panel_of(monitor: Monitor, indicators: Sequence[Indicator], totals: pd.DataFrame) -> Panel | None:
    """The panel of these indicators over their totals (:func:`snapshot_totals`); None when none has a value."""
    weights = {i.aggregation.weight for i in indicators if i.aggregation.weight}
    own = totals[totals["series"].isin([i.code for i in indicators])]
    observations = pd.DataFrame(
        {
            "indicator": own["series"].astype(str).to_numpy(),
            "geo": own["geo"].astype(str).to_numpy(),
            "period": own["period"].astype("int64").to_numpy(),
            "disaggregation": "",
            "value": own["value"].astype("float64").to_numpy(),
        }
    )
    weighing = totals[totals["series"].isin(weights)]
    weight_frame = pd.DataFrame(
        {
            "series": weighing["series"].astype(str).to_numpy(),
            "geo": weighing["geo"].astype(str).to_numpy(),
            "period": weighing["period"].astype("int64").to_numpy(),
            "weight": weighing["value"].astype("float64").to_numpy(),
        }
    )
    years = sorted(int(y) for y in observations["period"].unique())
    if not years:
        return None
    membership = membership_frame(monitor.geography(), years)
    return Panel(
        observations=ibis.memtable(observations),
        weights=ibis.memtable(weight_frame),
        membership=ibis.memtable(membership),
        specs=tuple(IndicatorSpec.of(i) for i in indicators),
        first_period=years[0],
        last_period=years[-1],
    )


def compute(
    monitor: Monitor,
    *,
    engine: str = "duckdb",
    codes: Sequence[str] | None = None,
    on_progress: Progress | None = None,
) -> RunSummary:
    """Aggregate every aggregable indicator for every year and level, assess progress, store it all as one run."""
    started = datetime.now(UTC)
    store = monitor.store
    store.require_schema()
    with store.engine.connect() as conn:
        snapshot = int(conn.execute(select(func.coalesce(func.max(t.observation.c.id), 0))).scalar_one())
    backend = connect(engine)
    REPRODUCIBLE.get(backend.name, lambda _: None)(backend)
    chosen = [
        i
        for i in monitor.registry().indicators
        if i.aggregation.method in AGGREGABLE and (codes is None or i.code in codes)
    ]
    if on_progress:
        on_progress("aggregating", 0, len(chosen))
    totals = snapshot_totals(monitor, chosen, as_of=snapshot)
    panel = panel_of(monitor, chosen, totals)
    geography = monitor.geography()
    frame = aggregate_frame(backend, panel)
    levels = {str(level): n for n, level in enumerate(Level)}
    frame = frame[frame["level"].isin(levels)].assign(level_order=lambda f: f["level"].map(levels))
    by_indicator = dict(iter(frame.groupby("indicator", sort=False)))
    rows: list[dict[str, Any]] = []
    aggregates = progress = 0
    for number, indicator in enumerate(chosen):
        if on_progress:
            on_progress(indicator.code, number, len(chosen))
        own = by_indicator.get(indicator.code)
        if own is None:
            continue
        own = own.sort_values(["period", "level_order", "group"], kind="stable")
        gap = indicator.aggregation.gap_filling_text()
        for row in own.itertuples(index=False):
            rows.append(_aggregate_row(indicator.code, gap, row))
        aggregates += len(own)
        # like-for-like progress needs the country totals only, from the same rows as the panel
        series = [indicator.code, *([indicator.aggregation.weight] if indicator.aggregation.weight else [])]
        data = IndicatorData(indicator, geography, totals[totals["series"].isin(series)])
        found = aggregate_progress(indicator, own, data, backend)
        rows += found
        progress += len(found)
    if on_progress:
        on_progress("storing", len(chosen), len(chosen))
    parameters = {
        "indicators": [i.code for i in chosen],
        "baseline_year": SDG_BASELINE_YEAR,
        "levels": [str(level) for level in Level],
        "progress_levels": [str(x) for x in PROGRESS_LEVELS],
    }
    with store.transaction() as conn:
        run_id = insert_id(
            conn,
            insert(t.engine_run).values(
                engine=engine,
                actor=monitor.actor,
                snapshot_observation_id=snapshot,
                parameters=parameters,
                started_at=started,
                finished_at=datetime.now(UTC),
                results=len(rows),
            ),
        )
        records = ((run_id, *(row.get(c) for c in RESULT_COLUMNS[1:])) for row in rows)
        bulk.bulk_insert(conn, t.engine_result, RESULT_COLUMNS, records)
        store.audit(
            conn,
            monitor.actor,
            "engine.run",
            "engine_run",
            str(run_id),
            {"engine": engine, "snapshot": snapshot, "results": len(rows)},
        )
    return RunSummary(run_id, engine, snapshot, len(chosen), aggregates, progress)


def run_results(monitor: Monitor, run_id: int, *, kind: str | None = None) -> list[dict[str, Any]]:
    r = t.engine_result.c
    query = select(t.engine_result).where(r.run_id == run_id).order_by(r.id)
    if kind:
        query = query.where(r.kind == kind)
    with monitor.store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def stored_runs(monitor: Monitor, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Stored monitoring runs, newest first (id, engine, actor, snapshot, parameters, times, results), and how
    many there are in all."""
    query = select(t.engine_run).order_by(t.engine_run.c.id.desc()).limit(limit).offset(offset)
    with monitor.store.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.engine_run)).scalar_one())
        return [dict(row._mapping) for row in conn.execute(query)], total


def latest_run(monitor: Monitor) -> dict[str, Any] | None:
    """The newest stored monitoring run (id, engine, snapshot, parameters, times), or None before the first run."""
    query = select(t.engine_run).order_by(t.engine_run.c.id.desc()).limit(1)
    with monitor.store.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)
