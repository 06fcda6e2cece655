"""Issue #18, "Done when", the engine's half: one country publishes new years of 11.1.1 on the demo data. The world's
latest published year and value stay where they were, the new years of the world are estimates (nature E) whose
coverage by reported values is the country's share, and the country's new values show on its page and in the API."""

from __future__ import annotations

import pytest

from habmon.engine.run import compute
from habmon.observation import Nature, Observation
from habmon.services import Monitor
from tests.web_client import client_for

KENYA, WORLD = "404", "001"
NEW = {2023: 37.5, 2024: 36.25}  # Kenya's new values (its 2022 value is in the shipped data)


def test_one_country_publishing_new_years_moves_neither_the_world_headline_nor_its_latest_year(
    monitor: Monitor,
) -> None:
    monitor.load_shipped()
    compute(monitor, codes=["11.1.1"])
    with client_for(monitor) as client:
        before = client.get("/api/v1/aggregates?indicator=11.1.1&level=world&limit=1000").json()["items"]
        home = client.get("/index.json").json()["headline_indicators"][0]["latest"]
        progress = client.get("/api/v1/progress?indicator=11.1.1&geo=001").json()["items"]
    # the world meets its rule (60 % of the urban population, by values reported for the year, and every SDG
    # region meeting its own) in 2022 only: Eastern and South-Eastern Asia reports 24 % before 2022 (China)
    assert [r["period"] for r in before] == [2022]
    (latest,) = before
    assert latest["value"] == pytest.approx(24.78, abs=0.005) and latest["nature"] is None
    assert latest["coverage_reported"] == pytest.approx(0.982, abs=0.001)  # 98.2 %, as in docs/engine.md
    assert latest["coverage"] == pytest.approx(0.983, abs=0.001) and 0 < latest["filled_share"] < 0.01
    assert (home["year"], home["value"]) == (2022, latest["value"])

    monitor.record(
        [Observation("11.1.1", KENYA, year, value, "percent", Nature.C, "Kenya NSO") for year, value in NEW.items()],
        kind="shipped",  # a public batch, as a published submission's is (the submission path is tested elsewhere)
        name="Kenya 11.1.1 2023-2024",
    )
    compute(monitor, codes=["11.1.1"])
    with client_for(monitor) as client:
        after = client.get("/api/v1/aggregates?indicator=11.1.1&level=world&limit=1000").json()["items"]
        every = client.get("/api/v1/aggregates?indicator=11.1.1&level=world&include_below_rule=true&limit=1000").json()[
            "items"
        ]
        home_after = client.get("/index.json").json()["headline_indicators"][0]["latest"]
        progress_after = client.get("/api/v1/progress?indicator=11.1.1&geo=001").json()["items"]
        place = client.get("/places/KEN.json").json()
        indicator_page = client.get("/indicators/11.1.1.json").json()
    # the world's published series, its headline and its progress are unchanged
    assert after == before
    assert (home_after["year"], home_after["value"]) == (home["year"], home["value"])
    assert [(r["method"], r["status"], r["latest"]) for r in progress_after] == [
        (r["method"], r["status"], r["latest"]) for r in progress
    ]
    # 2023 and 2024 are computed, with 196 of 197 countries carried forward from 2022: estimates, not published
    by_year = {r["period"]: r for r in every}
    for year in NEW:
        row = by_year[year]
        assert row["meets_publication_rule"] is False and row["nature"] == "E"
        assert row["coverage"] == pytest.approx(0.98, abs=0.01)  # with the filled values …
        assert row["coverage_reported"] < 0.01  # … but Kenya's urban population alone is under 1 % of the world's
        assert row["filled_share"] > 0.99
        assert (row["units_reported"], row["imputed_units"]) == (row["imputed_units"] + 1, row["units_reported"] - 1)
    # the new Kenya values show on its page and in the API, its latest being 2024
    (kenya,) = [i for i in place["indicators"] if i["code"] == "11.1.1"]
    assert (kenya["latest"]["year"], kenya["latest"]["value"]) == (2024, NEW[2024])
    assert indicator_page["series"][0]["code"] == WORLD
    assert [p["year"] for p in indicator_page["series"][0]["points"]] == [2022]
