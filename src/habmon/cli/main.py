"""The ``habmon`` command line: a thin layer over :mod:`habmon.services`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.tree import Tree

from habmon.access.service import Access
from habmon.cli import surveys, users
from habmon.cli.context import monitor, state
from habmon.cli.output import EXIT_INVALID, choice, console, emit_json, handled, progress_bar, report_table, table
from habmon.geo.model import GeoUnit, UnitKind
from habmon.indicators.appraisal import CRITERIA, appraise
from habmon.indicators.model import Rating
from habmon.ingest.files import check_plan_file, load_plan
from habmon.plan.diff import diff_plans
from habmon.plan.model import Plan
from habmon.services import Monitor

app = typer.Typer(
    help="Habitat Monitor: results-based monitoring of UN-Habitat's Strategic Plan 2026–2029.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
plan_app = typer.Typer(help="The strategic plan as data.", no_args_is_help=True)
indicators_app = typer.Typer(help="The indicator registry.", no_args_is_help=True)
geo_app = typer.Typer(help="Geography: countries, regions, groupings, cities, engagements.", no_args_is_help=True)
data_app = typer.Typer(help="Observations in the store.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(indicators_app, name="indicators")
app.add_typer(geo_app, name="geo")
app.add_typer(data_app, name="data")
app.add_typer(audit_app, name="audit")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(surveys.surveys_app, name="surveys")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout (see docs/cli-json.md).")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of texts: zh or en.")]


@app.callback()
def main(
    database: Annotated[
        str | None,
        typer.Option(
            "--database", envvar="HABMON_DATABASE_URL", help="Database URL (default: SQLite in $HABMON_HOME or ./var)."
        ),
    ] = None,
    user: Annotated[
        str, typer.Option("--user", envvar="HABMON_USER", help="Who is acting (recorded in the audit log).")
    ] = "habmon",
) -> None:
    state.database = database
    state.user = user


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        console.print(f"[red]error:[/] --lang must be zh or en, found {lang!r}")
        raise typer.Exit(EXIT_INVALID)
    return lang


# -- setup --------------------------------------------------------------------------


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


@app.command()
def init(
    plan: Annotated[Path | None, typer.Option(help="Plan file (default: the shipped 2026–2029 plan).")] = None,
) -> None:
    """Create or migrate the database and load the plan, indicators, geography and engagement list."""
    with handled():
        m = monitor()
        steps = m.init(plan_file=plan)
        _print_steps(steps)
        console.print(f"database: {m.store.display_url()}")


@app.command()
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


# -- plan ---------------------------------------------------------------------------


def _cite(paragraphs: tuple[int, ...]) -> str:
    return "¶ " + ", ".join(str(p) for p in paragraphs)


# Interface words of the plan tree; plan texts themselves come from the plan document.
TREE_LABELS: dict[str, dict[str, str]] = {
    "focus": {"en": "strategic focus", "zh": "战略重点"},
    "impact": {"en": "global impact", "zh": "全球影响"},
    "means": {"en": "means of implementation", "zh": "执行手段"},
    "outcome": {"en": "outcome", "zh": "成果"},
    "accountable": {"en": "accountable", "zh": "负责"},
    "groups": {"en": "leave no one behind", "zh": "不让任何人掉队"},
    "substantive": {"en": "substantive", "zh": "实质性"},
    "enabling": {"en": "enabling", "zh": "辅助性"},
    "proposed": {"en": "proposed", "zh": "拟议"},
    "adopted": {"en": "adopted", "zh": "已通过"},
}


def _plan_tree(plan: Plan, lang: str) -> Tree:
    def label(key: str) -> str:
        return TREE_LABELS[key][lang]

    info = plan.plan
    root = Tree(f"[bold]{info.title.get(lang)}[/] ({info.version}, {info.period_start}–{info.period_end})")
    root.add(
        f"[bold]{label('focus')}[/]: {plan.strategic_focus.statement.get(lang)} "
        f"[dim]{_cite(plan.strategic_focus.paragraphs)}[/]"
    )
    impact = root.add(
        f"[bold]{label('impact')}[/]: {plan.global_impact.statement.get(lang)} "
        f"[dim]{_cite(plan.global_impact.paragraphs)}[/]"
    )
    for area in plan.impact_areas:
        impact.add(f"[cyan]{area.id}[/] {area.name.get(lang)} [dim]{_cite(area.paragraphs)}[/]")
    means_node = root.add(f"[bold]{label('means')}[/]")
    outputs = plan.outputs
    for means in plan.means_of_implementation:
        node = means_node.add(
            f"[cyan]{means.id}[/] ({label(means.kind)}) {means.name.get(lang)} [dim]{_cite(means.paragraphs)}[/]"
        )
        outcome = node.add(
            f"[green]{means.outcome.id}[/] {label('outcome')}: {means.outcome.statement.get(lang)} "
            f"[dim]{_cite(means.outcome.paragraphs)}[/]"
        )
        node.add(f"{label('accountable')}: {means.accountable_office.name.get(lang)}")
        for output in outputs:
            if output.outcome == means.outcome.id:
                outcome.add(f"[magenta]{output.id}[/] ({label(output.status)}) {output.statement.get(lang)}")
    groups = root.add(f"[bold]{label('groups')}[/] [dim](¶ 54)[/]")
    groups.add(("、" if lang == "zh" else ", ").join(g.name.get(lang) for g in plan.leave_no_one_behind))
    return root


@plan_app.command("show")
def plan_show(
    json_output: JsonOpt = False,
    lang: LangOpt = "en",
    version: Annotated[int | None, typer.Option(help="Stored plan version id.")] = None,
) -> None:
    """Show the plan: focus, impact areas, means of implementation, outcomes, outputs."""
    with handled(json_output):
        plan = monitor().plan(version)
        if json_output:
            emit_json(plan.model_dump(mode="json"))
            return
        console.print(_plan_tree(plan, _lang(lang)))


@plan_app.command("validate")
def plan_validate(file: Path, json_output: JsonOpt = False) -> None:
    """Validate a plan file; lists every error (file, path, expected, found)."""
    plan, report = check_plan_file(file)
    if json_output:
        emit_json({"file": str(file), **report.to_dict()})
    elif report.valid:
        console.print(f"[green]valid[/]: {file}")
    else:
        console.print(report_table(report, f"{file}: {len(report.errors)} error(s)"))
    if plan is None:
        raise typer.Exit(EXIT_INVALID)


@plan_app.command("diff")
def plan_diff(old: Path, new: Path, json_output: JsonOpt = False) -> None:
    """Differences between two plan files, element by element."""
    with handled(json_output):
        changes = diff_plans(load_plan(old), load_plan(new))
        if json_output:
            emit_json({"old": str(old), "new": str(new), "changes": [c.to_dict() for c in changes]})
            return
        if not changes:
            console.print("no differences")
            return
        console.print(
            table(
                f"{old} → {new}: {len(changes)} change(s)",
                ["change", "path", "old", "new"],
                [[c.kind, c.path, _short(c.old), _short(c.new)] for c in changes],
            )
        )


def bar(value: float, top: float, width: int = 24) -> str:
    """A horizontal bar proportional to ``value`` (0 … ``top``), for trends in a terminal."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def _short(value: Any, limit: int = 70) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@plan_app.command("versions")
