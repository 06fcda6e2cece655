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

from habmon.surveys.design import IntArray


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
    keys = pd.MultiIndex.from_arrays(columns)
    codes, uniques = pd.factorize(keys, sort=True)
    present = np.unique(codes[inside & (codes >= 0)])
    renumber = np.full(len(uniques) + 1, -1, dtype=np.int64)
    renumber[present] = np.arange(present.shape[0])
    group = np.where(inside & (codes >= 0), renumber[codes], -1).astype(np.int64)
    labels = tuple(tuple(_text(v) for v in uniques[i]) for i in present)
    return Domains(tuple(by), group, labels)
