"""A web app over a store, tested in-process (no server): ``TestClient`` speaks ASGI directly."""

from __future__ import annotations

from fastapi.testclient import TestClient

from habmon.services import Monitor
from habmon.web import create_app
from habmon.web.context import WebServices
from habmon.web.settings import WebSettings


def client_for(monitor: Monitor, settings: WebSettings | None = None) -> TestClient:
    settings = settings or WebSettings()
    return TestClient(create_app(settings, services=WebServices(settings, monitor.store)))
