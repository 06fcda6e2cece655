"""habmon's survey estimators against R's survey package on R's shipped api data (apistrat,
apiclus1, apiclus2): estimates, standard errors, design effects and logit intervals equal R's to a
relative 1e-8, for whole populations and svyby domains, and under every lonely-PSU rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from habmon.surveys.design import Design, LonelyPSU, arrays
from habmon.surveys.domains import domains
from habmon.surveys.estimators import Estimates, mean, ratio, total
from habmon.surveys.intervals import logit_interval
from habmon.surveys.variance import LonelyPSUError
from tests.rsurvey import read_json, rscript

DESIGNS = {
    "strata=stype": Design(weight="pw", strata="stype"),
    "strata=stype,fpc": Design(weight="pw", strata="stype", fpc="fpc"),
    "psu=dnum": Design(weight="pw", psu="dnum"),
    "psu=dnum,fpc": Design(weight="pw", psu="dnum", fpc="fpc"),
    "strata=cname,psu=dnum": Design(weight="pw", psu="dnum", strata="cname"),
}
VARIABLES = {  # dataset: (total, ratio numerator, ratio denominator), as in tests/r/api_reference.R
    "apistrat": ("enroll", "api.stu", "enroll"),
    "apiclus1": ("enroll", "api.stu", "enroll"),
    "apiclus2": ("api.stu", "api00", "api99"),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("api")
    rscript("api_reference.R", str(out))
    return out, read_json(out / "reference.json")


def _cases(reference: tuple[Path, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [r for r in reference[1] if r["statistic"] != "error"]


def _estimate(frame: pd.DataFrame, design: Design, row: dict[str, Any]) -> tuple[Estimates, int]:
    a = arrays(design, frame)
    d = domains(frame, ("stype",) if row["group"] else ())
    index = d.labels.index((row["group"],)) if row["group"] else 0
    statistic = row["statistic"]
    if statistic == "ratio":
        num, den = row["variable"].split("/")
        return ratio(a, frame[num].to_numpy(float), frame[den].to_numpy(float), d.group, d.count), index
    if statistic == "proportion":
        y = (frame["sch.wide"] == "Yes").to_numpy(float)
        return mean(a, y, d.group, d.count), index
    estimator = {"mean": mean, "total": total}[statistic]
    return estimator(a, frame[row["variable"]].to_numpy(float), d.group, d.count), index


def _rel(found: float, expected: float) -> float:
    return abs(found - expected) / abs(expected)


def test_every_estimator_equals_r(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    out, _ = reference
    cases = _cases(reference)
    assert len(cases) >= 130  # 5 designs + 3 rules: means, totals, ratios, proportions, each overall and by stype
    frames = {name: pd.read_csv(out / f"{name}.csv") for name in VARIABLES}
    worst: dict[str, float] = {}
    for row in cases:
        design = DESIGNS[row["design"]].with_lonely_psu(LonelyPSU(row["rule"]))
        est, i = _estimate(frames[row["dataset"]], design, row)
        checks = {"value": (est.value[i], row["value"]), "se": (est.se[i], row["se"])}
        if row.get("deff") is not None:
            checks["deff"] = (est.deff[i], row["deff"])
        if row["statistic"] == "proportion":
            low, high = logit_interval(est.value, est.se, est.df)
            checks |= {"ci_low": (low[i], row["ci_low"]), "ci_high": (high[i], row["ci_high"])}
            assert est.df[i] == row["df"], row
        for name, (found, expected) in checks.items():
            worst[name] = max(worst.get(name, 0.0), _rel(found, expected))
            assert _rel(found, expected) <= 1e-8, (name, found, expected, row)
    assert set(worst) == {"value", "se", "deff", "ci_low", "ci_high"}
    assert max(worst.values()) <= 1e-8, worst


def test_lonely_psu_fail_refuses_as_r_does(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    out, rows = reference
    (error,) = [r for r in rows if r["statistic"] == "error"]
    assert "has only one PSU" in error["variable"]  # R refused under "fail"
    frame = pd.read_csv(out / "apistrat.csv")
    a = arrays(DESIGNS["strata=cname,psu=dnum"], frame)
    assert a.design.lonely_psu == LonelyPSU.FAIL
    with pytest.raises(LonelyPSUError) as caught:
        mean(a, frame["api00"].to_numpy(float))
    assert len(caught.value.strata) == int((a.n_psu == 1).sum()) > 0


def test_rules_differ_where_strata_are_lonely(reference: tuple[Path, list[dict[str, Any]]]) -> None:
    """The lonely-PSU rules give different SEs (remove < adjust < average here), the same estimate."""
    out, _ = reference
    frame = pd.read_csv(out / "apistrat.csv")
    y = frame["api00"].to_numpy(float)
    results = {
        rule: mean(arrays(DESIGNS["strata=cname,psu=dnum"].with_lonely_psu(rule), frame), y)
        for rule in (LonelyPSU.REMOVE, LonelyPSU.ADJUST, LonelyPSU.AVERAGE)
    }
    values = {float(r.value[0]) for r in results.values()}
    assert len(values) == 1
    se = [float(results[r].se[0]) for r in (LonelyPSU.REMOVE, LonelyPSU.ADJUST, LonelyPSU.AVERAGE)]
    assert se[0] < se[1] < se[2]
    from_r = {
        r["rule"]: r["se"]
        for r in reference[1]
        if r["design"] == "strata=cname,psu=dnum" and r["variable"] == "api00" and r["group"] == "" and "se" in r
    }
    assert np.allclose(se, [from_r["remove"], from_r["adjust"], from_r["average"]], rtol=1e-8, atol=0)
