"""``habmon serve``: the web app and REST API on the embedded default or any store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from habmon.cli.context import state
from habmon.cli.output import handled

console = Console()


def serve(
    host: Annotated[str, typer.Option(help="address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Serve the web app and the REST API (/api/v1) over the current store."""
    import uvicorn

    from habmon.web import create_app
    from habmon.web.settings import WebSettings

    with handled():
        app = create_app(WebSettings(database=state.database))
    url = f"http://{host}:{port}/"
    console.print(f"Habitat Monitor is running at [bold]{url}[/bold]  (API: {url}api/v1/docs) — Ctrl+C stops it")
    uvicorn.run(app, host=host, port=port, log_level="warning")
