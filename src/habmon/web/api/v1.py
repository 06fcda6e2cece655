"""REST API v1: indicators, their series and observations (published data; public, no login).

Filters: ``disaggregation`` is ``total`` (totals only), ``any`` (default) or a canonical disaggregation key as
each observation carries it (``sex=F``; several dimensions sorted and joined by ``;``).
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from habmon.indicators.model import Indicator
from habmon.problems import NotFound
from habmon.services import Series
from habmon.services.uncertainty import uncertainty_key
from habmon.web.api.common import ERRORS, PageInfo, PageParams, paginate
from habmon.web.app import Site
from habmon.web.figures import figures_of
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


class Uncertainty(BaseModel):
    """Design-based uncertainty of a survey estimate (issue #12); null for values that carry none."""

    se: float | None = Field(None, description="standard error (Taylor linearisation), in the value's unit")
    ci_low: float | None = Field(None, description="lower bound of the 95 % confidence interval (logit scale)")
    ci_high: float | None = Field(None, description="upper bound of the 95 % confidence interval")
    n: int | None = Field(None, description="unweighted count of records (households) in the domain")
    deff: float | None = Field(None, description="design effect against simple random sampling")


class ObservationOut(Uncertainty):
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


class ObservationRow(Uncertainty):
    indicator: str
    geo: str
    period: int
    disaggregation_key: str
    value: float
    numerator: float | None
    denominator: float | None
    unit: str
    nature: str
    source: str
    revision: int


class ObservationList(BaseModel):
    items: list[ObservationRow]
    page: PageInfo


TOTAL, ANY = "total", "any"
DisaggregationParam = Annotated[
    str,
    Query(description="'total' (totals only), 'any' (every value), or a disaggregation key such as sex=F"),
]


def wanted_key(disaggregation: str) -> str | None:
    """The disaggregation key to keep ('' for totals), or None for every value."""
    return {TOTAL: "", ANY: None}.get(disaggregation, disaggregation)


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
    figures = figures_of(site)

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
    async def get_series(
        request: Request,
        code: Annotated[str, Path(description="indicator or auxiliary series code, e.g. 11.1.1")],
        geo: Annotated[str, Path(description="place: M49, ISO3, ISO2 or habmon code")],
        period_from: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        period_to: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        disaggregation: DisaggregationParam = ANY,
    ) -> Response:
        # Answered on the event loop, not in the thread pool: one indexed read of a few rows costs less than the
        # hand-off to a worker thread and back (2 cores, 50 clients: ~1.5× the throughput; bench/README.md).
        series = figures.monitor().series(code, geo, public=True)
        key = wanted_key(disaggregation)
        chosen = tuple(
            o
            for o in series.observations
            if (period_from is None or o.observation.period >= period_from)
            and (period_to is None or o.observation.period <= period_to)
            and (key is None or o.observation.key.disaggregation == key)
        )
        data = Series(series.indicator, series.unit, chosen).to_dict()
        uncertainty = figures.monitor().uncertainty(series.indicator.code, series.unit.code)
        for stored, shown in zip(chosen, data["observations"], strict=True):
            shown.update(uncertainty.get(uncertainty_key(stored), {}))
        return json_response(request, SeriesOut.model_validate(data).model_dump(mode="json"))

    @router.get("/observations", operation_id="listObservations", response_model=ObservationList)
    def list_observations(
        request: Request,
        page: PageParams,
        indicator: Annotated[str, Query(description="indicator code, e.g. 11.1.1")],
        geo: Annotated[
            list[str] | None, Query(description="places (repeat): M49, ISO3, ISO2 or city id; default: every place")
        ] = None,
        period_from: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        period_to: Annotated[int | None, Query(ge=1900, le=2100)] = None,
        disaggregation: DisaggregationParam = ANY,
    ) -> Response:
        code = services.registry().get(indicator).code
        geography = services.geography()
        places = None if not geo else {geography.resolve(g).code for g in geo}
        frame = figures.published_frame(code)
        key = wanted_key(disaggregation)
        if not frame.empty:
            keep = pd.Series(True, index=frame.index)
            if places is not None:
                keep &= frame["geo"].isin(places)
            if period_from is not None:
                keep &= frame["period"] >= period_from
            if period_to is not None:
                keep &= frame["period"] <= period_to
            if key is not None:
                keep &= frame["disaggregation_key"] == key
            frame = frame[keep].sort_values(["geo", "period", "disaggregation_key"])
        uncertainty = figures.monitor().uncertainty(code) if not frame.empty else {}
        rows = [
            ObservationRow(
                indicator=r.series,
                geo=r.geo,
                period=int(r.period),
                disaggregation_key=r.disaggregation_key,
                value=float(r.value),
                numerator=None if pd.isna(r.numerator) else float(r.numerator),
                denominator=None if pd.isna(r.denominator) else float(r.denominator),
                unit=r.unit,
                nature=r.nature,
                source=r.source,
                revision=int(r.revision),
                **uncertainty.get((r.geo, int(r.period), r.disaggregation_key, int(r.revision)), {}),
            )
            for r in frame.itertuples(index=False)
        ]
        items, info = paginate(request, rows, page)
        return json_response(request, ObservationList(items=items, page=info).model_dump(mode="json"))

    site.app.include_router(router)


__all__ = ["API", "NotFound", "register"]
