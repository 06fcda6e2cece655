"""``habmon surveys add|list|show|compute|synthetic``: survey microdata in, indicators with SEs out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from habmon.cli.context import monitor
from habmon.cli.output import console, emit, emit_json, handled, progress_bar, table
from habmon.surveys.design import Design, LonelyPSU
from habmon.surveys.service import Registration, Surveys

surveys_app = typer.Typer(
    help="Survey microdata: register, compute indicators with design-based SEs.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def _service() -> Surveys:
    return Surveys(monitor())


def _years(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YEAR or YEAR-YEAR, found {text!r}", param_hint="--fieldwork") from exc


@surveys_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, Stata .dta or SPSS .sav file")],
    name: Annotated[str, typer.Option(help="Survey name, e.g. KE-DHS-2022.")],
    country: Annotated[str, typer.Option(help="Country (M49, ISO3 or ISO2).")],
    fieldwork: Annotated[str, typer.Option(help="Fieldwork years: 2022 or 2021-2022.")],
    source: Annotated[str, typer.Option(help="Who produced the survey, where it comes from.")],
    access: Annotated[str, typer.Option("--access", help="Access conditions of the microdata.")],
    unit: Annotated[str, typer.Option(help="household or person")] = "household",
    weight: Annotated[str, typer.Option(help="Weight variable.")] = "hv005",
    weight_divisor: Annotated[float, typer.Option(help="Stored weight / divisor = weight (DHS: 1e6).")] = 1e6,
    psu: Annotated[str | None, typer.Option(help="Primary sampling unit variable.")] = "hv001",
    strata: Annotated[str | None, typer.Option(help="Stratum variable.")] = "hv022",
    fpc: Annotated[str | None, typer.Option(help="First-stage finite population correction variable.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Register a survey: its design and the file's checksum are stored — never the records."""
    with handled(json_output):
        design = Design(weight=weight, psu=psu, strata=strata, fpc=fpc, weight_divisor=weight_divisor)
        found = _service().register(file, Registration(name, country, _years(fieldwork), unit, design, source, access))
        emit(
            json_output,
            found,
            f"registered survey {name}: {found['records']} records, sha256 {found['content_sha256'][:12]}…",
        )


@surveys_app.command("list")
def list_(json_output: JsonOpt = False) -> None:
    """The registered surveys."""
    with handled(json_output):
        found = _service().entries()
        if json_output:
            emit_json(found)
            return
        rows = [
            [s["name"], s["country"], f"{s['fieldwork_start']}–{s['fieldwork_end']}", s["records"], s["file_name"]]
            for s in found
        ]
        console.print(table("Surveys", ["name", "country", "fieldwork", "records", "file"], rows))


@surveys_app.command("show")
def show(name: str, json_output: JsonOpt = False) -> None:
    """A survey's registration and its computations."""
    with handled(json_output):
        found = _service().show(name)
        if json_output:
            emit_json(found)
            return
        fields = ["name", "country", "unit", "design", "source", "access_conditions", "file_name", "content_sha256"]
        console.print(table(f"Survey {name}", ["field", "value"], [[f, str(found[f])] for f in fields]))
        rows = [
            [c["id"], c["indicator"], ",".join(c["by"]), c["lonely_psu"], c["estimates"], c["submission_id"]]
            for c in found["computations"]
        ]
        console.print(table("Computations", ["id", "indicator", "by", "lonely PSU", "estimates", "submission"], rows))


@surveys_app.command("compute")
def compute(
    name: str,
    file: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The registered microdata file.")],
    indicator: Annotated[str, typer.Option(help="11.1.1, 1.4.1 or 7.1.1 (a recipe in data/surveys/recipes).")],
    by: Annotated[str, typer.Option(help="Disaggregations, e.g. urban,region,sex_of_head,wealth_quintile.")] = "",
    lonely_psu: Annotated[
        LonelyPSU, typer.Option("--lonely-psu", help="fail, remove, adjust or average")
    ] = LonelyPSU.FAIL,
    submit: Annotated[bool, typer.Option("--submit", help="Send the estimates as a computed submission.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Compute an indicator with SEs, logit intervals, n and design effects; optionally submit it."""
    with handled(json_output):
        groups = [b.strip() for b in by.split(",") if b.strip()]
        with progress_bar("computing", "steps", hidden=json_output) as step:
            step("reading and estimating", 0, 1)
            found = _service().compute(name, file, indicator, by=groups, lonely_psu=lonely_psu, submit=submit)
            step("done", 1, 1)
        if json_output:
            emit_json(found)
            return
        rows = [
            [
                ", ".join(f"{k}={v}" for k, v in e["groups"].items()) or f"all ({found['domain'] or 'total'})",
                _fixed(e["value"], 100),
                _fixed(e["se"], 100),
                _interval(e["ci_low"], e["ci_high"], e["df"]),
                e["n"],
                _fixed(e["deff"]),
            ]
            for e in found["estimates"]
        ]
        caption = f"{found['excluded_households']} households excluded (a missing answer could change them)"
        console.print(
            table(f"{indicator} from {name} (%)", ["domain", "value", "SE", "95% CI", "n", "deff"], rows, caption)
        )
        if found["submission"]:
            console.print(f"sent as submission {found['submission']['submission']} for review")


def _interval(low: float | None, high: float | None, df: int) -> str:
    if low is None or high is None:  # no degrees of freedom in the domain
        return f"— (df = {df})"
    return f"{100 * low:.2f}–{100 * high:.2f}"


def _fixed(value: float | None, scale: float = 1.0) -> str:
    return "—" if value is None else f"{scale * value:.2f}"


@surveys_app.command("synthetic")
def synthetic(
    out: Annotated[Path, typer.Argument(help="Where to write the SYNTHETIC household file (.csv, .dta or .sav).")],
    households: Annotated[int, typer.Option(help="Number of households.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed.")] = 20261203,
) -> None:
    """Write a seeded SYNTHETIC DHS-like household recode file (for the demo and tests; not real data)."""
    import pyreadstat

    from habmon.surveys.synthetic import synthetic_dhs, synthetic_labels

    frame = synthetic_dhs(households, seed=seed)
    labels: dict[str, dict[int | float, str]] = {
        k: {code: text for code, text in v.items()} for k, v in synthetic_labels().items() if k in frame.columns
    }
    suffix = out.suffix.lower()
    if suffix == ".dta":
        pyreadstat.write_dta(frame.astype("int32"), str(out), variable_value_labels=labels)
    elif suffix == ".sav":
        pyreadstat.write_sav(frame, str(out), variable_value_labels=labels)
    else:
        frame.to_csv(out, index=False)
    console.print(f"wrote {len(frame)} SYNTHETIC households to {out}")