def plan_versions(json_output: JsonOpt = False) -> None:
    """Plan versions in the store."""
    with handled(json_output):
        rows = monitor().store.plan_versions()
        if json_output:
            emit_json(rows)
            return
        console.print(
            table(
                "plan versions",
                ["id", "plan", "version", "sha256", "loaded at"],
                [[r["id"], r["plan_id"], r["version"], r["content_sha256"][:12], r["loaded_at"]] for r in rows],
            )
        )


# -- indicators ---------------------------------------------------------------------


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
        lang = _lang(lang)
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
        lang = _lang(lang)
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


# -- geography ----------------------------------------------------------------------


def unit_dict(m: Monitor, unit: GeoUnit) -> dict[str, Any]:
    geography = m.geography()
    engagement = m.works_in(unit.code)
    _, header = m.engagements()
    return {
        "code": unit.code,
        "kind": str(unit.kind),
        "m49": unit.m49,
        "iso2": unit.iso2,
        "iso3": unit.iso3,
        "names": dict(unit.names),
        "latitude": unit.latitude,
        "longitude": unit.longitude,
        "population": unit.population,
        "valid_from": unit.validity.valid_from,
        "valid_to": unit.validity.valid_to,
        "note": unit.note,
        "parents": [{"code": p.code, "kind": str(p.kind), "name": p.name()} for p in geography.ancestors(unit.code)],
        "groups": [{"code": g.code, "kind": str(g.kind), "name": g.name()} for g in geography.groups(unit.code)],
        "children": len(geography.children(unit.code)),
        "aliases": [{"scheme": str(a.scheme), "value": a.value} for a in geography.aliases_of(unit.code)],
        "unhabitat_engagement": None
        if engagement is None
        else {
            "start": engagement.start,
            "end": engagement.end,
            "illustrative": engagement.illustrative,
            "list": header["name"] if header else None,
        },
    }


