"""The indicator list ``/indicators`` and the indicator page ``/indicators/{code}``.

An indicator page shows the registry entry (definition, metadata, sources, means of verification, the
appraisal against para 98, baseline and targets), the world and regional series of the latest monitoring run
as a chart with baseline, targets and projection, a world map of the published country values, progress
statuses per method, disaggregations and leave-no-one-behind gaps, the comparison of places where UN-Habitat
works with the others, and downloads. Aggregates and progress come from the stored run; country values from
the store (published only).
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response

from habmon.engine.backends import connect
from habmon.engine.data import IndicatorData
from habmon.engine.parts import lnob_view
from habmon.engine.service import compare_places
from habmon.geo.model import Geography, UnitKind
from habmon.indicators.appraisal import appraise
from habmon.indicators.model import Indicator, TargetBasis
from habmon.indicators.registry import Registry
from habmon.methods.progress import Method
from habmon.plan.model import Plan, ResultsLevel
from habmon.problems import HabmonError
from habmon.services import ILLUSTRATIVE_LABEL
from habmon.web.app import Site
from habmon.web.charts import ChartInput, Line, Marker, line_chart
from habmon.web.downloads import EXPORTS
from habmon.web.figures import Figures, RunFigures, figures_of
from habmon.web.pages.common import element_title, geo_ref, indicator_ref, install, named_groups, run_ref
from habmon.web.pages.estimates import estimates_section
from habmon.web.render import Page, language, page_route
from habmon.web.worldmap import classify

WORLD = "001"


def N_(message: str) -> str:
    """The gettext marker: scripts/i18n.sh extracts the text; the template translates it."""
    return message


# English texts that services hand over and templates translate (kept equal to them by tests/test_web_pages.py).
SERVICE_TEXTS = (
    N_(
        "This compares changes, not causes. UN-Habitat does not choose places at random: it works where needs "
        "and requests are greatest, so the two groups differ before any support, and other actors work in the "
        "same places. A difference in the change is consistent with — but does not prove — a contribution of "
        "UN-Habitat's work; no difference does not prove the absence of one. Global progress is reported "
        "separately and is never credited to the agency."
    ),
)
API_EXPORT = "/api/v1/indicators/{code}/export?format={format}"


# -- the registry entry ----------------------------------------------------------------------------------


def metadata(indicator: Indicator, plan: Plan, registry: Registry, lang: str) -> dict[str, Any]:
    dimensions = {d.id: d for d in registry.codelists.dimensions}
    return {
        **indicator_ref(indicator, lang),
        "status": str(indicator.status),
        "definition": indicator.definition.get(lang),
        "scope": str(indicator.scope),
        "measures": [element_title(plan, element, lang) for element in indicator.measures],
        "ratio": None
        if indicator.ratio is None
        else {
            "numerator": indicator.ratio.numerator.get(lang),
            "denominator": indicator.ratio.denominator.get(lang),
            "multiplier": indicator.ratio.multiplier,
        },
        "references": [{"framework": str(r.framework), "code": r.code, "note": r.note} for r in indicator.references],
        "series": list(indicator.series),
        "disaggregations": [
            {"id": d, "name": dimensions[d].name.get(lang) if d in dimensions else d} for d in indicator.disaggregations
        ],
        "data_sources": [t.get(lang) for t in indicator.data_sources],
        "means_of_verification": [t.get(lang) for t in indicator.means_of_verification],
        "collection": {
            "pathway": indicator.collection.pathway.get(lang),
            "frequency": str(indicator.collection.frequency),
            "custodian": indicator.collection.custodian,
            "suppliers": [str(s) for s in indicator.collection.suppliers],
        },
        "aggregation": {
            "method": str(indicator.aggregation.method),
            "weight": indicator.aggregation.weight,
            "min_coverage": indicator.aggregation.min_coverage,
            "gap_filling": str(indicator.aggregation.gap_filling),
            "max_gap_years": indicator.aggregation.max_gap_years,
        },
    }


def appraisal(indicator: Indicator, plan: Plan, lang: str) -> dict[str, Any]:
    """The para 98 appraisal: each criterion's text (from the plan), rating and rationale; score and weakness."""
    criteria = {c.id: c for c in plan.indicator_selection_criteria}
    row = appraise(indicator)
    return {
        "score": row.score,
        "max_score": 2 * len(row.ratings),
        "weak": row.weak,
        "reasons": list(row.reasons),
        "criteria": [
            {
                "id": key,
                "text": criteria[key].text.get(lang) if key in criteria else key,
                "paragraphs": list(criteria[key].paragraphs) if key in criteria else [],
                "rating": str(item.rating),
                "rationale": item.rationale.get(lang),
            }
            for key, item in indicator.appraisal.items()
        ],
    }


