"""The DuckDB fast path (habmon.surveys.fast) from Parquet and CSV files: SDG 11.1.1, 1.4.1 and 7.1.1
by every disaggregation equal the numpy path (compute.compute) and R's survey package (the
reference of tests/test_surveys_dhs.py) to a relative 1e-8 under every lonely-PSU rule, with
domains as subpopulations of the full design, missing answers, an fpc, designs without PSUs or
strata; bad input declines the fast path and gets the numpy path's problem report, unchanged."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from habmon.surveys.compute import Computation, compute
from habmon.surveys.design import LonelyPSU
from habmon.surveys.fast import Declined, compute_fast, compute_file
from habmon.surveys.recipe import Recipe, RecipeDesign, load_recipe
from habmon.surveys.scan import open_source
from habmon.surveys.synthetic import synthetic_dhs, synthetic_labels
from tests.rsurvey import close, read_json, rscript

RULES = (LonelyPSU.REMOVE, LonelyPSU.ADJUST, LonelyPSU.AVERAGE)
BYS = ((), ("region",), ("urban",), ("urban", "region"), ("wealth_quintile", "sex_of_head"))
Dhs = tuple[pd.DataFrame, Path, Any]
FIELDS = ("value", "se", "ci_low", "ci_high", "population", "deff")


@pytest.fixture(scope="module")
def dhs(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path, Any]:
    out = tmp_path_factory.mktemp("dhs-fast")
    frame = synthetic_dhs(4000, seed=7, regions=5, lonely=2)
    frame.to_csv(out / "synthetic_hr.csv", index=False)
    frame.to_parquet(out / "synthetic_hr.parquet", index=False)
    rscript("dhs_reference.R", str(out / "synthetic_hr.csv"), str(out / "reference.json"))
    return frame, out, read_json(out / "reference.json")


def _fast(path: Path, recipe: Recipe, labels: Any = None, **options: Any) -> Computation | Declined:
    with duckdb.connect() as con:
        fmt = path.suffix.lstrip(".")
        return compute_fast(con, open_source(con, path, fmt), recipe, labels=labels, **options)


def _same(fast: Computation | Declined, reference: Computation) -> None:
    """The fast path ran and gave the numpy path's rows (exact 0s: both within 1e-12 of 0)."""
    assert isinstance(fast, Computation), fast
    assert fast.ok and reference.ok, reference.report
    assert (fast.excluded, fast.skipped, fast.domain, fast.by) == (
        reference.excluded,
        reference.skipped,
        reference.domain,
        reference.by,
    )
    assert [r.groups for r in fast.rows] == [r.groups for r in reference.rows]
    for mine, theirs in zip(fast.rows, reference.rows, strict=True):
        assert (mine.n, mine.df) == (theirs.n, theirs.df), (mine, theirs)
        for name in FIELDS:
            a, b = getattr(mine, name), getattr(theirs, name)
            assert (math.isnan(a) and math.isnan(b)) or close(a, b), (name, mine.groups, a, b)


def _key(groups: dict[str, Any] | list[Any]) -> tuple[tuple[str, str], ...]:
    return () if isinstance(groups, list) else tuple(sorted((k, str(v)) for k, v in groups.items()))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("rule", RULES)
def test_slum_share_from_duckdb_equals_r_and_numpy(dhs: Dhs, rule: LonelyPSU, fmt: str) -> None:
    frame, out, reference = dhs
    recipe = load_recipe("11.1.1")
    found: dict[tuple[tuple[str, str], ...], Any] = {}
    for by in BYS:
        fast = _fast(out / f"synthetic_hr.{fmt}", recipe, by=by, lonely_psu=rule)
        _same(fast, compute(frame, recipe, by=by, lonely_psu=rule))
        assert isinstance(fast, Computation)
        for row in fast.rows:
            found.setdefault(_key(dict(row.groups)), row)
    expected = reference[str(rule)]
    assert len(expected) == 1 + 5 + 2 + 10
    for r in expected:
        row = found[_key(r["groups"])]
        assert row.n == r["n"] and row.df == r["df"], r
        for name in ("value", "se", "deff", "ci_low", "ci_high"):
            if r[name] is None:  # R's NA: "average" in a domain whose strata are all lonely
                assert math.isnan(getattr(row, name)), (rule, r["groups"], name)
            else:
                assert close(getattr(row, name), r[name]), (rule, r["groups"], name, getattr(row, name), r[name])


