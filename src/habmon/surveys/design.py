"""A survey's sampling design, explicit and immutable, and its arrays for estimation.

The design names the weight, stratum and primary sampling unit (PSU) variables, an optional
first-stage finite population correction and the rule for strata with a single PSU — the four
rules of R's ``options(survey.lonely.psu=...)``. Variance is estimated from the first stage
(ultimate clusters, sampled with replacement unless an fpc is given), as R's survey package does
for ``svydesign(id=~psu, strata=~stratum, weights=~w, fpc=~fpc, nest=TRUE)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class LonelyPSU(StrEnum):
    """What a stratum with a single PSU contributes to a variance (R: ``survey.lonely.psu``)."""

    FAIL = "fail"  # refuse to estimate
    REMOVE = "remove"  # contributes nothing
    ADJUST = "adjust"  # its PSU is centred at zero, not at the stratum mean (conservative)
    AVERAGE = "average"  # replaced by the average contribution of the other strata


@dataclass(frozen=True, slots=True)
class Design:
    """Which variables carry the design. ``weight_divisor`` turns stored weights into weights (DHS: 1e6)."""

    weight: str
    psu: str | None = None
    strata: str | None = None
    fpc: str | None = None  # population PSUs per stratum (> 1) or the sampling fraction (≤ 1)
    lonely_psu: LonelyPSU = LonelyPSU.FAIL
    weight_divisor: float = 1.0

    def variables(self) -> tuple[str, ...]:
        return tuple(v for v in (self.weight, self.psu, self.strata, self.fpc) if v is not None)

    def with_lonely_psu(self, rule: LonelyPSU) -> Design:
        return Design(self.weight, self.psu, self.strata, self.fpc, rule, self.weight_divisor)

    def to_dict(self) -> dict[str, object]:
        return {
            "weight": self.weight,
            "psu": self.psu,
            "strata": self.strata,
            "fpc": self.fpc,
            "lonely_psu": str(self.lonely_psu),
            "weight_divisor": self.weight_divisor,
        }


@dataclass(frozen=True)
class DesignArrays:
    """The design evaluated on one file: numbered strata and PSUs (PSUs nested in strata)."""

    design: Design
    weights: FloatArray  # per record
    stratum: IntArray  # per record, 0..H-1
    psu: IntArray  # per record, 0..P-1, unique across strata (nest=TRUE)
    psu_stratum: IntArray  # per PSU, its stratum
    n_psu: IntArray  # per stratum, PSUs in the sample
    f: FloatArray  # per stratum, 1 - sampling fraction (1 without an fpc)

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def strata_count(self) -> int:
        return int(self.n_psu.shape[0])

    @property
    def psu_count(self) -> int:
        return int(self.psu_stratum.shape[0])

    def lonely_strata(self) -> IntArray:
        return np.flatnonzero(self.n_psu == 1)


DENSE_LIMIT = 1 << 26  # integer codes spanning less than this are numbered through a lookup table


def dense_codes(values: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """Sorted numbering of integer values: (code per value, the distinct values); O(n) for small spans."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low, high = int(values.min()), int(values.max())
    if high - low >= DENSE_LIMIT:
        codes, uniques = pd.factorize(values, sort=True)
        return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=np.int64)
    shifted = values - low
    seen = np.zeros(high - low + 1, dtype=bool)
    seen[shifted] = True
    number = np.cumsum(seen, dtype=np.int64) - 1
    return number[shifted], np.flatnonzero(seen).astype(np.int64) + low


def _codes(values: pd.Series) -> IntArray:
    if pd.api.types.is_integer_dtype(values.dtype):
        return dense_codes(values.to_numpy(dtype=np.int64))[0]
    codes, _ = pd.factorize(values, sort=True)
    return np.asarray(codes, dtype=np.int64)


def _nested(stratum: IntArray, psu: pd.Series) -> tuple[IntArray, IntArray]:
    """PSU numbers unique across strata (R's nest=TRUE) and each PSU's stratum."""
    if pd.api.types.is_integer_dtype(psu.dtype):
        inner = psu.to_numpy(dtype=np.int64)
        low = int(inner.min())
        span = int(inner.max()) - low + 1
        codes, uniques = dense_codes(stratum * span + (inner - low))
        return codes, np.asarray(uniques // span, dtype=np.int64)
    pairs = pd.MultiIndex.from_arrays([stratum, psu.to_numpy()])
    codes, uniques = pd.factorize(pairs, sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques.get_level_values(0), dtype=np.int64)


def arrays(design: Design, frame: pd.DataFrame, multiplier: FloatArray | None = None) -> DesignArrays:
    """Number the strata and PSUs of ``frame``; the caller has checked the variables exist and are valid.

    ``multiplier`` scales each record's weight (household members, to estimate for persons).
    """
    n = len(frame)
    weights = frame[design.weight].to_numpy(dtype=np.float64) / design.weight_divisor
    if multiplier is not None:
        weights = weights * multiplier
    stratum = _codes(frame[design.strata]) if design.strata else np.zeros(n, dtype=np.int64)
    if design.psu:
        psu, psu_stratum = _nested(stratum, frame[design.psu])
    else:  # every record is its own PSU (id=~1)
        psu = np.arange(n, dtype=np.int64)
        psu_stratum = stratum.copy()
    strata_count = int(stratum.max()) + 1 if n else 0
    n_psu = np.bincount(psu_stratum, minlength=strata_count).astype(np.int64)
    f = np.ones(strata_count, dtype=np.float64)
    if design.fpc:
        fpc = pd.Series(frame[design.fpc].to_numpy(dtype=np.float64)).groupby(stratum).first().to_numpy()
        f = unsampled_fraction(fpc, n_psu)
    return DesignArrays(design, weights, stratum, psu, psu_stratum, n_psu, f)


def unsampled_fraction(fpc: FloatArray, n_psu: IntArray) -> FloatArray:
    """Per stratum 1 − n_h/N_h from its fpc: population PSUs N_h (> 1) or the sampling fraction (≤ 1)."""
    population = np.where(fpc <= 1.0, n_psu / np.where(fpc <= 1.0, fpc, 1.0), fpc)
    return np.asarray(np.where(np.isinf(population), 1.0, (population - n_psu) / population), dtype=np.float64)