@geo_app.command("show")
def geo_show(code: str, json_output: JsonOpt = False, lang: LangOpt = "en") -> None:
    """A geography unit by M49, ISO3, ISO2 or city id: names, hierarchy, groupings, engagement."""
    with handled(json_output):
        m = monitor()
        unit = m.geography().resolve(code)
        data = unit_dict(m, unit)
        if json_output:
            emit_json(data)
            return
        lang = _lang(lang)
        engagement = data["unhabitat_engagement"]
        rows = [
            ["code", unit.code],
            ["kind", unit.kind],
            ["name", unit.name(lang)],
            ["names", " · ".join(f"{k}: {v}" for k, v in unit.names.items())],
            ["M49 / ISO3 / ISO2", f"{unit.m49 or '—'} / {unit.iso3 or '—'} / {unit.iso2 or '—'}"],
            ["within", " → ".join(p["name"] for p in data["parents"]) or "—"],
            ["groupings", ", ".join(g["name"] for g in data["groups"]) or "—"],
            ["valid", f"{unit.validity.valid_from or '…'} – {unit.validity.valid_to or '…'}"],
            [
                "UN-Habitat works here",
                "no"
                if engagement is None
                else f"since {engagement['start']}"
                + (" [yellow](ILLUSTRATIVE list)[/]" if engagement["illustrative"] else ""),
            ],
        ]
        if unit.latitude is not None:
            rows.append(["position", f"{unit.latitude}, {unit.longitude}"])
        if unit.population is not None:
            rows.append(["population (2020)", f"{unit.population:,.0f}"])
        if unit.note:
            rows.append(["note", unit.note])
        console.print(table(unit.name(lang), ["field", "value"], rows))


@geo_app.command("list")
def geo_list(
    kind: Annotated[
        str, typer.Option(help="world, region, subregion, country, city, group, regional_office")
    ] = "region",
    json_output: JsonOpt = False,
    lang: LangOpt = "en",
) -> None:
    """List units of one kind."""
    with handled(json_output):
        wanted = choice(UnitKind, kind, "--kind")
        units = sorted(monitor().geography().of_kind(wanted), key=lambda u: u.code)
        if json_output:
            emit_json([{"code": u.code, "m49": u.m49, "iso3": u.iso3, "name": u.name(lang)} for u in units])
            return
        console.print(
            table(
                f"{len(units)} × {kind}",
                ["code", "ISO3", "name"],
                [[u.code, u.iso3, u.name(_lang(lang))] for u in units],
            )
        )


