"""Pieces every public page shares: references to plan elements, indicators and places, numbers, the run."""

from __future__ import annotations

from typing import Any

from habmon.geo.model import GeoUnit
from habmon.indicators.model import Indicator
from habmon.indicators.registry import Registry
from habmon.plan.model import Plan
from habmon.web.app import Site
from habmon.web.figures import RunFigures
from habmon.web.worldmap import world_outline

# Decimals shown for a value of each unit (JSON carries the full value).
UNIT_DIGITS = {"percent": 2, "ratio": 2, "score": 2, "micrograms_per_m3": 1, "number": 0, "persons": 0, "usd": 0}
DEFAULT_DIGITS = 2


def number(value: float | None, unit: str | None = None, digits: int | None = None) -> str:
    """A value as the pages show it: fixed decimals by unit, thousands grouped; '—' for no value."""
    if value is None:
        return "—"
    places = digits if digits is not None else UNIT_DIGITS.get(unit or "", DEFAULT_DIGITS)
    return f"{value:,.{places}f}"


def percent(share: float | None) -> str:
    """A share (0–1) as a percentage with one decimal, e.g. coverage."""
    return "—" if share is None else f"{share * 100:.1f} %"


def tick(value: float) -> str:
    """An axis tick: no decimals for whole numbers, otherwise as few as the value needs."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4f}".rstrip("0")


def install(site: Site) -> None:
    """Template filters and globals of the public pages (idempotent: every page module calls it)."""
    site.renderer.add_filter("num", number)
    site.renderer.add_filter("pct", percent)
    site.renderer.add_filter("tick", tick)
    site.renderer.add_global("world_outline", world_outline)


def geo_ref(unit: GeoUnit, lang: str) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name(lang), "kind": str(unit.kind), "iso3": unit.iso3}


def indicator_ref(indicator: Indicator, lang: str) -> dict[str, Any]:
    return {
        "code": indicator.code,
        "name": indicator.name.get(lang),
        "level": str(indicator.level),
        "unit": str(indicator.unit),
        "direction": str(indicator.direction),
    }


def element_title(plan: Plan, element_id: str, lang: str) -> dict[str, Any]:
    """A plan element's id, kind and the text that names it (a name, or the statement)."""
    kind, element = plan_elements(plan)[element_id]
    name = getattr(element, "name", None)
    text = name.get(lang) if name is not None else element.statement.get(lang)
    return {"id": element_id, "kind": kind, "title": text}


def plan_elements(plan: Plan) -> dict[str, tuple[str, Any]]:
    """Every addressable plan element by id, with its kind."""
    found: dict[str, tuple[str, Any]] = {
        plan.strategic_focus.id: ("strategic_focus", plan.strategic_focus),
        plan.global_impact.id: ("global_impact", plan.global_impact),
    }
    found.update({a.id: ("impact_area", a) for a in plan.impact_areas})
    found.update({m.id: ("means_of_implementation", m) for m in plan.means_of_implementation})
    found.update({o.id: ("outcome", o) for o in plan.outcomes})
    found.update({o.id: ("output", o) for o in plan.outputs})
    return found


def named_groups(groups: list[dict[str, Any]], registry: Registry, lang: str) -> list[dict[str, Any]]:
    """Leave-no-one-behind rows with the dimension's and the group's names in the page's language."""
    names = {(d.id, c.id): (d.name.get(lang), c.name.get(lang)) for d in registry.codelists.dimensions for c in d.codes}
    return [
        {
            **g,
            "dimension_name": names.get((g["dimension"], g["group"]), (g["dimension"], g["group"]))[0],
            "group_name": names.get((g["dimension"], g["group"]), (g["dimension"], g["group"]))[1],
        }
        for g in groups
    ]


def run_ref(figures: RunFigures | None) -> dict[str, Any] | None:
    """Which stored monitoring run the figures come from (None: no run stored yet)."""
    return None if figures is None else figures.run.to_dict()
