"""An indicator from survey microdata: check the design, classify by the recipe, estimate by domain.

:func:`compute` returns either the estimates (one :class:`EstimateRow` per domain, the whole
domain first) or the problems that stopped it — a missing design variable, weights that are zero,
negative or missing, a stratum with one PSU under the ``fail`` rule, an unclassified answer code or
a contradicting value label. Nothing is estimated from a file with problems.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from habmon.problems import Problem, Report
from habmon.surveys.classify import Labels, classify
from habmon.surveys.design import Design, LonelyPSU, arrays
from habmon.surveys.domains import domains
from habmon.surveys.estimators import Estimates, mean
from habmon.surveys.intervals import logit_interval
from habmon.surveys.recipe import Recipe


@dataclass(frozen=True)
class EstimateRow:
    groups: Mapping[str, str]  # disaggregation name → code ({} for the whole domain)
    value: float  # a proportion, 0..1
    se: float
    ci_low: float
    ci_high: float
    n: int  # households (unweighted)
    population: float  # estimated persons (or households) in the domain
    deff: float
    df: int

    def to_dict(self) -> dict[str, object]:
        """As JSON: an undefined number (NaN: no interval without degrees of freedom) is null."""
        return {
            "groups": dict(self.groups),
            "value": _number(self.value),
            "se": _number(self.se),
            "ci_low": _number(self.ci_low),
            "ci_high": _number(self.ci_high),
            "n": self.n,
            "population": _number(self.population),
            "deff": _number(self.deff),
            "df": self.df,
        }


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class Computation:
    indicator: str
    design: Design
    by: tuple[str, ...]
    rows: tuple[EstimateRow, ...] = ()
    report: Report = field(default_factory=Report)
    excluded: int = 0  # households whose missing answer could change their classification
    skipped: tuple[str, ...] = ()  # optional components the file does not measure
    domain: str = ""

    @property
    def ok(self) -> bool:
        return self.report.valid and bool(self.rows)


def design_of(recipe: Recipe, lonely_psu: LonelyPSU) -> Design:
    d = recipe.design
    return Design(d.weight, d.psu, d.strata, d.fpc, lonely_psu, d.weight_divisor)


def in_recipe_domain(recipe: Recipe, values: pd.Series) -> npt.NDArray[np.bool_]:
    """Which of ``values`` (the domain variable, per record or per cell) fall in the recipe's domain."""
    assert recipe.domain is not None
    return np.asarray(pd.to_numeric(values, errors="coerce").isin(recipe.domain.codes).to_numpy(), dtype=bool)


def by_problems(recipe: Recipe, by: Sequence[str]) -> list[Problem]:
    """A disaggregation the recipe does not declare."""
    return [
        Problem("value", expected="one of " + ", ".join(recipe.disaggregations), found=b, path="--by")
        for b in by
        if b not in recipe.disaggregations
    ]


def estimate_rows(
    names: Sequence[str], labels: Sequence[tuple[str, ...]], est: Estimates, level: float
) -> list[EstimateRow]:
    """One row per domain: the estimate with its logit interval (``labels``: each domain's codes)."""
    low, high = logit_interval(est.value, est.se, est.df, level)
    return [
        EstimateRow(
            dict(zip(names, codes, strict=True)),
            float(est.value[i]),
            float(est.se[i]),
            float(low[i]),
            float(high[i]),
            int(est.n[i]),
            float(est.population[i]),
            float(est.deff[i]),
            int(est.df[i]),
        )
        for i, codes in enumerate(labels)
    ]


def _design_problems(frame: pd.DataFrame, recipe: Recipe, design: Design, file: str) -> list[Problem]:
    problems: list[Problem] = []
    needed = [*design.variables(), *([recipe.unit.members] if recipe.unit.members else [])]
    needed += [recipe.domain.variable] if recipe.domain else []
    for variable in needed:
        if variable not in frame.columns:
            problems.append(
                Problem("survey-variable", expected=f"design variable {variable}", file=file, column=variable)
            )
    if problems:
        return problems
    w = pd.to_numeric(frame[design.weight], errors="coerce")
    bad = ~(w > 0)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        problems.append(
            Problem(
                "survey-weight",
                expected=f"a positive weight in {design.weight} for every record",
                found=f"{rows.size} records with zero, negative or missing weights (first at record {rows[0] + 1})",
                file=file,
                column=design.weight,
                row=int(rows[0]) + 1,
            )
        )
    for variable in (v for v in (design.psu, design.strata, recipe.unit.members) if v):
        missing = frame[variable].isna().to_numpy()
        if missing.any():
            problems.append(
                Problem(
                    "survey-design",
                    expected=f"a value of {variable} for every record",
                    found=f"{int(missing.sum())} records without one (first at record {int(np.argmax(missing)) + 1})",
                    file=file,
                    column=variable,
                    row=int(np.argmax(missing)) + 1,
                )
            )
    if not problems and design.lonely_psu == LonelyPSU.FAIL and design.strata and design.psu:
        per = frame.groupby(design.strata)[design.psu].nunique()
        lonely = per[per == 1]
        if len(lonely):
            records = int(frame[design.strata].isin(lonely.index).sum())
            problems.append(
                Problem(
                    "survey-lonely-psu",
                    expected=f"at least two PSUs ({design.psu}) in every stratum under the rule 'fail'",
                    found=f"strata {', '.join(str(s) for s in lonely.index[:10])} with one PSU ({records} records)",
                    file=file,
                    column=design.strata,
                    hint="choose a lonely-PSU rule: --lonely-psu remove|adjust|average",
                )
            )
    return problems


def compute(
    frame: pd.DataFrame,
    recipe: Recipe,
    *,
    by: Sequence[str] = (),
    lonely_psu: LonelyPSU = LonelyPSU.FAIL,
    labels: Labels | None = None,
    file: str = "",
    level: float = 0.95,
) -> Computation:
    design = design_of(recipe, lonely_psu)
    problems = by_problems(recipe, by)
    problems += _design_problems(frame, recipe, design, file)
    if problems:
        return Computation(recipe.indicator, design, tuple(by), report=Report.of(problems))
    members = frame[recipe.unit.members].to_numpy(dtype=np.float64) if recipe.unit.members else None
    a = arrays(design, frame, members)
    classified = classify(frame, recipe, a.weights, labels or {}, file)
    if classified.problems:
        return Computation(recipe.indicator, design, tuple(by), report=Report.of(classified.problems))
    variables = tuple(recipe.disaggregations[b] for b in by)
    within = ~np.isnan(classified.y)
    in_domain = within
    if recipe.domain is not None:
        in_domain = within & in_recipe_domain(recipe, frame[recipe.domain.variable])
        if recipe.domain.variable not in variables:
            within = in_domain
    y = np.nan_to_num(classified.y)
    rows: list[EstimateRow] = []
    for names in ((), tuple(by)) if by else ((),):
        # the whole estimate is the indicator's: within the recipe's domain even when the domain variable is
        # also a disaggregation (11.1.1 by urban/rural: the total is urban; rural is shown beside it)
        d = domains(frame, tuple(recipe.disaggregations[b] for b in names), within if names else in_domain)
        rows += estimate_rows(names, d.labels, mean(a, y, d.group, d.count), level)
    domain = recipe.domain.label if recipe.domain is not None else ""
    return Computation(
        recipe.indicator,
        design,
        tuple(by),
        tuple(rows),
        Report(),
        classified.excluded,
        classified.skipped,
        domain,
    )