@geo_app.command("engagements")
def geo_engagements(
    json_output: JsonOpt = False,
    import_file: Annotated[Path | None, typer.Option("--import", help="CSV: place,start,end,note")] = None,
    name: Annotated[str, typer.Option(help="Name of the imported list.")] = "engagement list",
) -> None:
    """Places where UN-Habitat works (the newest list), or import a new list."""
    with handled(json_output):
        m = monitor()
        if import_file is not None:
            step = m.import_engagements(import_file, name)
            console.print(f"{'imported' if step.created else 'unchanged'}: {step.detail}")
            return
        engagements, header = m.engagements()
        if json_output:
            emit_json(
                {
                    "list": header,
                    "places": [{"code": e.code, "start": e.start, "end": e.end, "note": e.note} for e in engagements],
                }
            )
            return
        geography = m.geography()
        label = header["name"] if header else "no list loaded"
        console.print(
            table(
                label,
                ["code", "place", "start", "end"],
                [[e.code, geography.units[e.code].name(), e.start, e.end or ""] for e in engagements],
            )
        )
        if header and header["illustrative"]:
            console.print("[yellow]ILLUSTRATIVE: demo data, not UN-Habitat's portfolio.[/]")


# -- data ---------------------------------------------------------------------------


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
                f"{series.indicator.code} · {series.unit.name(_lang(lang))} ({series.unit.code})",
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


# -- engine ---------------------------------------------------------------------------


