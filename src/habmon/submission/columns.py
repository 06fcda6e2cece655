"""The column machinery of validation: problems collected for the rows of a mask, mappings through distinct values.

A million submitted rows hold a few dozen codes, so a column is factorized once and every mapping (a rule per
series, a code per spelling, a number per text) is applied to its distinct values; text columns are kept as
objects shared between equal cells rather than a string copied per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from habmon.problems import Problem
from habmon.submission.table import ROW, SHEET, SubmissionTable


class Collector:
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
                    found=shown(value),
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


def number_text(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:g}"


def shown(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(blank)"
    return str(value)
