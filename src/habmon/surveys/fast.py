"""An indicator from a Parquet or CSV survey file in one DuckDB pass — the fast path of compute.py.

DuckDB classifies every household by the recipe (:mod:`recipe_sql`) and sums Σw, Σwy and counts
per stratum × PSU × disaggregation cell straight from the file, in parallel (:mod:`scan`); the
means, their linearised SEs, intervals, n, deff and df follow from the cells (:mod:`cells`) —
the same numbers as :func:`compute.compute` on the whole frame (tests/test_surveys_fast*.py).

The fast path estimates only a clean file. The same pass counts what would be a problem — zero,
negative or missing weights, missing PSUs, strata or members, unclassified codes — and whenever one
is found, or the file is something the path does not handle (a missing variable, a value label
contradicting the recipe, a stratum with one PSU under ``fail``, an fpc that varies within a
stratum, text where a number is needed, a file DuckDB cannot read), it declines and
:func:`compute_file` runs the reference path (pandas + numpy), which writes the problem report.
Bad input therefore gets exactly the reference path's report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from habmon.problems import Report
from habmon.surveys import cells as cell_estimators
from habmon.surveys.classify import UNCLASSIFIED, Labels
from habmon.surveys.compute import (
    Computation,
    EstimateRow,
    by_problems,
    compute,
    design_of,
    estimate_rows,
    in_recipe_domain,
)
from habmon.surveys.design import LonelyPSU
from habmon.surveys.domains import domains
from habmon.surveys.microdata import read_microdata
from habmon.surveys.readers import format_of
from habmon.surveys.recipe import Recipe
from habmon.surveys.recipe_sql import (
    EXCLUDED,
    absent_variables,
    classification,
    domain_flag,
    label_conflicts,
)
from habmon.surveys.scan import Source, cell_sums, design_weight, open_source

log = logging.getLogger(__name__)
FAST_FORMATS = frozenset({"parquet", "csv"})


@dataclass(frozen=True)
class Declined:
    """The fast path does not estimate this file; the reference path decides (and reports)."""

    reason: str


def compute_fast(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    recipe: Recipe,
    *,
    by: Sequence[str] = (),
    lonely_psu: LonelyPSU = LonelyPSU.FAIL,
    labels: Labels | None = None,
    level: float = 0.95,
) -> Computation | Declined:
    design = design_of(recipe, lonely_psu)
    problems = by_problems(recipe, by)
    if problems:
        return Computation(recipe.indicator, design, tuple(by), report=Report.of(problems))
    members = recipe.unit.members
    variables = tuple(recipe.disaggregations[b] for b in by)
    needed = [*design.variables(), *([members] if members else []), *variables]
    needed += [recipe.domain.variable] if recipe.domain else []
    missing = [v for v in needed if v not in source] + absent_variables(recipe, source)
    if missing:
        return Declined(f"variables not in the file: {', '.join(missing)}")
    if source.duplicated & {*needed, *(v for c in recipe.components for v in c.variables())}:
        return Declined("several columns share a name")
    numbers = [design.weight, *([members] if members else []), *([design.fpc] if design.fpc else [])]
    numbers += [recipe.domain.variable] if recipe.domain else []
    text = [v for v in numbers if not source[v].numeric]
    if text:
        return Declined(f"not numbers: {', '.join(text)}")
    if label_conflicts(recipe, labels or {}, source):
        return Declined("a value label contradicts the recipe")
    classified = classification(recipe, source)
    yc = classified.yc
    within = f"{yc} >= 0"
    if recipe.domain is not None and recipe.domain.variable not in variables:
        within += f" AND {domain_flag(recipe.domain.codes, source[recipe.domain.variable])}"
    column = source[design.weight]
    bad = [f"{yc} = {UNCLASSIFIED}", f"NOT coalesce({column.number} > 0, false)"]
    bad += [f"isnan({column.ref})"] if column.kind == "float" else []
    bad += [source[v].absent for v in (design.psu, design.strata, members) if v]
    checks = {"excluded": f"{yc} = {EXCLUDED}", "problems": " OR ".join(bad)}  # one count: fewer aggregates
    found = cell_sums(
        con,
        source,
        design,
        weight=design_weight(design, source, source[members].number if members else None),
        y=f"CAST({yc} = 1 AS DOUBLE)",
        within=within,
        by=variables,
        checks=checks,
        relation=classified.relation,
        binary=True,
    )
    if found.checks["problems"]:
        kinds = "unclassified codes, bad weights or missing design values"
        return Declined(f"{found.checks['problems']} records with problems ({kinds})")
    a = found.arrays
    if a is None or a.n == 0:
        return Declined("no records")
    if not found.fpc_constant:
        return Declined("the fpc is not one value per stratum")
    if lonely_psu == LonelyPSU.FAIL and a.lonely_strata().size:
        return Declined("a stratum with one PSU under the rule 'fail'")
    in_domain = found.within
    if recipe.domain is not None and recipe.domain.variable in variables:  # the whole estimate: the domain only
        in_domain = found.within & in_recipe_domain(recipe, found.frame[recipe.domain.variable])
    rows: list[EstimateRow] = []
    for names in ((), tuple(by)) if by else ((),):
        d = domains(found.frame, tuple(recipe.disaggregations[b] for b in names), found.within if names else in_domain)
        est = cell_estimators.mean(a, found.sums, d.group, d.count)
        rows += estimate_rows(names, d.labels, est, level)
    return Computation(
        recipe.indicator,
        design,
        tuple(by),
        tuple(rows),
        Report(),
        found.checks["excluded"],
        classified.skipped,
        recipe.domain.label if recipe.domain is not None else "",
    )


def compute_file(
    path: Path,
    recipe: Recipe,
    *,
    by: Sequence[str] = (),
    lonely_psu: LonelyPSU = LonelyPSU.FAIL,
    file: str | None = None,
    level: float = 0.95,
    threads: int | None = None,
) -> Computation:
    """The indicator from a microdata file: DuckDB for Parquet and CSV, else (or declined) the reference path."""
    name = file or path.name
    plugin = format_of(path)
    fmt = plugin.name if plugin is not None else None
    if fmt in FAST_FORMATS:
        try:
            with duckdb.connect(config={"threads": threads} if threads else {}) as con:
                source = open_source(con, path, fmt)
                found = compute_fast(con, source, recipe, by=by, lonely_psu=lonely_psu, level=level)
        except duckdb.Error as exc:
            found = Declined(f"DuckDB: {str(exc)[:200]}")
        if isinstance(found, Computation):
            return found
        log.info("%s: the reference path computes %s (%s)", name, recipe.indicator, found.reason)
    read = read_microdata(path, name)
    if isinstance(read, Report):
        return Computation(recipe.indicator, design_of(recipe, lonely_psu), tuple(by), report=read)
    return compute(read.frame, recipe, by=by, lonely_psu=lonely_psu, labels=read.labels, file=read.file, level=level)
