"""Surveys as a service: register a survey (design, checksum — never the records), compute an
indicator from its microdata, and send the estimates as a computed submission (nature C, the survey
as source) that is reviewed, approved and published like any other.

Only officers and administrators may load or compute (``survey.load``, ``survey.compute``). The
file is read again for each computation and must have the checksum it was registered with.
"""

from __future__ import annotations

import csv
import hashlib
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update

from habmon.access.model import Action
from habmon.engine.backends import current_settings
from habmon.problems import HabmonError, InvalidDocument, NotFound, Problem, Report
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.database import insert_id
from habmon.submission.context import Context
from habmon.submission.service import SubmissionOutcome, Submissions
from habmon.submission.workflow import OrganizationType
from habmon.surveys.compute import Computation, EstimateRow, design_of
from habmon.surveys.design import Design, LonelyPSU
from habmon.surveys.fast import compute_file
from habmon.surveys.microdata import Microdata, read_microdata, sha256_of
from habmon.surveys.recipe import RECIPES_DIR, Recipe, RecipeDesign, load_recipe

# disaggregations of a recipe that map onto the registry's dimensions (others stay in the computation)
DIMENSIONS: dict[str, tuple[str, dict[str, str]]] = {
    "urban": ("urbanisation", {"1": "U", "2": "R"}),
    "wealth_quintile": ("income_quintile", {str(q): f"Q{q}" for q in range(1, 6)}),
}


class SurveyError(InvalidDocument):
    """A survey cannot be registered or computed; ``report`` lists the problems (nothing was stored)."""


@dataclass(frozen=True)
class Registration:
    name: str
    country: str
    fieldwork: tuple[int, int]
    unit: str
    design: Design
    source: str
    access_conditions: str


def _now() -> datetime:
    return datetime.now(UTC)