def progress_baseline(figures: RunFigures | None, code: str, geo: str) -> dict[str, Any] | None:
    """The one baseline of an indicator and place: where the run's progress starts (like for like for an aggregate),
    the same for both methods — shown in the targets table, the progress table and the chart alike."""
    rows = [] if figures is None else figures.progress_of(code, geo)
    found = {(r["baseline"]["year"], r["baseline"]["value"]) for r in rows if r["baseline"]}
    if not found:
        return None
    ((year, value),) = found  # both methods start from the same point
    return {"year": year, "value": value}


def baseline_and_targets(
    indicator: Indicator, geography: Geography, lang: str, figures: RunFigures | None = None
) -> dict[str, Any]:
    def place(code: str) -> str:
        return geography.units[code].name(lang) if code in geography.units else code

    b = indicator.baseline
    used = progress_baseline(figures, indicator.code, b.geo)
    return {
        "baseline": {
            # the baseline progress is measured from (the run's), else the plan's stated one until a run has one
            "value": b.value if used is None else used["value"],
            "year": b.year if used is None else used["year"],
            "geo": b.geo,
            "geo_name": place(b.geo),
            "from_run": used is not None,
            "stated": {"value": b.value, "year": b.year},  # as the plan states it (para 32 for 11.1.1)
            "source": b.source,
            "note": None if b.note is None else b.note.get(lang),
        },
        "targets": {
            "rationale": indicator.targets.rationale.get(lang),
            "values": [
                {"year": t.year, "value": t.value, "basis": str(t.basis), "geo": t.geo, "geo_name": place(t.geo)}
                for t in indicator.targets.values
            ],
        },
    }


# -- the run's series: chart, its table, progress ------------------------------------------------------


def world_and_regions(figures: RunFigures, code: str, geography: Geography, lang: str) -> list[dict[str, Any]]:
    """The world series and each SDG region's, as the run stored them (only values meeting the publication rule)."""
    codes = [WORLD] if figures.series(code, WORLD) else []
    codes += [g for g in figures.published_geos(code, "region")]
    return [
        {
            **geo_ref(geography.units[geo], lang),
            "points": [
                {
                    "year": r["period"],
                    "value": r["value"],
                    "coverage": r["coverage"],
                    "coverage_reported": r["coverage_reported"],
                    "filled_share": r["filled_share"],
                    "people": r["people"],
                }
                for r in figures.series(code, geo)
            ],
        }
        for geo in codes
    ]


