"""REST API v1, reference data: the plan and its elements, and places (public, no login).

The plan element and place answers are the data of their pages (``/plan/{id}.json``, ``/places/{code}.json``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from habmon.geo.model import UnitKind
from habmon.web.api.common import ERRORS, PageInfo, PageParams, paginate
from habmon.web.api.v1 import API
from habmon.web.app import Site
from habmon.web.figures import figures_of
from habmon.web.pages.home import plan_at_a_glance
from habmon.web.pages.places import place_data
from habmon.web.pages.plan import element_data
from habmon.web.render import json_response
from habmon.web.settings import LANGUAGES


class OutputOut(BaseModel):
    id: str
    outcome: str
    year: int
    status: str
    statement: str
    paragraphs: list[int]


class PlanOut(BaseModel):
    plan: dict[str, Any]
    strategic_focus: dict[str, Any]
    global_impact: dict[str, Any]
    impact_areas: list[dict[str, Any]]
    means_of_implementation: list[dict[str, Any]]
    outputs: list[OutputOut]


class ElementRef(BaseModel):
    id: str
    kind: str
    title: str
    indicators: int


class RollupOut(BaseModel):
    below: list[ElementRef]
    above: list[ElementRef]


class PlanElementOut(BaseModel):
    element: dict[str, Any]
    accountable_office: dict[str, Any] | None
    rollup: RollupOut
    indicators: list[dict[str, Any]]
    run: dict[str, Any] | None


class PlaceRef(BaseModel):
    code: str
    name: str
    kind: str
    m49: str | None
    iso3: str | None
    iso2: str | None


class PlaceList(BaseModel):
    items: list[PlaceRef]
    page: PageInfo


class PlaceOut(BaseModel):
    place: dict[str, Any]
    groupings: dict[str, list[dict[str, Any]]]
    engagement: dict[str, Any]
    indicators: list[dict[str, Any]]


Lang = Annotated[str, Query(pattern="^(en|zh)$", description="language of names and texts: " + " or ".join(LANGUAGES))]


def register(site: Site) -> None:
    router = APIRouter(prefix=API, tags=["plan and places"], responses=ERRORS)
    services = site.services
    figures = figures_of(site)

    @router.get("/plan", operation_id="getPlan", response_model=PlanOut)
    def get_plan(request: Request, lang: Lang = "en") -> Response:
        plan = services.plan()
        outputs = [
            OutputOut(
                id=o.id,
                outcome=o.outcome,
                year=s.year,
                status=str(o.status),
                statement=o.statement.get(lang),
                paragraphs=list(o.paragraphs),
            )
            for s in plan.output_sets
            for o in s.outputs
        ]
        body = PlanOut(**plan_at_a_glance(plan, lang), outputs=outputs)
        return json_response(request, body.model_dump(mode="json"))

    @router.get("/plan/elements/{element_id}", operation_id="getPlanElement", response_model=PlanElementOut)
    def get_plan_element(
        request: Request,
        element_id: Annotated[str, Path(description="plan element id, e.g. IA-A, MI-B, OC-C, OP-A-2026-1")],
        lang: Lang = "en",
    ) -> Response:
        data = element_data(services.plan(), services.registry(), figures.latest(), element_id, lang)
        return json_response(request, PlanElementOut.model_validate(data).model_dump(mode="json"))

    @router.get("/places", operation_id="listPlaces", response_model=PlaceList)
    def list_places(
        request: Request,
        page: PageParams,
        kind: Annotated[UnitKind | None, Query(description="country, city, region, subregion, group …")] = None,
        q: Annotated[
            str | None, Query(min_length=1, max_length=100, description="part of the name (any language)")
        ] = None,
        lang: Lang = "en",
    ) -> Response:
        geography = services.geography()
        wanted = None if q is None else q.casefold()
        chosen = [
            PlaceRef(code=u.code, name=u.name(lang), kind=str(u.kind), m49=u.m49, iso3=u.iso3, iso2=u.iso2)
            for u in sorted(geography.units.values(), key=lambda u: (str(u.kind), u.code))
            if (kind is None or u.kind == kind)
            and (wanted is None or any(wanted in name.casefold() for name in u.names.values()))
        ]
        items, info = paginate(request, chosen, page)
        return json_response(request, PlaceList(items=items, page=info).model_dump(mode="json"))

    @router.get("/places/{code}", operation_id="getPlace", response_model=PlaceOut)
    def get_place(
        request: Request,
        code: Annotated[str, Path(description="a place: M49, ISO3, ISO2 or city id (404, KEN, KE, ke_nairobi)")],
        lang: Lang = "en",
    ) -> Response:
        return json_response(request, PlaceOut.model_validate(place_data(site, code, lang)).model_dump(mode="json"))

    site.app.include_router(router)
