"""The engine's commands: ``habmon aggregate``, ``compute``, ``progress``, ``lnob`` and ``compare``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from habmon.cli.context import monitor
from habmon.cli.options import JsonOpt, bar
from habmon.cli.output import choice, console, emit_json, handled, progress_bar, report_table, table


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
        wide = view.published is None  # room for the coverage by reported values and the filled share
        if wide:
            columns[5:5] = ["reported", "filled"]
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
                *(
                    [
                        "—" if r.coverage_reported is None else f"{r.coverage_reported:.1%}",
                        "—" if r.filled_share is None else f"{r.filled_share:.1%}",
                    ]
                    if wide
                    else []
                ),
                f"{r.units_reported}/{r.units_total} ({r.imputed_units})",
                "yes" if r.published else "no (estimate: reported coverage or a region below the rule)",
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


def compute_command(
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    indicator: Annotated[list[str] | None, typer.Option(help="Only these indicators (repeat).")] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="local[N], spark://host:port or a Spark Connect sc://host:port"
            " (env HABMON_SPARK_MASTER; default local[cores])"
        ),
    ] = None,
    shuffle_partitions: Annotated[int | None, typer.Option(help="Spark shuffle partitions (default 2 × cores)")] = None,
    executor_cores: Annotated[int | None, typer.Option(help="cores per Spark executor")] = None,
    executor_memory: Annotated[str | None, typer.Option(help="memory per Spark executor, e.g. 2g")] = None,
    threads: Annotated[
        int | None, typer.Option(help="DuckDB threads (env HABMON_DUCKDB_THREADS; default: cores)")
    ] = None,
    memory_limit: Annotated[str | None, typer.Option(help="DuckDB memory limit, e.g. 2GB (it spills beyond)")] = None,
    spill_directory: Annotated[str | None, typer.Option(help="where DuckDB spills to disk")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Spark's INFO log lines too")] = False,
    json_output: JsonOpt = False,
) -> None:
    """The monitoring run: every aggregate and progress status, stored with its input snapshot."""
    from habmon.engine.backends import configure
    from habmon.engine.run import compute
    from habmon.engine.settings import EngineSettings

    with handled(json_output):
        settings = EngineSettings.from_environment().with_changes(
            spark_master=spark_master,
            spark_shuffle_partitions=shuffle_partitions,
            spark_executor_cores=executor_cores,
            spark_executor_memory=executor_memory,
            duckdb_threads=threads,
            duckdb_memory_limit=memory_limit,
            duckdb_temp_directory=spill_directory,
            spark_log_level="INFO" if verbose else None,
        )
        configure(settings)
        with progress_bar("monitoring run", "computing", hidden=json_output) as tick:
            summary = compute(monitor(), engine=engine, codes=indicator, on_progress=tick)
        if json_output:
            emit_json(summary.to_dict())
            return
        console.print(
            f"run #{summary.run_id} on {settings.describe(summary.engine)}: {summary.indicators} indicator(s), "
            f"{summary.aggregates} aggregates, {summary.progress} progress statuses; inputs = observations "
            f"up to #{summary.snapshot_observation_id}"
        )


def progress_command(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    geo: Annotated[str, typer.Option(help="A place (KEN) or an aggregate (001 world, 202 …)")],
    method: Annotated[str, typer.Option(help="unsd or statcan")] = "unsd",
    baseline: Annotated[int | None, typer.Option(help="Baseline year (default: 2015, the SDG baseline)")] = None,
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    json_output: JsonOpt = False,
) -> None:
    """Progress towards the target (UNSD progress chart or Statistics Canada method); aggregates like for like."""
    from habmon.engine.progress import progress_of
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


def lnob_command(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    geo: Annotated[str, typer.Option(help="A country (KEN) or an aggregate (001 world, 202 …)")],
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    json_output: JsonOpt = False,
) -> None:
    """Leave no one behind: each population group against the total, and the trend of the gap."""
    from habmon.engine.parts import lnob

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
