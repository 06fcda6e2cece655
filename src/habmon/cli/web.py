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
        bool, typer.Option("--secure-cookies", help="mark cookies Secure (set this behind HTTPS)")
    ] = False,
) -> None:
    """Serve the web app and the REST API (/api/v1) over the current store."""
    import uvicorn

    from habmon.web import create_app
    from habmon.web.settings import WebSettings

    with handled():
        app = create_app(WebSettings(database=state.database, secure_cookies=secure_cookies))
        accounts = demo_accounts(app.state.access)
    for line in banner(f"http://{host}:{port}/", accounts):
        console.print(line, highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
