"""End-to-end harness: the app served by uvicorn on a free loopback port over a fresh demo store, driven by
Debian's ``chromium`` through Playwright's Python API.

The browser is never downloaded (no ``playwright install``): Playwright starts the system binary
(``HABMON_CHROMIUM``, default ``/usr/bin/chromium``; ``scripts/install-system-deps.sh`` installs it). When it is
missing the tests fail and say so — they do not skip. Every request the browser makes is recorded; anything that
is not for the loopback server is aborted and fails the test. Screenshots go to ``test-artifacts/e2e``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from habmon.access.service import Access
from habmon.engine.run import compute
from habmon.services import Monitor
from habmon.store.store import Store
from habmon.web import create_app
from habmon.web.context import WebServices
from habmon.web.settings import WebSettings

CHROMIUM = Path(os.environ.get("HABMON_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
LOOPBACK = "127.0.0.1"
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})


@dataclass
class Server:
    url: str
    store: Store
    monitor: Monitor


@dataclass
class Requests:
    """Every URL the browser asked for; the ones that would have left the loopback server."""

    seen: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)  # console reports of the enforced policy's refusals

    def local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES or (parts.scheme == "http" and parts.hostname == LOOPBACK)


def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; stop it afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the end-to-end tests need Debian's chromium package "
            "(scripts/install-system-deps.sh installs it; HABMON_CHROMIUM points elsewhere). "
            "Never `playwright install`."
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A fresh demo store (what `habmon demo` makes, plus one monitoring run) served on the loopback interface."""
    directory = tmp_path_factory.mktemp("e2e")
    store = Store(f"sqlite:///{directory / 'habmon.sqlite3'}")
    monitor = Monitor(store)
    monitor.init()
    monitor.load_shipped()
    Access(store).ensure_demo_users()
    compute(monitor)
    settings = WebSettings()
    app = create_app(settings, services=WebServices(settings, store))
    for url in serve(app):
        yield Server(url, store, monitor)
    store.dispose()


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def new_page(browser: Any, requests: Requests) -> Iterator[Any]:
    """A function giving a page in a fresh browser context (its own cookies) with the network guard on."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)

        def record(request: Any) -> None:
            requests.seen.append(request.url)
            if not requests.local(request.url):
                requests.foreign.append(request.url)

        def guard(route: Any) -> None:  # and nothing foreign actually leaves
            if requests.local(route.request.url):
                route.continue_()
            else:
                route.abort()

        context.on("request", record)
        context.route("**/*", guard)
        context.set_default_timeout(20_000)
        page = context.new_page()

        def csp(message: Any) -> None:  # the pages are served with their Content-Security-Policy enforced
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                requests.csp_violations.append(f"{page.url}: {message.text}")

        page.on("console", csp)
        return page

    yield make
    for context in contexts:
        context.close()
    assert requests.csp_violations == [], f"Content-Security-Policy violations: {requests.csp_violations}"
    assert requests.seen, "the browser made no request at all"
    assert requests.foreign == [], f"requests that would have left {LOOPBACK}: {requests.foreign}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
