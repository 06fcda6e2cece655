"""Monitoring runs in the web app: the stored runs, and the durable queue that makes new ones one at a time.

Publishing values and the "run now" button both ask for a run. A run reads a snapshot of the whole store and
takes seconds (1.6–1.8 s on the demo), so asking again while one runs does not start a second run beside it: the
requests that arrive meanwhile are collapsed into one more run, which starts when the current one ends and sees
everything published until then. Ten publications in a burst make at most two runs, never ten.

The queue is the store's job table (:mod:`habmon.jobs`): every web worker and every ``habmon worker`` process,
on any host, works it, and a run whose worker died is taken over when its lease passes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, Security
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from habmon.access.model import Action, Principal
from habmon.access.policy import Rule, rule_for
from habmon.engine.run import RunSummary, compute, stored_runs
from habmon.jobs import Job, JobQueue, JobState, Worker
from habmon.jobs.metrics import observe_job
from habmon.jobs.monitoring import MONITORING_RUN, monitoring_run, requester
from habmon.store.store import Store
from habmon.web.api.common import ERRORS, PageInfo, PageParams, bearer
from habmon.web.api.monitoring import RunOut
from habmon.web.api.v1 import API
from habmon.web.app import Site
from habmon.web.auth import CsrfChecked, CurrentPrincipal, access_of, monitor_for, refused_early
from habmon.web.figures import RunInfo
from habmon.web.render import Page, json_response, page_route, wants_json

logger = logging.getLogger(__name__)

RUNS_PAGE = 20


@dataclass(frozen=True, slots=True)
class QueueState:
    """What the queue is doing: a run in progress, another one wanted after it, how the last one ended."""

    running: bool = False
    queued: bool = False
    requested_by: str | None = None  # who asked for the run that is queued (or running, until it ends)
    last_run: int | None = None  # the id of the last run stored by the queue
    last_finished_at: datetime | None = None
    last_error: str | None = None  # the last run that failed, if the one after it has not succeeded yet

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "queued": self.queued,
            "requested_by": self.requested_by,
            "last_run": self.last_run,
            "last_finished_at": None if self.last_finished_at is None else self.last_finished_at.isoformat(),
            "last_error": self.last_error,
        }


def queue_state(jobs: list[Job]) -> QueueState:
    """The state of the monitoring-run queue from its jobs, newest first."""
    queued = next((j for j in jobs if j.state == JobState.QUEUED), None)
    running = next((j for j in jobs if j.state == JobState.RUNNING), None)
    done = next((j for j in jobs if j.state == JobState.DONE), None)
    failed = next((j for j in jobs if j.state == JobState.FAILED), None)
    asker = queued or running
    error = failed.error if failed is not None and (done is None or failed.id > done.id) else None
    return QueueState(
        running=running is not None,
        queued=queued is not None,
        requested_by=None if asker is None else asker.requested_by,
        last_run=None if done is None or done.result is None else int(done.result["run_id"]),
        last_finished_at=None if done is None else done.finished_at,
        last_error=error,
    )


class RunQueue:
    """At most one run at a time; requests made while one runs become a single run after it (durably)."""

    def __init__(
        self, store: Store, run: Callable[[Principal], RunSummary], principal_of: Callable[[str], Principal]
    ) -> None:
        self.jobs = JobQueue(store)
        self.worker = Worker(self.jobs, {MONITORING_RUN: monitoring_run(run, principal_of)}, observe=observe_job)

    def state(self) -> QueueState:
        return queue_state(self.jobs.jobs(kind=MONITORING_RUN, limit=50))

    def request(self, who: Principal) -> QueueState:
        """Ask for a run as ``who`` (already authorized); a worker carries it out. The latest asker wins."""
        self.jobs.request(MONITORING_RUN, who.username)
        return self.state()

    def work(self) -> None:
        """Run until no run is claimable; returns at once when a run is in progress elsewhere."""
        self.worker.run_until_idle()


def queue_of(site: Site) -> RunQueue:
    """The one :class:`RunQueue` of an app (made by the first feature that asks, at start-up)."""
    found: RunQueue | None = getattr(site.app.state, "run_queue", None)
    if found is None:

        def run(who: Principal) -> RunSummary:
            monitor = monitor_for(site, who)
            monitor.authorize(Action.RUN_ENGINE)  # asked again: the user may have lost the role meanwhile
            return compute(monitor)

        found = RunQueue(site.services.store, run, requester(access_of(site)))
        site.app.state.run_queue = found
    return found


def ask_for_run(site: Site, who: Principal, tasks: BackgroundTasks) -> QueueState:
    """Queue a monitoring run as ``who`` (refused unless they may run one); it runs after the answer is sent."""
    monitor_for(site, who).authorize(Action.RUN_ENGINE)
    queue = queue_of(site)
    state = queue.request(who)
    if site.services.settings.run_jobs:
        tasks.add_task(queue.work)
    return state


def run_data(row: dict[str, Any], *, with_actor: bool) -> dict[str, Any]:
    """A stored run for the page and the API (who started it only for those who may read the audit log)."""
    info = RunInfo.of(row)
    data = info.to_dict()
    data["seconds"] = round((info.finished_at - info.started_at).total_seconds(), 1)
    data["indicators"] = len((row.get("parameters") or {}).get("indicators", ()))
    data["results"] = int(row["results"])
    data["actor"] = row["actor"] if with_actor else None
    return data


class RunListItem(RunOut):
    seconds: float
    indicators: int
    results: int
    actor: str | None


class QueueOut(BaseModel):
    running: bool
    queued: bool
    requested_by: str | None
    last_run: int | None
    last_finished_at: str | None
    last_error: str | None


class RunList(BaseModel):
    items: list[RunListItem]
    queue: QueueOut
    page: PageInfo


def register(site: Site) -> None:
    router = APIRouter()
    api = APIRouter(prefix=API, tags=["monitoring"], responses=ERRORS)

    def runs(who: Principal, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows, total = stored_runs(monitor_for(site, who), limit=limit, offset=offset)
        staff = rule_for(who, Action.READ_AUDIT) != Rule.NEVER
        return [run_data(row, with_actor=staff) for row in rows], total

    def queue_data(who: Principal) -> dict[str, Any]:
        """The queue as its viewer may see it (who asked, and why a run failed, is for the staff only)."""
        state = queue_of(site).state()
        if rule_for(who, Action.READ_AUDIT) == Rule.NEVER:
            state = replace(state, requested_by=None, last_error=None)
        return state.to_dict()

    @page_route(router, "/runs", name="runs")
    def runs_page(
        request: Request,
        who: CurrentPrincipal,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Response:
        items, total = runs(who, RUNS_PAGE, offset)
        data = {
            "runs": items,
            "total": total,
            "queue": queue_data(who),
            "may_run": rule_for(who, Action.RUN_ENGINE) != Rule.NEVER,
            "previous": max(0, offset - RUNS_PAGE) if offset else None,
            "next": offset + RUNS_PAGE if offset + RUNS_PAGE < total else None,
        }
        return site.renderer.respond(request, Page("runs.html", data, title="Monitoring runs"))

    @router.post("/runs", name="runs.start", include_in_schema=False, dependencies=[CsrfChecked])
    def start_from_page(request: Request, who: CurrentPrincipal, tasks: BackgroundTasks) -> Response:
        state = ask_for_run(site, who, tasks)
        if wants_json(request):
            return site.renderer.respond(request, Page("", state.to_dict(), status_code=202))
        return RedirectResponse("/runs", status_code=303)

    @api.get("/runs", operation_id="listRuns", response_model=RunList)
    def list_runs(request: Request, who: CurrentPrincipal, page: PageParams) -> Response:
        """Stored monitoring runs, newest first, and what the run queue is doing."""
        items, total = runs(who, page.limit, page.offset)
        following = page.offset + page.limit
        next_url = str(request.url.include_query_params(offset=following)) if following < total else None
        body = RunList(
            items=[RunListItem(**item) for item in items],
            queue=QueueOut(**queue_data(who)),
            page=PageInfo(limit=page.limit, offset=page.offset, total=total, next=next_url),
        )
        return json_response(request, body.model_dump(mode="json"))

    @api.post(
        "/runs",
        operation_id="startRun",
        response_model=QueueOut,
        status_code=202,
        dependencies=[Security(bearer), CsrfChecked, refused_early(Action.RUN_ENGINE)],
    )
    def start_run(request: Request, who: CurrentPrincipal, tasks: BackgroundTasks) -> Response:
        """Queue a monitoring run (officers and administrators). It starts after the answer, or after the run in
        progress; requests made meanwhile become one run. Follow it with `listRuns`."""
        state = ask_for_run(site, who, tasks)
        return json_response(request, QueueOut(**state.to_dict()).model_dump(mode="json"), status_code=202)

    site.app.include_router(router)
    site.app.include_router(api)
