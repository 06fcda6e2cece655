"""Plan element pages ``/plan/{id}``: an impact area, means of implementation, outcome or output (and the
strategic focus and global impact) — its text and paragraphs, the indicators that measure it, the accountable
office and the roll-up of the results chain: outputs → outcome → global impact and impact areas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path, Request, Response

from habmon.indicators.registry import Registry
from habmon.plan.model import MeansOfImplementation, Plan
from habmon.problems import NotFound
from habmon.web.app import Site
from habmon.web.figures import RunFigures, figures_of
from habmon.web.pages.common import element_title, indicator_ref, install, plan_elements, run_ref
from habmon.web.render import Page, language, page_route

WORLD = "001"


def _office(means: MeansOfImplementation, lang: str) -> dict[str, Any]:
    office = means.accountable_office
    return {"name": office.name.get(lang), "role": office.role.get(lang), "paragraphs": list(office.paragraphs)}


def _impact(plan: Plan, lang: str) -> list[dict[str, Any]]:
    """The top of the chain: the global impact and the impact areas it is read through."""
    return [element_title(plan, plan.global_impact.id, lang)] + [
        element_title(plan, a.id, lang) for a in plan.impact_areas
    ]


def _outputs_of(plan: Plan, outcome_id: str, lang: str) -> list[dict[str, Any]]:
    return [element_title(plan, o.id, lang) for o in plan.outputs if o.outcome == outcome_id]


def _outcomes(plan: Plan, lang: str) -> list[dict[str, Any]]:
    return [element_title(plan, o.id, lang) for o in plan.outcomes]


# kind → (the elements below it that contribute, the chain above it, its means of implementation if any)
Rollup = Callable[[Plan, Any, str], dict[str, Any]]


def _rollup_output(plan: Plan, output: Any, lang: str) -> dict[str, Any]:
    means = plan.means_for_outcome(output.outcome)
    above = [element_title(plan, output.outcome, lang), element_title(plan, means.id, lang)]
    return {"below": [], "above": above + _impact(plan, lang), "means": means}


def _rollup_outcome(plan: Plan, outcome: Any, lang: str) -> dict[str, Any]:
    means = plan.means_for_outcome(outcome.id)
    return {
        "below": _outputs_of(plan, outcome.id, lang),
        "above": [element_title(plan, means.id, lang), *_impact(plan, lang)],
        "means": means,
    }


def _rollup_means(plan: Plan, means: Any, lang: str) -> dict[str, Any]:
    below = [element_title(plan, means.outcome.id, lang), *_outputs_of(plan, means.outcome.id, lang)]
    return {"below": below, "above": _impact(plan, lang), "means": means}


def _rollup_impact_area(plan: Plan, area: Any, lang: str) -> dict[str, Any]:
    above = [element_title(plan, plan.global_impact.id, lang)]
    return {"below": _outcomes(plan, lang), "above": above, "means": None}


def _rollup_global_impact(plan: Plan, impact: Any, lang: str) -> dict[str, Any]:
    below = [element_title(plan, a.id, lang) for a in plan.impact_areas] + _outcomes(plan, lang)
    return {"below": below, "above": [element_title(plan, plan.strategic_focus.id, lang)], "means": None}


def _rollup_focus(plan: Plan, focus: Any, lang: str) -> dict[str, Any]:
    return {"below": [element_title(plan, plan.global_impact.id, lang)], "above": [], "means": None}


ROLLUPS: dict[str, Rollup] = {
    "output": _rollup_output,
    "outcome": _rollup_outcome,
    "means_of_implementation": _rollup_means,
    "impact_area": _rollup_impact_area,
    "global_impact": _rollup_global_impact,
    "strategic_focus": _rollup_focus,
}


def _texts(element: Any, lang: str) -> dict[str, Any]:
    """The element's own texts: a name and description, or a statement; section, status and year if it has them."""
    texts = {
        field: getattr(element, field).get(lang)
        for field in ("name", "statement", "description")
        if getattr(element, field, None) is not None
    }
    for field, key in (("section", "section"), ("kind", "means_kind"), ("status", "status")):
        if getattr(element, field, None) is not None:
            texts[key] = str(getattr(element, field))
    return texts


def _output_year(plan: Plan, element_id: str) -> int | None:
    """The work-programme year of an output (None for other elements)."""
    return next((s.year for s in plan.output_sets for o in s.outputs if o.id == element_id), None)


def element_data(
    plan: Plan, registry: Registry, figures: RunFigures | None, element_id: str, lang: str
) -> dict[str, Any]:
    elements = plan_elements(plan)
    if element_id not in elements:
        raise NotFound(
            f"no plan element {element_id!r}",
            expected="an element id such as IA-A, MI-B, OC-C or OP-A-2026-1",
            found=element_id,
            hint="the home page links every impact area, means of implementation and outcome",
        )
    kind, element = elements[element_id]
    rollup = ROLLUPS[kind](plan, element, lang)
    means = rollup.pop("means")
    indicators = []
    for indicator in registry.measuring(element_id):
        world = figures.series(indicator.code, WORLD) if figures else []
        latest = world[-1] if world else None
        indicators.append(
            {
                **indicator_ref(indicator, lang),
                "world_latest": None if latest is None else {"year": latest["period"], "value": latest["value"]},
            }
        )
    for item in (*rollup["below"], *rollup["above"]):
        item["indicators"] = len(registry.measuring(item["id"]))
    return {
        "element": {
            "id": element_id,
            "kind": kind,
            **element_title(plan, element_id, lang),
            **_texts(element, lang),
            "paragraphs": list(element.paragraphs),
            "year": _output_year(plan, element_id),
        },
        "accountable_office": None if means is None else {"means": means.id, **_office(means, lang)},
        "rollup": rollup,
        "indicators": indicators,
        "run": run_ref(figures),
    }


def register(site: Site) -> None:
    install(site)
    router = APIRouter()
    figures = figures_of(site)

    @page_route(router, "/plan/{element_id}", name="plan_element")
    def plan_element(request: Request, element_id: str = Path(description="plan element id, e.g. IA-A")) -> Response:
        lang = language(request, site.services.settings)
        data = element_data(site.services.plan(), site.services.registry(), figures.latest(), element_id, lang)
        return site.renderer.respond(request, Page("plan_element.html", data, title=data["element"]["title"]))

    site.app.include_router(router)
