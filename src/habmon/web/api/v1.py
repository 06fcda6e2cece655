"""REST API v1: indicators and their series (published data; public, no login)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from habmon.indicators.model import Indicator
from habmon.problems import NotFound
from habmon.web.api.common import ERRORS, PageInfo, PageParams, paginate
from habmon.web.app import Site
from habmon.web.render import json_response

API = "/api/v1"


class IndicatorSummary(BaseModel):
    code: str
    name: dict[str, str]
    level: str
    unit: str
    direction: str
    measures: list[str]
    frameworks: list[str]


class IndicatorList(BaseModel):
    items: list[IndicatorSummary]
    page: PageInfo


class ObservationOut(BaseModel):
    indicator: str
    geo: str
    period: int
    disaggregation: dict[str, str]
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    unit: str | None = None
    nature: str
    source: str | None = None
    revision: int | None = None


class SeriesOut(BaseModel):
    indicator: dict[str, Any]
    geo: dict[str, Any]
    observations: list[ObservationOut]


def indicator_summary(indicator: Indicator) -> IndicatorSummary:
    return IndicatorSummary(
        code=indicator.code,
        name={"en": indicator.name.en, "zh": indicator.name.zh},
        level=str(indicator.level),
        unit=str(indicator.unit),
        direction=str(indicator.direction),
        measures=list(indicator.measures),
        frameworks=sorted({str(r.framework) for r in indicator.references}),
    )


def register(site: Site) -> None:
    router = APIRouter(prefix=API, tags=["indicators"], responses=ERRORS)
    services = site.services

    @router.get("/indicators", operation_id="listIndicators", response_model=IndicatorList)
    def list_indicators(
        request: Request,
        page: PageParams,
        level: Annotated[str | None, Query(description="results level: impact, outcome or output")] = None,
        measures: Annotated[str | None, Query(description="id of a plan element the indicator measures")] = None,
        framework: Annotated[str | None, Query(description="SDG, UMF, NUA or UN-Habitat")] = None,
    ) -> Response:
        chosen = [
            indicator_summary(i)
            for i in services.registry().indicators
            if (level is None or str(i.level) == level)
            and (measures is None or measures in i.measures)
            and (framework is None or any(str(r.framework) == framework for r in i.references))
        ]
        items, info = paginate(request, chosen, page)
        return json_response(request, IndicatorList(items=items, page=info).model_dump(mode="json"))

    @router.get("/indicators/{code}", operation_id="getIndicator", response_model=dict[str, Any])
    def get_indicator(
        request: Request, code: Annotated[str, Path(description="indicator code, e.g. 11.1.1")]
    ) -> Response:
        indicator = services.registry().get(code)
        return json_response(request, indicator.model_dump(mode="json"))

    @router.get("/indicators/{code}/series/{geo}", operation_id="getSeries", response_model=SeriesOut)
    def get_series(
        request: Request,
        code: Annotated[str, Path(description="indicator or auxiliary series code, e.g. 11.1.1")],
        geo: Annotated[str, Path(description="place: M49, ISO3, ISO2 or habmon code")],
        period_from: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        period_to: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    ) -> Response:
        monitor = services.monitor()
        series = monitor.series(code, geo, public=True)
        data = series.to_dict()
        data["observations"] = [
            o
            for o in data["observations"]
            if (period_from is None or o["period"] >= period_from) and (period_to is None or o["period"] <= period_to)
        ]
        return json_response(request, SeriesOut.model_validate(data).model_dump(mode="json"))

    site.app.include_router(router)


__all__ = ["API", "NotFound", "register"]
