"""The engine on the shipped data: the plan's world slum figure reproduced from country values."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.engine.aggregate import Level
from habmon.engine.backends import EngineUnavailable, connect
from habmon.engine.service import aggregate_indicator
from habmon.services import Monitor

runner = CliRunner()


def test_world_slum_share_2022_reproduces_the_plan(demo: Monitor) -> None:
    _, (world,) = aggregate_indicator(demo, "11.1.1", 2022, Level.WORLD)
    assert world.code == "001"
    assert world.value == pytest.approx(24.8, abs=0.1)  # para 32: 24.8 % of the urban population in 2022
    assert world.people == pytest.approx(1.12e9, rel=0.01)  # para 32: 1.12 billion people
    assert world.coverage == pytest.approx(0.982, abs=0.001)  # urban population of reporting countries / all
    assert (world.units_reported, world.published) == (196, True)  # 197 values; one place is not a current country


def test_engine_agrees_with_a_plain_pandas_computation(demo: Monitor) -> None:
    stored = demo.store.current_frame(["11.1.1", "POP.URBAN"], public=True)
    at = stored[(stored["period"] == 2022) & (stored["disaggregation_key"] == "")]
    shares = at[at["series"] == "11.1.1"].set_index("geo")["value"]
    urban = at[at["series"] == "POP.URBAN"].set_index("geo")["value"]
    geography = demo.geography()
    subregion_of = {
        c.code: next(u.code for u in geography.ancestors(c.code) if u.kind == "subregion")
        for c in geography.of_kind("country")  # type: ignore[arg-type]
    }
    frame = pd.DataFrame({"share": shares, "urban": urban}).dropna()
    frame["sub"] = [subregion_of.get(g) for g in frame.index]
    expected = frame.groupby("sub").apply(lambda g: (g.share * g.urban).sum() / g.urban.sum(), include_groups=False)
    _, rows = aggregate_indicator(demo, "11.1.1", 2022, Level.SUBREGION)
    got = {r.code: r.value for r in rows if r.value is not None}
    assert set(got) == set(expected.index)
    for code, value in expected.items():
        assert got[code] == pytest.approx(value, rel=1e-9), code


def test_aggregate_command_json(demo: Monitor) -> None:
    result = runner.invoke(
        app,
        [
            "--database",
            demo.store.url,
            "aggregate",
            "--indicator",
            "11.1.1",
            "--year",
            "2022",
            "--level",
            "region",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["geo"] for r in rows} == {"202", "747", "062", "753", "419", "009", "513"}
    africa = next(r for r in rows if r["geo"] == "202")
    assert africa["value"] > 40 and africa["gap_filling"] == "none" and 0 < africa["coverage"] <= 1


def test_unknown_engine_says_what_is_available() -> None:
    with pytest.raises(EngineUnavailable) as info:
        connect("excel")
    assert "duckdb" in info.value.expected
