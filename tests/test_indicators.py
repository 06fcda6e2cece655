"""The indicator registry: shipped indicators, cross-checks against the plan, appraisal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from habmon.indicators.appraisal import appraise
from habmon.indicators.model import Indicator, Rating, Scope
from habmon.indicators.registry import Registry, validate_registry
from habmon.ingest.files import check_registry_dir, default_registry_dir, load_plan, load_registry
from habmon.plan.model import Plan, ResultsLevel
from habmon.plan.validate import parse_plan
from tests.plan_fixture import minimal_plan

REGISTRY = default_registry_dir()


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan()


@pytest.fixture(scope="module")
def registry(plan: Plan) -> Registry:
    return load_registry(plan)


def test_registry_has_at_least_30_indicators_on_all_levels(registry: Registry) -> None:
    assert len(registry.indicators) >= 30
    assert {i.level for i in registry.indicators} == set(ResultsLevel)


def test_every_impact_area_and_outcome_is_measured(registry: Registry, plan: Plan) -> None:
    for area in plan.impact_areas:
        assert registry.measuring(area.id), area.id
    for outcome in plan.outcomes:
        assert registry.measuring(outcome.id), outcome.id


def test_sdg_11_indicators_named_in_the_issue_are_present(registry: Registry) -> None:
    codes = {i.code for i in registry.indicators}
    assert {
        "11.1.1",
        "11.2.1",
        "11.3.1",
        "11.3.2",
        "11.5.1",
        "11.5.2",
        "11.6.1",
        "11.6.2",
        "11.7.1",
        "11.a.1",
        "1.4.2",
        "6.1.1",
        "6.2.1",
        "7.1.1",
    } <= codes
    assert "11.b.1" in codes or "11.b.2" in codes


def test_every_indicator_is_proposed_until_confirmed(registry: Registry) -> None:
    assert {i.status for i in registry.indicators} == {"proposed"}


def test_every_indicator_has_four_yearly_targets_and_an_explained_baseline(registry: Registry) -> None:
    for ind in registry.indicators:
        assert sorted(t.year for t in ind.targets.values) == [2026, 2027, 2028, 2029], ind.code
        assert ind.baseline.value is not None or ind.baseline.note is not None, ind.code
        assert ind.targets.rationale.zh and ind.targets.rationale.en


def test_resource_mobilization_indicators_exist(registry: Registry) -> None:
    outcome_e = registry.measuring("OC-E")
    assert len(outcome_e) >= 2
    assert all(i.scope == Scope.ORGANIZATION for i in outcome_e)


def test_slum_baseline_is_the_plans_figure(registry: Registry) -> None:
    slum = registry.get("11.1.1")
    assert (slum.baseline.value, slum.baseline.year, slum.baseline.geo) == (24.8, 2022, "001")
    assert slum.aggregation.weight == "POP.URBAN"


def _indicator(**changes: Any) -> dict[str, Any]:
    doc = yaml.safe_load((REGISTRY / "11.1.1.yaml").read_text(encoding="utf-8"))
    doc.update(changes)
    return doc


def _codelists() -> Any:
    return yaml.safe_load((REGISTRY / "_codelists.yaml").read_text(encoding="utf-8"))


def test_registry_cross_checks_report_every_problem_in_every_file() -> None:
    plan = parse_plan(minimal_plan())  # knows IA-A … but not the GI/IA ids at outcome level
    good = _indicator(measures=["IA-A"])
    wrong_level = _indicator(code="11.2.1", measures=["OC-A"])
    unknown = _indicator(code="11.3.1", measures=["IA-Z"], disaggregations=["shoe_size"])
    out_of_plan = copy.deepcopy(good)
    out_of_plan["code"] = "11.6.2"
    out_of_plan["targets"]["values"][0]["year"] = 2035
    out_of_plan["targets"]["values"][1]["value"] = 140
    misnamed = _indicator(code="11.7.1", measures=["IA-A"])
    documents = {
        "x/11.1.1.yaml": good,
        "x/11.2.1.yaml": wrong_level,
        "x/11.3.1.yaml": unknown,
        "x/11.6.2.yaml": out_of_plan,
        "x/11.7.2.yaml": misnamed,
    }
    registry, report = validate_registry(documents, _codelists(), plan)
    assert registry is None
    assert {(p.file, p.path, p.type) for p in report} == {
        ("x/11.2.1.yaml", "measures[0]", "inconsistent"),
        ("x/11.3.1.yaml", "measures[0]", "unknown-reference"),
        ("x/11.3.1.yaml", "disaggregations[0]", "code"),
        ("x/11.6.2.yaml", "targets.values[0].year", "period"),
        ("x/11.6.2.yaml", "targets.values[1].value", "value"),
        ("x/11.7.2.yaml", "code", "inconsistent"),
    }


def test_structural_errors_carry_the_path_inside_the_indicator() -> None:
    plan = parse_plan(minimal_plan())
    doc = _indicator(measures=["IA-A"])
    doc["appraisal"]["d"]["rating"] = "excellent"
    doc["aggregation"] = {"method": "weighted_mean"}
    _, report = validate_registry({"r/11.1.1.yaml": doc}, _codelists(), plan)
    paths = {p.path for p in report}
    assert "appraisal.d.rating" in paths
    assert "aggregation" in paths


def test_a_regional_mean_is_refused_for_a_sum_with_the_path_and_why() -> None:
    plan = parse_plan(minimal_plan())
    doc = _indicator(measures=["IA-A"])
    doc["aggregation"] = {"method": "sum", "gap_filling": "regional_mean"}
    _, report = validate_registry({"r/11.1.1.yaml": doc}, _codelists(), plan)
    (problem,) = [p for p in report if p.path == "aggregation"]
    assert "regional_mean needs method weighted_mean, not sum" in problem.message
    doc["aggregation"] = {"method": "weighted_mean", "weight": "POP.URBAN", "gap_filling": "regional_mean"}
    registry, report = validate_registry({"r/11.1.1.yaml": doc}, _codelists(), plan)
    assert registry is not None, [p.message for p in report]
    assert registry.get("11.1.1").aggregation.gap_filling_text() == "nearest (±2 years), then sub-region mean"


def test_registry_dir_with_a_broken_file_names_it(tmp_path: Path, plan: Plan) -> None:
    for path in REGISTRY.glob("*.yaml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "11.6.1.yaml").write_text("code: '11.6.1'\nname: [oops\n", encoding="utf-8")
    registry, report = check_registry_dir(plan, tmp_path)
    assert registry is None
    assert [(Path(p.file or "").name, p.type) for p in report] == [("11.6.1.yaml", "syntax")]


def test_appraisal_flags_weak_indicators() -> None:
    doc = _indicator()
    strong = appraise(Indicator.model_validate(doc))
    assert strong.ratings == (Rating.MET, Rating.MET, Rating.PARTLY, Rating.MET, Rating.MET, Rating.MET)
    assert (strong.score, strong.weak) == (11, False)
    weak_doc = copy.deepcopy(doc)
    weak_doc["appraisal"]["d"]["rating"] = "not_met"
    weak = appraise(Indicator.model_validate(weak_doc))
    assert weak.weak and weak.score == 9 and "criterion (d) not met" in weak.reasons[0]
    partly = copy.deepcopy(doc)
    for c in "abd":
        partly["appraisal"][c]["rating"] = "partly"
    assert appraise(Indicator.model_validate(partly)).weak  # only 3 of 6 met in full


def test_partial_attribution_is_expected_at_impact_level_only() -> None:
    doc = _indicator()
    for c in "ab":
        doc["appraisal"][c]["rating"] = "partly"  # with (c) partly: a, b, c partly; d, e, f met
    impact = appraise(Indicator.model_validate(doc))
    assert not impact.weak and impact.score == 9  # (c) partly counts as met in full at impact level (para 52 a)
    outcome = appraise(Indicator.model_validate({**doc, "level": "outcome", "measures": ["OC-A"]}))
    assert outcome.weak and outcome.score == 9
    assert outcome.reasons == ("only 3 of 6 criteria met in full (at least 4 expected)",)