@pytest.mark.parametrize("indicator", ["1.4.1", "7.1.1"])
def test_other_recipes_equal_numpy(dhs: tuple[pd.DataFrame, Path, Any], indicator: str) -> None:
    frame, out, _ = dhs
    recipe = load_recipe(indicator)
    for by in BYS:
        reference = compute(frame, recipe, by=by, lonely_psu=LonelyPSU.AVERAGE)
        _same(_fast(out / "synthetic_hr.parquet", recipe, by=by, lonely_psu=LonelyPSU.AVERAGE), reference)
    assert (reference.excluded > 0) == (indicator == "1.4.1")  # "don't know" minutes to water exclude


def _messy(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing answers (NaN floats, missing codes), a missing disaggregation, text strata."""
    messy = frame.copy()
    rng = np.random.default_rng(5)
    messy["hv213"] = messy["hv213"].astype(float).where(rng.random(len(messy)) > 0.05)
    messy.loc[rng.random(len(messy)) < 0.03, "hv201"] = 99
    messy["hv216"] = messy["hv216"].where(rng.random(len(messy)) > 0.02, 99)
    messy["hv270"] = messy["hv270"].astype(float).where(rng.random(len(messy)) > 0.04)
    messy["hv022"] = "stratum " + messy["hv022"].astype(str)
    return messy


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_missing_answers_and_text_strata(dhs: tuple[pd.DataFrame, Path, Any], tmp_path: Path, fmt: str) -> None:
    messy = _messy(dhs[0])
    path = tmp_path / f"messy.{fmt}"
    messy.to_parquet(path, index=False) if fmt == "parquet" else messy.to_csv(path, index=False)
    recipe = load_recipe("11.1.1")
    for rule in RULES:
        for by in BYS:
            reference = compute(messy, recipe, by=by, lonely_psu=rule)
            _same(_fast(path, recipe, by=by, lonely_psu=rule), reference)
    assert reference.excluded > 100


def _with_design(recipe: Recipe, **changes: Any) -> Recipe:
    return recipe.model_copy(update={"design": RecipeDesign(**{**recipe.design.model_dump(), **changes})})


def test_fpc_and_designs_without_psus_or_strata(dhs: tuple[pd.DataFrame, Path, Any], tmp_path: Path) -> None:
    frame = dhs[0].copy()
    clusters = frame.groupby("hv022")["hv001"].transform("nunique")
    frame["fpc"] = clusters * 4  # a quarter of each stratum's clusters sampled
    frame["frac"] = 1 / 3.0  # or a sampling fraction
    path = tmp_path / "fpc.parquet"
    frame.to_parquet(path, index=False)
    recipe = load_recipe("11.1.1")
    designs = {
        "fpc": _with_design(recipe, fpc="fpc"),
        "fraction": _with_design(recipe, fpc="frac"),
        "no psu": _with_design(recipe, psu=None),
        "no strata": _with_design(recipe, strata=None),
        "neither": _with_design(recipe, psu=None, strata=None),
    }
    se: dict[str, float] = {}
    for name, variant in designs.items():
        for by in ((), ("urban", "region")):
            for rule in RULES:
                reference = compute(frame, variant, by=by, lonely_psu=rule)
                fast = _fast(path, variant, by=by, lonely_psu=rule)
                _same(fast, reference)
        se[name] = reference.rows[0].se
    plain = compute(frame, recipe, lonely_psu=LonelyPSU.AVERAGE).rows[0].se
    assert se["fpc"] < plain and se["fraction"] < plain and se["no psu"] != plain  # the options are used


def _problems(found: Computation) -> list[tuple[str, str, str, str]]:
    return [(p.type, p.column or "", p.found or "", p.expected or "") for p in found.report.problems]


def _bad_inputs(frame: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, LonelyPSU]]:
    def changed(column: str, rows: slice, value: Any, *, kind: str | None = None) -> pd.DataFrame:
        bad = frame.copy()
        if kind:
            bad[column] = bad[column].astype(kind)
        bad.loc[bad.index[rows], column] = value
        return bad

    return {
        "design variable missing": (frame.drop(columns=["hv022"]), LonelyPSU.ADJUST),
        "zero weight": (changed("hv005", slice(3, 5), 0), LonelyPSU.ADJUST),
        "negative weight": (changed("hv005", slice(10, 11), -5), LonelyPSU.ADJUST),
        "missing weight": (changed("hv005", slice(7, 9), np.nan, kind="float"), LonelyPSU.ADJUST),
        "missing psu": (changed("hv001", slice(0, 1), np.nan, kind="float"), LonelyPSU.ADJUST),
        "missing members": (changed("hv009", slice(20, 22), np.nan, kind="float"), LonelyPSU.ADJUST),
        "unclassified code": (changed("hv201", slice(30, 33), 77), LonelyPSU.ADJUST),
        "component missing": (frame.drop(columns=["hv205"]), LonelyPSU.ADJUST),
        "lonely psu under fail": (frame, LonelyPSU.FAIL),
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_bad_input_gets_the_reference_report(dhs: tuple[pd.DataFrame, Path, Any], tmp_path: Path, fmt: str) -> None:
    recipe = load_recipe("11.1.1")
    for case, (bad, rule) in _bad_inputs(dhs[0]).items():
        path = tmp_path / f"bad.{fmt}"
        bad.to_parquet(path, index=False) if fmt == "parquet" else bad.to_csv(path, index=False)
        assert isinstance(_fast(path, recipe, by=("region",), lonely_psu=rule), Declined), case
        found = compute_file(path, recipe, by=("region",), lonely_psu=rule)
        expected = compute(bad, recipe, by=("region",), lonely_psu=rule, file=path.name)
        assert not found.ok and not found.rows and found.report.problems, case
        assert _problems(found) == _problems(expected), case
        assert all(p.file == path.name for p in found.report.problems), case


def test_unknown_disaggregation_and_label_conflicts(dhs: tuple[pd.DataFrame, Path, Any]) -> None:
    frame, out, _ = dhs
    recipe = load_recipe("11.1.1")
    unknown = _fast(out / "synthetic_hr.parquet", recipe, by=("religion",), lonely_psu=LonelyPSU.ADJUST)
    assert isinstance(unknown, Computation)
    assert _problems(unknown) == _problems(compute(frame, recipe, by=("religion",), lonely_psu=LonelyPSU.ADJUST))
    labels = {k: dict(v) for k, v in synthetic_labels().items()}
    labels["hv201"][31] = "unprotected well"  # the recipe's 31 is "protected well"
    assert isinstance(_fast(out / "synthetic_hr.parquet", recipe, labels, lonely_psu=LonelyPSU.ADJUST), Declined)
    agreeing = _fast(out / "synthetic_hr.parquet", recipe, synthetic_labels(), lonely_psu=LonelyPSU.ADJUST)
    assert isinstance(agreeing, Computation)


def test_unreadable_and_other_formats(dhs: tuple[pd.DataFrame, Path, Any], tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really a parquet file")
    found = compute_file(broken, load_recipe("11.1.1"), lonely_psu=LonelyPSU.ADJUST)
    assert [p.type for p in found.report.problems] == ["file-unreadable"] and not found.rows
    frame = dhs[0]
    frame.astype("int32").to_stata(tmp_path / "hr.dta", write_index=False)
    stata = compute_file(tmp_path / "hr.dta", load_recipe("11.1.1"), by=("urban",), lonely_psu=LonelyPSU.ADJUST)
    _same(stata, compute(frame, load_recipe("11.1.1"), by=("urban",), lonely_psu=LonelyPSU.ADJUST))


def test_codes_beyond_the_lookup_list(dhs: Dhs, tmp_path: Path) -> None:
    """Minutes to water above every listed code (at_most classifies them) and a negative code (unclassified)."""
    frame = dhs[0].copy()
    frame.loc[frame.index[::50], "hv204"] = 1500  # more than 996/998/999: deprived by at_most 30
    path = tmp_path / "beyond.parquet"
    frame.to_parquet(path, index=False)
    recipe = load_recipe("1.4.1")
    reference = compute(frame, recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST)
    _same(_fast(path, recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST), reference)
    frame.loc[frame.index[3], "hv201"] = -7
    frame.to_parquet(path, index=False)
    assert isinstance(_fast(path, recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST), Declined)
    found = compute_file(path, recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST)
    expected = compute(frame, recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST, file=path.name)
    assert _problems(found) == _problems(expected) and "-7" in found.report.problems[0].found


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_total_stays_in_the_recipes_domain_when_its_variable_is_a_disaggregation(dhs: Dhs, fmt: str) -> None:
    # 11.1.1 counts urban households: by urban/rural, the total is still the urban share (the UN's 11.1.1), the
    # urban row equals it and the rural row is shown beside it — not a total over urban and rural households
    frame, out, _ = dhs
    recipe = load_recipe("11.1.1")
    alone = compute(frame, recipe, lonely_psu=LonelyPSU.ADJUST)
    by_urban = compute(frame, recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST)
    total, *parts = by_urban.rows
    urban = next(r for r in parts if r.groups == {"urban": "1"})
    assert (total.groups, by_urban.domain, alone.domain) == ({}, "urban", "urban")
    for name in (*FIELDS, "n"):
        assert close(getattr(total, name), getattr(alone.rows[0], name)), name
        assert close(getattr(urban, name), getattr(alone.rows[0], name)), name
    assert {r.groups["urban"] for r in parts} == {"1", "2"}
    _same(_fast(out / f"synthetic_hr.{fmt}", recipe, by=("urban",), lonely_psu=LonelyPSU.ADJUST), by_urban)