class Surveys:
    def __init__(self, monitor: Context) -> None:
        self.monitor = monitor
        self.store = monitor.store

    def _read(self, path: Path) -> Microdata:
        read = read_microdata(path)
        if isinstance(read, Report):
            raise SurveyError(f"{path.name}: cannot read the microdata", read)
        return read

    def register(self, path: Path, registration: Registration) -> dict[str, Any]:
        """Check the file against the design and store the registration (not the records)."""
        self.monitor.authorize(Action.LOAD_SURVEY)
        self.monitor.geography().resolve(registration.country)
        data = self._read(path)
        problems = _design_problems(data, registration.design)
        if problems:
            raise SurveyError(f"{data.file}: the design does not fit the file", Report.of(problems))
        with self.store.transaction() as conn:
            existing = conn.execute(select(t.survey.c.id).where(t.survey.c.name == registration.name)).first()
            if existing is not None:
                raise HabmonError(
                    f"a survey named {registration.name} is registered already",
                    expected="a new name",
                    found=registration.name,
                    hint="`habmon surveys show NAME` shows it",
                )
            sid = insert_id(
                conn,
                insert(t.survey).values(
                    name=registration.name,
                    country=registration.country,
                    fieldwork_start=registration.fieldwork[0],
                    fieldwork_end=registration.fieldwork[1],
                    unit=registration.unit,
                    design=registration.design.to_dict(),
                    source=registration.source,
                    access_conditions=registration.access_conditions,
                    file_name=data.file,
                    file_format=data.format,
                    content_sha256=data.sha256,
                    records=len(data.frame),
                    variables=list(data.frame.columns),
                    registered_by=self.monitor.actor,
                    registered_at=_now(),
                ),
            )
            self.store.audit(
                conn,
                self.monitor.actor,
                "survey.register",
                "survey",
                str(sid),
                {"sha256": data.sha256, "file": data.file},
            )
        return self.show(registration.name)

    def entries(self) -> list[dict[str, Any]]:
        self.monitor.authorize(Action.LOAD_SURVEY)
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.survey).order_by(t.survey.c.id)).mappings().all()
        return [_survey_dict(dict(r)) for r in rows]

    def show(self, name: str) -> dict[str, Any]:
        self.monitor.authorize(Action.LOAD_SURVEY)
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.survey).where(t.survey.c.name == name)).mappings().first()
            if row is None:
                raise NotFound(f"no survey named {name}", found=name, hint="`habmon surveys list` lists them")
            c = t.survey_computation.c
            runs = conn.execute(
                select(c.id, c.indicator, c.by, c.lonely_psu, c.excluded, c.submission_id, c.computed_at, c.estimates)
                .where(c.survey_id == row["id"])
                .order_by(c.id)
            ).mappings()
            computations = [
                {**{k: v for k, v in dict(r).items() if k != "estimates"}, "estimates": len(r["estimates"])}
                for r in runs
            ]
        return {**_survey_dict(dict(row)), "computations": computations}

    def compute(
        self,
        name: str,
        path: Path,
        indicator: str,
        *,
        by: Sequence[str] = (),
        lonely_psu: LonelyPSU = LonelyPSU.FAIL,
        submit: bool = False,
    ) -> dict[str, Any]:
        """Compute the indicator; store the estimates; with ``submit`` send them as a submission."""
        self.monitor.authorize(Action.COMPUTE_SURVEY)
        survey = self.show(name)
        sha = sha256_of(path)
        if sha != survey["content_sha256"]:
            raise HabmonError(
                f"{path.name} is not the file survey {name} was registered with",
                expected=f"SHA-256 {survey['content_sha256']}",
                found=f"SHA-256 {sha}",
                hint="register the new file as a new survey",
            )
        recipe = _recipe_for(survey, indicator)
        threads = current_settings().duckdb_threads  # HABMON_DUCKDB_THREADS, like the monitoring run's engine
        result = compute_file(path, recipe, by=by, lonely_psu=lonely_psu, threads=threads)  # Parquet, CSV: DuckDB
        if not result.ok:
            raise SurveyError(f"{path.name}: {indicator} cannot be computed", result.report)
        recipe_sha = hashlib.sha256((RECIPES_DIR / f"{indicator}.yaml").read_bytes()).hexdigest()
        estimates = [r.to_dict() for r in result.rows]
        outcome: SubmissionOutcome | None = None
        not_submitted: list[dict[str, Any]] = []
        if submit:
            outcome, not_submitted = self._submit(survey, result)
        with self.store.transaction() as conn:
            cid = insert_id(
                conn,
                insert(t.survey_computation).values(
                    survey_id=survey["id"],
                    indicator=indicator,
                    by=list(by),
                    lonely_psu=str(lonely_psu),
                    recipe_sha256=recipe_sha,
                    estimates=estimates,
                    excluded=result.excluded,
                    submission_id=outcome.submission_id if outcome else None,
                    computed_by=self.monitor.actor,
                    computed_at=_now(),
                ),
            )
            self.store.audit(
                conn,
                self.monitor.actor,
                "survey.compute",
                "survey",
                str(survey["id"]),
                {"indicator": indicator, "by": list(by), "computation": cid, "estimates": len(estimates)},
            )
        return {
            "computation": cid,
            "survey": name,
            "indicator": indicator,
            "domain": result.domain,
            "by": list(by),
            "lonely_psu": str(lonely_psu),
            "excluded_households": result.excluded,
            "skipped_components": list(result.skipped),
            "estimates": estimates,
            "submission": outcome.to_dict() if outcome else None,
            "not_submitted": not_submitted,
        }

    def computation(self, name: str, computation_id: int) -> dict[str, Any]:
        """A stored computation of a survey: its estimates (proportions 0..1 with SE, interval, n, deff)."""
        self.monitor.authorize(Action.COMPUTE_SURVEY)
        survey = self.show(name)
        with self.store.engine.connect() as conn:
            row = (
                conn.execute(
                    select(t.survey_computation).where(
                        t.survey_computation.c.id == computation_id, t.survey_computation.c.survey_id == survey["id"]
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"survey {name} has no computation {computation_id}", found=str(computation_id))
        return {**_survey_dict(dict(row)), "survey": name}

    def submit_computation(self, name: str, computation_id: int) -> dict[str, Any]:
        """Send a stored computation's estimates as a computed submission (once), as ``compute(submit=True)`` does."""
        stored = self.computation(name, computation_id)
        if stored["submission_id"] is not None:
            raise HabmonError(
                f"computation {computation_id} of survey {name} was sent already",
                expected="a computation not yet sent",
                found=f"submission {stored['submission_id']}",
            )
        indicator = stored["indicator"]
        recipe_sha = hashlib.sha256((RECIPES_DIR / f"{indicator}.yaml").read_bytes()).hexdigest()
        if recipe_sha != stored["recipe_sha256"]:
            raise HabmonError(
                f"the recipe of {indicator} changed since computation {computation_id}",
                expected=f"recipe SHA-256 {stored['recipe_sha256']}",
                found=f"recipe SHA-256 {recipe_sha}",
                hint="compute the estimates again",
            )
        survey = self.show(name)
        recipe = _recipe_for(survey, indicator)
        by = tuple(stored["by"])
        domain = recipe.domain.label if recipe.domain is not None else ""
        result = Computation(
            indicator,
            design_of(recipe, LonelyPSU(stored["lonely_psu"])),
            by,
            tuple(_estimate_row(e) for e in stored["estimates"]),
            excluded=int(stored["excluded"]),
            domain=domain,
        )
        outcome, not_submitted = self._submit(survey, result)
        with self.store.transaction() as conn:
            conn.execute(
                update(t.survey_computation)
                .where(t.survey_computation.c.id == computation_id)
                .values(submission_id=outcome.submission_id)
            )
            self.store.audit(
                conn,
                self.monitor.actor,
                "survey.submit",
                "survey",
                str(stored["survey_id"]),
                {"computation": computation_id, "submission": outcome.submission_id},
            )
        return {"computation": computation_id, "submission": outcome.to_dict(), "not_submitted": not_submitted}

    def _submit(self, survey: dict[str, Any], result: Computation) -> tuple[SubmissionOutcome, list[dict[str, Any]]]:
        allowed = {str(d) for d in self.monitor.registry().get(result.indicator).disaggregations}
        rows: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        for row in result.rows:
            dims = _dimensions(row)
            if dims is None or not set(dims) <= allowed:
                skipped.append(dict(row.groups))
                continue
            rows.append({"row": row, "dims": dims})
        source = f"{survey['name']} ({survey['source']})"
        note = (
            f"computed by habmon from survey microdata: recipe {result.indicator}, domain {result.domain or 'all'}, "
            f"design {result.design.to_dict()}, Taylor linearisation, logit 95% interval"
        )
        columns = ["indicator", "geo", "period", "value", "nature", "source", "note", *sorted(allowed)]
        keys = []
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"survey-{survey['name']}-{result.indicator}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                for item in rows:
                    estimate: EstimateRow = item["row"]
                    writer.writerow(
                        {
                            "indicator": result.indicator,
                            "geo": survey["country"],
                            "period": survey["fieldwork_end"],
                            "value": repr(100 * estimate.value),
                            "nature": "C",
                            "source": source,
                            "note": note,
                            **item["dims"],
                        }
                    )
                    keys.append((item["dims"], estimate))
            uncertainty = pd.DataFrame(
                [
                    {
                        "series": result.indicator,
                        "geo": self.monitor.geography().resolve(survey["country"]).code,
                        "period": int(survey["fieldwork_end"]),
                        "disaggregation_key": ";".join(f"{k}={v}" for k, v in sorted(dims.items())),
                        "se": 100 * row.se,
                        "ci_low": 100 * row.ci_low,
                        "ci_high": 100 * row.ci_high,
                        "n": row.n,
                        "deff": row.deff,
                    }
                    for dims, row in keys
                ],
                columns=[*bulk.KEY, *bulk.UNCERTAINTY_COLUMNS],
            )
            outcome = Submissions(self.monitor).submit(
                path,
                organization="UN-Habitat (survey computation)",
                organization_type=OrganizationType.SECRETARIAT,
                source=source,
                method_note=note,
                fmt="csv",
                uncertainty=uncertainty,
            )
        if outcome.submission_id is None:
            raise SurveyError("the estimates were refused as a submission", outcome.report)
        return outcome, skipped


def _recipe_for(survey: Mapping[str, Any], indicator: str) -> Recipe:
    """The indicator's recipe with the survey's overrides, estimated on the design the survey was registered
    with (its weight, PSU, strata, fpc and weight divisor — not the recipe's defaults)."""
    design = survey["design"]
    registered = RecipeDesign(
        weight=design["weight"],
        weight_divisor=float(design.get("weight_divisor", 1.0)),
        psu=design.get("psu"),
        strata=design.get("strata"),
        fpc=design.get("fpc"),
    )
    return load_recipe(indicator).for_survey(survey["name"]).model_copy(update={"design": registered})


def _estimate_row(stored: dict[str, Any]) -> EstimateRow:
    """A stored estimate (JSON: an undefined number is null) as the row it was computed as."""

    def number(key: str) -> float:
        value = stored.get(key)
        return math.nan if value is None else float(value)

    return EstimateRow(
        dict(stored["groups"]),
        number("value"),
        number("se"),
        number("ci_low"),
        number("ci_high"),
        int(stored["n"]),
        number("population"),
        number("deff"),
        int(stored["df"]),
    )


def _dimensions(row: EstimateRow) -> dict[str, str] | None:
    return dimensions_of(row.groups)


def dimensions_of(groups: Mapping[str, str]) -> dict[str, str] | None:
    """An estimate's groups as registry dimensions (``urban=1`` → ``urbanisation=U``); None when one has none."""
    dims: dict[str, str] = {}
    for name, code in groups.items():
        if name not in DIMENSIONS:
            return None
        dimension, codes = DIMENSIONS[name]
        if code not in codes:
            return None
        dims[dimension] = codes[code]
    return dims


def _design_problems(data: Microdata, design: Design) -> list[Problem]:
    problems = [
        Problem("survey-variable", expected=f"design variable {v}", file=data.file, column=v)
        for v in design.variables()
        if v not in data.frame.columns
    ]
    if problems:
        return problems
    w = pd.to_numeric(data.frame[design.weight], errors="coerce")
    bad = ~(w > 0)
    if bad.any():
        first = int(bad.to_numpy().argmax())
        problems.append(
            Problem(
                "survey-weight",
                expected=f"a positive weight in {design.weight} for every record",
                found=f"{int(bad.sum())} records with zero, negative or missing weights (first at record {first + 1})",
                file=data.file,
                column=design.weight,
                row=first + 1,
            )
        )
    for variable in (v for v in (design.psu, design.strata) if v):
        missing = data.frame[variable].isna()
        if missing.any():
            first = int(missing.to_numpy().argmax())
            problems.append(
                Problem(
                    "survey-design",
                    expected=f"a value of {variable} for every record",
                    found=f"{int(missing.sum())} records without one (first at record {first + 1})",
                    file=data.file,
                    column=variable,
                    row=first + 1,
                )
            )
    return problems


def _survey_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
