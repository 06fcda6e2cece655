"""Liveness and readiness for load balancers and orchestrators.

* ``/healthz`` — the process answers (no database involved: a database outage must not make an
  orchestrator kill every healthy web worker).
* ``/readyz`` — the database answers and its schema is at this habmon's newest migration; else 503
  with ``Retry-After``, so a balancer sends traffic elsewhere until it is.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from habmon import __version__
from habmon.store.database import schema_head
from habmon.web.app import Site
from habmon.web.render import json_response

RETRY_AFTER_SECONDS = 5


def readiness(site: Site) -> tuple[bool, dict[str, Any]]:
    """Whether the app can serve, and why (database reachable, schema revision against the newest)."""
    head = schema_head()
    try:
        revision = site.services.store.schema_revision()
    except SQLAlchemyError as error:
        return False, {"status": "unavailable", "database": "unreachable", "error": type(error).__name__}
    if revision != head:
        return False, {"status": "unavailable", "database": "ok", "schema": revision, "expected_schema": head}
    return True, {"status": "ready", "database": "ok", "schema": revision}


def register(site: Site) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz(request: Request) -> Response:
        return json_response(request, {"status": "alive", "version": __version__})

    @router.get("/readyz")
    def readyz(request: Request) -> Response:
        ready, body = readiness(site)
        headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return json_response(request, body, status_code=200 if ready else 503, headers=headers)

    site.app.include_router(router)
