"""Checks across rows: duplicates, totals against their parts, cross-indicator rules, outliers against history.

They run on the rows that passed the checks of single cells (:func:`habmon.submission.validate.validate`), over
whole columns grouped by observation key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from habmon.indicators.model import AggregationMethod, RuleKind
from habmon.submission.columns import Collector, lookup, number_text
from habmon.submission.rules import SeriesRules
from habmon.submission.table import ROW

KEY = ["series", "geo", "period", "disaggregation_key"]
TOTALS_TOLERANCE = 0.005  # relative

# History of stored values the checks compare against: (series codes) -> frame with KEY + value
HistoryLookup = Callable[[Sequence[str]], pd.DataFrame]


def check_duplicates(c: Collector, result: pd.DataFrame, complete: pd.Series) -> None:
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


def check_totals(
    c: Collector,
    ok: pd.DataFrame,
    dims: Sequence[str],
    rules: Mapping[str, SeriesRules],
    codes: Mapping[str, set[str]],
) -> None:
    """Parts of one dimension against the total with every other key equal (blank matching blank).

    ``ok``: the rows' key, value, dimensions and ``rounding`` (half a unit of the last decimal each value shows).
    A sum may miss its total by the total's rounding and its parts' together, a mean by the total's and its
    largest part's; a total with a single part contradicts nothing (the other parts may be missing)."""
    if ok.empty:
        return
    column_codes = {col: pd.factorize(ok[col], use_na_sentinel=False)[0] for col in ["series", "geo", "period", *dims]}
    value = ok["value"].to_numpy()
    rounding = ok["rounding"].to_numpy()
    for dim in dims:
        is_part = ok[dim].notna().to_numpy()
        if not is_part.any():
            continue
        group = _group_ids([column_codes[col] for col in ["series", "geo", "period", *dims] if col != dim])
        stats = (
            pd.DataFrame({"value": value[is_part], "rounding": rounding[is_part]})
            .groupby(group[is_part])
            .agg(
                low=("value", "min"),
                high=("value", "max"),
                total_sum=("value", "sum"),
                parts=("value", "size"),
                rounding_sum=("rounding", "sum"),
                rounding_max=("rounding", "max"),
            )
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
                "rounding": totals["rounding"],
                **{
                    col: found[col].to_numpy()[present]
                    for col in ("low", "high", "total_sum", "parts", "rounding_sum", "rounding_max")
                },
            },
            index=totals.index,
        )
        n_codes = len(codes[dim])
        summed = lookup(merged["series"], {k: r.aggregation == AggregationMethod.SUM for k, r in rules.items()})
        tol = merged["value"].abs() * TOTALS_TOLERANCE + 1e-9
        sum_tol = tol + merged["rounding"] + merged["rounding_sum"]
        mean_tol = tol + merged["rounding"] + merged["rounding_max"]
        several = merged["parts"] >= 2
        sum_bad = (
            summed & several & (merged["parts"] == n_codes) & ((merged["total_sum"] - merged["value"]).abs() > sum_tol)
        )
        mean_bad = (
            ~summed
            & several
            & ((merged["value"] < merged["low"] - mean_tol) | (merged["value"] > merged["high"] + mean_tol))
        )
        bad = merged[sum_bad | mean_bad]
        mask = c.mask(bad.index)
        sums, lows, highs = bad["total_sum"].to_numpy(), bad["low"].to_numpy(), bad["high"].to_numpy()
        by_sum = sum_bad[bad.index].to_numpy()
        expected = {
            i: (
                f"the sum of the {dim} parts ({number_text(total)})"
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


def stored_values(history: HistoryLookup | None, series: Sequence[str]) -> pd.DataFrame:
    if history is None or not series:
        return pd.DataFrame(columns=[*KEY, "value"])
    return history(series)


def check_rules(c: Collector, ok: pd.DataFrame, rules: Mapping[str, SeriesRules], stored: pd.DataFrame) -> None:
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
            expected = {
                i: f"{word} {other} for the same place and year ({number_text(r)})" for i, r in bad["other"].items()
            }
            c.add(mask, "rule", "value", expected.__getitem__)


def check_outliers(c: Collector, ok: pd.DataFrame, rules: Mapping[str, SeriesRules], stored: pd.DataFrame) -> None:
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
