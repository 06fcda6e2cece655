"""Validation of a submission: every check, every row, one report.

Checks run column-wise over the whole table (pandas), so a million rows validate in
seconds, and each failing cell becomes a :class:`~habmon.problems.Problem` naming the
file, sheet, row and column, what was expected and what was found. The rules come from
the indicator registry (ranges, periods, ratio tolerance, cross-indicator rules,
outlier factor), not from code branches per indicator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from habmon.geo.model import Geography
from habmon.indicators.model import AggregationMethod, Codelists, RuleKind, Unit, ValidationRules
from habmon.indicators.registry import Registry
from habmon.observation import OBSERVATION_FIELDS, Nature, disaggregation_key
from habmon.problems import NotFound, Problem, Report
from habmon.submission.table import ROW, SHEET, SubmissionTable

KEY = ["series", "geo", "period", "disaggregation_key"]
NUMERIC = ("value", "numerator", "denominator")
TOTALS_TOLERANCE = 0.005  # relative
NATURES = {n.value for n in Nature}

# History of stored values the checks compare against: (series codes) -> frame with KEY + value
HistoryLookup = Callable[[Sequence[str]], pd.DataFrame]


@dataclass(frozen=True)
class Validated:
    """The outcome of validation: the normalised observations (only if valid) and the report."""

    frame: pd.DataFrame  # KEY + disaggregation dims + value, numerator, denominator, unit, nature, source, note, _row
    report: Report
    dimensions: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return self.report.valid


@dataclass(frozen=True)
class SeriesRules:
    unit: str
    minimum: float | None
    maximum: float | None
    first_period: int
    last_period: int
    ratio_tolerance: float
    multiplier: float | None
    outlier_factor: float
    aggregation: AggregationMethod
    disaggregations: frozenset[str] | None  # None: any dimension allowed (auxiliary series)
    rules: tuple[tuple[RuleKind, str], ...]


def series_rules(registry: Registry) -> dict[str, SeriesRules]:
    out: dict[str, SeriesRules] = {}
    for ind in registry.indicators:
        out[ind.code] = _rules(
            ind.unit,
            ind.validation,
            ind.ratio.multiplier if ind.ratio else None,
            ind.aggregation.method,
            frozenset(ind.disaggregations),
        )
    for aux in registry.codelists.auxiliary_series:
        out[aux.code] = _rules(aux.unit, aux.validation, None, aux.aggregation.method, None)
    return out


def _rules(
    unit: Unit,
    rules: ValidationRules,
    multiplier: float | None,
    aggregation: AggregationMethod,
    dims: frozenset[str] | None,
) -> SeriesRules:
    minimum = rules.minimum if rules.minimum is not None else (None if unit == Unit.SCORE else 0.0)
    maximum = rules.maximum if rules.maximum is not None else (100.0 if unit == Unit.PERCENT else None)
    return SeriesRules(
        unit=str(unit),
        minimum=minimum,
        maximum=maximum,
        first_period=rules.first_period,
        last_period=rules.last_period,
        ratio_tolerance=rules.ratio_tolerance,
        multiplier=multiplier,
        outlier_factor=rules.outlier_factor,
        aggregation=aggregation,
        disaggregations=dims,
        rules=tuple((r.kind, r.other) for r in rules.rules),
    )


class _Collector:
    """Builds problems for the rows of a mask, located in the source table."""

    def __init__(self, table: SubmissionTable, frame: pd.DataFrame) -> None:
        self.table = table
        self.frame = frame
        self.index = frame.index
        self.problems: list[Problem] = []
        self.bad = np.zeros(len(frame), dtype=bool)
        self._rows = frame[ROW].to_numpy()
        self._sheets = frame[SHEET].to_numpy() if SHEET in frame else None

    def mask(self, index: pd.Index) -> pd.Series:
        out = pd.Series(False, index=self.index)
        out[index] = True
        return out

    def add(
        self,
        mask: Any,
        kind: str,
        column: str,
        expected: str | Callable[[int], str],
        found: Iterable[Any] | None = None,
        hint: str | None = None,
        *,
        error: bool = True,
    ) -> None:
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        if positions.size == 0:
            return
        if error:
            self.bad[positions] = True
        if found is not None:
            found_values = list(found)
        elif column in self.frame:
            found_values = self.frame[column].to_numpy()[positions].tolist()
        else:
            found_values = [None] * positions.size
        label = self.table.label(column)
        for pos, value in zip(positions, found_values, strict=True):
            self.problems.append(
                Problem(
                    kind,
                    expected=expected(int(pos)) if callable(expected) else expected,
                    found=_show(value),
                    file=self.table.source,
                    sheet=None if self._sheets is None else str(self._sheets[pos]),
                    row=int(self._rows[pos]),
                    column=label,
                    hint=hint,
                )
            )


class Lookup:
    """``values.map(mapping)`` through the distinct values only: a million rows hold a few dozen codes, so
    the column is factorized once and every mapping is applied to its distinct values."""

    def __init__(self, values: pd.Series) -> None:
        self.index = values.index
        self.codes, self.uniques = pd.factorize(values, use_na_sentinel=True)

    def __call__(self, mapping: Mapping[Any, Any]) -> pd.Series:
        found = [mapping.get(u) for u in self.uniques]
        present = [v for v in mapping.values() if v is not None]  # the mapping's type, not just the values found
        numeric = bool(present) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
        if numeric:
            table = np.array([np.nan if v is None else v for v in [*found, None]], dtype="float64")
            return pd.Series(table[self.codes], index=self.index, copy=False)
        table = np.array([*found, None], dtype=object)
        if all(isinstance(v, str) for v in present) and any(v is not None for v in found):
            # text: an object column whose cells share the mapping's texts (no string copied per row)
            table[pd.isna(table)] = np.nan
            return pd.Series(table[self.codes], index=self.index, dtype=object, copy=False)
        mapped = pd.Series(table[self.codes], index=self.index, dtype=object, copy=False)
        return mapped.where(mapped.notna(), np.nan).infer_objects()  # all-blank → float NaN, as groupby keys expect


def texts(values: pd.Series, change: Callable[[str], str] | None = None) -> pd.Series:
    """A text column as objects shared between equal cells (blank: NaN), each distinct text ``change``d once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = [u if change is None else change(u) for u in uniques]
    table[-1] = np.nan
    return pd.Series(table[codes], index=values.index, dtype=object, copy=False)


