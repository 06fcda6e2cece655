"""The DuckDB path (habmon.surveys.scan → cells) on R's shipped api data: every estimate, SE, design
effect, logit interval and df of tests/test_surveys_api.py — five designs (strata only, with and
without fpc; one-stage clusters, with and without fpc; strata × clusters under every lonely-PSU rule),
overall and by stype — equals R's survey package and the numpy path to a relative 1e-8, computed
from one GROUP BY stratum, PSU, domain over the CSV files R wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from habmon.surveys import cells
from habmon.surveys.design import Design, LonelyPSU
from habmon.surveys.domains import domains
from habmon.surveys.estimators import Estimates
from habmon.surveys.intervals import logit_interval
from habmon.surveys.scan import Cells, cell_sums, design_weight, open_source, quoted
from habmon.surveys.variance import LonelyPSUError
from tests.rsurvey import read_json, rscript
from tests.test_surveys_api import DESIGNS, _estimate

MEAN_API00 = {"statistic": "mean", "variable": "api00", "group": ""}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("api-cells")
    rscript("api_reference.R", str(out))
    return out, read_json(out / "reference.json")


def _cells(path: Path, design: Design, row: dict[str, Any]) -> tuple[Cells, str]:
    con = duckdb.connect()
    source = open_source(con, path, "csv")
    statistic, variable = row["statistic"], row["variable"]
    x = None
    if statistic == "ratio":
        num, den = variable.split("/")
        y, x = f"CAST({quoted(num)} AS DOUBLE)", f"CAST({quoted(den)} AS DOUBLE)"
    elif statistic == "proportion":
        y = "CASE WHEN \"sch.wide\" = 'Yes' THEN 1.0 ELSE 0.0 END"
    else:
        y = f"CAST({quoted(variable)} AS DOUBLE)"
    by = ("stype",) if row["group"] else ()
    found = cell_sums(con, source, design, weight=design_weight(design, source), y=y, x=x, by=by)
    return found, statistic


def _estimate_cells(path: Path, design: Design, row: dict[str, Any]) -> tuple[Estimates, int]:
    found, statistic = _cells(path, design, row)
    assert found.arrays is not None and found.fpc_constant
    d = domains(found.frame, ("stype",) if row["group"] else (), found.within)
    index = d.labels.index((row["group"],)) if row["group"] else 0
    estimator = {"ratio": cells.ratio, "proportion": cells.mean, "mean": cells.mean, "total": cells.total}[statistic]
    return estimator(found.arrays, found.sums, d.group, d.count), index


def _rel(found: float, expected: float) -> float:
    return abs(found - expected) / abs(expected)


def test_every_estimator_from_cells_equals_r_and_numpy(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    out, rows = reference
    cases = [r for r in rows if r["statistic"] != "error"]
    assert len(cases) >= 130
    frames = {name: pd.read_csv(out / f"{name}.csv") for name in ("apistrat", "apiclus1", "apiclus2")}
    rules = set()
    worst: dict[str, float] = {}
    for row in cases:
        design = DESIGNS[row["design"]].with_lonely_psu(LonelyPSU(row["rule"]))
        rules.add(design.lonely_psu)
        est, i = _estimate_cells(out / f"{row['dataset']}.csv", design, row)
        ref, j = _estimate(frames[row["dataset"]], design, row)  # the numpy path
        checks = {"value": (est.value[i], row["value"], ref.value[j]), "se": (est.se[i], row["se"], ref.se[j])}
        if row.get("deff") is not None:
            checks["deff"] = (est.deff[i], row["deff"], ref.deff[j])
        if row["statistic"] == "proportion":
            low, high = logit_interval(est.value, est.se, est.df)
            ref_low, ref_high = logit_interval(ref.value, ref.se, ref.df)
            checks |= {"ci_low": (low[i], row["ci_low"], ref_low[j]), "ci_high": (high[i], row["ci_high"], ref_high[j])}
            assert est.df[i] == row["df"] == ref.df[j], row
        assert est.n[i] == ref.n[j] and est.population[i] == pytest.approx(ref.population[j], rel=1e-12)
        for name, (found, from_r, from_numpy) in checks.items():
            worst[name] = max(worst.get(name, 0.0), _rel(found, from_r))
            assert _rel(found, from_r) <= 1e-8, (name, found, from_r, row)
            assert _rel(found, from_numpy) <= 1e-8, (name, found, from_numpy, row)
    assert set(worst) == {"value", "se", "deff", "ci_low", "ci_high"}
    assert rules == {LonelyPSU.FAIL, LonelyPSU.REMOVE, LonelyPSU.ADJUST, LonelyPSU.AVERAGE}


def test_fpc_reaches_the_cells(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    """With an fpc the SE is smaller than without (apistrat: about 6 % of schools sampled)."""
    out, _ = reference
    with_fpc, _ = _estimate_cells(out / "apistrat.csv", DESIGNS["strata=stype,fpc"], MEAN_API00)
    without, _ = _estimate_cells(out / "apistrat.csv", DESIGNS["strata=stype"], MEAN_API00)
    assert with_fpc.value[0] == pytest.approx(without.value[0], rel=1e-12)
    assert 0.9 < with_fpc.se[0] / without.se[0] < 0.99


def test_lonely_psu_fail_refuses_from_cells(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    out, rows = reference
    assert any(r["statistic"] == "error" and r["rule"] == "fail" for r in rows)  # R refused too
    found, _ = _cells(out / "apistrat.csv", DESIGNS["strata=cname,psu=dnum"], MEAN_API00)
    assert found.arrays is not None and found.arrays.lonely_strata().size > 0
    d = domains(found.frame, (), found.within)
    with pytest.raises(LonelyPSUError):
        cells.mean(found.arrays, found.sums, d.group, d.count)


def test_elements_as_psus_keep_one_cell_per_record(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    """Without a PSU variable every record is its own PSU (R's id=~1): one cell per record."""
    out, _ = reference
    found, _ = _cells(out / "apistrat.csv", DESIGNS["strata=stype"], MEAN_API00)
    assert found.arrays is not None
    assert found.arrays.psu_count == len(pd.read_csv(out / "apistrat.csv")) == int(np.sum(found.sums.n))
