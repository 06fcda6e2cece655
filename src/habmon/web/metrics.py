"""Prometheus metrics at ``/metrics`` (the ``prometheus-client`` library).

Per request: a latency histogram and a response counter by route template (``/indicators/{code}``,
never the raw path, so the number of series stays bounded) and status. At each scrape: submissions
by state and the job queue's length, read from the store. Jobs record their own durations and
failures (:mod:`habmon.jobs.metrics`).

With several web workers (``habmon serve --workers N``) every process counts for itself into files
under ``PROMETHEUS_MULTIPROC_DIR``, which the scrape adds up — prometheus-client's multiprocess mode.

The endpoint is closed to the public: an administrator's or officer's session or token opens it,
or ``WebSettings.metrics_public`` for a deployment whose scraper sits on a private network.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from habmon.access.model import Action, Role
from habmon.access.policy import Forbidden
from habmon.jobs import JobQueue
from habmon.jobs.metrics import JOB_METRICS
from habmon.store.counts import submission_counts
from habmon.web.app import Site
from habmon.web.auth import monitor_for, principal
from habmon.web.requestlog import route_of

METRICS = CollectorRegistry()  # habmon's own metrics (the default registry also holds the process's)
REQUEST_SECONDS = Histogram(
    "habmon_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ("method", "route"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=METRICS,
)
RESPONSES = Counter(
    "habmon_http_responses_total",
    "HTTP responses by method, route template and status.",
    ("method", "route", "status"),
    registry=METRICS,
)


class RequestMetrics:
    """ASGI middleware: times every HTTP request and counts its response by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = route_of(scope)
            method = str(scope.get("method", ""))
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
            RESPONSES.labels(method, route, str(status)).inc()


class StoreCollector(Collector):
    """Gauges read from the store at scrape time: submissions by state, jobs waiting."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = self.site.services.store
        submissions = GaugeMetricFamily("habmon_submissions", "Submissions by state.", labels=("state",))
        for state, count in sorted(submission_counts(store).items()):
            submissions.add_metric((state,), count)
        yield submissions
        jobs = GaugeMetricFamily("habmon_jobs", "Jobs by state (queued is the queue's length).", labels=("state",))
        for state, count in sorted(JobQueue(store).counts().items()):
            jobs.add_metric((state,), count)
        yield jobs

    def describe(self) -> Iterator[Any]:
        return iter(())  # collected only at scrape time: reading the store at registration would be wasted


def exposition(site: Site) -> bytes:
    """The text exposition of every metric: this process's, or all workers' in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker) + generate_latest(scrape_registry(site))
    return generate_latest(METRICS) + generate_latest(JOB_METRICS) + generate_latest(scrape_registry(site))


def scrape_registry(site: Site) -> CollectorRegistry:
    """What is read from the store at each scrape (submissions and jobs by state)."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(site))
    return registry


def register(site: Site) -> None:
    site.app.add_middleware(RequestMetrics)
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    def metrics(request: Request) -> Response:
        who = principal(request)
        if not site.services.settings.metrics_public:
            try:
                monitor_for(site, who).authorize(Action.READ_METRICS)
            except Forbidden as refused:  # a scraper reads plain text: no sign-in page, the status and why
                status = 401 if who.role == Role.PUBLIC else 403
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
                return PlainTextResponse(f"{refused.args[0]}\n", status_code=status, headers=headers)
        return Response(exposition(site), media_type=CONTENT_TYPE_LATEST)

    site.app.include_router(router)