def numbers_of(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(values, errors="coerce")`` through the distinct values (a million years hold a hundred)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.append(pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy("float64"), np.nan)
    return pd.Series(table[codes], index=values.index, dtype="float64", copy=False)


def lookup(values: pd.Series, mapping: Mapping[Any, Any]) -> pd.Series:
    return Lookup(values)(mapping)


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:g}"


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(blank)"
    return str(value)


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
    c = _Collector(table, frame)
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
    _duplicates(c, result, complete)
    ok = complete & ~pd.Series(c.bad, index=result.index)
    checked = result.loc[ok, [*KEY, "value", *dims]]  # the columns the checks below read, copied once
    _totals(c, checked, dims, rules, {d: set(v.values()) for d, v in codes.items()})
    wanted = set(checked["series"].unique())
    wanted |= {other for code in list(wanted) for _, other in rules[code].rules}
    stored = _history(history, sorted(wanted))
    _cross_rules(c, checked, rules, stored)
    _outliers(c, checked, rules, stored)

    report = Report.of(problems + c.problems)
    valid = result[~pd.Series(c.bad, index=result.index)] if report.valid else _empty_result(dims)
    return Validated(valid.reset_index(drop=True), report, dims)


def _empty_result(dims: Sequence[str]) -> pd.DataFrame:
    columns = [*OBSERVATION_FIELDS, ROW, *dims]
    return pd.DataFrame({col: pd.Series(dtype=object) for col in columns})


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


def _duplicates(c: _Collector, result: pd.DataFrame, complete: pd.Series) -> None:
    keyed = result[complete]
    dup = keyed.duplicated(subset=KEY, keep="first")
    if not dup.any():
        return
    first_row = keyed.groupby(KEY, dropna=False)[ROW].transform("first")
    mask = c.mask(keyed.index[dup.to_numpy()])
    c.add(
        mask,
        "duplicate-row",
        "indicator",
        lambda i: f"one row per indicator, geography, year and disaggregation (first at row {first_row.loc[i]})",
        found=(f"{r.series} {r.geo} {r.period} {r.disaggregation_key or 'total'}" for r in result[mask].itertuples()),
    )


