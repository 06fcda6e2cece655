"""REST API v1, monitoring figures: the latest run, its aggregates and progress statuses, the comparison of places
where UN-Habitat works with the others, and downloads of an indicator's published values (public, no login).

Aggregates and progress statuses are those of the latest stored monitoring run (``habmon compute``); every
answer names the run (``run: null`` when no run has been stored yet).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from habmon.engine.aggregate import Level
from habmon.engine.progress import SDG_BASELINE_YEAR
from habmon.engine.service import compare_places
from habmon.methods.progress import Method, Status
from habmon.problems import NotFound
from habmon.web.api.common import ERRORS, PageInfo, PageParams, paginate
from habmon.web.api.v1 import API
from habmon.web.app import Site
from habmon.web.downloads import export
from habmon.web.figures import figures_of
from habmon.web.render import json_response


class RunOut(BaseModel):
    id: int
    engine: str
    started_at: str
    finished_at: str
    date: str
    snapshot_observation_id: int


class AggregateOut(BaseModel):
    indicator: str
    geo: str
    name: str
    level: str
    period: int
    value: float | None
    people: float | None
    coverage: float | None
    units_reported: int | None
    units_total: int | None
    imputed_units: int | None
    meets_publication_rule: bool
    gap_filling: str
    coverage_reported: float | None = Field(
        None, description="share of the weight covered by values reported for the year (no filled value)"
    )
    filled_share: float | None = Field(None, description="share of the value's weight that is gap-filled")
    nature: str | None = Field(None, description="E: an estimate that does not meet the publication rule")


class AggregateList(BaseModel):
    run: RunOut | None
    items: list[AggregateOut]
    page: PageInfo


class PointOut(BaseModel):
    year: int
    value: float


class MilestoneOut(BaseModel):
    """The same trend judged against one of the place's yearly targets (the plan's 2026–2029 targets)."""

    year: int
    target: float
    projected: float | None
    status: str
    score: float | None


class ProgressOut(BaseModel):
    indicator: str
    geo: str
    name: str
    level: str
    method: str
    status: str
    score: float | None
    baseline: PointOut | None
    latest: PointOut | None
    target: PointOut | None
    cagr: float | None
    projected: float | None
    note: str | None
    milestones: list[MilestoneOut]
    details: dict[str, Any]


class ProgressList(BaseModel):
    run: RunOut | None
    items: list[ProgressOut]
    page: PageInfo


class SideOut(BaseModel):
    places: int
    mean_baseline: float | None
    mean_latest: float | None
    mean_change: float | None


class EngagementListOut(BaseModel):
    name: str
    illustrative: bool


class ComparisonOut(BaseModel):
    indicator: str
    baseline_year: int
    latest_year: int
    supported: SideOut
    others: SideOut
    difference_in_differences: float | None
    ci95: list[float | None]
    excluded_places: int
    caveat: str
    engagement_list: EngagementListOut | None


ExportFormat = Literal["csv", "sdmx-csv", "opensdg"]  # the keys of habmon.web.downloads.EXPORTS
LEVELS = ", ".join(str(x) for x in Level)
METHODS = ", ".join(str(x) for x in Method)
STATUSES = ", ".join(str(x) for x in Status)


def register(site: Site) -> None:
    router = APIRouter(prefix=API, tags=["monitoring"], responses=ERRORS)
    services = site.services
    figures = figures_of(site)

    def name_of(code: str) -> str:
        unit = services.geography().units.get(code)
        return code if unit is None else unit.name()

    @router.get("/runs/latest", operation_id="getLatestRun", response_model=RunOut)
    def latest_run(request: Request) -> Response:
        latest = figures.latest()
        if latest is None:
            raise NotFound(
                "no monitoring run has been stored yet",
                expected="a run stored by `habmon compute`",
                found="none",
                hint="a monitoring officer starts one (POST /api/v1/runs, the runs page, or `habmon compute`)",
            )
        return json_response(request, RunOut(**latest.run.to_dict()).model_dump(mode="json"))

    @router.get("/aggregates", operation_id="listAggregates", response_model=AggregateList)
    def list_aggregates(
        request: Request,
        page: PageParams,
        indicator: Annotated[str | None, Query(description="indicator code, e.g. 11.1.1")] = None,
        level: Annotated[Level | None, Query(description=f"one of {LEVELS}")] = None,
        geo: Annotated[str | None, Query(description="aggregate: M49 code (001 world, 202 …) or group code")] = None,
        period: Annotated[int | None, Query(ge=1900, le=2100, description="one year")] = None,
        period_from: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        period_to: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        include_below_rule: Annotated[
            bool, Query(description="also aggregates whose coverage is below the indicator's publication rule")
        ] = False,
    ) -> Response:
        latest = figures.latest()
        code = None if indicator is None else services.registry().get(indicator).code
        unit = None if geo is None else services.geography().resolve(geo).code
        rows = [] if latest is None else latest.all_aggregates() if code is None else latest.aggregates.get(code, ())
        chosen = [
            AggregateOut(**r, name=name_of(r["geo"]))
            for r in rows
            if (level is None or r["level"] == str(level))
            and (unit is None or r["geo"] == unit)
            and (period is None or r["period"] == period)
            and (period_from is None or r["period"] >= period_from)
            and (period_to is None or r["period"] <= period_to)
            and (include_below_rule or r["meets_publication_rule"])
        ]
        items, info = paginate(request, chosen, page)
        run = None if latest is None else RunOut(**latest.run.to_dict())
        return json_response(request, AggregateList(run=run, items=items, page=info).model_dump(mode="json"))

    @router.get("/progress", operation_id="listProgress", response_model=ProgressList)
    def list_progress(
        request: Request,
        page: PageParams,
        indicator: Annotated[str | None, Query(description="indicator code, e.g. 11.1.1")] = None,
        geo: Annotated[str | None, Query(description="aggregate: M49 code (001 world, 202 …)")] = None,
        level: Annotated[Level | None, Query(description=f"one of {LEVELS}")] = None,
        method: Annotated[Method | None, Query(description=f"one of {METHODS}")] = None,
        status: Annotated[Status | None, Query(description=f"one of {STATUSES}")] = None,
    ) -> Response:
        latest = figures.latest()
        code = None if indicator is None else services.registry().get(indicator).code
        unit = None if geo is None else services.geography().resolve(geo).code
        rows = [] if latest is None else latest.all_progress() if code is None else latest.progress_of(code)
        chosen = [
            ProgressOut(**r, name=name_of(r["geo"]))
            for r in rows
            if (unit is None or r["geo"] == unit)
            and (level is None or r["level"] == str(level))
            and (method is None or r["method"] == str(method))
            and (status is None or r["status"] == str(status))
        ]
        items, info = paginate(request, chosen, page)
        run = None if latest is None else RunOut(**latest.run.to_dict())
        return json_response(request, ProgressList(run=run, items=items, page=info).model_dump(mode="json"))

    @router.get("/indicators/{code}/comparison", operation_id="getComparison", response_model=ComparisonOut)
    def get_comparison(
        request: Request,
        code: Annotated[str, Path(description="indicator code, e.g. 11.1.1")],
        baseline: Annotated[int, Query(ge=1900, le=2100, description="baseline year")] = SDG_BASELINE_YEAR,
        latest: Annotated[int | None, Query(ge=1900, le=2100, description="latest year (default: newest)")] = None,
    ) -> Response:
        indicator = services.registry().get(code)
        if figures.published_frame(indicator.code).empty:
            raise NotFound(
                f"no published values of {indicator.code} to compare",
                expected="published country values",
                found="none",
            )
        result, header = compare_places(figures.monitor(), indicator.code, baseline_year=baseline, latest_year=latest)
        listing = None if header is None else {"name": header["name"], "illustrative": bool(header["illustrative"])}
        body = ComparisonOut.model_validate(
            {**result.to_dict(), "indicator": indicator.code, "engagement_list": listing}
        )
        return json_response(request, body.model_dump(mode="json"))

    @router.get(
        "/indicators/{code}/export",
        operation_id="exportIndicator",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "the published values as a file"}},
    )
    def export_indicator(
        code: Annotated[str, Path(description="indicator code, e.g. 11.1.1")],
        format: Annotated[ExportFormat, Query(description="csv (long), sdmx-csv (SDMX-CSV 1.0) or opensdg")] = "csv",
    ) -> Response:
        body, name, media_type = export(figures.monitor(), code, format)
        return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    site.app.include_router(router)