def projection(figures: RunFigures, code: str, series: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The world's projected value at the target year (UNSD method, as the run assessed it), from the latest value."""
    world = next((s for s in series if s["code"] == WORLD), None)
    row = next((r for r in figures.progress_of(code, WORLD) if r["method"] == str(Method.UNSD)), None)
    if world is None or row is None or row["projected"] is None or not row["target"] or not row["latest"]:
        return None
    return {
        "from": {"year": row["latest"]["year"], "value": row["latest"]["value"]},
        "to": {"year": row["target"]["year"], "value": row["projected"]},
        "method": str(Method.UNSD),
    }


def chart_of(
    indicator: Indicator,
    series: list[dict[str, Any]],
    projected: dict[str, Any] | None,
    baseline: dict[str, Any] | None = None,
) -> Any:
    """``baseline``: the page's one baseline (:func:`baseline_and_targets`), marked where it is the world's."""
    lines = [
        Line(
            s["code"],
            s["name"],
            [(p["year"], p["value"]) for p in s["points"]],
            "world" if s["code"] == WORLD else "region",
        )
        for s in series
    ]
    if projected is not None:
        points = [
            (projected["from"]["year"], projected["from"]["value"]),
            (projected["to"]["year"], projected["to"]["value"]),
        ]
        lines.append(Line("projection", "projection", points, "projection"))
    markers: list[Marker] = []
    if baseline is not None and baseline["geo"] == WORLD and baseline["value"] is not None and baseline["year"]:
        markers.append(Marker("baseline", baseline["year"], baseline["value"]))
    markers += [
        Marker("target", t.year, t.value)
        for t in indicator.targets.values
        if t.geo == WORLD and t.basis == TargetBasis.ABSOLUTE
    ]
    return line_chart(ChartInput(lines, markers, zero_based=True)) if series else None


def chart_table(series: list[dict[str, Any]]) -> dict[str, Any]:
    """The chart's numbers as a table: one row per year, one column per series."""
    years = sorted({p["year"] for s in series for p in s["points"]})
    by = {s["code"]: {p["year"]: p["value"] for p in s["points"]} for s in series}
    return {
        "columns": [{"code": s["code"], "name": s["name"]} for s in series],
        "rows": [{"year": y, "cells": [by[s["code"]].get(y) for s in series]} for y in years],
    }


def progress_table(figures: RunFigures, code: str, geography: Geography, lang: str) -> list[dict[str, Any]]:
    """Progress statuses of the run, one row per aggregate with each method's assessment."""
    rows: dict[str, dict[str, Any]] = {}
    for r in figures.progress_of(code):
        unit = geography.units.get(r["geo"])
        entry = rows.setdefault(
            r["geo"],
            {"geo": r["geo"], "name": unit.name(lang) if unit else r["geo"], "level": r["level"], "methods": {}},
        )
        entry["methods"][r["method"]] = {k: v for k, v in r.items() if k not in ("indicator", "geo", "level")}
    order = {WORLD: ""}
    return sorted(rows.values(), key=lambda e: (order.get(e["geo"], "z"), e["name"]))


# -- the map ---------------------------------------------------------------------------------------------


def country_values(totals: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    countries = {u.code for u in geography.of_kind(UnitKind.COUNTRY)}
    return totals[totals["geo"].isin(countries)]


def default_map_year(countries: pd.DataFrame) -> int:
    reporting = countries.groupby("period")["geo"].nunique()
    return int(reporting[reporting * 2 >= reporting.max()].index.max())


def world_map(countries: pd.DataFrame, geography: Geography, year: int | None, lang: str) -> dict[str, Any] | None:
    """Country values of one year, classed into quantile classes.

    The default year is the latest in which at least half as many countries report as in the best-covered
    year: one country's new value must not leave the rest of the world grey.
    """
    years = sorted(int(y) for y in countries["period"].unique())
    if not years:
        return None
    chosen = default_map_year(countries) if year is None else year
    if chosen not in years:
        raise HabmonError(
            "no published country values for this year",
            expected="one of " + ", ".join(str(y) for y in years),
            found=str(chosen),
        )
    at = countries[countries["period"] == chosen]
    values = {str(g): float(v) for g, v in zip(at["geo"], at["value"], strict=True)}
    classes = classify(values.values())
    assert classes is not None  # at least one value: the year was found
    return {
        "year": chosen,
        "years": years,
        "legend": classes.legend(),
        "countries": sorted(
            (
                {
                    "code": code,
                    "name": geography.units[code].name(lang),
                    "value": value,
                    "class": classes.class_of(value),
                }
                for code, value in values.items()
            ),
            key=lambda c: c["name"],
        ),
    }


# -- disaggregations, leave no one behind, supported vs others ------------------------------------------


def disaggregation_section(
    site_figures: Figures,
    figures: RunFigures | None,
    indicator: Indicator,
    registry: Registry,
    frame: pd.DataFrame,
    lang: str,
) -> dict[str, Any]:
    """The registry's dimensions, how many published values are disaggregated, and the world's gaps (computed
    once per run from its input snapshot by :func:`habmon.engine.parts.lnob_view`, then kept)."""
    parts = int((frame["disaggregation_key"] != "").sum()) if not frame.empty else 0
    section: dict[str, Any] = {"published_values": parts, "world": None}
    if parts == 0 or figures is None:
        return section
    monitor = site_figures.monitor()

    def build() -> dict[str, Any]:
        data = IndicatorData.load(monitor, indicator.code, as_of=figures.run.snapshot_observation_id)
        return lnob_view(data, WORLD, connect(figures.run.engine), registry.codelists).to_dict()

    view = site_figures.derived(figures.run, "lnob", indicator.code, build)
    section["world"] = {"groups": named_groups(view["groups"], registry, lang), "problems": view["problems"]}
    return section


def comparison_section(site_figures: Figures, indicator: Indicator, countries: pd.DataFrame) -> dict[str, Any] | None:
    """Change where UN-Habitat works against change elsewhere (para 92 e), with the engagement list and caveat."""
    if countries.empty:
        return None
    result, header = compare_places(site_figures.monitor(), indicator.code)
    listing = None if header is None else {"name": header["name"], "illustrative": bool(header["illustrative"])}
    return {**result.to_dict(), "engagement_list": listing, "illustrative_label": ILLUSTRATIVE_LABEL}


# -- the page --------------------------------------------------------------------------------------------


def indicator_data(site: Site, figures: Figures, code: str, lang: str, year: int | None) -> dict[str, Any]:
    services = site.services
    registry, plan, geography = services.registry(), services.plan(), services.geography()
    indicator = registry.get(code)
    run = figures.latest()
    frame = figures.published_frame(indicator.code)
    totals = frame[frame["disaggregation_key"] == ""] if not frame.empty else frame
    countries = country_values(totals, geography) if not totals.empty else totals
    series = world_and_regions(run, indicator.code, geography, lang) if run else []
    projected = projection(run, indicator.code, series) if run else None
    targets = baseline_and_targets(indicator, geography, lang, run)
    return {
        "indicator": metadata(indicator, plan, registry, lang),
        "appraisal": appraisal(indicator, plan, lang),
        **targets,
        "run": run_ref(run),
        "series": series,
        "projection": projected,
        "chart": chart_of(indicator, series, projected, targets["baseline"]),
        "chart_table": chart_table(series),
        "estimates": estimates_section(figures.monitor(), frame, indicator.code, geography, registry, lang),
        "map": world_map(countries, geography, year, lang) if not countries.empty else None,
        "published_places": int(totals["geo"].nunique()) if not totals.empty else 0,
        "progress": progress_table(run, indicator.code, geography, lang) if run else [],
        "disaggregation": disaggregation_section(figures, run, indicator, registry, frame, lang),
        "comparison": comparison_section(figures, indicator, countries),
        "downloads": [{"format": f, "url": API_EXPORT.format(code=indicator.code, format=f)} for f in EXPORTS]
        if not totals.empty
        else [],
    }


def indicator_list(registry: Registry, figures: RunFigures | None, lang: str, level: str | None) -> dict[str, Any]:
    levels = [str(x) for x in ResultsLevel]
    if level is not None and level not in levels:
        raise HabmonError("unknown results level", expected=" or ".join(levels), found=level)
    rows = []
    for indicator in registry.indicators:
        if level is not None and str(indicator.level) != level:
            continue
        world = figures.series(indicator.code, WORLD) if figures else []
        row = appraise(indicator)
        rows.append(
            {
                **indicator_ref(indicator, lang),
                "measures": list(indicator.measures),
                "appraisal_score": row.score,
                "weak": row.weak,
                "world_latest": None if not world else {"year": world[-1]["period"], "value": world[-1]["value"]},
            }
        )
    return {"level": level, "levels": levels, "indicators": rows, "run": run_ref(figures)}


def register(site: Site) -> None:
    install(site)
    router = APIRouter()
    figures = figures_of(site)

    @page_route(router, "/indicators", name="indicators")
    def indicators(
        request: Request,
        level: Annotated[str | None, Query(description="impact, outcome or output")] = None,
    ) -> Response:
        lang = language(request, site.services.settings)
        data = indicator_list(site.services.registry(), figures.latest(), lang, level or None)
        return site.renderer.respond(request, Page("indicators.html", data, title="indicators"))

    @page_route(router, "/indicators/{code}", name="indicator")
    def indicator(
        request: Request,
        code: Annotated[str, Path(description="indicator code, e.g. 11.1.1")],
        year: Annotated[int | None, Query(ge=1900, le=2100, description="year of the map")] = None,
    ) -> Response:
        lang = language(request, site.services.settings)
        data = indicator_data(site, figures, code, lang, year)
        title = f"{data['indicator']['code']} {data['indicator']['name']}"
        return site.renderer.respond(request, Page("indicator.html", data, title=title))

    site.app.include_router(router)
