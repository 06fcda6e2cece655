"""Survey microdata in the browser, for monitoring officers and administrators (issue #12).

Pages (each with its JSON twin):

* ``/surveys`` — the registered surveys;
* ``/surveys/new`` — the registration form: name, country, fieldwork years, unit, the design (weight and its
  divisor, strata, PSU, finite population correction, lonely-PSU rule), source, access conditions, the file;
* ``POST /surveys`` — check the file against the design and register it (its checksum and design, never the
  records); with problems the form comes back with every one (422) and nothing is stored;
* ``/surveys/{name}`` — the registration, its computations and the form to compute an indicator;
* ``POST /surveys/{name}/computations`` — read the uploaded file again (it must have the registered checksum),
  compute the indicator with design-based SEs and store the estimates: 303 to their preview;
* ``/surveys/{name}/computations/{id}`` — the preview: every estimate with its SE, 95 % interval, n and deff;
* ``POST /surveys/{name}/computations/{id}/submit`` — send the estimates as a computed submission, which is
  reviewed, approved and published like any other.

Microdata are confidential: the uploaded file lives in a temporary directory for the request only, and no page
shows a record. :class:`~habmon.surveys.service.Surveys` authorizes every operation (``survey.load``,
``survey.compute``: officers and administrators).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from habmon.access.model import Action, Principal
from habmon.access.policy import Rule, rule_for
from habmon.surveys.design import Design, LonelyPSU
from habmon.surveys.readers import microdata_formats
from habmon.surveys.recipe import load_recipe, recipe_indicators
from habmon.surveys.service import Registration, SurveyError, Surveys, dimensions_of
from habmon.web.app import Site
from habmon.web.auth import CsrfChecked, CurrentPrincipal, monitor_for, refused_early
from habmon.web.pages.common import install
from habmon.web.pages.submissions import utc
from habmon.web.render import Page, language, page_route, wants_json
from habmon.web.uploads import saved

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$"  # a survey's name is a segment of its pages' paths
UNITS = ("household", "person")
PERCENT = 100.0  # estimates are proportions; the pages, the JSON twins and the submission show percentages
INTERVAL_FIELDS = ("value", "se", "ci_low", "ci_high")


def _(message: str) -> str:
    """Marks an interface string for extraction (scripts/i18n.sh); templates translate it."""
    return message


LONELY_PSU_LABELS: dict[str, str] = {
    LonelyPSU.FAIL: _("fail: refuse to estimate"),
    LonelyPSU.REMOVE: _("remove: the stratum contributes nothing"),
    LonelyPSU.ADJUST: _("adjust: centre the PSU at zero (conservative)"),
    LonelyPSU.AVERAGE: _("average of the other strata"),
}
UNIT_LABELS: dict[str, str] = {"household": _("household"), "person": _("person")}
DISAGGREGATION_LABELS: dict[str, str] = {
    "urban": _("urban / rural"),
    "region": _("region"),
    "sex_of_head": _("sex of the household head"),
    "wealth_quintile": _("wealth quintile"),
}


def moment(value: datetime | str) -> str:
    """A stored time as RFC 3339 text (SQLite gives back naive UTC datetimes, PostgreSQL aware ones)."""
    return value if isinstance(value, str) else utc(value).isoformat()


def surveys_for(site: Site, who: Principal) -> Surveys:
    return Surveys(monitor_for(site, who))


def summary(survey: Mapping[str, Any]) -> dict[str, Any]:
    """A registration without the variable names (the list shows it)."""
    return {
        "name": survey["name"],
        "country": survey["country"],
        "fieldwork": [survey["fieldwork_start"], survey["fieldwork_end"]],
        "unit": survey["unit"],
        "records": survey["records"],
        "file_name": survey["file_name"],
        "registered_by": survey["registered_by"],
        "registered_at": survey["registered_at"],
    }


def detail(survey: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **summary(survey),
        "design": survey["design"],
        "source": survey["source"],
        "access_conditions": survey["access_conditions"],
        "file_format": survey["file_format"],
        "content_sha256": survey["content_sha256"],
        "variables": list(survey["variables"]),  # names only, never values
    }


def registration_form(site: Site, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "values": dict(values),
        "units": list(UNITS),
        "lonely_psu_rules": [str(r) for r in LonelyPSU],
        "formats": sorted(microdata_formats()),
        "max_upload_bytes": site.services.settings.max_upload_bytes,
    }


REGISTRATION_DEFAULTS: dict[str, Any] = {  # the DHS household recode's design variables
    "name": "",
    "country": "",
    "fieldwork_start": "",
    "fieldwork_end": "",
    "unit": "household",
    "weight": "hv005",
    "weight_divisor": "1000000",
    "psu": "hv001",
    "strata": "hv022",
    "fpc": "",
    "lonely_psu": str(LonelyPSU.FAIL),
    "source": "",
    "access_conditions": "",
}


def compute_form(site: Site, survey: Mapping[str, Any], lang: str) -> dict[str, Any]:
    registry = site.services.registry()
    known = {i.code: i for i in registry.indicators}
    indicators = []
    disaggregations: list[str] = []
    for code in recipe_indicators():
        recipe = load_recipe(code)
        name = known[code].name.get(lang) if code in known else recipe.name
        indicators.append({"code": code, "name": name, "recipe": recipe.name, "by": list(recipe.disaggregations)})
        disaggregations += [d for d in recipe.disaggregations if d not in disaggregations]
    return {
        "indicators": indicators,
        "disaggregations": disaggregations,
        "lonely_psu_rules": [str(r) for r in LonelyPSU],
        "lonely_psu": survey["design"].get("lonely_psu") or str(LonelyPSU.FAIL),
        "max_upload_bytes": site.services.settings.max_upload_bytes,
    }


def estimate_rows(estimates: list[Mapping[str, Any]], allowed: set[str]) -> list[dict[str, Any]]:
    """Estimates in percent (as they are submitted), each saying whether it can be sent: its groups must be
    dimensions the registry knows for the indicator (a region is not one: it stays in the computation)."""
    rows = []
    for e in estimates:
        dims = dimensions_of(e["groups"])
        rows.append(
            {
                "groups": dict(e["groups"]),
                **{k: None if e[k] is None else PERCENT * e[k] for k in INTERVAL_FIELDS},
                "n": e["n"],
                "deff": e["deff"],
                "df": e["df"],
                "population": e["population"],
                "sent_as": None if dims is None or not set(dims) <= allowed else dims,
            }
        )
    return rows


def computation_data(site: Site, who: Principal, name: str, computation_id: int) -> dict[str, Any]:
    service = surveys_for(site, who)
    survey = service.show(name)
    stored = service.computation(name, computation_id)
    indicator = site.services.registry().get(stored["indicator"])
    allowed = {str(d) for d in indicator.disaggregations}
    return {
        "survey": summary(survey),
        "computation": {
            "id": stored["id"],
            "indicator": stored["indicator"],
            "by": list(stored["by"]),
            "lonely_psu": stored["lonely_psu"],
            "excluded_households": stored["excluded"],
            "recipe_sha256": stored["recipe_sha256"],
            "computed_by": stored["computed_by"],
            "computed_at": stored["computed_at"],
            "submission_id": stored["submission_id"],
        },
        "unit": "percent",
        "estimates": estimate_rows(stored["estimates"], allowed),
        "can_send": stored["submission_id"] is None and rule_for(who, Action.SUBMIT) != Rule.NEVER,
    }


def register(site: Site) -> None:
    install(site)
    router = APIRouter()
    services = site.services

    def lang_of(request: Request) -> str:
        return language(request, services.settings)

    @page_route(router, "/surveys", name="surveys")
    def surveys_list(request: Request, who: CurrentPrincipal) -> Response:
        found = surveys_for(site, who).entries()
        data = {"items": [summary(s) for s in found]}
        return site.renderer.respond(request, Page("surveys/list.html", data, title="Surveys"))

    @page_route(router, "/surveys/new", name="surveys.new")
    def surveys_new(request: Request, who: CurrentPrincipal) -> Response:
        monitor_for(site, who).authorize(Action.LOAD_SURVEY)
        data = {"form": registration_form(site, REGISTRATION_DEFAULTS), "report": None}
        return site.renderer.respond(request, Page("surveys/new.html", data, title="Register a survey"))

    @router.post(
        "/surveys",
        name="surveys.create",
        include_in_schema=False,
        dependencies=[CsrfChecked, refused_early(Action.LOAD_SURVEY)],
    )
    def surveys_create(
        request: Request,
        who: CurrentPrincipal,
        file: Annotated[UploadFile, File()],
        name: Annotated[str, Form(pattern=NAME_PATTERN)],
        country: Annotated[str, Form(min_length=2, max_length=40)],
        fieldwork_start: Annotated[int, Form(ge=1900, le=2100)],
        source: Annotated[str, Form(min_length=1, max_length=500)],
        access_conditions: Annotated[str, Form(min_length=1, max_length=1000)],
        fieldwork_end: Annotated[int | None, Form(ge=1900, le=2100)] = None,
        unit: Annotated[str, Form(pattern="^(household|person)$")] = "household",
        weight: Annotated[str, Form(min_length=1, max_length=64)] = "hv005",
        weight_divisor: Annotated[float, Form(gt=0)] = 1e6,
        psu: Annotated[str, Form(max_length=64)] = "",
        strata: Annotated[str, Form(max_length=64)] = "",
        fpc: Annotated[str, Form(max_length=64)] = "",
        lonely_psu: Annotated[LonelyPSU, Form()] = LonelyPSU.FAIL,
    ) -> Response:
        design = Design(
            weight=weight.strip().lower(),
            psu=psu.strip().lower() or None,
            strata=strata.strip().lower() or None,
            fpc=fpc.strip().lower() or None,
            lonely_psu=lonely_psu,
            weight_divisor=weight_divisor,
        )
        end = fieldwork_end or fieldwork_start
        registration = Registration(
            name, country.strip(), (fieldwork_start, end), unit, design, source.strip(), access_conditions.strip()
        )
        try:
            with saved(file, services.settings.max_upload_bytes) as path:
                found = surveys_for(site, who).register(path, registration)
        except SurveyError as error:
            if wants_json(request):
                raise
            values = {
                **REGISTRATION_DEFAULTS,
                **{k: v for k, v in design.to_dict().items() if v is not None},
                "name": name,
                "country": country,
                "fieldwork_start": fieldwork_start,
                "fieldwork_end": end,
                "unit": unit,
                "psu": psu,
                "strata": strata,
                "fpc": fpc,
                "source": source,
                "access_conditions": access_conditions,
            }
            data = {
                "form": registration_form(site, values),
                "report": error.report.to_dict(),
                "file_name": file.filename,
            }
            return site.renderer.respond(
                request, Page("surveys/new.html", data, title="Register a survey", status_code=422)
            )
        if wants_json(request):
            return site.renderer.respond(request, Page("", detail(found), status_code=201))
        return RedirectResponse(f"/surveys/{found['name']}?registered=1", status_code=303)

    def survey_page(
        request: Request, who: Principal, name: str, notice: str | None, report: Any = None, status: int = 200
    ) -> Response:
        found = surveys_for(site, who).show(name)
        data = {
            "survey": detail(found),
            "notice": notice,
            "computations": [{**c, "computed_at": moment(c["computed_at"])} for c in found["computations"]],
            "form": compute_form(site, found, lang_of(request)),
            "report": report,
        }
        return site.renderer.respond(request, Page("surveys/show.html", data, title=name, status_code=status))

    @page_route(router, "/surveys/{name}", name="surveys.show")
    def surveys_show(request: Request, who: CurrentPrincipal, name: str, registered: bool = False) -> Response:
        return survey_page(request, who, name, "registered" if registered else None)

    @router.post(
        "/surveys/{name}/computations",
        name="surveys.compute",
        include_in_schema=False,
        dependencies=[CsrfChecked, refused_early(Action.COMPUTE_SURVEY)],
    )
    def surveys_compute(
        request: Request,
        who: CurrentPrincipal,
        name: str,
        file: Annotated[UploadFile, File()],
        indicator: Annotated[str, Form(min_length=1, max_length=40)],
        by: Annotated[list[str] | None, Form(max_length=8)] = None,
        lonely_psu: Annotated[LonelyPSU, Form()] = LonelyPSU.FAIL,
    ) -> Response:
        groups = [b for b in (by or []) if b]
        try:
            with saved(file, services.settings.max_upload_bytes) as path:
                found = surveys_for(site, who).compute(name, path, indicator, by=groups, lonely_psu=lonely_psu)
        except SurveyError as error:
            if wants_json(request):
                raise
            return survey_page(request, who, name, None, error.report.to_dict(), 422)
        if wants_json(request):
            return site.renderer.respond(request, Page("", found, status_code=201))
        return RedirectResponse(f"/surveys/{name}/computations/{found['computation']}", status_code=303)

    @page_route(router, "/surveys/{name}/computations/{computation_id}", name="surveys.computation")
    def surveys_computation(request: Request, who: CurrentPrincipal, name: str, computation_id: int) -> Response:
        data = computation_data(site, who, name, computation_id)
        title = f"{data['computation']['indicator']} · {name}"
        return site.renderer.respond(request, Page("surveys/computation.html", data, title=title))

    @router.post(
        "/surveys/{name}/computations/{computation_id}/submit",
        name="surveys.submit",
        include_in_schema=False,
        dependencies=[CsrfChecked, refused_early(Action.COMPUTE_SURVEY)],
    )
    def surveys_submit(request: Request, who: CurrentPrincipal, name: str, computation_id: int) -> Response:
        found = surveys_for(site, who).submit_computation(name, computation_id)
        if wants_json(request):
            return site.renderer.respond(request, Page("", found, status_code=201))
        return RedirectResponse(f"/submissions/{found['submission']['submission']}?created=1", status_code=303)

    site.renderer.add_global("lonely_psu_labels", LONELY_PSU_LABELS)
    site.renderer.add_global("survey_unit_labels", UNIT_LABELS)
    site.renderer.add_global("disaggregation_labels", DISAGGREGATION_LABELS)
    site.app.include_router(router)
