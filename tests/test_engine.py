"""The engine on the shipped data: the plan's world slum figure reproduced from country values."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.engine.aggregate import Level
from habmon.engine.backends import EngineUnavailable, connect
from habmon.engine.data import IndicatorData
from habmon.engine.progress import progress_of
from habmon.engine.run import aggregate_frame, panel_of, snapshot_totals
from habmon.engine.service import aggregate_indicator
from habmon.geo.model import UnitKind
from habmon.indicators.model import GapFilling
from habmon.methods.progress import Method, Point, Status
from habmon.services import Monitor

runner = CliRunner()


def test_world_slum_share_2022_reproduces_the_plan(demo: Monitor) -> None:
    _, (world,) = aggregate_indicator(demo, "11.1.1", 2022, Level.WORLD)
    assert world.code == "001"
    assert world.value == pytest.approx(24.8, abs=0.1)  # para 32: 24.8 % of the urban population in 2022
    assert world.people == pytest.approx(1.12e9, rel=0.01)  # para 32: 1.12 billion people
    assert world.coverage == pytest.approx(0.983, abs=0.001)  # urban population of reporting countries / all
    assert (world.units_reported, world.imputed_units, world.published) == (197, 1, True)  # 1 from 2020 (±2 years)


def test_engine_agrees_with_a_plain_pandas_computation(demo: Monitor) -> None:
    stored = demo.store.current_frame(["11.1.1", "POP.URBAN"], public=True)
    stored = stored[stored["disaggregation_key"] == ""]
    urban = stored[(stored["series"] == "POP.URBAN") & (stored["period"] == 2022)].set_index("geo")["value"]
    slum = stored[stored["series"] == "11.1.1"]
    shares = {}  # 2022, else the nearest year within 2 (the earlier on a tie), written out plainly
    for geo, rows in slum.groupby("geo"):
        by_year = dict(zip(rows["period"], rows["value"], strict=True))
        for year in (2022, 2021, 2023, 2020, 2024):
            if year in by_year:
                shares[geo] = by_year[year]
                break
    shares = pd.Series(shares)
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
    assert africa["value"] > 40 and africa["gap_filling"] == "nearest (±2 years)" and 0 < africa["coverage"] <= 1


def test_unknown_engine_says_what_is_available() -> None:
    with pytest.raises(EngineUnavailable) as info:
        connect("excel")
    assert "duckdb" in info.value.expected


def test_progress_of_a_country_series_without_target(demo: Monitor) -> None:
    report = progress_of(demo, "11.1.1", "KEN")
    result, series = report.progress, report.series
    assert (result.baseline, result.latest) == (Point(2016, 50.81), Point(2022, 40.5))
    assert result.cagr == pytest.approx((40.5 / 50.81) ** (1 / 6) - 1)  # −3.7 %/year, decrease wanted
    assert result.status == Status.ON_TRACK and result.target is None
    assert series[0] == (2000, 63.18) and report.like_for_like is None


def _panel_by_hand(demo: Monitor, baseline: int, latest: int) -> tuple[int, float, float, float]:
    """The like-for-like world panel written out plainly: countries with a value (own, else the nearest year
    within 2, the earlier on a tie) at both years; each year weighted by its own urban population."""
    stored = demo.store.current_frame(["11.1.1", "POP.URBAN"], public=True)
    stored = stored[stored["disaggregation_key"] == ""]
    countries = {c.code for c in demo.geography().of_kind(UnitKind.COUNTRY, at=date(latest, 12, 31))}
    slum = stored[(stored["series"] == "11.1.1") & stored["geo"].isin(countries)]

    def share(year: int) -> dict[str, float]:
        found = {}
        for geo, rows in slum.groupby("geo"):
            by_year = dict(zip(rows["period"], rows["value"], strict=True))
            for candidate in (year, year - 1, year + 1, year - 2, year + 2):
                if candidate in by_year:
                    found[geo] = float(by_year[candidate])
                    break
        return found

    def urban(year: int) -> pd.Series:
        at = stored[(stored["series"] == "POP.URBAN") & (stored["period"] == year)].set_index("geo")["value"]
        return at[at.index.isin(countries)]

    start, end = share(baseline), share(latest)
    panel = sorted(set(start) & set(end))
    # a member without an urban population (a few small territories) counts in the panel but weighs nothing
    w_start, w_end = urban(baseline).reindex(panel).fillna(0), urban(latest).reindex(panel).fillna(0)
    value_start = sum(start[g] * w_start[g] for g in panel) / w_start.sum()
    value_end = sum(end[g] * w_end[g] for g in panel) / w_end.sum()
    return len(panel), value_start, value_end, float(w_end.sum() / urban(latest).sum())


def test_world_progress_compares_like_with_like_and_is_a_regression(demo: Monitor) -> None:
    # The 2016 world aggregate covers 73 % of the urban population, 2022 98 %: the constant panel from 2016 covers
    # only 72 % of 2022 (China and Japan have values only in 2022), so the baseline moves to 2020 (98.3 %) and the
    # world moves away from the plan's 2029 target of 23.9 %: regression, as the plan says (para 32)
    report = progress_of(demo, "11.1.1", "001")
    lff, result = report.like_for_like, report.progress
    assert lff is not None and lff.panel is not None
    assert (lff.requested_baseline, lff.baseline_year, lff.latest_year) == (2015, 2020, 2022)
    units, start, end, _ = _panel_by_hand(demo, 2020, 2022)
    assert (lff.panel.units, len(lff.members)) == (units, units) == (197, 197)
    assert lff.panel.value_baseline == pytest.approx(start, rel=1e-9) == pytest.approx(24.698, abs=0.001)
    assert lff.panel.value_latest == pytest.approx(end, rel=1e-9) == pytest.approx(24.784, abs=0.001)
    assert result.baseline is not None and result.baseline.year == 2020 and result.target == Point(2029, 23.9)
    assert result.baseline.value == lff.panel.value_baseline  # progress uses the panel's value, not the aggregate's
    assert result.status == Status.REGRESSION and result.score is not None and result.score < 0

    rejected = {p.year: p for p in lff.rejected}
    assert sorted(rejected) == [2016, 2018, 2019]  # every year with data from 2015 before 2020, with its coverage
    units, start, end, coverage = _panel_by_hand(demo, 2016, 2022)
    assert (rejected[2016].units, units) == (173, 173)
    assert rejected[2016].value_baseline == pytest.approx(start, rel=1e-9) == pytest.approx(25.90, abs=0.01)
    assert rejected[2016].value_latest == pytest.approx(end, rel=1e-9) == pytest.approx(25.78, abs=0.01)
    assert rejected[2016].coverage_latest == pytest.approx(coverage, rel=1e-9) == pytest.approx(0.72, abs=0.005)
    assert "baseline 2020 (requested 2015)" in lff.reason and "2016: 173 units, 71.6%" in lff.reason

    explicit = progress_of(demo, "11.1.1", "001", baseline_year=2020, method=Method.STATCAN)
    assert explicit.like_for_like is not None and explicit.like_for_like.rejected == ()
    assert explicit.progress.status == Status.DETERIORATION

    # the plan's yearly targets on the same trend (CAGR 2020→2022 carried on): 2026's 24.8 is above 2022's 24.78,
    # but the projection for 2026 (24.96) is not — a decrease is wanted, so 2026 is missed too (issue #18);
    # 2027–2029 (24.5, 24.2, 23.9) are moved away from
    rate = (lff.panel.value_latest / lff.panel.value_baseline) ** (1 / 2) - 1
    steps = [(m.target.year if m.target else None, m.status, m.projected) for m in report.milestones]
    assert [(year, status) for year, status, _ in steps] == [
        (2026, Status.REGRESSION), (2027, Status.REGRESSION), (2028, Status.REGRESSION), (2029, Status.REGRESSION)
    ]  # fmt: skip
    for year, _, projected in steps:
        assert projected == pytest.approx(lff.panel.value_latest * (1 + rate) ** (year - 2022), rel=1e-12)
    assert steps[0][2] == pytest.approx(24.955, abs=0.001)
    assert report.milestones[-1] == result  # the last yearly target is the one progress is judged against
    assert [m.status for m in explicit.milestones] == [Status.DETERIORATION] * 4


def test_progress_command_shows_the_baseline_requested_and_used(demo: Monitor) -> None:
    args = ["--database", demo.store.url, "progress", "--indicator", "11.1.1", "--geo", "001"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    lff = data["like_for_like"]
    assert (data["status"], lff["requested_baseline"], lff["baseline_used"]) == ("regression", 2015, 2020)
    assert [r["year"] for r in lff["rejected"]] == [2016, 2018, 2019] and lff["panel"]["units"] == 197
    assert data["series"][-1]["year"] == 2022 and data["series"][-1]["coverage"] == pytest.approx(0.983, abs=0.001)
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "requested 2015, used 2020" in text.output and "rejected" in text.output


def test_a_regional_mean_on_the_real_geography_is_the_same_in_the_panel_and_the_service(demo: Monitor) -> None:
    """11.1.1 as if its registry said ``gap_filling: regional_mean``: a country without a value (own or within
    two years) takes its SDG sub-region's urban-population-weighted mean — in the monitoring run's panel and
    in ``habmon aggregate`` alike; the coverage stays that of the reporting countries."""
    shipped = demo.registry().get("11.1.1")
    rule = shipped.aggregation.model_copy(update={"gap_filling": GapFilling.REGIONAL_MEAN})
    regional = shipped.model_copy(update={"aggregation": rule})
    backend = connect("duckdb")
    data = replace(IndicatorData.load(demo, "11.1.1"), indicator=regional)
    (nearest,) = IndicatorData.load(demo, "11.1.1").aggregate(2022, Level.WORLD, backend)
    (world,) = data.aggregate(2022, Level.WORLD, backend)
    assert (world.units_reported, world.coverage) == (nearest.units_reported, nearest.coverage)  # 197, 98.3 %
    assert world.imputed_units > nearest.imputed_units and world.value != pytest.approx(nearest.value, abs=1e-6)
    assert world.gap_filling == "nearest (±2 years), then sub-region mean"
    # every estimated country is in a sub-region with a reporter: the world's people are the sub-regions' sums
    subregions = data.aggregate(2022, Level.SUBREGION, backend)
    assert world.people == pytest.approx(sum(s.people for s in subregions if s.people is not None), rel=1e-9)

    panel = panel_of(demo, [regional], snapshot_totals(demo, [regional], as_of=2**31 - 1))
    frame = aggregate_frame(backend, panel)
    (row,) = frame[(frame["level"] == "world") & (frame["period"] == 2022)].to_dict("records")
    assert row["value"] == pytest.approx(world.value, rel=1e-12)
    assert row["coverage"] == pytest.approx(world.coverage, rel=1e-12)
    assert (row["units_reported"], row["imputed_units"], row["units_total"]) == (
        world.units_reported,
        world.imputed_units,
        world.units_total,
    )
