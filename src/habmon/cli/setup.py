"""``habmon init`` and ``habmon demo``: create the database, load the plan, registry, geography and shipped data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from habmon.access.service import Access
from habmon.cli.context import monitor
from habmon.cli.output import console, handled, progress_bar, report_table, table


def _print_steps(steps: list[Any]) -> None:
    rows = [
        [
            s.name,
            "loaded" if s.created else "unchanged",
            s.detail,
            f"{len(s.report.warnings)} warning(s)" if len(s.report) else "",
        ]
        for s in steps
    ]
    console.print(table("habmon", ["step", "status", "detail", "notes"], rows))


def init(
    plan: Annotated[Path | None, typer.Option(help="Plan file (default: the shipped 2026–2029 plan).")] = None,
) -> None:
    """Create or migrate the database and load the plan, indicators, geography and engagement list."""
    with handled():
        m = monitor()
        steps = m.init(plan_file=plan)
        _print_steps(steps)
        console.print(f"database: {m.store.display_url()}")


def demo(
    verbose: Annotated[bool, typer.Option("--verbose", help="List every source row that was skipped.")] = False,
) -> None:
    """Initialise and load the real public data shipped with habmon (SDG 11.1.1, WUP 2018, SDG city data)."""
    with handled():
        m = monitor()
        steps = m.init()
        with progress_bar("loading shipped data", "loading") as tick:
            steps += m.load_shipped(progress=tick)
        _print_steps(steps)
        if verbose:
            for step in steps:
                if len(step.report):
                    console.print(report_table(step.report, f"{step.name}: skipped source rows"))
        summary = m.store.series_summary()
        console.print(
            table(
                "observations in the store",
                ["series", "places", "first year", "last year", "rows"],
                [[r["series"], r["places"], r["first"], r["last"], r["rows"]] for r in summary],
            )
        )
        accounts = Access(m.store).ensure_demo_users(m.principal)
        console.print("[yellow]demo accounts — DEMO ONLY, their passwords are public (docs/access.md):[/]")
        for a, created in accounts:
            where = f"scope {', '.join(a.geo_scope)}" if a.geo_scope else (a.organization or "")
            note = "" if created else " (exists)"
            console.print(f"  {a.username:<13} {a.password:<23} {a.role:<12} {where}{note}", highlight=False)
        console.print(
            f"database: {m.store.display_url()}\n"
            "try: habmon plan show · habmon indicators appraise · "
            "habmon data series --indicator 11.1.1 --geo KEN"
        )
