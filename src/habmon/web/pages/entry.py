"""Enter values online: a grid of places × years for one indicator, sent as a submission like an uploaded file.

For a city or a small office without Excel. The grid becomes a long CSV — the same reader, validation and
workflow as any file, and the CSV is kept as the submission's original file — and the validation report's
rows are mapped back to the grid's lines, so each problem is shown beside the value it is about. Lines left
empty are not values and are not sent; the page says how many were sent.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from habmon.access.model import Action, Principal
from habmon.access.policy import Rule, rule_for
from habmon.geo.model import GeoUnit
from habmon.indicators.model import Indicator
from habmon.problems import HabmonError, InvalidDocument
from habmon.submission.service import ORGANIZATION_TYPES, SubmissionOutcome
from habmon.submission.workflow import OrganizationType
from habmon.web.app import Site
from habmon.web.auth import CsrfChecked, CurrentPrincipal, refused_early
from habmon.web.pages.submissions import form_defaults, organization_types_for, outcome_data, submissions_for
from habmon.web.render import Page, language, page_route, wants_json

# places × years on one page: each line sends three form fields, and Starlette reads at most 1,000 fields from a
# form (its default, which FastAPI does not let a route raise) — 300 lines and the other fields stay below it
MAX_LINES = 300
HEADER_ROWS = 1  # the CSV's row 2 is the grid's first value sent


@dataclass(frozen=True, slots=True)
class Line:
    """One place and year of the grid: what was typed, the published value, the problems found."""

    geo: str
    name: str
    period: int
    value: str = ""
    published: float | None = None
    problems: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "geo": self.geo,
            "name": self.name,
            "period": self.period,
            "value": self.value,
            "published": self.published,
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class Grid:
    """What the page shows: the indicator chosen (None: the chooser only), the places as typed, the years and
    the lines."""

    indicator: Indicator | None
    places: str
    first: int
    last: int
    lines: tuple[Line, ...] = ()


def place_codes(text: str) -> list[str]:
    """Place codes typed in one field, separated by spaces or commas."""
    return [code for code in re.split(r"[\s,]+", text) if code]


def default_years(first: int | None, last: int | None) -> tuple[int, int]:
    """The years asked for, else the last two full years (data arrive a year or more after the fact)."""
    this_year = datetime.now(UTC).year
    return (this_year - 2 if first is None else first, this_year - 1 if last is None else last)


def years_between(first: int, last: int) -> list[int]:
    if last < first:
        raise HabmonError(
            "the last year comes before the first",
            expected=f"a last year from {first} on",
            found=str(last),
            hint="swap the two years",
        )
    return list(range(first, last + 1))


def check_size(places: int, years: int) -> None:
    if places * years > MAX_LINES:
        raise HabmonError(
            "too many lines for one page",
            expected=f"at most {MAX_LINES} places × years",
            found=f"{places} places × {years} years = {places * years}",
            hint="choose fewer places or years, or upload a file",
        )


def published_values(site: Site, indicator: Indicator, units: list[GeoUnit], years: list[int]) -> dict[Any, float]:
    """The published totals of these places and years, by (geo, period)."""
    frame = site.services.store.current_frame([indicator.code], public=True)
    wanted = frame[
        (frame["disaggregation_key"] == "") & frame["geo"].isin({u.code for u in units}) & frame["period"].isin(years)
    ]
    return {(str(r.geo), int(r.period)): float(r.value) for r in wanted.itertuples(index=False)}


def entry_csv(indicator: str, lines: list[Line]) -> tuple[str, list[int]]:
    """The long CSV of the lines with a value, and the grid index of each of its data rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["indicator", "geo", "period", "value"])
    sent = []
    for index, line in enumerate(lines):
        if line.value.strip():
            writer.writerow([indicator, line.geo, line.period, line.value.strip()])
            sent.append(index)
    return buffer.getvalue(), sent


def with_problems(lines: list[Line], sent: list[int], outcome: SubmissionOutcome) -> tuple[list[Line], list[Any]]:
    """The lines with the problems of their CSV rows, and the problems of no line (about the whole entry)."""
    problems = outcome_data(outcome)["report"]["problems"]
    by_line: dict[int, list[dict[str, Any]]] = {}
    general = []
    for problem in problems:
        row = problem.get("row")
        data_row = None if row is None else int(row) - HEADER_ROWS - 1
        if data_row is None or not 0 <= data_row < len(sent):
            general.append(problem)
            continue
        by_line.setdefault(sent[data_row], []).append(problem)
    marked = [
        Line(line.geo, line.name, line.period, line.value, line.published, tuple(by_line.get(i, ())))
        for i, line in enumerate(lines)
    ]
    return marked, general


