"""Validation of a plan document: structure (schema) and meaning (cross-references).

Pure functions over parsed data; reading the file is the caller's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from habmon.plan.model import Plan
from habmon.problems import InvalidDocument, Problem, Report
from habmon.schema import Cited, duplicate_ids, validate_document


def _cited(plan: Plan) -> Iterator[tuple[str, Cited]]:
    yield "strategic_focus", plan.strategic_focus
    yield "global_impact", plan.global_impact
    for i, area in enumerate(plan.impact_areas):
        yield f"impact_areas[{i}]", area
    for i, means in enumerate(plan.means_of_implementation):
        yield f"means_of_implementation[{i}]", means
        yield f"means_of_implementation[{i}].outcome", means.outcome
        yield f"means_of_implementation[{i}].accountable_office", means.accountable_office
    for i, level in enumerate(plan.results_levels):
        yield f"results_levels[{i}]", level
    for i, output_set in enumerate(plan.output_sets):
        for j, output in enumerate(output_set.outputs):
            yield f"output_sets[{i}].outputs[{j}]", output
    for i, group in enumerate(plan.leave_no_one_behind):
        yield f"leave_no_one_behind[{i}]", group
    for i, figure in enumerate(plan.global_challenges):
        yield f"global_challenges[{i}]", figure
    for i, criterion in enumerate(plan.indicator_selection_criteria):
        yield f"indicator_selection_criteria[{i}]", criterion
    for i, consideration in enumerate(plan.monitoring_considerations):
        yield f"monitoring_considerations[{i}]", consideration


def check_paragraphs(plan: Plan) -> Iterator[Problem]:
    last = plan.plan.paragraph_count
    for path, element in _cited(plan):
        for k, number in enumerate(element.paragraphs):
            if number > last:
                yield Problem(
                    "paragraph-range",
                    expected=f"a paragraph from 1 to {last}",
                    found=str(number),
                    path=f"{path}.paragraphs[{k}]",
                )


def check_ids(plan: Plan) -> Iterator[Problem]:
    pairs: list[tuple[str, str]] = [
        ("strategic_focus.id", plan.strategic_focus.id),
        ("global_impact.id", plan.global_impact.id),
    ]
    pairs += [(f"impact_areas[{i}].id", a.id) for i, a in enumerate(plan.impact_areas)]
    for i, m in enumerate(plan.means_of_implementation):
        pairs.append((f"means_of_implementation[{i}].id", m.id))
        pairs.append((f"means_of_implementation[{i}].outcome.id", m.outcome.id))
    for i, s in enumerate(plan.output_sets):
        pairs += [(f"output_sets[{i}].outputs[{j}].id", o.id) for j, o in enumerate(s.outputs)]
    yield from duplicate_ids(pairs)
    yield from duplicate_ids((f"leave_no_one_behind[{i}].id", g.id) for i, g in enumerate(plan.leave_no_one_behind))
    yield from duplicate_ids(
        (f"adequate_housing_aspects[{i}].id", a.id) for i, a in enumerate(plan.adequate_housing_aspects)
    )
    yield from duplicate_ids((f"global_challenges[{i}].id", f.id) for i, f in enumerate(plan.global_challenges))
    yield from duplicate_ids(
        (f"indicator_selection_criteria[{i}].id", c.id) for i, c in enumerate(plan.indicator_selection_criteria)
    )
    yield from duplicate_ids((f"results_levels[{i}].level", r.level) for i, r in enumerate(plan.results_levels))


def check_outputs(plan: Plan) -> Iterator[Problem]:
    outcomes = {o.id for o in plan.outcomes}
    years = range(plan.plan.period_start, plan.plan.period_end + 1)
    for i, output_set in enumerate(plan.output_sets):
        if output_set.year not in years:
            yield Problem(
                "period",
                expected=f"{years.start}–{years.stop - 1}",
                found=str(output_set.year),
                path=f"output_sets[{i}].year",
            )
        for j, output in enumerate(output_set.outputs):
            if output.outcome not in outcomes:
                yield Problem(
                    "unknown-reference",
                    expected=f"an outcome id ({', '.join(sorted(outcomes))})",
                    found=output.outcome,
                    path=f"output_sets[{i}].outputs[{j}].outcome",
                )


def check_period(plan: Plan) -> Iterator[Problem]:
    if plan.plan.period_start > plan.plan.period_end:
        yield Problem(
            "inconsistent",
            expected=f"period_start ≤ period_end ({plan.plan.period_end})",
            found=str(plan.plan.period_start),
            path="plan.period_start",
        )


PLAN_CHECKS = (check_period, check_ids, check_paragraphs, check_outputs)


def validate_plan(data: Any, *, file: str | None = None) -> tuple[Plan | None, Report]:
    """Validate parsed plan data; returns the plan (None if unusable) and the full report."""
    plan, problems = validate_document(Plan, data, file=file, checks=PLAN_CHECKS)
    report = Report.of(problems)
    return (plan if report.valid else None), report


def parse_plan(data: Any, *, file: str | None = None) -> Plan:
    """Validate and return the plan, or raise :class:`InvalidDocument` listing every error."""
    plan, report = validate_plan(data, file=file)
    if plan is None:
        raise InvalidDocument(file or "plan", report)
    return plan