@app.command("aggregate")
def aggregate_command(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    year: Annotated[int, typer.Option(help="Year")],
    level: Annotated[str, typer.Option(help="world, region, subregion or group")] = "world",
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    disaggregations: Annotated[
        bool, typer.Option("--disaggregations", help="Also aggregate each disaggregation (sex, age …) and check them.")
    ] = False,
    compare_published: Annotated[
        bool, typer.Option("--compare-published", help="Put the custodian's published value beside ours.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Aggregate published country values to the world, SDG regions, sub-regions or groupings."""
    from habmon.engine.aggregate import Level
    from habmon.engine.service import aggregate_view

    with handled(json_output):
        chosen = choice(Level, level, "--level")
        view = aggregate_view(
            monitor(),
            indicator,
            year,
            chosen,
            engine=engine,
            disaggregations=disaggregations,
            compare_published=compare_published,
        )
        if json_output:
            emit_json(view.to_json())
            return
        ind, rows = view.indicator, view.rows
        columns = ["M49", "name", "value", "people", "coverage", "units reported (imputed)", "published"]
        if view.published is not None:
            columns += ["published value", "difference", "own-value coverage"]
        body = []
        for r in rows:
            line: list[Any] = [
                r.code,
                r.name,
                "—" if r.value is None else f"{r.value:.2f}",
                "" if r.people is None else f"{r.people / 1e6:,.1f} million",
                "—" if r.coverage is None else f"{r.coverage:.1%} {bar(r.coverage, 1.0, 10)}",
                f"{r.units_reported}/{r.units_total} ({r.imputed_units})",
                "yes" if r.published else "no (coverage below the rule)",
            ]
            if view.published is not None:
                p = view.published.get(r.code)
                line += (
                    ["", "", ""]
                    if p is None
                    else [
                        f"{p.published:.2f}",
                        _signed(p.difference),
                        f"{_fmt_pct(p.own_coverage)}{'' if p.complete else ' (incomplete)'}",
                    ]
                )
            body.append(line)
        console.print(
            table(
                f"{ind.code} · {year} · {chosen}",
                columns,
                body,
                caption=f"{ind.name.get('en')} — weighted by {ind.aggregation.weight or 'count'}; "
                f"gaps: {rows[0].gap_filling if rows else 'none'}",
            )
        )
        if view.parts is not None:
            console.print(
                table(
                    f"{ind.code} · {year} · {chosen} · disaggregations",
                    ["M49", "disaggregation", "value", "total, same members", "coverage", "units (imputed)"],
                    [
                        [
                            p.aggregate.code,
                            p.key,
                            _fmt(p.aggregate.value),
                            _fmt(p.total_same_members),
                            _fmt_pct(p.aggregate.coverage),
                            f"{p.aggregate.units_reported}/{p.aggregate.units_total} ({p.aggregate.imputed_units})",
                        ]
                        for p in view.parts
                    ],
                    caption="each part aggregated like the total (same weights, same gap rule)",
                )
            )
        if view.report is not None and len(view.report):
            console.print(report_table(view.report, f"{len(view.report)} problem(s)"))


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@app.command("compute")
def compute_command(
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    indicator: Annotated[list[str] | None, typer.Option(help="Only these indicators (repeat).")] = None,
    json_output: JsonOpt = False,
) -> None:
    """The monitoring run: every aggregate and progress status, stored with its input snapshot."""
    from habmon.engine.run import compute

    with handled(json_output):
        with progress_bar("monitoring run", "computing", hidden=json_output) as tick:
            summary = compute(monitor(), engine=engine, codes=indicator, on_progress=tick)
        if json_output:
            emit_json(summary.to_dict())
            return
        console.print(
            f"run #{summary.run_id} on {summary.engine}: {summary.indicators} indicator(s), "
            f"{summary.aggregates} aggregates, {summary.progress} progress statuses; inputs = observations "
            f"up to #{summary.snapshot_observation_id}"
        )


@app.command("progress")
def progress_command(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    geo: Annotated[str, typer.Option(help="A place (KEN) or an aggregate (001 world, 202 …)")],
    method: Annotated[str, typer.Option(help="unsd or statcan")] = "unsd",
    baseline: Annotated[int | None, typer.Option(help="Baseline year (default: 2015, the SDG baseline)")] = None,
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    json_output: JsonOpt = False,
) -> None:
    """Progress towards the target (UNSD progress chart or Statistics Canada method); aggregates like for like."""
    from habmon.engine.service import progress_of
    from habmon.methods.progress import Method

    with handled(json_output):
        chosen = choice(Method, method, "--method")
        report = progress_of(monitor(), indicator, geo, method=chosen, baseline_year=baseline, engine=engine)
        if json_output:
            emit_json(report.to_dict())
            return
        result, series, lff = report.progress, report.series, report.like_for_like
        top = max((v for _, v in series), default=0.0)
        columns = ["year", "value", "trend"] + (["coverage"] if lff is not None else [])
        rows = [
            [y, f"{v:.2f}", bar(v, top)] + ([_fmt_pct(report.coverage.get(y))] if lff is not None else [])
            for y, v in series
        ]
        console.print(table(f"{indicator} · {report.geo} · {chosen}", columns, rows))
        if lff is not None:
            panel = lff.panel
            console.print(
                f"like for like: baseline requested {lff.requested_baseline}, used "
                f"[bold]{'none' if panel is None else panel.year}[/]"
                + (
                    ""
                    if panel is None
                    else f" · panel of {panel.units} units: {_fmt(panel.value_baseline)} ({panel.year}, "
                    f"coverage {_fmt_pct(panel.coverage_baseline)}) → {_fmt(panel.value_latest)} "
                    f"({lff.latest_year}, coverage {_fmt_pct(panel.coverage_latest)})"
                )
            )
            console.print(f"[dim]{lff.reason}[/]", highlight=False)
        console.print(
            f"status: [bold]{result.status}[/] · baseline {result.baseline} · latest {result.latest} · "
            f"target {result.target} · rate {result.cagr} · score {result.score}"
            + (f" · {result.note}" if result.note else "")
        )
        if report.milestones:
            steps = [
                [m.target.year, _fmt(m.target.value), _fmt(m.projected), str(m.status), _fmt(m.score)]
                for m in report.milestones
                if m.target is not None
            ]
            columns = ["target year", "target", "projected", "status", "score"]
            console.print(table("the yearly targets, on the same trend", columns, steps))


@app.command("lnob")
def lnob_command(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    geo: Annotated[str, typer.Option(help="A country (KEN) or an aggregate (001 world, 202 …)")],
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    json_output: JsonOpt = False,
) -> None:
    """Leave no one behind: each population group against the total, and the trend of the gap."""
    from habmon.engine.service import lnob

    with handled(json_output):
        view = lnob(monitor(), indicator, geo, engine=engine)
        if json_output:
            emit_json(view.to_dict())
            return
        data = view.to_dict()
        rows = [
            [
                f"{g['dimension_name']}: {g['group_name']}",
                g["year"],
                _fmt(g["value"]),
                _fmt(g["total"]),
                _signed(g["gap"]),
                "—" if g["ratio"] is None else f"{g['ratio']:.2f}",
                "—"
                if g["gap_change_per_year"] is None
                else f"{g['gap_change_per_year']:+.2f}/year since {g['first_year']}",
                "behind" if g["behind"] else "",
            ]
            + ([_fmt_pct(g["coverage"])] if view.is_aggregate else [])
            for g in data["groups"]
        ]
        columns = ["group", "year", "value", "total", "gap", "ratio", "trend of the gap", ""]
        console.print(
            table(
                f"{view.indicator} · {view.geo} {view.name} · leave no one behind",
                columns + (["coverage"] if view.is_aggregate else []),
                rows,
                caption=f"gap = group − total ({'lower' if view.direction == 'decrease' else 'higher'} is better)"
                + (
                    "; for an aggregate the total is taken over the members reporting the group"
                    if view.is_aggregate
                    else ""
                ),
            )
        )
        if not rows:
            console.print("no disaggregated values for this indicator and place")
        if len(view.report):
            console.print(report_table(view.report, f"{len(view.report)} problem(s) between parts and totals"))


@app.command("compare")
def compare_command(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    baseline: Annotated[int, typer.Option(help="Baseline year")] = 2015,
    latest: Annotated[int | None, typer.Option(help="Latest year (default: the newest with data)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Change where UN-Habitat works versus elsewhere: difference in differences with a 95 % interval (para 92 e)."""
    from habmon.engine.service import compare_places

    with handled(json_output):
        result, header = compare_places(monitor(), indicator, baseline_year=baseline, latest_year=latest)
        listing = None if header is None else {"name": header["name"], "illustrative": header["illustrative"]}
        if json_output:
            emit_json({**result.to_dict(), "engagement_list": listing})
            return
        rows = [
            [label, side.places, _fmt(side.mean_baseline), _fmt(side.mean_latest), _fmt(side.mean_change)]
            for label, side in (("where UN-Habitat works", result.supported), ("elsewhere", result.others))
        ]
        console.print(
            table(
                f"{indicator}: {result.baseline_year} → {result.latest_year}",
                ["places", "n", "mean then", "mean now", "mean change"],
                rows,
            )
        )
        if result.difference is not None:
            console.print(
                f"difference in differences: [bold]{result.difference:+.2f}[/] "
                f"(95 % interval {result.ci_low:+.2f} … {result.ci_high:+.2f}); "
                f"{result.excluded} places left out (engaged before the baseline or no longer engaged)"
            )
        if listing and listing["illustrative"]:
            console.print("[yellow]engagement list: ILLUSTRATIVE demo data, not UN-Habitat's portfolio[/]")
        console.print(f"[dim]{result.caveat}[/]")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


# -- audit --------------------------------------------------------------------------


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
                        _short(e["details"], 90),
                    ]
                    for e in events
                ],
            )
        )


def _register_submission_commands() -> None:
    from habmon.cli import submissions

    app.command("submit")(submissions.submit)
    app.command("template")(submissions.template)
    app.add_typer(submissions.submissions_app, name="submissions")
    app.add_typer(submissions.export_app, name="export")
    audit_app.command("export")(submissions.audit_export)


_register_submission_commands()


def _register_web_commands() -> None:
    from habmon.cli import web

    app.command("serve")(web.serve)


_register_web_commands()
