"""The app for a process manager: ``habmon serve --workers N`` (and any ASGI server) builds it from the environment.

``uvicorn --factory habmon.web.asgi:app_from_environment --workers 4`` runs four workers; each reads:

* ``HABMON_DATABASE_URL`` — the store (default: the embedded SQLite);
* ``HABMON_SECURE_COOKIES=1`` — behind HTTPS (Secure cookies, HSTS);
* ``HABMON_RUN_JOBS=0`` — leave the job queue to ``habmon worker`` processes;
* ``HABMON_METRICS_PUBLIC=1`` — ``/metrics`` without signing in (a scraper on a private network);
* ``HABMON_LOG_FORMAT=json`` — one JSON object per log line (see :mod:`habmon.web.requestlog`).
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from habmon.web.app import create_app
from habmon.web.requestlog import JsonLines
from habmon.web.settings import WebSettings


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def settings_from_environment() -> WebSettings:
    return WebSettings(
        database=os.environ.get("HABMON_DATABASE_URL") or None,
        secure_cookies=_flag("HABMON_SECURE_COOKIES", False),
        run_jobs=_flag("HABMON_RUN_JOBS", True),
        metrics_public=_flag("HABMON_METRICS_PUBLIC", False),
    )


def configure_logging(log_format: str) -> None:
    """``json``: JSON lines on stderr for log shippers; ``text``: the usual lines for a person."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines at every schema check are noise


def app_from_environment() -> FastAPI:
    configure_logging(os.environ.get("HABMON_LOG_FORMAT", "text"))
    return create_app(settings_from_environment())
