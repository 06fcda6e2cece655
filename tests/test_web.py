"""The web app's foundation: pages and their JSON twins, languages, the one error shape, ETags, pagination."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from habmon.services import Monitor
from tests.web_client import client_for


@pytest.fixture(scope="module")
def web(demo: Monitor) -> Iterator[TestClient]:
    with client_for(demo) as client:
        yield client


def test_home_page_and_its_json_twin_carry_the_same_plan(web: TestClient, demo: Monitor) -> None:
    plan = demo.plan()
    twin = web.get("/index.json").json()
    assert [a["id"] for a in twin["impact_areas"]] == [a.id for a in plan.impact_areas]
    assert [m["outcome"]["id"] for m in twin["means_of_implementation"]] == [o.id for o in plan.outcomes]
    html = web.get("/").text
    for means in plan.means_of_implementation:
        assert means.name.en in html
    assert web.get("/", headers={"Accept": "application/json"}).json() == twin


def test_language_switch_renders_chinese_and_is_remembered(web: TestClient, demo: Monitor) -> None:
    plan = demo.plan()
    page = web.get("/?lang=zh")
    assert page.status_code == 200
    assert 'lang="zh-Hans"' in page.text
    assert plan.impact_areas[0].name.zh in page.text
    assert "跳到正文" in page.text  # interface string from the zh gettext catalogue
    assert web.cookies.get("habmon_lang") == "zh"
    assert plan.impact_areas[0].name.zh in web.get("/").text  # the cookie keeps the choice
    web.get("/?lang=en")
    assert plan.impact_areas[0].name.en in web.get("/").text


def test_every_error_has_one_shape_in_json_and_a_page_in_html(web: TestClient) -> None:
    missing = web.get("/api/v1/indicators/99.9.9")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not-found"
    assert missing.json()["error"]["details"]["found"] == "99.9.9"
    invalid = web.get("/api/v1/indicators?limit=0")
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"]["problems"][0]["field"] == "query.limit"
    page = web.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    twin = web.get("/no/such/page.json")
    request_id = twin.headers["x-request-id"]
    assert twin.json() == {
        "error": {"type": "not-found", "message": "Not Found", "details": {}, "request_id": request_id}
    }


def test_etag_gives_not_modified(web: TestClient) -> None:
    first = web.get("/api/v1/indicators/11.1.1/series/KEN")
    assert first.status_code == 200
    again = web.get("/api/v1/indicators/11.1.1/series/KEN", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_pagination_walks_every_indicator_once(web: TestClient, demo: Monitor) -> None:
    codes: list[str] = []
    url: str | None = "/api/v1/indicators?limit=7"
    while url:
        body = web.get(url).json()
        codes += [i["code"] for i in body["items"]]
        url = body["page"]["next"]
    assert codes == [i.code for i in demo.registry().indicators]
    impact = web.get("/api/v1/indicators?level=impact&limit=1000").json()
    assert {i["code"] for i in impact["items"]} == {
        i.code for i in demo.registry().indicators if str(i.level) == "impact"
    }


def test_series_is_the_stored_published_series(web: TestClient, demo: Monitor) -> None:
    stored = demo.series("11.1.1", "KEN", public=True)
    body = web.get("/api/v1/indicators/11.1.1/series/KEN?period_from=2010").json()
    assert body["geo"]["iso3"] == "KEN"
    expected = [
        (o.observation.period, o.observation.value) for o in stored.observations if o.observation.period >= 2010
    ]
    assert [(o["period"], o["value"]) for o in body["observations"]] == expected


def test_chinese_plural_messages_come_from_the_catalogue() -> None:
    from habmon.web.i18n import Translator

    zh, en = Translator("zh"), Translator("en")
    assert zh.ngettext("%(num)d row", "%(num)d rows", 1) == zh.ngettext("%(num)d row", "%(num)d rows", 5)
    assert zh.ngettext("%(num)d row", "%(num)d rows", 5) != "%(num)d rows"  # translated, one form for every n
    assert en.ngettext("%(num)d row", "%(num)d rows", 1) == "%(num)d row"
    assert en.ngettext("%(num)d row", "%(num)d rows", 2) == "%(num)d rows"


def test_api_reference_page_lists_every_operation_offline(web: TestClient) -> None:
    openapi = web.get("/api/v1/openapi.json").json()
    expected = {op["operationId"] for item in openapi["paths"].values() for op in item.values() if "operationId" in op}
    listed = {op["operation_id"] for op in web.get("/api.json").json()["operations"]}
    assert listed == expected and "getSeries" in listed
    page = web.get("/api").text
    assert "getSeries" in page and "cdn" not in page.lower()
    assert web.get("/api/v1/docs").status_code == 404  # Swagger UI would load scripts from a CDN
