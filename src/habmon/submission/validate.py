"""Validation of a submission: every check, every row, one report.

Checks run column-wise over the whole table (pandas), so a million rows validate in
seconds, and each failing cell becomes a :class:`~habmon.problems.Problem` naming the
file, sheet, row and column, what was expected and what was found. The rules come from
the indicator registry (ranges, periods, ratio tolerance, cross-indicator rules,
outlier factor; :mod:`habmon.submission.rules`), not from code branches per indicator.

This module checks each cell (required values, codes, numbers, periods, units, disaggregations, ranges,
ratios) and normalises the rows; :mod:`habmon.submission.consistency` checks across rows (duplicates, totals,
cross-indicator rules, outliers); :mod:`habmon.submission.columns` holds the column machinery both use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from habmon.geo.model import Geography
from habmon.indicators.model import Codelists
from habmon.indicators.registry import Registry
from habmon.observation import OBSERVATION_FIELDS, Nature, disaggregation_key
from habmon.problems import NotFound, Report
from habmon.submission.columns import Collector, Lookup, lookup, numbers_of, texts
from habmon.submission.consistency import (
    KEY,
    HistoryLookup,
    check_duplicates,
    check_outliers,
    check_rules,
    check_totals,
    stored_values,
)
from habmon.submission.rules import series_rules
from habmon.submission.table import ROW, SubmissionTable

NUMERIC = ("value", "numerator", "denominator")
NATURES = {n.value for n in Nature}


@dataclass(frozen=True)
class Validated:
    """The outcome of validation: the normalised observations (only if valid) and the report."""

    frame: pd.DataFrame  # KEY + disaggregation dims + value, numerator, denominator, unit, nature, source, note, _row
    report: Report
    dimensions: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return self.report.valid


def validate(
    table: SubmissionTable,
    *,
    registry: Registry,
    geography: Geography,
    history: HistoryLookup | None = None,
    default_nature: Nature = Nature.C,
    default_source: str | None = None,
) -> Validated:
    """Validate a submission table; all problems of all rows are reported together."""
    problems = list(table.problems)
    frame = table.frame.reset_index(drop=True)
    dims = tuple(d.id for d in registry.codelists.dimensions if d.id in frame.columns)
    if frame.empty or not Report.of(problems).valid:
        return Validated(_empty_result(dims), Report.of(problems), dims)
    c = Collector(table, frame)
    rules = series_rules(registry)

    # -- required cells, codes --------------------------------------------------------
    for column in ("indicator", "geo", "period", "value"):
        c.add(frame[column].isna(), "missing", column, f"a value in column '{table.label(column)}'")
    series = texts(frame["indicator"])
    by_series = Lookup(series)
    known_series = series.isin(list(rules))
    c.add(
        series.notna() & ~known_series,
        "code",
        "indicator",
        "an indicator or series code of the registry",
        hint="`habmon indicators list` shows every code",
    )
    geo = _resolve_geo(frame["geo"], geography)
    c.add(
        frame["geo"].notna() & geo.isna(),
        "code",
        "geo",
        "an M49, ISO3 or ISO2 code or a UN SDG city id",
        hint="`habmon geo show CODE` checks a code",
    )

    # -- numbers and periods ---------------------------------------------------------------
    numbers = {col: _number(frame, col) for col in NUMERIC}
    for col, values in numbers.items():
        if col in frame:
            c.add(frame[col].notna() & values.isna(), "type", col, "a number (decimal point, no thousands separator)")
    period = numbers_of(frame["period"])
    integral = period.notna() & (period == period.round())
    c.add(frame["period"].notna() & ~integral, "type", "period", "a year such as 2024")
    first = by_series({k: r.first_period for k, r in rules.items()})
    last = by_series({k: r.last_period for k, r in rules.items()})
    outside = integral & known_series & ((period < first) | (period > last))
    c.add(outside, "period", "period", lambda i: f"{int(first.iloc[i])}–{int(last.iloc[i])}")

    # -- nature, unit, source ----------------------------------------------------------------
    nature = (
        texts(frame["nature"].fillna(str(default_nature)), str.upper)
        if "nature" in frame
        else pd.Series(str(default_nature).upper(), index=frame.index, dtype=object)
    )
    c.add(~nature.isin(NATURES), "code", "nature", f"one of {', '.join(sorted(NATURES))}")
    expected_unit = by_series({k: r.unit for k, r in rules.items()})
    unit = texts(frame["unit"], str.lower) if "unit" in frame else pd.Series(np.nan, index=frame.index, dtype=object)
    c.add(
        unit.notna() & known_series & (unit != expected_unit),
        "value",
        "unit",
        lambda i: f"the indicator's unit '{expected_unit.iloc[i]}' (or blank)",
    )
    unit = unit.fillna(expected_unit)
    source = (
        texts(frame["source"].fillna(default_source))
        if "source" in frame
        else pd.Series(default_source, index=frame.index, dtype=object)
    )
    c.add(source.isna(), "missing", "source", "a source (in the file or given with the submission)")

    # -- disaggregations ----------------------------------------------------------------------
    codes = _dimension_codes(registry.codelists)
    for dim in dims:
        column = frame[dim].where(frame[dim] != registry.codelists.dimension(dim).total)
        mapped = lookup(column, codes[dim])
        c.add(
            column.notna() & mapped.isna(),
            "code",
            dim,
            f"a code of '{dim}' ({', '.join(sorted(set(codes[dim].values())))})",
        )
        allowed = by_series({k: (r.disaggregations is None or dim in r.disaggregations) for k, r in rules.items()})
        c.add(
            column.notna() & known_series & allowed.eq(False),
            "value",
            dim,
            f"blank: the indicator is not disaggregated by {dim}",
            hint="the registry lists each indicator's disaggregations (`habmon indicators show CODE`)",
        )
        frame = frame.assign(**{dim: mapped})
    disaggregation_key, disaggregation_json = disaggregation_texts(frame, dims)

    # -- ranges and ratios ---------------------------------------------------------------------
    value = numbers["value"]
    minimum = by_series({k: r.minimum for k, r in rules.items()})
    maximum = by_series({k: r.maximum for k, r in rules.items()})
    too_low = value.notna() & minimum.notna() & (value < minimum)
    too_high = value.notna() & maximum.notna() & (value > maximum)
    c.add(too_low | too_high, "range", "value", lambda i: _range_text(minimum.iloc[i], maximum.iloc[i]))
    num, den = numbers["numerator"], numbers["denominator"]
    c.add(
        num.notna() & den.notna() & (num > den),
        "ratio",
        "numerator",
        lambda i: f"numerator ≤ denominator ({den.iloc[i]:g})",
    )
    c.add(den.notna() & (den <= 0), "ratio", "denominator", "a denominator greater than 0")
    multiplier = by_series({k: r.multiplier for k, r in rules.items()})
    tolerance = by_series({k: r.ratio_tolerance for k, r in rules.items()})
    computed = num / den.where(den > 0) * multiplier
    mismatch = computed.notna() & value.notna() & ((value - computed).abs() > tolerance)
    c.add(
        mismatch,
        "ratio",
        "value",
        lambda i: (
            f"numerator / denominator × {multiplier.iloc[i]:g} = {computed.iloc[i]:.4g} (± {tolerance.iloc[i]:g})"
        ),
    )

    result = pd.DataFrame(
        {
            "series": series,
            "geo": geo,
            "period": period.where(integral).astype("Int64"),
            "disaggregation_key": disaggregation_key,
            "disaggregation": disaggregation_json,
            "value": value,
            "numerator": num,
            "denominator": den,
            "unit": unit,
            "nature": nature,
            "source": source,
            "note": texts(frame["note"]) if "note" in frame else pd.Series(np.nan, index=frame.index, dtype=object),
            ROW: frame[ROW],
        }
    )
    for dim in dims:
        result[dim] = frame[dim]

    # -- duplicates, totals, cross-indicator rules, outliers ----------------------------------------
    complete = result[KEY].notna().all(axis=1) & ~pd.Series(c.bad, index=result.index)
    check_duplicates(c, result, complete)
    ok = complete & ~pd.Series(c.bad, index=result.index)
    checked = result.loc[ok, [*KEY, "value", *dims]]  # the columns the checks below read, copied once
    checked["rounding"] = half_units(frame["value"])[ok].to_numpy()
    check_totals(c, checked, dims, rules, {d: set(v.values()) for d, v in codes.items()})
    wanted = set(checked["series"].unique())
    wanted |= {other for code in list(wanted) for _, other in rules[code].rules}
    stored = stored_values(history, sorted(wanted))
    check_rules(c, checked, rules, stored)
    check_outliers(c, checked, rules, stored)

    report = Report.of(problems + c.problems)
    valid = result[~pd.Series(c.bad, index=result.index)] if report.valid else _empty_result(dims)
    return Validated(valid.reset_index(drop=True), report, dims)


def _empty_result(dims: Sequence[str]) -> pd.DataFrame:
    columns = [*OBSERVATION_FIELDS, ROW, *dims]
    return pd.DataFrame({col: pd.Series(dtype=object) for col in columns})


def half_units(texts: pd.Series) -> pd.Series:
    """Half a unit of the last decimal each number shows, the rounding it may carry: 0.05 for ``12.3``, 0.5 for
    ``12``, 500 for ``1e3`` (0.5 for a cell that is no number; such a row is an error anyway)."""
    arrow = pa.array(texts.to_numpy(dtype=object, na_value=None), type=pa.string())
    dot = pc.fill_null(pc.find_substring(arrow, "."), -1).to_numpy(zero_copy_only=False)
    length = pc.fill_null(pc.utf8_length(arrow), 0).to_numpy(zero_copy_only=False)
    decimals = np.where(dot >= 0, length - dot - 1, 0).astype("float64")
    exponent = np.zeros(len(texts))
    scientific = pc.fill_null(pc.find_substring(arrow, "e", ignore_case=True), -1).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(scientific >= 0):  # rare: 1e3, 1.5E-2
        mantissa, _, power = str(texts.iloc[i]).lower().partition("e")
        if power.lstrip("+-").isdigit():
            exponent[i] = int(power)
            decimals[i] = len(mantissa.partition(".")[2])
    return pd.Series(0.5 * 10.0 ** (exponent - decimals), index=texts.index, copy=False)


def _number(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _resolve_geo(values: pd.Series, geography: Geography) -> pd.Series:
    mapping: dict[str, str | None] = {}
    for raw in values.dropna().unique():
        try:
            mapping[raw] = geography.resolve(str(raw)).code
        except NotFound:
            mapping[raw] = None
    return lookup(values, mapping)


def _dimension_codes(codelists: Codelists) -> dict[str, dict[str, str]]:
    """For each dimension: accepted spelling (code id or SDMX code) → code id; totals excluded."""
    out: dict[str, dict[str, str]] = {}
    for dim in codelists.dimensions:
        table: dict[str, str] = {}
        for code in dim.codes:
            if code.id == dim.total:
                continue
            table[code.id] = code.id
            if code.sdmx:
                table.setdefault(code.sdmx, code.id)
        out[dim.id] = table
    return out


def disaggregation_texts(frame: pd.DataFrame, dims: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """Each row's canonical disaggregation key (``age=Y15T24;sex=F``, '' for totals) and its JSON text.

    Computed once per distinct combination of codes (a million rows hold a few dozen), then spread.
    """
    ordered = sorted(dims)
    if not ordered:
        return pd.Series("", index=frame.index, dtype=object), pd.Series("{}", index=frame.index, dtype=object)
    groups = frame[ordered].groupby(ordered, dropna=False, sort=False)
    ids = groups.ngroup().to_numpy()
    keys, jsons = [], []
    for row in groups.head(1).itertuples(index=False, name=None):
        codes = {d: c for d, c in zip(ordered, row, strict=True) if isinstance(c, str)}
        keys.append(disaggregation_key(codes))
        jsons.append(json.dumps(codes, ensure_ascii=False))
    return (
        pd.Series(np.array(keys, dtype=object)[ids], index=frame.index, dtype=object, copy=False),
        pd.Series(np.array(jsons, dtype=object)[ids], index=frame.index, dtype=object, copy=False),
    )


def _range_text(low: float | None, high: float | None) -> str:
    if pd.notna(low) and pd.notna(high):
        return f"a value from {low:g} to {high:g}"
    if pd.notna(low):
        return f"a value of at least {low:g}"
    return f"a value of at most {high:g}"
