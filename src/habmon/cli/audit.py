"""``habmon audit …``: the audit log (``audit export`` lives with the submission commands)."""

from __future__ import annotations

from typing import Annotated

import typer

from habmon.cli.context import monitor
from habmon.cli.options import JsonOpt, short
from habmon.cli.output import console, emit_json, handled, table

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("list")
def audit_list(
    json_output: JsonOpt = False, limit: int = 50, object_type: Annotated[str | None, typer.Option("--type")] = None
) -> None:
    """Newest audit events first."""
    with handled(json_output):
        events = monitor().store.audit_events(object_type, limit)
        if json_output:
            emit_json(events)
            return
        console.print(
            table(
                "audit log",
                ["id", "at", "actor", "action", "object", "details"],
                [
                    [
                        e["id"],
                        e["at"],
                        e["actor"],
                        e["action"],
                        f"{e['object_type']} {e['object_id']}",
                        short(e["details"], 90),
                    ]
                    for e in events
                ],
            )
        )
