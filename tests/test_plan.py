"""The plan as data: the shipped plan, validation that lists every error, versions and diff."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from habmon.ingest.files import check_plan_file, default_plan_file, load_plan
from habmon.plan.diff import ChangeKind, diff_plans
from habmon.plan.model import MeansKind, Plan
from habmon.plan.validate import parse_plan, validate_plan
from habmon.problems import InvalidDocument
from tests.plan_fixture import minimal_plan


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan()


def test_shipped_plan_has_the_structure_of_the_seed(plan: Plan) -> None:
    assert plan.plan.period_start == 2026 and plan.plan.period_end == 2029
    assert [a.id for a in plan.impact_areas] == ["IA-A", "IA-B", "IA-C"]
    assert [m.id for m in plan.means_of_implementation] == ["MI-A", "MI-B", "MI-C", "MI-D", "MI-E"]
    kinds = [m.kind for m in plan.means_of_implementation]
    assert kinds.count(MeansKind.SUBSTANTIVE) == 2 and kinds.count(MeansKind.ENABLING) == 3
    assert [m.outcome.id for m in plan.means_of_implementation] == ["OC-A", "OC-B", "OC-C", "OC-D", "OC-E"]
    assert {r.level for r in plan.results_levels} == {"impact", "outcome", "output"}
    assert [c.id for c in plan.indicator_selection_criteria] == list("abcdef")


def test_shipped_plan_cites_the_outcome_paragraphs(plan: Plan) -> None:
    outcome_paragraphs = [m.outcome.paragraphs for m in plan.means_of_implementation]
    for paragraphs, expected in zip(outcome_paragraphs, [55, 61, 66, 72, 79], strict=True):
        assert expected in paragraphs
    assert 54 in plan.leave_no_one_behind[0].paragraphs
    assert set(plan.strategic_focus.paragraphs) >= {2, 27}


def test_shipped_plan_chinese_is_the_seeds_own_words(plan: Plan) -> None:
    assert "适当住房、土地和基本服务" in plan.strategic_focus.statement.zh
    outcome_e = plan.means_of_implementation[4].outcome.statement.zh
    assert "可预测的资源" in outcome_e
    slum = next(f for f in plan.global_challenges if f.value == pytest.approx(24.8))
    assert 32 in slum.paragraphs


def test_shipped_plan_groups_and_housing_aspects(plan: Plan) -> None:
    ids = {g.id for g in plan.leave_no_one_behind}
    assert {
        "women-girls",
        "persons-with-disabilities",
        "refugees",
        "internally-displaced-persons",
        "migrants",
        "indigenous-peoples-local-communities",
    } <= ids
    assert len(plan.adequate_housing_aspects) == 7


def test_outputs_link_to_outcomes_and_are_marked_proposed(plan: Plan) -> None:
    outcomes = {o.id for o in plan.outcomes}
    assert plan.outputs
    assert all(o.outcome in outcomes and o.status == "proposed" for o in plan.outputs)
    assert {o.outcome for o in plan.outputs} == outcomes


def test_minimal_plan_is_valid() -> None:
    plan, report = validate_plan(minimal_plan())
    assert plan is not None and report.valid


def test_broken_plan_lists_every_error_with_its_path() -> None:
    doc = minimal_plan()
    del doc["means_of_implementation"][3]["outcome"]["statement"]["en"]
    doc["means_of_implementation"][1]["kind"] = "essential"
    doc["impact_areas"][2]["paragraphs"] = ["many"]
    doc["strategic_focus"]["colour"] = "blue"
    _, report = validate_plan(doc, file="broken.yaml")
    where = {(p.path, p.type) for p in report}
    assert where == {
        ("means_of_implementation[3].outcome.statement.en", "missing"),
        ("means_of_implementation[1].kind", "value"),
        ("impact_areas[2].paragraphs[0]", "type"),
        ("strategic_focus.colour", "unknown-field"),
    }
    kind = next(p for p in report if p.path == "means_of_implementation[1].kind")
    assert "substantive" in kind.expected and kind.found == "'essential'"
    assert all(p.file == "broken.yaml" for p in report)


def test_meaning_errors_are_all_reported_together() -> None:
    doc = minimal_plan()
    doc["impact_areas"][1]["id"] = "IA-A"
    doc["global_impact"]["paragraphs"] = [4, 250]
    doc["output_sets"][0]["outputs"][0]["outcome"] = "OC-Z"
    doc["output_sets"][0]["year"] = 2031
    _, report = validate_plan(doc, file="plan.yaml")
    assert {(p.path, p.type) for p in report} == {
        ("impact_areas[1].id", "duplicate-id"),
        ("global_impact.paragraphs[1]", "paragraph-range"),
        ("output_sets[0].outputs[0].outcome", "unknown-reference"),
        ("output_sets[0].year", "period"),
    }
    with pytest.raises(InvalidDocument) as info:
        parse_plan(doc, file="plan.yaml")
    assert len(info.value.report.errors) == 4


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("plan:\n  id: x\n  title: [unclosed\n", encoding="utf-8")
    plan, report = check_plan_file(path)
    assert plan is None
    (problem,) = report.problems
    assert problem.type == "syntax" and problem.file == str(path) and problem.row is not None


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("plan:\n  id: a\n  id: b\n", encoding="utf-8")
    _, report = check_plan_file(path)
    assert report.problems[0].type == "syntax" and "duplicate key" in report.problems[0].found


def test_diff_reports_changes_by_element_id_not_position() -> None:
    old = parse_plan(minimal_plan())
    changed = minimal_plan()
    changed["means_of_implementation"][2]["outcome"]["statement"]["en"] = "a sharper outcome"
    changed["means_of_implementation"].reverse()  # order alone is not a change
    changed["leave_no_one_behind"].append(
        {"id": "migrants", "name": {"zh": "移民", "en": "Migrants"}, "paragraphs": [54]}
    )
    changes = diff_plans(old, parse_plan(changed))
    assert [(c.kind, c.path) for c in changes] == [
        (ChangeKind.ADDED, "leave_no_one_behind[migrants]"),
        (ChangeKind.CHANGED, "means_of_implementation[MI-C].outcome.statement.en"),
    ]
    assert changes[1].old == "outcome C" and changes[1].new == "a sharper outcome"


def test_diff_of_identical_plans_is_empty() -> None:
    plan = parse_plan(minimal_plan())
    assert diff_plans(plan, parse_plan(copy.deepcopy(minimal_plan()))) == []


def test_shipped_file_round_trips_through_yaml() -> None:
    data = yaml.safe_load(default_plan_file().read_text(encoding="utf-8"))
    assert parse_plan(data).model_dump(mode="json") == load_plan().model_dump(mode="json")
