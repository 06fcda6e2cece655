"""Disaggregated aggregates and leave no one behind, on synthetic recorded data with hand-computed answers.

The shipped real data carry no disaggregations; these values are made up for the tests and recorded into a
fresh store (both store backends), never into the shipped set.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.engine.aggregate import Level
from habmon.engine.parts import aggregate_disaggregations, lnob
from habmon.indicators.model import Direction
from habmon.methods.lnob import check_parts, gaps, recombine
from habmon.observation import Nature, Observation
from habmon.services import Monitor

runner = CliRunner()
KEN, UGA = "404", "800"  # both in Eastern Africa (014)


# -- pure ----------------------------------------------------------------------------------


def test_gaps_trend_and_direction() -> None:
    frame = pd.DataFrame(
        [
            ("sex", "F", 2018, 44.0, 40.0),
            ("sex", "F", 2022, 37.0, 35.0),
            ("sex", "M", 2018, 36.0, 40.0),
            ("sex", "M", 2022, 33.0, 35.0),
            ("age", "Y15T24", 2020, 30.0, None),  # no total that year: not usable
            ("age", "Y15T24", 2022, 30.0, 0.0),
        ],
        columns=["dimension", "group", "period", "value", "total"],
    )
    found = {(g.dimension, g.group): g for g in gaps(frame, Direction.DECREASE)}
    female = found[("sex", "F")]
    assert (female.year, female.value, female.total, female.gap) == (2022, 37.0, 35.0, 2.0)
    assert female.ratio == pytest.approx(37 / 35) and (female.first_year, female.first_gap) == (2018, 4.0)
    assert female.gap_change_per_year == pytest.approx((2 - 4) / 4) and female.behind and female.narrowing
    male = found[("sex", "M")]
    assert male.gap == -2.0 and not male.behind and male.gap_change_per_year == pytest.approx(0.5)
    youth = found[("age", "Y15T24")]
    assert youth.ratio is None and youth.gap_change_per_year is None and youth.narrowing is None
    # an indicator where an increase is wanted: below the total is behind
    assert not gaps(frame, Direction.INCREASE)[1].behind and gaps(frame, Direction.INCREASE)[2].behind


def test_parts_with_known_weights_must_recombine_to_the_total() -> None:
    parts = pd.DataFrame(
        [
            ("A", 2022, "sex", "F", 37.0, 600.0),
            ("A", 2022, "sex", "M", 33.0, 600.0),
            ("B", 2022, "sex", "F", 50.0, 300.0),
            ("B", 2022, "sex", "M", 45.0, 300.0),
            ("C", 2022, "sex", "F", 10.0, None),  # weight unknown: not checked
            ("C", 2022, "sex", "M", 90.0, 100.0),
            ("D", 2022, "sex", "F", 10.0, 100.0),  # parts weigh 100 of 400: not the whole population
        ],
        columns=["geo", "period", "dimension", "group", "value", "weight"],
    )
    totals = pd.DataFrame(
        [("A", 2022, 35.0, 1200.0), ("B", 2022, 46.0, 600.0), ("C", 2022, 50.0, 200.0), ("D", 2022, 9.0, 400.0)],
        columns=["geo", "period", "value", "weight"],
    )
    checked = check_parts(parts, totals).set_index("geo")
    assert sorted(checked.index) == ["A", "B"]
    assert checked.loc["A", "implied"] == pytest.approx(35.0) and bool(checked.loc["A", "consistent"])
    assert checked.loc["B", "implied"] == pytest.approx(47.5) and not bool(checked.loc["B", "consistent"])
    (both,) = recombine(checked.reset_index(), ["A", "B"])
    assert both.implied == pytest.approx((600 * 37 + 600 * 33 + 300 * 50 + 300 * 45) / 1800)  # 39.17
    assert both.total == pytest.approx((1200 * 35 + 600 * 46) / 1800)  # 38.67
    assert (both.members, both.consistent) == (2, False)
    (alone,) = recombine(checked.reset_index(), ["A"])
    assert alone.consistent


# -- recorded synthetic data ---------------------------------------------------------------

SHARES = {  # geo → year → {group: value}; '' is the total
    KEN: {2018: {"": 40.0, "F": 44.0, "M": 36.0, "PD": 41.0}, 2022: {"": 35.0, "F": 37.0, "M": 33.0, "PD": 45.0}},
    UGA: {2018: {"": 50.0, "F": 52.0, "M": 48.0}, 2022: {"": 46.0, "F": 50.0, "M": 45.0}},  # 2022: F, M give 47.5
}
URBAN = {  # geo → year → (total, female, male); 2020 totals only
    KEN: {2018: (1000.0, 500.0, 500.0), 2020: (1100.0, None, None), 2022: (1200.0, 600.0, 600.0)},
    UGA: {2018: (500.0, 250.0, 250.0), 2020: (550.0, None, None), 2022: (600.0, 300.0, 300.0)},
}
DIMENSION = {"F": "sex", "M": "sex", "PD": "disability_status"}


def observations() -> list[Observation]:
    out: list[Observation] = []
    for geo, years in SHARES.items():
        for year, values in years.items():
            for group, value in values.items():
                parts = {DIMENSION[group]: group} if group else {}
                out.append(Observation("11.1.1", geo, year, value, "percent", Nature.C, "synthetic", parts))
    for geo, urban in URBAN.items():
        for year, (total, female, male) in urban.items():
            out.append(Observation("POP.URBAN", geo, year, total, "persons", Nature.E, "synthetic"))
            for sex, weight in (("F", female), ("M", male)):
                if weight is not None:
                    out.append(
                        Observation("POP.URBAN", geo, year, weight, "persons", Nature.E, "synthetic", {"sex": sex})
                    )
    return out


@pytest.fixture
def recorded(monitor: Monitor) -> Monitor:
    monitor.record(observations(), kind="shipped", name="synthetic disaggregated test data")
    return monitor


def test_aggregation_keeps_disaggregations_and_reports_inconsistent_parts(recorded: Monitor) -> None:
    parts, report = aggregate_disaggregations(recorded, "11.1.1", 2022, Level.SUBREGION)
    east = {p.key: p for p in parts if p.aggregate.code == "014"}
    assert set(east) == {"sex=F", "sex=M", "disability_status=PD"}
    assert dict(east["sex=F"].disaggregation) == {"sex": "F"}
    # each part with the total's weights (urban population 1200, 600)
    assert east["sex=F"].aggregate.value == pytest.approx((1200 * 37 + 600 * 50) / 1800)  # 41.33
    assert east["sex=M"].aggregate.value == pytest.approx((1200 * 33 + 600 * 45) / 1800)  # 37.0
    assert east["sex=F"].total_same_members == pytest.approx((1200 * 35 + 600 * 46) / 1800)  # 38.67
    disability = east["disability_status=PD"]
    assert disability.aggregate.value == pytest.approx(45.0) and disability.total_same_members == pytest.approx(35.0)
    assert disability.aggregate.coverage == pytest.approx(1200 / 1800) and disability.aggregate.units_reported == 1

    problems = [(p.type, p.path) for p in report]
    assert problems == [("totals", "11.1.1 / 800 / 2022 / sex"), ("totals", "11.1.1 / 014 / 2022 / sex")]
    member, aggregate = report.problems
    assert "47.5" in member.found and "46" in member.expected
    assert "39.17" in aggregate.found and "38.67" in aggregate.expected and "2 members" in aggregate.expected

    consistent, clean = aggregate_disaggregations(recorded, "11.1.1", 2018, Level.SUBREGION)
    assert len(clean) == 0 and consistent


def test_parts_use_the_same_gap_rule_as_the_total(recorded: Monitor) -> None:
    # 2020 has no values: every part is taken from 2018 (the earlier year on a tie with 2022), 2020 weights
    parts, _ = aggregate_disaggregations(recorded, "11.1.1", 2020, Level.SUBREGION)
    female = next(p for p in parts if p.aggregate.code == "014" and p.key == "sex=F")
    assert female.aggregate.value == pytest.approx((1100 * 44 + 550 * 52) / 1650)  # 46.67
    assert female.aggregate.imputed_units == 2
    assert female.total_same_members == pytest.approx((1100 * 40 + 550 * 50) / 1650)  # 43.33


def test_leave_no_one_behind_for_a_country(recorded: Monitor) -> None:
    view = lnob(recorded, "11.1.1", "KEN")
    assert (view.geo, view.is_aggregate, len(view.report)) == (KEN, False, 0)
    found = {(g.dimension, g.group): g for g in view.gaps}
    female, disability = found[("sex", "F")], found[("disability_status", "PD")]
    assert (female.year, female.gap, female.first_gap, female.behind, female.narrowing) == (2022, 2.0, 4.0, True, True)
    assert female.gap_change_per_year == pytest.approx(-0.5)
    assert (disability.gap, disability.first_gap, disability.narrowing) == (10.0, 1.0, False)
    assert disability.gap_change_per_year == pytest.approx((10 - 1) / 4)
    data = view.to_dict()
    row = next(g for g in data["groups"] if g["group"] == "F")
    assert (row["dimension_name"], row["group_name"], row["plan_groups"]) == ("Sex", "Female", ["women-girls"])

    uganda = lnob(recorded, "11.1.1", "UGA")
    assert [p.path for p in uganda.report] == ["11.1.1 / 800 / 2022 / sex"]


def test_leave_no_one_behind_for_an_aggregate(recorded: Monitor) -> None:
    view = lnob(recorded, "11.1.1", "014")
    assert view.is_aggregate
    found = {(g.dimension, g.group): g for g in view.gaps}
    female = found[("sex", "F")]
    gap_2018 = (1000 * 44 + 500 * 52) / 1500 - (1000 * 40 + 500 * 50) / 1500  # 46.67 − 43.33
    gap_2022 = (1200 * 37 + 600 * 50) / 1800 - (1200 * 35 + 600 * 46) / 1800  # 41.33 − 38.67
    assert female.gap == pytest.approx(gap_2022) and female.first_gap == pytest.approx(gap_2018)
    assert female.gap_change_per_year == pytest.approx((gap_2022 - gap_2018) / 4) and female.narrowing
    assert female.coverage == pytest.approx(1.0) and female.units == 2
    disability = found[("disability_status", "PD")]  # only Kenya reports it: compared with Kenya's total
    assert (disability.value, disability.total, disability.units) == (45.0, 35.0, 1)
    assert disability.coverage == pytest.approx(1200 / 1800)
    assert [p.path for p in view.report] == ["11.1.1 / 800 / 2022 / sex", "11.1.1 / 014 / 2022 / sex"]


def test_lnob_and_aggregate_commands(recorded: Monitor) -> None:
    base = ["--database", recorded.store.url]
    result = runner.invoke(app, [*base, "lnob", "--indicator", "11.1.1", "--geo", "014", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["aggregate"] is True and data["problems"]["errors"] == 2
    assert {(g["dimension"], g["group"]) for g in data["groups"]} == {
        ("sex", "F"),
        ("sex", "M"),
        ("disability_status", "PD"),
    }
    text = runner.invoke(app, [*base, "lnob", "--indicator", "11.1.1", "--geo", "KEN"])
    assert text.exit_code == 0 and "Sex: Female" in text.output and "behind" in text.output

    args = [*base, "aggregate", "--indicator", "11.1.1", "--year", "2022", "--level", "subregion"]
    result = runner.invoke(app, [*args, "--disaggregations", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {r["geo"] for r in data["aggregates"] if r["value"] is not None} == {"014"}
    female = next(r for r in data["disaggregations"] if r["disaggregation"] == {"sex": "F"})
    assert female["value"] == pytest.approx(41.333, abs=0.001) and data["problems"]["errors"] == 2
    plain = runner.invoke(app, [*args, "--json"])
    assert isinstance(json.loads(plain.output), list)  # without the option the output keeps its shape
