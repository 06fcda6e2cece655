"""SDG 11.1.1 from a SYNTHETIC DHS-like household file (habmon.surveys.synthetic) against R's survey
package: the urban share, by region, by urban/rural and by urban × region, with SEs, design effects
and logit intervals equal to R's (relative 1e-8) under every lonely-PSU rule; "fail" refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest

from habmon.surveys.compute import Computation, compute
from habmon.surveys.design import LonelyPSU
from habmon.surveys.recipe import load_recipe
from habmon.surveys.synthetic import synthetic_dhs, synthetic_labels
from tests.rsurvey import close, read_json, rscript


@pytest.fixture(scope="module")
def r_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    out = tmp_path_factory.mktemp("dhs")
    frame = synthetic_dhs(4000, seed=7, regions=5, lonely=2)
    assert (frame.groupby("hv022")["hv001"].nunique() == 1).sum() == 2  # two strata with a single PSU
    frame.to_csv(out / "synthetic_hr.csv", index=False)
    rscript("dhs_reference.R", str(out / "synthetic_hr.csv"), str(out / "reference.json"))
    return frame, read_json(out / "reference.json")


def _key(groups: dict[str, Any] | list[Any]) -> tuple[tuple[str, str], ...]:
    if isinstance(groups, list):  # R writes an empty list for "no groups"
        return ()
    return tuple(sorted((k, str(v)) for k, v in groups.items()))


def _habmon(frame: Any, rule: LonelyPSU) -> dict[tuple[tuple[str, str], ...], Any]:
    recipe = load_recipe("11.1.1")
    found: dict[tuple[tuple[str, str], ...], Any] = {}
    for by in ((), ("region",), ("urban",), ("urban", "region")):
        c: Computation = compute(
            frame, recipe, by=by, lonely_psu=rule, labels=synthetic_labels(), file="synthetic_hr.csv"
        )
        assert c.ok, c.report
        for row in c.rows:
            found.setdefault(_key(dict(row.groups)), row)
    return found


@pytest.mark.parametrize("rule", [LonelyPSU.REMOVE, LonelyPSU.ADJUST, LonelyPSU.AVERAGE])
def test_slum_share_equals_r(r_results: tuple[Any, Any], rule: LonelyPSU) -> None:
    frame, reference = r_results
    expected = reference[str(rule)]
    assert isinstance(expected, list) and len(expected) == 1 + 5 + 2 + 10
    found = _habmon(frame, rule)
    for r in expected:
        row = found[_key(r["groups"])]
        assert row.n == r["n"] and row.df == r["df"], r
        for name in ("value", "se", "deff", "ci_low", "ci_high"):
            if r[name] is None:  # R's NA/NaN: "average" in a domain whose strata are all lonely
                assert math.isnan(getattr(row, name)), (rule, r["groups"], name)
                continue
            assert close(getattr(row, name), r[name]), (rule, r["groups"], name, getattr(row, name), r[name])
    # the whole 11.1.1 row is the urban domain: the same as the urban group of "by urban"
    assert close(found[()].value, found[(("urban", "1"),)].value)


def test_rules_change_only_where_the_lonely_strata_are(r_results: tuple[Any, Any]) -> None:
    _, reference = r_results
    se = {rule: {_key(r["groups"]): r["se"] for r in reference[str(rule)]} for rule in ("remove", "adjust", "average")}
    lonely_region = (("region", "5"),)  # synthetic_dhs gives the last region's two strata one PSU each
    assert se["remove"][lonely_region] == 0.0 < se["adjust"][lonely_region]
    assert se["remove"][(("region", "1"),)] == se["adjust"][(("region", "1"),)]


def test_fail_rule_is_a_problem_as_in_r(r_results: tuple[Any, Any]) -> None:
    frame, reference = r_results
    assert "has only one PSU" in reference["fail"]
    c = compute(frame, load_recipe("11.1.1"), by=("region",), labels=synthetic_labels(), file="synthetic_hr.csv")
    assert not c.ok and not c.rows
    (problem,) = c.report.problems
    assert problem.type == "survey-lonely-psu" and problem.column == "hv022" and problem.file == "synthetic_hr.csv"
    assert "strata 9, 10" in problem.found
