"""``habmon submit``, ``habmon submissions …``, ``habmon template``, ``habmon export …``, ``habmon audit export``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from habmon.cli.context import monitor
from habmon.cli.output import EXIT_ERROR, EXIT_INVALID, console, emit, emit_json, handled, report_table, table
from habmon.submission.report import write_annotated_csv
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType

submissions_app = typer.Typer(help="Review and move submissions through the workflow.", no_args_is_help=True)
export_app = typer.Typer(help="Export published observations.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout (see docs/cli-json.md).")]


def _service() -> Submissions:
    return Submissions(monitor())


def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, Excel, SDMX or Open SDG file")],
    organization: Annotated[str, typer.Option("--as", help="Submitting organization, e.g. 'KNBS (Kenya)'.")],
    organization_type: Annotated[
        OrganizationType, typer.Option("--org-type", help="member_state, secretariat or partner")
    ] = OrganizationType.MEMBER_STATE,
    source: Annotated[str | None, typer.Option(help="Source for rows that give none.")] = None,
    method_note: Annotated[str | None, typer.Option("--method-note", help="How the data were produced.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, xlsx, sdmx or opensdg (default: detected)")] = None,
    geo: Annotated[str | None, typer.Option(help="Geography of an Open SDG file without GeoCode.")] = None,
    indicator: Annotated[str | None, typer.Option(help="Indicator of an Open SDG file.")] = None,
    vintage: Annotated[
        str | None,
        typer.Option(help="Release of the source, YYYY or YYYY-MM (default: this month); the latest is current."),
    ] = None,
    annotated: Annotated[
        Path | None, typer.Option(help="Write the rows with their problems to this .csv or .xlsx file.")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Validate a file and store it as a submission; exits non-zero with the full report when it has errors."""
    with handled(json_output):
        service = _service()
        outcome = service.submit(
            file,
            organization=organization,
            organization_type=organization_type,
            source=source,
            method_note=method_note,
            fmt=fmt,
            geo=geo,
            indicator=indicator,
            vintage=vintage,
        )
        if annotated is not None:
            _annotate(service, file, annotated, outcome.report, fmt=fmt, geo=geo, indicator=indicator)
        if json_output:
            emit_json(outcome.to_dict())
        else:
            if len(outcome.report):
                console.print(
                    report_table(
                        outcome.report,
                        f"{file.name}: {len(outcome.report.errors)} error(s), "
                        f"{len(outcome.report.warnings)} warning(s)",
                    )
                )
            if outcome.submission_id is None:
                console.print("[red]not stored[/]: fix the errors above and submit again")
            elif not outcome.created:
                console.print(
                    f"this file was already submitted as #{outcome.submission_id} ({outcome.state}); nothing changed"
                )
            else:
                c = outcome.changes
                console.print(
                    f"[green]stored[/] as submission #{outcome.submission_id} ({outcome.state}): "
                    f"{outcome.rows} rows — {c['new']} new, {c['revised']} revised, "
                    f"{c['unchanged']} unchanged · format {outcome.format} · vintage {outcome.vintage}"
                    + (f", encoding {outcome.encoding}" if outcome.encoding else "")
                )
                if c["older"]:
                    console.print(
                        f"[yellow]{c['older']} value(s) are of an older vintage than the stored ones[/]: approved, "
                        "they stay in the history and do not become current (approval needs --accept-older-vintage)"
                    )
        if outcome.submission_id is None:
            raise typer.Exit(EXIT_INVALID)


def _annotate(service: Submissions, file: Path, out: Path, report: Any, **kw: Any) -> None:
    table_ = service.read(file, **kw)
    if out.suffix.lower() == ".xlsx":
        from habmon.ingest.formats.excel import write_annotated_excel

        write_annotated_excel(out, table_, list(report))
    else:
        write_annotated_csv(out, table_, report)


@submissions_app.command("list")
def submissions_list(
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None, json_output: JsonOpt = False
) -> None:
    """Submissions, oldest first."""
    with handled(json_output):
        rows = _service().entries(state)
        if json_output:
            emit_json(rows)
            return
        console.print(
            table(
                "submissions",
                ["#", "state", "file", "organization", "type", "rows", "by", "updated"],
                [
                    [
                        r["id"],
                        r["state"],
                        r["file_name"],
                        r["organization"],
                        r["organization_type"],
                        r["rows"],
                        r["submitter"],
                        r["updated_at"],
                    ]
                    for r in rows
                ],
            )
        )


