"""The read API under /api/v1: published data only, filters, pagination, ETags, the one error shape, response
models in the OpenAPI document, and answers checked against the store and the run computed independently."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from habmon.engine.aggregate import Level
from habmon.engine.run import compute, latest_run, run_results
from habmon.engine.service import aggregate_indicator
from habmon.geo.model import UnitKind
from habmon.methods.progress import Status
from habmon.observation import Nature, Observation
from habmon.services import Monitor
from tests.web_client import client_for

PUBLIC_OPERATIONS = {
    "listIndicators",
    "getIndicator",
    "getSeries",
    "listObservations",
    "getLatestRun",
    "listAggregates",
    "listProgress",
    "getComparison",
    "exportIndicator",
    "getPlan",
    "getPlanElement",
    "listPlaces",
    "getPlace",
}


@pytest.fixture(scope="module")
def web(demo: Monitor) -> Iterator[TestClient]:
    compute(demo, codes=["11.1.1"])
    with client_for(demo) as client:
        yield client


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        body = client.get(next_url).json()
        items += body["items"]
        next_url = body["page"]["next"]
    return items


def test_openapi_describes_every_public_operation(web: TestClient) -> None:
    spec = web.get("/api/v1/openapi.json").json()
    operations = {
        op["operationId"]: op for path in spec["paths"].values() for op in path.values() if "operationId" in op
    }
    assert operations.keys() >= PUBLIC_OPERATIONS
    for name in PUBLIC_OPERATIONS - {"exportIndicator"}:
        ok = operations[name]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok or ok.get("type") == "object", name
        assert operations[name]["responses"]["404"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
    assert "text/csv" in operations["exportIndicator"]["responses"]["200"]["content"]


# -- observations and series ----------------------------------------------------------------------------


def test_observations_filtered_by_place_and_period_are_the_stored_published_values(
    web: TestClient, demo: Monitor
) -> None:
    items = walk(web, "/api/v1/observations?indicator=11.1.1&geo=KEN&geo=UG&period_from=2010&period_to=2020&limit=3")
    expected = sorted(
        (o.observation.geo, o.observation.period, o.observation.value)
        for place in ("KEN", "UGA")
        for o in demo.series("11.1.1", place, public=True).observations
        if 2010 <= o.observation.period <= 2020
    )
    assert [(i["geo"], i["period"], i["value"]) for i in items] == expected
    assert len(expected) > 3  # more than one page was walked


def test_observations_pagination_and_disaggregation_filter(web: TestClient, demo: Monitor) -> None:
    frame = demo.store.current_frame(["11.1.1"], public=True)
    first = web.get("/api/v1/observations?indicator=11.1.1&limit=50").json()
    assert first["page"]["total"] == len(frame) and len(first["items"]) == 50
    last = web.get(f"/api/v1/observations?indicator=11.1.1&limit=50&offset={len(frame) - 10}").json()
    assert len(last["items"]) == 10 and last["page"]["next"] is None
    totals = web.get("/api/v1/observations?indicator=11.1.1&disaggregation=total&limit=1").json()
    assert totals["page"]["total"] == int((frame["disaggregation_key"] == "").sum())
    assert web.get("/api/v1/observations?indicator=11.1.1&disaggregation=sex=F").json()["page"]["total"] == 0


def test_series_filters(web: TestClient, demo: Monitor) -> None:
    stored = [o.observation for o in demo.series("11.1.1", "KEN", public=True).observations]
    body = web.get("/api/v1/indicators/11.1.1/series/KE?period_to=2010&disaggregation=total").json()
    assert [(o["period"], o["value"]) for o in body["observations"]] == [
        (o.period, o.value) for o in stored if o.period <= 2010
    ]
    assert web.get("/api/v1/indicators/11.1.1/series/KEN?disaggregation=sex=F").json()["observations"] == []


def test_only_published_values_are_served(monitor: Monitor) -> None:
    def value(year: int, number: float) -> Observation:
        return Observation("11.1.1", "404", year, number, "percent", Nature.C, "test")

    monitor.record([value(2020, 50.0)], kind="shipped", name="public test data")
    monitor.record([value(2022, 41.0)], kind="submission", name="submitted, not published")
    with client_for(monitor) as client:
        series = client.get("/api/v1/indicators/11.1.1/series/KEN").json()["observations"]
        assert [(o["period"], o["value"]) for o in series] == [(2020, 50.0)]
        rows = client.get("/api/v1/observations?indicator=11.1.1").json()["items"]
        assert [(r["period"], r["value"]) for r in rows] == [(2020, 50.0)]
        page = client.get("/places/KEN.json").json()
        assert page["indicators"][0]["latest"]["value"] == 50.0
        exported = client.get("/api/v1/indicators/11.1.1/export?format=csv").text
        assert "41" not in exported.split("\n", 1)[1]


# -- the run: aggregates and progress ---------------------------------------------------------------------


def test_aggregates_are_the_latest_runs(web: TestClient, demo: Monitor) -> None:
    run = latest_run(demo)
    assert run is not None
    assert web.get("/api/v1/runs/latest").json()["id"] == run["id"]
    body = web.get("/api/v1/aggregates?indicator=11.1.1&level=world&period=2022").json()
    (world,) = body["items"]
    assert body["run"]["id"] == run["id"]
    stored = next(
        r for r in run_results(demo, run["id"], kind="aggregate") if r["geo_code"] == "001" and r["period"] == 2022
    )
    assert world["value"] == stored["value"] and world["coverage"] == stored["coverage"]
    _, (direct,) = aggregate_indicator(demo, "11.1.1", 2022, Level.WORLD)
    assert world["value"] == pytest.approx(direct.value)
    assert world["value"] == pytest.approx(24.8, abs=0.05) and world["people"] == pytest.approx(1.12e9, rel=0.01)
    assert world["name"] == "World" and world["meets_publication_rule"] is True


def test_aggregate_filters(web: TestClient, demo: Monitor) -> None:
    regions = walk(web, "/api/v1/aggregates?indicator=11.1.1&level=region&limit=20")
    region_codes = {u.code for u in demo.geography().of_kind(UnitKind.REGION)}
    assert regions and {r["geo"] for r in regions} <= region_codes
    assert all(r["level"] == "region" and r["meets_publication_rule"] for r in regions)
    africa = walk(web, "/api/v1/aggregates?indicator=11.1.1&geo=202&period_from=2016&period_to=2020")
    assert {r["geo"] for r in africa} == {"202"} and all(2016 <= r["period"] <= 2020 for r in africa)
    below = web.get("/api/v1/aggregates?indicator=11.1.1&include_below_rule=true&limit=1").json()["page"]["total"]
    published = web.get("/api/v1/aggregates?indicator=11.1.1&limit=1").json()["page"]["total"]
    run = latest_run(demo)
    assert run is not None
    rows = [r for r in run_results(demo, run["id"], kind="aggregate") if r["indicator"] == "11.1.1"]
    assert below == len(rows) and published == sum(1 for r in rows if r["published"])


def test_progress_filters(web: TestClient) -> None:
    everything = walk(web, "/api/v1/progress?indicator=11.1.1&limit=5")
    assert {r["method"] for r in everything} == {"unsd", "statcan"}
    by_status = []
    for status in Status:
        found = walk(web, f"/api/v1/progress?indicator=11.1.1&status={status}")
        assert all(r["status"] == str(status) for r in found)
        by_status += found
    assert sorted(map(str, by_status)) == sorted(map(str, everything))
    unsd = walk(web, "/api/v1/progress?indicator=11.1.1&method=unsd&level=world")
    assert [(r["geo"], r["method"]) for r in unsd] == [("001", "unsd")]


def test_etag_and_not_modified(web: TestClient) -> None:
    url = "/api/v1/aggregates?indicator=11.1.1&level=world"
    first = web.get(url)
    assert web.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    other = web.get(url + "&period=2020")  # the world is published for 2022 only (2020: a region fails its rule)
    assert other.json()["items"] == [] and other.headers["etag"] != first.headers["etag"]


def test_without_a_run(monitor: Monitor) -> None:
    with client_for(monitor) as client:
        missing = client.get("/api/v1/runs/latest")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not-found"
        body = client.get("/api/v1/aggregates").json()
        assert body["run"] is None and body["items"] == [] and body["page"]["total"] == 0


# -- comparison, export, plan, places ------------------------------------------------------------------------


def test_comparison(web: TestClient, demo: Monitor) -> None:
    body = web.get("/api/v1/indicators/11.1.1/comparison?baseline=2016").json()
    assert body["baseline_year"] == 2016 and body["latest_year"] == 2022
    assert body["engagement_list"]["illustrative"] is True
    engaged = {e.code for e in demo.engagements()[0]}
    assert body["supported"]["places"] + body["excluded_places"] <= len(engaged)
    low, high = body["ci95"]
    assert low <= body["difference_in_differences"] <= high


def test_export_formats_carry_every_published_value(web: TestClient, demo: Monitor) -> None:
    frame = demo.store.current_frame(["11.1.1"], public=True)
    response = web.get("/api/v1/indicators/11.1.1/export?format=csv")
    assert response.headers["content-disposition"] == 'attachment; filename="habmon_11.1.1.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(frame)
    assert {(r["geo"], r["period"], r["value"]) for r in rows if r["geo"] == "404"} >= {("404", "2022", "40.5")}
    sdmx = list(csv.DictReader(io.StringIO(web.get("/api/v1/indicators/11.1.1/export?format=sdmx-csv").text)))
    assert len(sdmx) == len(frame)
    kenya = next(r for r in sdmx if r["REF_AREA"] == "404" and r["TIME_PERIOD"] == "2022")
    assert (kenya["SERIES"], kenya["OBS_VALUE"]) == ("EN_LND_SLUM", "40.5")
    opensdg = web.get("/api/v1/indicators/11.1.1/export?format=opensdg").text.splitlines()
    assert opensdg[0] == "Year,GeoCode,Value" and "2022,404,40.5" in opensdg and len(opensdg) == len(frame) + 1
    invalid = web.get("/api/v1/indicators/11.1.1/export?format=xlsx")
    assert invalid.status_code == 422 and invalid.json()["error"]["details"]["problems"][0]["field"] == "query.format"
    assert web.get("/api/v1/indicators/UH.OC.E.1/export").status_code == 404


def test_plan_and_elements(web: TestClient, demo: Monitor) -> None:
    plan = demo.plan()
    body = web.get("/api/v1/plan?lang=zh").json()
    assert [o["id"] for o in body["outputs"]] == [o.id for o in plan.outputs]
    assert [a["name"] for a in body["impact_areas"]] == [a.name.zh for a in plan.impact_areas]
    element = web.get("/api/v1/plan/elements/MI-B").json()
    assert element == web.get("/plan/MI-B.json").json()
    assert element["rollup"]["below"][0]["id"] == plan.means_of_implementation[1].outcome.id


def test_places(web: TestClient, demo: Monitor) -> None:
    geography = demo.geography()
    countries = walk(web, "/api/v1/places?kind=country&limit=1000")
    assert len(countries) == sum(1 for u in geography.units.values() if u.kind == UnitKind.COUNTRY)
    found = web.get("/api/v1/places?q=kenya").json()["items"]
    assert [p["code"] for p in found if p["kind"] == "country"] == ["404"]
    assert web.get("/api/v1/places?q=肯尼亚&lang=zh").json()["items"][0]["name"] == "肯尼亚"
    assert web.get("/api/v1/places/KE").json() == web.get("/places/404.json").json()


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("/api/v1/indicators/9.9.9/comparison", "9.9.9"),
        ("/api/v1/indicators/9.9.9/export", "9.9.9"),
        ("/api/v1/observations?indicator=9.9.9", "9.9.9"),
        ("/api/v1/aggregates?indicator=9.9.9", "9.9.9"),
        ("/api/v1/progress?geo=ZZZ", "ZZZ"),
        ("/api/v1/places/ZZZ", "ZZZ"),
        ("/api/v1/plan/elements/NOPE", "NOPE"),
    ],
)
def test_unknown_things_are_404s(web: TestClient, url: str, found: str) -> None:
    response = web.get(url)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "not-found" and error["details"]["found"] == found and error["message"]


def test_invalid_parameters_are_422s(web: TestClient) -> None:
    for url, field in [
        ("/api/v1/aggregates?level=planet", "query.level"),
        ("/api/v1/progress?status=great", "query.status"),
        ("/api/v1/observations", "query.indicator"),
        ("/api/v1/places?kind=moon", "query.kind"),
        ("/api/v1/plan?lang=fr", "query.lang"),
    ]:
        response = web.get(url)
        assert response.status_code == 422, url
        assert response.json()["error"]["details"]["problems"][0]["field"] == field
