"""The FastAPI application: built from features that register themselves on a :class:`Site`.

Built-in features (pages, API, submissions, …) and third-party ones register through the same
hook — a ``register(site)`` function; third-party packages expose theirs under the
``habmon.web`` entry-point group.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from habmon import __version__
from habmon.web import errors
from habmon.web.context import WebServices
from habmon.web.render import Renderer
from habmon.web.settings import WebSettings

STATIC_DIR = Path(__file__).parent / "static"
BUILTIN_FEATURES = (
    "habmon.web.auth",
    "habmon.web.uploads",
    "habmon.web.pages.home",
    "habmon.web.pages.plan",
    "habmon.web.pages.indicators",
    "habmon.web.pages.places",
    "habmon.web.api.v1",
    "habmon.web.api.monitoring",
    "habmon.web.api.reference",
    "habmon.web.pages.entry",  # before submissions: /submissions/entry is not a submission id
    "habmon.web.pages.submissions",
    "habmon.web.pages.surveys",
    "habmon.web.admin",
    "habmon.web.api.submissions",
    "habmon.web.runs",
    "habmon.web.pages.api_reference",
    "habmon.web.health",
    # middleware registered last wraps everything before it: every response is timed, gets the security
    # headers and carries its request id, 413s and 401s from the middleware above included
    "habmon.web.metrics",
    "habmon.web.security",
    "habmon.web.requestlog",
)
ENTRY_POINT_GROUP = "habmon.web"


@dataclass(frozen=True, slots=True)
class Site:
    """What a feature gets to register on: the app, the page renderer and the services."""

    app: FastAPI
    renderer: Renderer
    services: WebServices


Feature = Callable[[Site], None]


def builtin_features() -> Iterable[Feature]:
    for module in BUILTIN_FEATURES:
        yield importlib.import_module(module).register


def plugin_features() -> Iterable[Feature]:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        yield entry.load()


def create_app(settings: WebSettings | None = None, *, services: WebServices | None = None) -> FastAPI:
    settings = settings or WebSettings()
    services = services or WebServices.open(settings)
    app = FastAPI(
        title="Habitat Monitor API",
        version=__version__,
        description="Results-based monitoring of UN-Habitat's Strategic Plan 2026–2029. "
        "Published data is public; submissions and approvals need a token.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads a CDN; /api renders the document offline
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    renderer = Renderer(settings)
    site = Site(app, renderer, services)
    app.state.site = site
    errors.install(app, renderer)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for feature in (*builtin_features(), *plugin_features()):
        feature(site)
    return app