@submissions_app.command("show")
def submissions_show(
    submission_id: int,
    json_output: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Rows of the diff to show.")] = 50,
) -> None:
    """A submission, its report and the diff of its values against the store (old → new)."""
    with handled(json_output):
        service = _service()
        row = service.get(submission_id)
        changes = service.changes(submission_id, limit=None)
        if json_output:
            emit_json({**row, "changes": changes})
            return
        counts = {s: sum(1 for c in changes if c["status"] == s) for s in ("new", "revised", "unchanged", "older")}
        console.print(
            table(
                f"submission #{submission_id}",
                ["field", "value"],
                [
                    ["state", row["state"]],
                    ["file", row["file_name"]],
                    ["sha256", row["content_sha256"]],
                    ["organization", f"{row['organization']} ({row['organization_type']})"],
                    ["submitter", row["submitter"]],
                    ["source", row["source"] or "—"],
                    ["method note", row["method_note"] or "—"],
                    ["vintage", row["vintage"] or "—"],
                    [
                        "rows",
                        f"{row['rows']}: {counts['new']} new, {counts['revised']} revised, "
                        f"{counts['unchanged']} unchanged, {counts['older']} of an older vintage than stored",
                    ],
                    ["warnings", row["report"].get("warnings", 0)],
                    ["comment", row["comment"] or "—"],
                ],
            )
        )
        console.print(
            table(
                "values (older vintage first, then revised)",
                ["indicator", "geo", "year", "group", "status", "old → new"],
                [
                    [
                        c["indicator"],
                        c["geo"],
                        c["period"],
                        "/".join(f"{k}={v}" for k, v in sorted(c["disaggregation"].items())) or "total",
                        c["status"],
                        _old_new(c),
                    ]
                    for c in changes[:limit]
                ],
            )
        )


def _old_new(change: dict[str, Any]) -> str:
    if change["old"] is None:
        return f"{change['new']}"
    if change["status"] == "older":
        return f"{change['old']} (vintage {change['old_vintage']}) stays; {change['new']} (vintage {change['vintage']})"
    return f"{change['old']} → {change['new']}"


