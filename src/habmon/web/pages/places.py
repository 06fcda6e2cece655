"""Place pages ``/places/{code}`` (a country or a city, by any alias: M49, ISO3, ISO2 or city id): every
indicator with published values for the place (latest value and trend), its groupings, and whether UN-Habitat
works there (per the stored engagement list, which says so when it is the illustrative demo list)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from habmon.engine.parts import lnob
from habmon.geo.model import Engagement, Geography, GeoUnit, UnitKind
from habmon.indicators.registry import Registry
from habmon.services import ILLUSTRATIVE_LABEL, Monitor
from habmon.services.uncertainty import uncertainty_key
from habmon.web.app import Site
from habmon.web.charts import sparkline
from habmon.web.figures import figures_of
from habmon.web.pages.common import geo_ref, indicator_ref, install, named_groups
from habmon.web.render import Page, language, page_route

UNCERTAINTY_FIELDS = ("se", "ci_low", "ci_high", "n", "deff")  # null for values without design-based uncertainty


def groupings(geography: Geography, unit: GeoUnit, lang: str) -> dict[str, Any]:
    """The SDG chain above the place (nearest first), and its country groups and UN-Habitat regional office
    (for a city: its country's)."""
    chain = geography.ancestors(unit.code)
    countries = [unit] if unit.kind == UnitKind.COUNTRY else [u for u in chain if u.kind == UnitKind.COUNTRY]
    groups = [g for country in countries for g in geography.groups(country.code)]
    return {
        "sdg": [geo_ref(u, lang) for u in chain],
        "groups": [geo_ref(g, lang) for g in groups if g.kind == UnitKind.GROUP],
        "regional_office": [geo_ref(g, lang) for g in groups if g.kind == UnitKind.REGIONAL_OFFICE],
    }


def engagement(
    engagements: list[Engagement], header: dict[str, Any] | None, geography: Geography, unit: GeoUnit, lang: str
) -> dict[str, Any]:
    """Whether UN-Habitat works in the place (or, for a city, in its country) today, per the stored list."""
    today = date.today()
    around = [unit] + [u for u in geography.ancestors(unit.code) if u.kind == UnitKind.COUNTRY]
    entries = [
        {
            "geo": geo_ref(place, lang),
            "start": e.start.isoformat(),
            "end": None if e.end is None else e.end.isoformat(),
            "active": e.active(today),
            "note": e.note,
        }
        for place in around
        for e in engagements
        if e.code == place.code
    ]
    return {
        "works_here": any(entry["active"] for entry in entries),
        "entries": entries,
        "list": None if header is None else {"name": header["name"], "illustrative": bool(header["illustrative"])},
        "illustrative_label": ILLUSTRATIVE_LABEL,
    }


def indicators_at(monitor: Monitor, registry: Registry, unit: GeoUnit, lang: str) -> list[dict[str, Any]]:
    """Every indicator with published values for the place: latest value, trend, counts; leave-no-one-behind gaps
    where disaggregated values are published."""
    found = []
    for indicator in registry.indicators:
        stored = monitor.store.series(indicator.code, unit.code, public=True)
        if not stored:
            continue
        totals = sorted(
            (s.observation.period, s.observation.value, s) for s in stored if not s.observation.disaggregation
        )
        parts = sum(1 for s in stored if s.observation.disaggregation)
        newest = totals[-1][2] if totals else None
        latest = newest.observation if newest else None
        interval = monitor.uncertainty(indicator.code, unit.code).get(uncertainty_key(newest), {}) if newest else {}
        gaps = lnob(monitor, indicator.code, unit.code).to_dict()["groups"] if parts else []
        gaps = named_groups(gaps, registry, lang)
        found.append(
            {
                **indicator_ref(indicator, lang),
                "latest": None
                if latest is None
                else {
                    "year": latest.period,
                    "value": latest.value,
                    "nature": str(latest.nature),
                    "source": latest.source,
                    **{k: interval.get(k) for k in UNCERTAINTY_FIELDS},
                },
                "values": len(totals),
                "disaggregated_values": parts,
                "trend": sparkline([(year, value) for year, value, _ in totals]),
                "lnob": gaps,
            }
        )
    return found


def place_data(site: Site, code: str, lang: str) -> dict[str, Any]:
    geography = site.services.geography()
    unit = geography.resolve(code)
    monitor = figures_of(site).monitor()
    engagements, header = monitor.engagements()
    return {
        "place": {
            **geo_ref(unit, lang),
            "m49": unit.m49,
            "iso2": unit.iso2,
            "aliases": [{"scheme": str(a.scheme), "value": a.value} for a in geography.aliases_of(unit.code)],
            "population": unit.population,
            "note": unit.note,
        },
        "groupings": groupings(geography, unit, lang),
        "engagement": engagement(engagements, header, geography, unit, lang),
        "indicators": indicators_at(monitor, site.services.registry(), unit, lang),
    }


def register(site: Site) -> None:
    install(site)
    router = APIRouter()

    @page_route(router, "/places/{code}", name="place")
    def place(
        request: Request,
        code: Annotated[str, Path(description="a place: M49, ISO3, ISO2 or city id (404, KEN, KE, ke_nairobi)")],
    ) -> Response:
        lang = language(request, site.services.settings)
        data = place_data(site, code, lang)
        return site.renderer.respond(request, Page("place.html", data, title=data["place"]["name"]))

    site.app.include_router(router)
