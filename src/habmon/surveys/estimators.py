"""Totals, means (proportions) and ratios in domains, with linearised standard errors.

Each estimator returns one :class:`Estimates` for G domains at once: ``group`` gives each record's
domain (0..G−1; −1 for records in none), so an estimate "by urban × region" and a single estimate
(G = 1) are the same computation. The influence values are R's:

* total  Ŷ = Σ w y                         influence w·y
* mean   Ȳ = Σ w y / Σ w                    influence w·(y − Ȳ) / Σ w
* ratio  R̂ = Σ w y / Σ w x                  influence w·(y − R̂ x) / Σ w x

Design effects compare with simple random sampling without replacement of the same number of
records, as ``svymean(..., deff=TRUE)``: v_srs = s² · (N̂ − n)/(N̂ · n), s² = n/(n−1) · Σ w (y − Ȳ)² / Σ w,
and for a total v_srs = N̂² of that (``svytotal(..., deff=TRUE)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from habmon.surveys.design import DesignArrays, FloatArray, IntArray
from habmon.surveys.variance import degrees_of_freedom, domain_variance, group_sums


class Statistic(StrEnum):
    TOTAL = "total"
    MEAN = "mean"
    RATIO = "ratio"


@dataclass(frozen=True)
class Estimates:
    """One estimate per domain: value, standard error, unweighted n, estimated population, deff, df."""

    statistic: Statistic
    value: FloatArray
    se: FloatArray
    n: IntArray
    population: FloatArray  # Σ w in the domain
    deff: FloatArray
    df: IntArray

    @property
    def variance(self) -> FloatArray:
        return np.asarray(self.se * self.se, dtype=np.float64)


@dataclass(frozen=True)
class _Domains:
    rows: IntArray | None  # records in some domain (None: all)
    group: IntArray
    groups: int
    w: FloatArray
    n: IntArray
    population: FloatArray


def _domains(arrays: DesignArrays, group: IntArray | None, groups: int) -> _Domains:
    if group is None:
        group, groups = np.zeros(arrays.n, dtype=np.int64), 1
    inside = group >= 0
    rows = None if bool(inside.all()) else np.flatnonzero(inside)
    g = group if rows is None else group[rows]
    w = arrays.weights if rows is None else arrays.weights[rows]
    n = np.bincount(g, minlength=groups).astype(np.int64)
    return _Domains(rows, g, groups, w, n, group_sums(g, w, groups))


def _pick(values: FloatArray, d: _Domains) -> FloatArray:
    return values if d.rows is None else values[d.rows]


def _srs_variance(d: _Domains, y: FloatArray, mean: FloatArray) -> FloatArray:
    """svyvar · (N̂ − n)/(N̂ n): the variance of a mean under SRS without replacement of n records."""
    dev = y - mean[d.group]
    n = d.n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = group_sums(d.group, d.w * dev * dev, d.groups) / d.population * n / (n - 1.0)
        return np.asarray(s2 * (d.population - n) / (d.population * n), dtype=np.float64)


def _finish(
    statistic: Statistic,
    arrays: DesignArrays,
    d: _Domains,
    value: FloatArray,
    influence: FloatArray,
    srs: FloatArray,
) -> Estimates:
    v = domain_variance(arrays, influence, d.group, d.groups, d.rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = v / srs
    df = degrees_of_freedom(arrays, d.group, d.groups, d.rows)
    return Estimates(statistic, value, np.sqrt(v), d.n, d.population, deff, df)


def total(arrays: DesignArrays, y: FloatArray, group: IntArray | None = None, groups: int = 1) -> Estimates:
    d = _domains(arrays, group, groups)
    yy = _pick(y, d)
    value = group_sums(d.group, d.w * yy, d.groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = value / d.population
    srs = _srs_variance(d, yy, mean) * d.population * d.population
    return _finish(Statistic.TOTAL, arrays, d, value, d.w * yy, srs)


def mean(arrays: DesignArrays, y: FloatArray, group: IntArray | None = None, groups: int = 1) -> Estimates:
    """A mean; of a 0/1 variable, a proportion."""
    d = _domains(arrays, group, groups)
    yy = _pick(y, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = group_sums(d.group, d.w * yy, d.groups) / d.population
    influence = d.w * (yy - value[d.group]) / d.population[d.group]
    return _finish(Statistic.MEAN, arrays, d, value, influence, _srs_variance(d, yy, value))


def ratio(
    arrays: DesignArrays, y: FloatArray, x: FloatArray, group: IntArray | None = None, groups: int = 1
) -> Estimates:
    d = _domains(arrays, group, groups)
    yy, xx = _pick(y, d), _pick(x, d)
    tx = group_sums(d.group, d.w * xx, d.groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = group_sums(d.group, d.w * yy, d.groups) / tx
    influence = d.w * (yy - value[d.group] * xx) / tx[d.group]
    no_deff = np.full(d.groups, np.nan)
    return _finish(Statistic.RATIO, arrays, d, value, influence, no_deff)