@submissions_app.command("approve")
def submissions_approve(
    submission_id: int,
    comment: Annotated[str | None, typer.Option()] = None,
    accept_older_vintage: Annotated[
        bool,
        typer.Option(
            "--accept-older-vintage",
            help="Approve although values are of an older vintage than the stored ones (kept in the history only).",
        ),
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Approve: the values become stored revisions, locked until a new submission revises them."""
    with handled(json_output):
        summary = _service().approve(submission_id, comment, accept_older_vintage=accept_older_vintage)
        result = {
            "submission": submission_id,
            "state": "approved",
            "batch": summary.batch_id,
            "new": summary.new,
            "revised": summary.revised,
            "unchanged": summary.unchanged,
            "older": summary.older,
        }
        if json_output:
            emit_json(result)
        else:
            console.print(
                f"approved #{submission_id}: {summary.new} new, {summary.revised} revised, "
                f"{summary.unchanged} unchanged, {summary.older} of an older vintage (history only)"
            )


@submissions_app.command("publish")
def submissions_publish(submission_id: int, json_output: JsonOpt = False) -> None:
    """Publish an approved submission: its values appear in public outputs."""
    with handled(json_output):
        _service().publish(submission_id)
        emit(json_output, {"submission": submission_id, "state": "published"}, f"published #{submission_id}")


@submissions_app.command("return")
def submissions_return(
    submission_id: int,
    comment: Annotated[str, typer.Option(help="What the submitter should fix.")],
    json_output: JsonOpt = False,
) -> None:
    """Return a submission to its submitter with comments."""
    with handled(json_output):
        _service().return_(submission_id, comment)
        emit(
            json_output,
            {"submission": submission_id, "state": "returned", "comment": comment},
            f"returned #{submission_id}: {comment}",
        )


@submissions_app.command("original")
def submissions_original(submission_id: int, out: Annotated[Path, typer.Option(help="Where to write it.")]) -> None:
    """Write the original file of a submission, byte for byte."""
    with handled():
        name, content = _service().original(submission_id)
        out.write_bytes(content)
        console.print(f"wrote {name} ({len(content):,} bytes) to {out}")


def template(
    indicators: Annotated[str, typer.Option(help="Comma-separated indicator codes.")],
    geo: Annotated[str, typer.Option(help="Comma-separated M49/ISO3/city codes.")],
    out: Annotated[Path, typer.Option(help="The .xlsx file to write.")],
    lang: Annotated[str, typer.Option(help="zh or en")] = "en",
    submitter: Annotated[str | None, typer.Option(help="Who the template is for.")] = None,
) -> None:
    """Generate an Excel submission template for a submitter and an indicator set."""
    from habmon.ingest.formats.excel import write_template

    with handled():
        m = monitor()
        registry, geography = m.registry(), m.geography()
        codes = [registry.get(c.strip()).code for c in indicators.split(",") if c.strip()]
        places = [geography.resolve(g.strip()).code for g in geo.split(",") if g.strip()]
        if lang not in ("zh", "en"):
            console.print(f"[red]error:[/] --lang must be zh or en, found {lang!r}")
            raise typer.Exit(EXIT_INVALID)
        write_template(
            out, registry=registry, geography=geography, indicators=codes, geos=places, lang=lang, submitter=submitter
        )
        console.print(f"wrote {out}: {len(codes)} indicator(s), {len(places)} place(s), {lang}")


def _published(indicator: str, geos: list[str]) -> list[Any]:
    m = monitor()
    registry, geography = m.registry(), m.geography()
    code = registry.get(indicator).code
    units = [geography.resolve(g).code for g in geos] if geos else sorted({o for o in m.store.geos_with(code)})
    return [s.observation for g in units for s in m.store.series(code, g, public=True)]


@export_app.command("opensdg")
def export_opensdg(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    out: Annotated[Path, typer.Option(help="Directory for the Open SDG data files.")],
    geo: Annotated[list[str] | None, typer.Option(help="Places (repeat); default: every place with data.")] = None,
) -> None:
    """Published values as Open SDG data files (one CSV per indicator; GeoCode column for several places)."""
    from habmon.publish.opensdg import write_opensdg

    with handled():
        observations = _published(indicator, geo or [])
        out.mkdir(parents=True, exist_ok=True)
        paths = write_opensdg(observations, out, registry=monitor().registry())
        console.print(f"wrote {len(observations)} values to {', '.join(str(p) for p in paths)}")


@export_app.command("sdmx")
def export_sdmx(
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. 11.1.1")],
    out: Annotated[Path, typer.Option(help="File to write (.csv for SDMX-CSV, .xml for SDMX-ML 2.1).")],
    geo: Annotated[list[str] | None, typer.Option(help="Places (repeat); default: every place with data.")] = None,
) -> None:
    """Published values as SDMX-CSV or SDMX-ML 2.1."""
    from habmon.publish.sdmx import write_sdmx_csv, write_sdmx_ml

    with handled():
        observations = _published(indicator, geo or [])
        writer = write_sdmx_ml if out.suffix.lower() == ".xml" else write_sdmx_csv
        writer(observations, out, registry=monitor().registry())
        console.print(f"wrote {len(observations)} values to {out}")


def audit_export(
    out: Annotated[Path, typer.Option(help=".csv or .json file")],
    object_type: Annotated[str | None, typer.Option("--type")] = None,
) -> None:
    """Export the audit log (oldest first)."""
    with handled():
        events = list(reversed(monitor().store.audit_events(object_type, limit=1_000_000)))
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps(events, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["id", "at", "actor", "action", "object_type", "object_id", "details"])
                for e in events:
                    writer.writerow(
                        [
                            e["id"],
                            e["at"],
                            e["actor"],
                            e["action"],
                            e["object_type"],
                            e["object_id"],
                            json.dumps(e["details"], ensure_ascii=False, default=str),
                        ]
                    )
        console.print(f"wrote {len(events)} audit events to {out}")


__all__ = ["EXIT_ERROR", "audit_export", "export_app", "submissions_app", "submit", "template"]
