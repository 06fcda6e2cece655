"""``habmon indicators …``: the indicator registry."""

from __future__ import annotations

from typing import Annotated

import typer

from habmon.cli.context import monitor
from habmon.cli.options import JsonOpt, LangOpt, checked_lang
from habmon.cli.output import console, emit_json, handled, table
from habmon.indicators.appraisal import CRITERIA, appraise
from habmon.indicators.model import Rating

indicators_app = typer.Typer(help="The indicator registry.", no_args_is_help=True)


@indicators_app.command("list")
def indicators_list(
    json_output: JsonOpt = False,
    lang: LangOpt = "en",
    level: Annotated[str | None, typer.Option(help="impact, outcome or output")] = None,
) -> None:
    """List the indicators (all fields with --json)."""
    with handled(json_output):
        registry = monitor().registry()
        items = [i for i in registry.indicators if level is None or i.level == level]
        if json_output:
            emit_json([i.model_dump(mode="json") for i in items])
            return
        lang = checked_lang(lang)
        console.print(
            table(
                f"{len(items)} indicators",
                ["code", "status", "level", "measures", "unit", "name"],
                [[i.code, i.status, i.level, ", ".join(i.measures), i.unit, i.name.get(lang)] for i in items],
            )
        )


@indicators_app.command("show")
def indicators_show(code: str, json_output: JsonOpt = False, lang: LangOpt = "en") -> None:
    """Everything about one indicator."""
    with handled(json_output):
        ind = monitor().registry().get(code)
        if json_output:
            emit_json(ind.model_dump(mode="json"))
            return
        lang = checked_lang(lang)
        b = ind.baseline
        rows = [
            ["name", ind.name.get(lang)],
            ["status", ind.status],
            ["level", ind.level],
            ["measures", ", ".join(ind.measures)],
            ["definition", ind.definition.get(lang)],
            ["unit / direction", f"{ind.unit} / {ind.direction}"],
            ["scope", ind.scope],
            ["disaggregations", ", ".join(ind.disaggregations) or "—"],
            ["references", "; ".join(f"{r.framework} {r.code or ''}".strip() for r in ind.references)],
            [
                "baseline",
                f"{b.value} ({b.year}, {b.geo}) — {b.source}"
                if b.value is not None
                else f"to be set — {b.note.get(lang) if b.note else ''}",
            ],
            [
                "targets",
                ", ".join(
                    f"{t.year}: {'+' if t.basis == 'change' and t.value >= 0 else ''}{t.value}"
                    f"{' (change)' if t.basis == 'change' else ''}"
                    for t in ind.targets.values
                ),
            ],
            ["target rationale", ind.targets.rationale.get(lang)],
            ["data sources", "; ".join(s.get(lang) for s in ind.data_sources)],
            ["means of verification", "; ".join(s.get(lang) for s in ind.means_of_verification)],
            [
                "collection",
                f"{ind.collection.frequency}, {ind.collection.custodian}: {ind.collection.pathway.get(lang)}",
            ],
            ["aggregation", f"{ind.aggregation.method} {ind.aggregation.weight or ''}".strip()],
        ]
        rows += [[f"appraisal ({c})", f"{a.rating}: {a.rationale.get(lang)}"] for c, a in ind.appraisal.items()]
        console.print(table(ind.code, ["field", "value"], rows))


RATING_MARK = {Rating.MET: "[green]●[/]", Rating.PARTLY: "[yellow]◐[/]", Rating.NOT_MET: "[red]○[/]"}


@indicators_app.command("appraise")
def indicators_appraise(json_output: JsonOpt = False) -> None:
    """Appraise every indicator against the selection criteria of para 98 (a–f); flags weak ones."""
    with handled(json_output):
        m = monitor()
        registry, plan = m.registry(), m.plan()
        rows = [appraise(i) for i in registry.indicators]
        if json_output:
            emit_json(
                [
                    {
                        "code": r.code,
                        "level": r.level,
                        "ratings": dict(zip(CRITERIA, map(str, r.ratings), strict=True)),
                        "score": r.score,
                        "weak": r.weak,
                        "reasons": list(r.reasons),
                    }
                    for r in rows
                ]
            )
            return
        criteria = {c.id: c.text.en for c in plan.indicator_selection_criteria}
        caption = (
            " · ".join(f"({c}) {criteria.get(c, '')[:40]}" for c in CRITERIA)
            + "\n● met  ◐ partly  ○ not met · weak = any criterion not met, or fewer than 4 met in full"
            " (at impact level (c) partly counts as met: para 52 a)"
        )
        console.print(
            table(
                "appraisal against para 98",
                ["code", "level", *CRITERIA, "score", "weak", "why"],
                [
                    [
                        r.code,
                        r.level,
                        *(RATING_MARK[x] for x in r.ratings),
                        f"{r.score}/12",
                        "[red]weak[/]" if r.weak else "",
                        "; ".join(r.reasons),
                    ]
                    for r in rows
                ],
                caption=caption,
            )
        )
        weak = sum(1 for r in rows if r.weak)
        console.print(f"{len(rows)} indicators, {weak} weak")
