"""The monitoring run: stored with its snapshot, reproducible, append-only."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from habmon.engine.aggregate import Level
from habmon.engine.progress import progress_of
from habmon.engine.run import compute, run_results
from habmon.engine.service import aggregate_indicator
from habmon.methods.progress import Method, Status
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
    # like for like (one panel of countries from 2020 to 2022), the world is regressing, as para 32 says
    assert world == {"unsd": Status.REGRESSION.value, "statcan": Status.DETERIORATION.value}
    stored = {(r["geo_code"], r["method"]): r for r in progress}
    for geo in ("001", "009", "419"):  # the world, Oceania, Latin America and the Caribbean
        for method in Method:
            direct_progress = progress_of(demo, "11.1.1", geo, method=method)
            row = stored[(geo, str(method))]
            assert row["status"] == str(direct_progress.progress.status)
            assert row["value"] == pytest.approx(direct_progress.progress.score)
            details = row["details"]
            assert isinstance(details, dict), type(details)
            assert details["like_for_like"]["panel"]["year"] == direct_progress.like_for_like.panel.year

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


def test_a_run_does_not_depend_on_the_order_the_store_returns_rows_in(
    demo: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL returns a join's rows in whatever order its plan produces, and that changes between runs; float
    # sums depend on the order they add up in, so the engine must put its input in one order itself
    first = compute(demo, codes=["11.1.1"])
    read = demo.store.current_frame

    def shuffled(*args: Any, **kwargs: Any) -> pd.DataFrame:
        return read(*args, **kwargs).sample(frac=1.0, random_state=7).reset_index(drop=True)

    monkeypatch.setattr(demo.store, "current_frame", shuffled)
    second = compute(demo, codes=["11.1.1"])
    key = ("kind", "geo_code", "period", "method", "value", "people", "coverage")
    assert [tuple(r[k] for k in key) for r in run_results(demo, second.run_id)] == [
        tuple(r[k] for k in key) for r in run_results(demo, first.run_id)
    ]