def register(site: Site) -> None:
    router = APIRouter()
    services = site.services

    def grid(indicator: Indicator, codes: list[str], years: list[int], lang: str) -> list[Line]:
        geography = services.geography()
        units = list({u.code: u for u in (geography.resolve(code) for code in codes)}.values())
        check_size(len(units), len(years))
        published = published_values(site, indicator, units, years)
        return [
            Line(u.code, u.name(lang), year, published=published.get((u.code, year))) for u in units for year in years
        ]

    def page(
        request: Request,
        who: Principal,
        shown: Grid,
        values: dict[str, Any],
        general: list[Any] | None = None,
        status: int = 200,
    ) -> Response:
        lang = language(request, services.settings)
        indicator = shown.indicator
        data = {
            "can_submit": rule_for(who, Action.SUBMIT) != Rule.NEVER,
            "indicators": [
                {"code": i.code, "name": i.name.get(lang), "scope": str(i.scope)}
                for i in services.registry().indicators
            ],
            "indicator": None
            if indicator is None
            else {"code": indicator.code, "name": indicator.name.get(lang), "unit": str(indicator.unit)},
            "places": shown.places,
            "first": shown.first,
            "last": shown.last,
            "lines": [line.to_dict() for line in shown.lines],
            "max_lines": MAX_LINES,
            "values": values,
            "organization_types": organization_types_for(who),
            "organization_fixed": who.role in ORGANIZATION_TYPES,  # as on the upload form
            "problems": general,
        }
        return site.renderer.respond(
            request, Page("submissions/entry.html", data, title="Enter values", status_code=status)
        )

    @page_route(router, "/submissions/entry", name="submissions.entry")
    def entry_page(
        request: Request,
        who: CurrentPrincipal,
        indicator: Annotated[str | None, Query(max_length=40)] = None,
        geo: Annotated[str | None, Query(max_length=2000)] = None,
        first: Annotated[int | None, Query(ge=1950, le=2100, description="default: two years ago")] = None,
        last: Annotated[int | None, Query(ge=1950, le=2100, description="default: last year")] = None,
    ) -> Response:
        """The chooser (indicator, places, years) and, once chosen, the grid."""
        first, last = default_years(first, last)
        places = geo if geo is not None else " ".join(sorted(who.geo_scope))
        chosen = None if not indicator else services.registry().get(indicator)
        years = years_between(first, last)
        lines = grid(chosen, place_codes(places), years, language(request, services.settings)) if chosen else []
        return page(request, who, Grid(chosen, places, first, last, tuple(lines)), form_defaults(who))

    @router.post(
        "/submissions/entry",
        name="submissions.entry.send",
        include_in_schema=False,
        dependencies=[CsrfChecked, refused_early(Action.SUBMIT)],  # the public: 401 before the grid is read
    )
    def entry_send(
        request: Request,
        who: CurrentPrincipal,
        indicator: Annotated[str, Form(max_length=40)],
        geo: Annotated[list[str], Form(max_length=MAX_LINES)],
        period: Annotated[list[int], Form(max_length=MAX_LINES)],
        value: Annotated[list[str], Form(max_length=MAX_LINES)],
        organization: Annotated[str, Form(max_length=200)] = "",
        organization_type: Annotated[OrganizationType | None, Form()] = None,
        source: Annotated[str, Form(max_length=500)] = "",
        method_note: Annotated[str, Form(max_length=2000)] = "",
        places: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        """Send the grid's values as a submission; with errors, the grid again with each problem on its line."""
        chosen = services.registry().get(indicator)
        if not len(geo) == len(period) == len(value):
            raise HabmonError(
                "the grid's columns differ in length",
                expected="one place, one year and one value per line",
                found=f"{len(geo)} places, {len(period)} years, {len(value)} values",
                hint="reload the page and enter the values again",
            )
        lang = language(request, services.settings)
        geography = services.geography()
        names = {code: geography.resolve(code).name(lang) for code in set(geo)}
        typed = [Line(g, names[g], p, v) for g, p, v in zip(geo, period, value, strict=True)]
        text, sent = entry_csv(chosen.code, typed)
        base = form_defaults(who)
        org = organization.strip() or base["organization"]
        org_type = organization_type or OrganizationType(base["organization_type"])
        values = {**base, "organization": org, "organization_type": str(org_type), "source": source}
        values["method_note"] = method_note
        if not sent:
            empty = HabmonError(
                "no value was entered",
                expected="at least one value in the grid",
                found="every line empty",
                hint="type a number in the Value column of a line",
            )
            if wants_json(request):
                raise empty
            marked = typed
            general = [{"severity": "error", "title": str(empty), "expected": empty.expected, "found": empty.found}]
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            name = f"entry-{re.sub(r'[^A-Za-z0-9._-]', '_', chosen.code)}-{stamp}.csv"
            with tempfile.TemporaryDirectory(prefix="habmon-entry-") as directory:
                path = Path(directory) / name
                path.write_text(text, encoding="utf-8")
                outcome = submissions_for(site, who).submit(
                    path,
                    organization=org,
                    organization_type=org_type,
                    source=source.strip() or None,
                    method_note=method_note.strip() or None,
                    fmt="csv",
                    source_name=name,
                )
            if outcome.submission_id is not None:
                if wants_json(request):
                    body = {**outcome.to_dict(), "lines_sent": len(sent), "lines_empty": len(typed) - len(sent)}
                    return site.renderer.respond(request, Page("", body, status_code=201 if outcome.created else 200))
                flag = "created" if outcome.created else "existing"
                return RedirectResponse(f"/submissions/{outcome.submission_id}?{flag}=1", status_code=303)
            if wants_json(request):
                raise InvalidDocument(name, outcome.report)
            marked, general = with_problems(typed, sent, outcome)
        first, last = default_years(min(period, default=None), max(period, default=None))
        return page(request, who, Grid(chosen, places, first, last, tuple(marked)), values, general, status=422)

    site.app.include_router(router)
