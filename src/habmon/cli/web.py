"""``habmon serve``: the web app and REST API on the embedded default or any store.

It prints where it runs and, when the store holds the well-known demo accounts (``habmon demo`` creates
them), those accounts with their published passwords — DEMO ONLY.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from habmon.access.service import DEMO_ACCOUNTS, Access, DemoAccount
from habmon.cli.context import state
from habmon.cli.output import handled
from habmon.problems import NotFound

console = Console()


def demo_accounts(access: Access) -> list[DemoAccount]:
    """The demo accounts the store holds, active and with a password (the others cannot sign in)."""
    present: list[DemoAccount] = []
    for account in DEMO_ACCOUNTS:
        try:
            user = access.user(account.username)
        except NotFound:
            continue
        if user.active and user.has_password:
            present.append(account)
    return present


def banner(url: str, accounts: list[DemoAccount]) -> list[str]:
    """What ``habmon serve`` prints: the URL, the API, and the demo accounts if there are any."""
    lines = [f"Habitat Monitor is running at [bold]{url}[/bold]  (API: {url}api) — Ctrl+C stops it"]
    if accounts:
        lines.append(
            "[yellow]demo accounts — DEMO ONLY, their passwords are public (docs/access.md); "
            "sign in at[/] " + f"{url}login"
        )
        for a in accounts:
            where = f"scope {', '.join(a.geo_scope)}" if a.geo_scope else (a.organization or "")
            lines.append(f"  {a.username:<13} {a.password:<23} {a.role:<12} {where}")
    else:
        lines.append("no demo accounts in this store: sign in with the accounts `habmon users` created")
    return lines


def serve(
    host: Annotated[str, typer.Option(help="address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="mark cookies Secure and send HSTS (set this behind HTTPS)")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="web worker processes (use PostgreSQL for > 1)")] = 1,
    run_jobs: Annotated[
        bool, typer.Option("--run-jobs/--no-run-jobs", help="web workers also run queued jobs (else: habmon worker)")
    ] = True,
    log_format: Annotated[str, typer.Option("--log-format", help="text, or json (one JSON object per line)")] = "text",
) -> None:
    """Serve the web app and the REST API (/api/v1) over the current store."""
    import os
    import tempfile

    import uvicorn

    from habmon.web.asgi import configure_logging, settings_from_environment

    environment = {
        "HABMON_SECURE_COOKIES": "1" if secure_cookies else "0",
        "HABMON_RUN_JOBS": "1" if run_jobs else "0",
        "HABMON_LOG_FORMAT": log_format,
    }
    if state.database:
        environment["HABMON_DATABASE_URL"] = state.database
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # every worker counts into shared files
        environment["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="habmon-metrics-")
    os.environ.update(environment)  # the workers build their app from the environment (habmon.web.asgi)
    with handled():
        from habmon.access.service import Access
        from habmon.store.store import Store

        store = Store(settings_from_environment().database)
        store.require_schema()
        accounts = demo_accounts(Access(store))
        store.dispose()
    for line in banner(f"http://{host}:{port}/", accounts):
        console.print(line, highlight=False)
    if workers > 1:
        console.print(f"{workers} web workers", highlight=False)
    configure_logging(log_format)
    uvicorn.run(
        "habmon.web.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # uvicorn kills a worker that does not answer its supervisor's ping in time (default 5 s): a worker that is
        # still importing on a busy machine, or running a monitoring run, would be killed mid-request
        timeout_worker_healthcheck=60,
    )
