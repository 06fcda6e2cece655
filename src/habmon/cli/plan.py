"""``habmon plan …``: the strategic plan as data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.tree import Tree

from habmon.cli.context import monitor
from habmon.cli.options import JsonOpt, LangOpt, checked_lang, short
from habmon.cli.output import EXIT_INVALID, console, emit_json, handled, report_table, table
from habmon.ingest.files import check_plan_file, load_plan
from habmon.plan.diff import diff_plans
from habmon.plan.model import Plan

plan_app = typer.Typer(help="The strategic plan as data.", no_args_is_help=True)


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
        console.print(_plan_tree(plan, checked_lang(lang)))


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
                [[c.kind, c.path, short(c.old), short(c.new)] for c in changes],
            )
        )


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
