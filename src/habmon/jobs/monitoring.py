"""The monitoring run as a job: run as the user who asked (re-authorized then), or as the local operator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from habmon.access.model import Principal
from habmon.access.service import Access
from habmon.engine.run import RunSummary
from habmon.jobs.queue import Job
from habmon.jobs.worker import Handler

MONITORING_RUN = "monitoring_run"


def requester(access: Access) -> Callable[[str], Principal]:
    """The principal a job runs as: a stored, active user — or the local operator for CLI requests."""
    system = Principal.system()

    def principal_of(username: str) -> Principal:
        return system if username == system.username else access.principal(username)

    return principal_of


def monitoring_run(run: Callable[[Principal], RunSummary], principal_of: Callable[[str], Principal]) -> Handler:
    def handle(job: Job) -> dict[str, Any]:
        return {"run_id": run(principal_of(job.requested_by)).run_id}

    return handle
