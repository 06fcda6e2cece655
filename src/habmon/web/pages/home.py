"""Home: the plan at a glance — strategic focus, impact areas, means of implementation and their outcomes —
and the headline indicators (impact level, with world figures in the latest monitoring run)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from habmon.indicators.registry import Registry
from habmon.methods.progress import Method
from habmon.plan.model import Plan, ResultsLevel
from habmon.web.app import Site
from habmon.web.charts import sparkline
from habmon.web.figures import RunFigures, figures_of
from habmon.web.pages.common import indicator_ref, install, run_ref
from habmon.web.render import Page, language, page_route

WORLD = "001"


def plan_at_a_glance(plan: Plan, lang: str) -> dict[str, Any]:
    return {
        "plan": {
            "id": plan.plan.id,
            "version": plan.plan.version,
            "title": plan.plan.title.get(lang),
            "period": [plan.plan.period_start, plan.plan.period_end],
        },
        "strategic_focus": {
            "id": plan.strategic_focus.id,
            "statement": plan.strategic_focus.statement.get(lang),
            "paragraphs": list(plan.strategic_focus.paragraphs),
        },
        "global_impact": {
            "id": plan.global_impact.id,
            "statement": plan.global_impact.statement.get(lang),
            "paragraphs": list(plan.global_impact.paragraphs),
        },
        "impact_areas": [
            {"id": a.id, "name": a.name.get(lang), "paragraphs": list(a.paragraphs)} for a in plan.impact_areas
        ],
        "means_of_implementation": [
            {
                "id": m.id,
                "kind": str(m.kind),
                "name": m.name.get(lang),
                "paragraphs": list(m.paragraphs),
                "outcome": {"id": m.outcome.id, "statement": m.outcome.statement.get(lang)},
            }
            for m in plan.means_of_implementation
        ],
    }


def headline_indicators(registry: Registry, figures: RunFigures | None, lang: str) -> list[dict[str, Any]]:
    """Impact-level indicators with a world series in the run: latest value, trend and progress status."""
    if figures is None:
        return []
    found = []
    for indicator in registry.by_level(ResultsLevel.IMPACT):
        series = figures.series(indicator.code, WORLD)
        if not series:
            continue
        latest = series[-1]
        progress = {r["method"]: r["status"] for r in figures.progress_of(indicator.code, WORLD)}
        found.append(
            {
                **indicator_ref(indicator, lang),
                "latest": {
                    "year": latest["period"],
                    "value": latest["value"],
                    "coverage": latest["coverage"],
                    "coverage_reported": latest["coverage_reported"],
                    "filled_share": latest["filled_share"],
                    "people": latest["people"],
                },
                "trend": sparkline([(r["period"], r["value"]) for r in series]),
                "progress": [{"method": str(m), "status": progress[str(m)]} for m in Method if str(m) in progress],
            }
        )
    return found


def register(site: Site) -> None:
    install(site)
    router = APIRouter()
    figures = figures_of(site)

    @page_route(router, "/", name="home")
    def home(request: Request) -> Response:
        lang = language(request, site.services.settings)
        latest = figures.latest()
        data = {
            **plan_at_a_glance(site.services.plan(), lang),
            "run": run_ref(latest),
            "headline_indicators": headline_indicators(site.services.registry(), latest, lang),
        }
        return site.renderer.respond(request, Page("home.html", data, title=data["plan"]["title"]))

    site.app.include_router(router)
