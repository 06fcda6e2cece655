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

from sqlalchemy import func, insert, select

from habmon.engine.aggregate import Aggregate, Level
from habmon.engine.backends import connect
from habmon.engine.service import SDG_BASELINE_YEAR, IndicatorData
from habmon.indicators.model import AggregationMethod, Indicator, TargetBasis
from habmon.methods.progress import Method, Point, assess
from habmon.services import Monitor
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.store import insert_id

AGGREGABLE = (AggregationMethod.WEIGHTED_MEAN, AggregationMethod.SUM)
PROGRESS_LEVELS = (Level.WORLD, Level.REGION)
RESULT_COLUMNS = [
    "run_id", "kind", "indicator", "geo_code", "level", "period", "value", "people", "coverage", "units_reported",
    "units_total", "imputed_units", "published", "method", "status", "details",
]  # fmt: skip

Progress = Callable[[str, int, int], None]


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


def _aggregate_row(code: str, level: Level, year: int, a: Aggregate) -> dict[str, Any]:
    return {
        "kind": "aggregate", "indicator": code, "geo_code": a.code, "level": str(level), "period": year,
        "value": a.value, "people": a.people, "coverage": a.coverage, "units_reported": a.units_reported,
        "units_total": a.units_total, "imputed_units": a.imputed_units, "published": a.published,
        "details": json.dumps({"gap_filling": a.gap_filling}),
    }  # fmt: skip


def _progress_rows(
    indicator: Indicator, level: Level, series: dict[str, list[tuple[int, float]]]
) -> list[dict[str, Any]]:
    rows = []
    for geo, points in sorted(series.items()):
        targets = [x for x in indicator.targets.values if x.geo == geo and x.basis == TargetBasis.ABSOLUTE]
        target = max(targets, key=lambda x: x.year) if targets else None
        for method in Method:
            result = assess(
                points,
                direction=indicator.direction,
                method=method,
                baseline_year=SDG_BASELINE_YEAR,
                target=None if target is None else Point(target.year, target.value),
            )
            rows.append(
                {
                    "kind": "progress",
                    "indicator": indicator.code,
                    "geo_code": geo,
                    "level": str(level),
                    "value": result.score,
                    "method": str(method),
                    "status": str(result.status),
                    "details": json.dumps(result.to_dict(), default=str),
                }
            )
    return rows


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
    chosen = [
        i
        for i in monitor.registry().indicators
        if i.aggregation.method in AGGREGABLE and (codes is None or i.code in codes)
    ]
    rows: list[dict[str, Any]] = []
    aggregates = progress = 0
    for number, indicator in enumerate(chosen):
        if on_progress:
            on_progress(indicator.code, number, len(chosen))
        data = IndicatorData.load(monitor, indicator.code, as_of=snapshot)
        series: dict[Level, dict[str, list[tuple[int, float]]]] = {level: {} for level in PROGRESS_LEVELS}
        for year in data.years:
            for level in Level:
                for a in data.aggregate(year, level, backend):
                    rows.append(_aggregate_row(indicator.code, level, year, a))
                    aggregates += 1
                    if level in series and a.published and a.value is not None:
                        series[level].setdefault(a.code, []).append((year, a.value))
        for level, by_geo in series.items():
            found = _progress_rows(indicator, level, by_geo)
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


def latest_run(monitor: Monitor) -> dict[str, Any] | None:
    """The newest stored monitoring run (id, engine, snapshot, parameters, times), or None before the first run."""
    query = select(t.engine_run).order_by(t.engine_run.c.id.desc()).limit(1)
    with monitor.store.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)
