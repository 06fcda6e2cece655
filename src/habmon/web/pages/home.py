"""Home: the plan at a glance — strategic focus, impact areas, means of implementation and their outcomes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from habmon.plan.model import Plan
from habmon.web.app import Site
from habmon.web.render import Page, language, page_route


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


def register(site: Site) -> None:
    router = APIRouter()

    @page_route(router, "/", name="home")
    def home(request: Request) -> Response:
        lang = language(request, site.services.settings)
        data = plan_at_a_glance(site.services.plan(), lang)
        return site.renderer.respond(request, Page("home.html", data, title=data["plan"]["title"]))

    site.app.include_router(router)
