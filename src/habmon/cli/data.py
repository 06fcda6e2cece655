"""``habmon data …``: observations in the store."""

from __future__ import annotations

from typing import Annotated

import typer

from habmon.cli.context import monitor
from habmon.cli.options import JsonOpt, LangOpt, bar, checked_lang
from habmon.cli.output import console, emit_json, handled, table

data_app = typer.Typer(help="Observations in the store.", no_args_is_help=True)


@data_app.command("series")
def data_series(
    indicator: Annotated[str, typer.Option(help="Indicator or series code, e.g. 11.1.1")],
    geo: Annotated[str, typer.Option(help="M49, ISO3 or city id, e.g. KEN")],
    history: Annotated[bool, typer.Option("--history", help="Every revision, not just the newest.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Only published values (what the public sees).")] = False,
    json_output: JsonOpt = False,
    lang: LangOpt = "en",
) -> None:
    """Stored values of an indicator for a place, with provenance."""
    with handled(json_output):
        series = monitor().series(indicator, geo, history=history, public=public)
        if json_output:
            emit_json(series.to_dict(lang))
            return
        top = max((abs(o.observation.value) for o in series.observations), default=0.0)
        rows = [
            [
                o.observation.period,
                "/".join(f"{k}={v}" for k, v in sorted(o.observation.disaggregation.items())) or "total",
                f"{o.observation.value:g}",
                bar(o.observation.value, top),
                o.observation.nature,
                o.revision,
                o.batch_name,
            ]
            for o in series.observations
        ]
        console.print(
            table(
                f"{series.indicator.code} · {series.unit.name(checked_lang(lang))} ({series.unit.code})",
                ["year", "group", "value", "trend", "nature", "revision", "batch"],
                rows,
                caption=f"{series.indicator.name.get(lang)} ({series.indicator.unit})",
            )
        )
        sources = sorted({o.observation.source for o in series.observations})
        for source in sources:
            console.print(f"[dim]source: {source}[/]")


@data_app.command("summary")
def data_summary(json_output: JsonOpt = False) -> None:
    """Series in the store: places, years, rows."""
    with handled(json_output):
        rows = monitor().store.series_summary()
        if json_output:
            emit_json(rows)
            return
        console.print(
            table(
                "observations",
                ["series", "places", "first", "last", "rows"],
                [[r["series"], r["places"], r["first"], r["last"], r["rows"]] for r in rows],
            )
        )