def _totals(
    c: _Collector,
    ok: pd.DataFrame,
    dims: Sequence[str],
    rules: Mapping[str, SeriesRules],
    codes: Mapping[str, set[str]],
) -> None:
    """Parts of one dimension against the total with every other key equal (blank matching blank)."""
    if ok.empty:
        return
    column_codes = {col: pd.factorize(ok[col], use_na_sentinel=False)[0] for col in ["series", "geo", "period", *dims]}
    value = ok["value"].to_numpy()
    for dim in dims:
        is_part = ok[dim].notna().to_numpy()
        if not is_part.any():
            continue
        group = _group_ids([column_codes[col] for col in ["series", "geo", "period", *dims] if col != dim])
        stats = (
            pd.Series(value[is_part]).groupby(group[is_part]).agg(low="min", high="max", total_sum="sum", parts="size")
        )
        is_total = ~is_part
        found = stats.reindex(group[is_total])
        present = found["parts"].notna().to_numpy()
        if not present.any():
            continue
        totals = ok[is_total][present]
        merged = pd.DataFrame(
            {
                "series": totals["series"],
                "value": totals["value"],
                **{col: found[col].to_numpy()[present] for col in ("low", "high", "total_sum", "parts")},
            },
            index=totals.index,
        )
        n_codes = len(codes[dim])
        summed = lookup(merged["series"], {k: r.aggregation == AggregationMethod.SUM for k, r in rules.items()})
        tol = merged["value"].abs() * TOTALS_TOLERANCE + 1e-9
        sum_bad = summed & (merged["parts"] == n_codes) & ((merged["total_sum"] - merged["value"]).abs() > tol)
        mean_bad = ~summed & ((merged["value"] < merged["low"] - tol) | (merged["value"] > merged["high"] + tol))
        bad = merged[sum_bad | mean_bad]
        mask = c.mask(bad.index)
        sums, lows, highs = bad["total_sum"].to_numpy(), bad["low"].to_numpy(), bad["high"].to_numpy()
        by_sum = sum_bad[bad.index].to_numpy()
        expected = {
            i: (
                f"the sum of the {dim} parts ({_num(total)})"
                if summed_row
                else f"a total between the {dim} parts ({low:g} … {high:g})"
            )
            for i, total, low, high, summed_row in zip(bad.index, sums, lows, highs, by_sum, strict=True)
        }
        c.add(mask, "totals", "value", expected.__getitem__)


def _group_ids(columns: Sequence[np.ndarray]) -> np.ndarray:
    """One integer per distinct combination of the columns' codes (each code ≥ 0), kept below the row count."""
    group = np.zeros(len(columns[0]) if columns else 0, dtype="int64")
    for codes in columns:
        group, _ = pd.factorize(group * (int(codes.max(initial=0)) + 1) + codes)
    return group


def _history(history: HistoryLookup | None, series: Sequence[str]) -> pd.DataFrame:
    if history is None or not series:
        return pd.DataFrame(columns=[*KEY, "value"])
    return history(series)


def _cross_rules(c: _Collector, ok: pd.DataFrame, rules: Mapping[str, SeriesRules], stored: pd.DataFrame) -> None:
    for code, rule in rules.items():
        if not rule.rules:
            continue
        mine = ok[ok["series"] == code]
        if mine.empty:
            continue
        for kind, other in rule.rules:
            theirs = pd.concat(
                [stored[stored["series"] == other][[*KEY, "value"]], ok[ok["series"] == other][[*KEY, "value"]]]
            )
            theirs = theirs.drop_duplicates(subset=KEY[1:], keep="last").set_index(KEY[1:])["value"]
            joined = mine.join(theirs.rename("other"), on=KEY[1:], how="inner")
            broken = (
                joined["value"] > joined["other"]
                if kind == RuleKind.NOT_GREATER_THAN
                else joined["value"] < joined["other"]
            )
            bad = joined[broken]
            mask = c.mask(bad.index)
            word = "at most" if kind == RuleKind.NOT_GREATER_THAN else "at least"
            expected = {i: f"{word} {other} for the same place and year ({_num(r)})" for i, r in bad["other"].items()}
            c.add(mask, "rule", "value", expected.__getitem__)


def _outliers(c: _Collector, ok: pd.DataFrame, rules: Mapping[str, SeriesRules], stored: pd.DataFrame) -> None:
    """Warn when the change from the previous stored value is far outside the series' own yearly changes."""
    if stored.empty or ok.empty:
        return
    hist = stored.sort_values(["series", "geo", "disaggregation_key", "period"])
    group = ["series", "geo", "disaggregation_key"]
    steps = hist.groupby(group)[["period", "value"]].diff()
    hist = hist.assign(rate=steps["value"] / steps["period"])
    spread = hist.groupby(group)["rate"].agg(median="median", mad=lambda r: (r - r.median()).abs().median(), n="count")
    last = hist.groupby(group).agg(last_period=("period", "last"), last_value=("value", "last"))
    merged = ok.join(spread, on=group, how="inner").join(last, on=group, how="inner")
    merged = merged[(merged["n"] >= 3) & (merged["period"] > merged["last_period"])]
    if merged.empty:
        return
    rate = (merged["value"] - merged["last_value"]) / (merged["period"] - merged["last_period"])
    factor = lookup(merged["series"], {k: r.outlier_factor for k, r in rules.items()})
    scale = (merged["mad"] * 1.4826).clip(lower=merged["last_value"].abs() * 0.01 + 1e-9)
    unusual = merged[(rate - merged["median"]).abs() > factor * scale]
    mask = c.mask(unusual.index)
    c.add(
        mask,
        "outlier",
        "value",
        lambda i: (
            f"a change near the series' usual {merged.loc[i, 'median']:+.3g}/year from "
            f"{merged.loc[i, 'last_value']:g} in {int(merged.loc[i, 'last_period'])}"
        ),
        error=False,
        hint="check the value; if it is right, say why in the note column",
    )
