"""The monitoring run: stored with its snapshot, reproducible, append-only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from habmon.engine.aggregate import Level
from habmon.engine.run import compute, run_results
from habmon.engine.service import aggregate_indicator
from habmon.methods.progress import Status
from habmon.services import Monitor
from habmon.store import tables as t


def test_a_run_is_stored_reproducible_and_append_only(demo: Monitor) -> None:
    first = compute(demo, codes=["11.1.1"])
    with demo.store.engine.connect() as conn:
        newest = conn.execute(select(func.max(t.observation.c.id))).scalar_one()
    assert first.snapshot_observation_id == newest and first.indicators == 1
    results = run_results(demo, first.run_id, kind="aggregate")
    world = next(r for r in results if r["geo_code"] == "001" and r["period"] == 2022)
    _, (direct,) = aggregate_indicator(demo, "11.1.1", 2022, Level.WORLD)
    assert world["value"] == pytest.approx(direct.value) and world["people"] == pytest.approx(direct.people)
    assert first.aggregates == len(results)

    progress = run_results(demo, first.run_id, kind="progress")
    world = {r["method"]: r["status"] for r in progress if r["geo_code"] == "001"}
    assert set(world) == {"unsd", "statcan"}
    assert {world["unsd"], world["statcan"]} <= {s.value for s in Status}

    second = compute(demo, codes=["11.1.1"])
    again = run_results(demo, second.run_id, kind="aggregate")
    assert [(r["geo_code"], r["period"], r["value"]) for r in again] == [
        (r["geo_code"], r["period"], r["value"]) for r in results
    ]
    with pytest.raises(DBAPIError, match="append-only"), demo.store.engine.begin() as conn:
        conn.execute(text("UPDATE engine_result SET value = 0"))


def test_a_run_over_no_data_stores_an_empty_run(monitor: Monitor) -> None:
    summary = compute(monitor)
    assert (summary.snapshot_observation_id, summary.aggregates, summary.progress) == (0, 0, 0)
    assert summary.indicators > 0 and run_results(monitor, summary.run_id) == []
