"""Domains for estimates: the cross-classification of ``by`` variables, within an optional subpopulation.

Each record gets a group number 0..G−1 (−1: outside the subpopulation, or a by-variable missing);
the groups are listed with their codes in sorted order, as ``svyby`` lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from habmon.surveys.design import IntArray, dense_codes


@dataclass(frozen=True)
class Domains:
    by: tuple[str, ...]
    group: IntArray
    labels: tuple[tuple[str, ...], ...]  # per group, the code of each by-variable

    @property
    def count(self) -> int:
        return len(self.labels)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def domains(frame: pd.DataFrame, by: Sequence[str] = (), within: npt.NDArray[np.bool_] | None = None) -> Domains:
    n = len(frame)
    inside = np.ones(n, dtype=bool) if within is None else within.copy()
    if not by:
        return Domains((), np.where(inside, 0, -1).astype(np.int64), ((),))
    columns = [frame[name] for name in by]
    for column in columns:
        inside &= column.notna().to_numpy()
    # each by-variable numbered (sorted codes), then one combined number: fast on millions of records
    combined = np.zeros(n, dtype=np.int64)
    levels: list[pd.Index] = []
    for column in columns:
        if pd.api.types.is_integer_dtype(column.dtype):
            codes, values = dense_codes(column.to_numpy(dtype=np.int64))
            uniques = pd.Index(values)
        else:
            codes, uniques = pd.factorize(column, sort=True)
        combined = combined * (len(uniques) + 1) + (np.asarray(codes, dtype=np.int64) + 1)
        levels.append(uniques)
    numbered, present = dense_codes(combined)
    group = np.where(inside, numbered, -1)
    kept = np.flatnonzero(np.bincount(group[inside], minlength=present.size))  # combinations with records
    renumber = np.full(present.size + 1, -1, dtype=np.int64)
    renumber[kept] = np.arange(kept.size)
    group = renumber[group]
    present = present[kept]
    labels = []
    for key in present:
        parts = []
        for uniques in reversed(levels):
            key, code = divmod(int(key), len(uniques) + 1)
            parts.append(_text(uniques[code - 1]))
        labels.append(tuple(reversed(parts)))
    return Domains(tuple(by), group, tuple(labels))
