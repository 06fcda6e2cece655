"""What an operations team relies on: security headers on every page type, liveness and readiness, Prometheus
metrics closed to the public, a request id in every answer and error, a 503 with Retry-After when the database
is out of reach."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from habmon.access.model import Principal, Role
from habmon.access.service import Access
from habmon.problems import NotFound
from habmon.services import Monitor
from habmon.store.database import schema_head
from habmon.store.store import Store
from habmon.web import create_app
from habmon.web.context import WebServices
from habmon.web.security import CONTENT_SECURITY_POLICY
from habmon.web.settings import WebSettings
from tests.web_client import client_for

PAGES = [
    "/",
    "/index.json",
    "/plan/IA1",
    "/indicators",
    "/indicators/11.1.1",
    "/indicators/11.1.1.json",
    "/places/KEN",
    "/login",
    "/runs",
    "/api",
    "/api/v1/openapi.json",
    "/api/v1/indicators",
    "/static/habmon.css",
    "/indicators/99.9.9",  # an error page
    "/review",  # refused to the public
]


@pytest.fixture(scope="module")
def web(demo: Monitor) -> Iterator[TestClient]:
    with client_for(demo) as client:
        yield client


@pytest.mark.parametrize("url", PAGES)
def test_every_page_type_carries_the_security_headers(web: TestClient, url: str) -> None:
    response = web.get(url, follow_redirects=False)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP: no HSTS
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_hsts_only_behind_https(demo: Monitor) -> None:
    with client_for(demo, WebSettings(secure_cookies=True)) as client:
        assert client.get("/").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_no_page_has_inline_script_or_style_that_the_policy_would_block(web: TestClient) -> None:
    for url in ("/", "/indicators/11.1.1", "/places/KEN", "/login", "/plan/IA1"):
        html = web.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=\"|<style", html), url
        assert not re.search(r"\son[a-z]+=\"", html), url


def test_liveness_and_readiness(web: TestClient) -> None:
    assert web.get("/healthz").json()["status"] == "alive"
    ready = web.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "schema": schema_head()}


def test_not_ready_while_the_schema_is_behind(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no migrations applied
    settings = WebSettings()
    with TestClient(create_app(settings, services=WebServices(settings, store))) as client:
        assert client.get("/healthz").status_code == 200  # alive: an orchestrator must not kill it for this
        answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json() == {
        "status": "unavailable",
        "database": "ok",
        "schema": None,
        "expected_schema": schema_head(),
    }


def test_an_unreachable_database_answers_503_with_retry_after_not_a_traceback() -> None:
    store = Store("postgresql://habmon@127.0.0.1:9/nowhere?connect_timeout=2")  # nothing listens on port 9
    settings = WebSettings()
    with TestClient(create_app(settings, services=WebServices(settings, store))) as client:
        page = client.get("/indicators/11.1.1")
        api = client.get("/api/v1/indicators")
        ready = client.get("/readyz")
    for answer in (page, api):
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert "Traceback" not in answer.text
    assert api.json()["error"]["type"] == "database-unavailable"
    assert api.json()["error"]["request_id"] == api.headers["x-request-id"]
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"


def test_the_request_id_is_in_error_bodies_and_pages_and_a_sane_incoming_one_is_kept(web: TestClient) -> None:
    missing = web.get("/api/v1/indicators/99.9.9")
    assert missing.status_code == 404
    assert missing.json()["error"]["request_id"] == missing.headers["x-request-id"]
    page = web.get("/indicators/99.9.9")
    assert page.headers["x-request-id"] in page.text
    assert web.get("/", headers={"X-Request-ID": "proxy-1234abcd"}).headers["x-request-id"] == "proxy-1234abcd"
    forged = web.get("/", headers={"X-Request-ID": "<script>"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)


def test_metrics_are_closed_to_the_public_and_open_to_staff(demo: Monitor) -> None:
    access = Access(demo.store)
    name = "ops.metrics.officer"
    try:
        access.user(name)
    except NotFound:  # not created yet in this session's demo store
        access.create_user(Principal.system(), name, role=Role.OFFICER)
    token, _ = access.create_token(access.principal(name), "metrics scraper")
    with client_for(demo) as client:
        client.get("/indicators/11.1.1")
        client.get("/indicators/11.1.1")
        refused = client.get("/metrics")
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert "may not read the operations metrics" in refused.text
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    count = re.search(
        r'habmon_http_request_duration_seconds_count\{method="GET",route="/indicators/\{code\}"\} (\S+)', text
    )
    assert count is not None and float(count.group(1)) >= 2
    assert 'habmon_http_responses_total{method="GET",route="/indicators/{code}",status="200"}' in text
    assert re.search(r'habmon_jobs\{state="queued"\} \d', text)
    assert "# TYPE habmon_submissions gauge" in text


def test_metrics_can_be_opened_to_a_private_scraper(demo: Monitor) -> None:
    with client_for(demo, WebSettings(metrics_public=True)) as client:
        assert client.get("/metrics").status_code == 200


def test_a_database_outage_while_signing_in_a_token_is_a_503_too() -> None:
    """The token is checked in a middleware, before any route: its database error must not become a 500."""
    store = Store("postgresql://habmon@127.0.0.1:9/nowhere?connect_timeout=2")
    settings = WebSettings()
    with TestClient(
        create_app(settings, services=WebServices(settings, store)), raise_server_exceptions=False
    ) as client:
        answer = client.get("/api/v1/me", headers={"Authorization": "Bearer hm_0123456789abcdef-the-database-is-down"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json()["error"]["type"] in {"database-unavailable", "store"}
