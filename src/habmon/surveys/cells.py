"""Totals, means and ratios from sums per stratum × PSU × domain cell instead of per record.

The influence values of :mod:`habmon.surveys.estimators` are linear in the records' values, so
their PSU totals are linear in a few sums over the records of a PSU that are in a domain:

* total  z = Σwy
* mean   z = (Σwy − Ȳ Σw) / Σw_domain
* ratio  z = (Σwy − R̂ Σwx) / Σwx_domain

A table with one row per cell — a ``GROUP BY stratum, psu, domain`` (:mod:`habmon.surveys.scan`)
— therefore carries everything the variance needs. Its rows play the records' part in a
:class:`DesignArrays`: their influence is summed per PSU and domain and the lonely-PSU rules and
the fpc apply exactly as for records (:mod:`cell_variance`, without a dense PSU × domain matrix);
domain presence and degrees of freedom count the cells that hold records of the domain. The design
effect's Σ w (y − Ȳ)² is Σwy² − 2Ȳ Σwy + Ȳ² Σw, so the cells carry Σwy² too; n is the sum of the
cells' record counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from habmon.surveys.cell_variance import sparse_variance
from habmon.surveys.design import DesignArrays, FloatArray, IntArray
from habmon.surveys.estimators import Estimates, Statistic
from habmon.surveys.variance import group_sums


@dataclass(frozen=True)
class CellSums:
    """Per cell (row): records of the domain in it, Σw, Σwy, Σwy² and (for ratios) Σwx over them."""

    n: IntArray
    w: FloatArray
    wy: FloatArray
    wyy: FloatArray
    wx: FloatArray | None = None


@dataclass(frozen=True)
class _Domains:
    rows: IntArray  # cells holding records of some domain
    group: IntArray  # their domain
    groups: int
    n: IntArray  # per domain: records
    population: FloatArray  # per domain: Σw


def _domains(sums: CellSums, group: IntArray, groups: int) -> _Domains:
    rows = np.flatnonzero((group >= 0) & (sums.n > 0))  # a cell without records is in no domain
    g = group[rows]
    n = np.rint(np.bincount(g, weights=sums.n[rows], minlength=groups)).astype(np.int64)
    return _Domains(rows, g, groups, n, group_sums(g, sums.w[rows], groups))


def _sum(d: _Domains, values: FloatArray) -> FloatArray:
    return group_sums(d.group, values[d.rows], d.groups)


def _srs_variance(d: _Domains, sums: CellSums, mean: FloatArray) -> FloatArray:
    """As estimators._srs_variance, with Σ w (y − Ȳ)² from the cells' Σwy² and Σwy."""
    squares = _sum(d, sums.wyy) - 2.0 * mean * _sum(d, sums.wy) + mean * mean * d.population
    n = d.n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = squares / d.population * n / (n - 1.0)
        return np.asarray(s2 * (d.population - n) / (d.population * n), dtype=np.float64)


def _finish(
    statistic: Statistic, arrays: DesignArrays, d: _Domains, value: FloatArray, influence: FloatArray, srs: FloatArray
) -> Estimates:
    v, df = sparse_variance(arrays, influence, d.group, d.groups, d.rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = v / srs
    return Estimates(statistic, value, np.sqrt(v), d.n, d.population, deff, df)


def total(arrays: DesignArrays, sums: CellSums, group: IntArray, groups: int) -> Estimates:
    """``arrays``: the design over the cells (one "record" per cell); ``group``: each cell's domain (−1: none)."""
    d = _domains(sums, group, groups)
    value = _sum(d, sums.wy)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = value / d.population
    srs = _srs_variance(d, sums, mean) * d.population * d.population
    return _finish(Statistic.TOTAL, arrays, d, value, sums.wy[d.rows], srs)


def mean(arrays: DesignArrays, sums: CellSums, group: IntArray, groups: int) -> Estimates:
    """A mean; of a 0/1 variable, a proportion."""
    d = _domains(sums, group, groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = _sum(d, sums.wy) / d.population
        influence = (sums.wy[d.rows] - value[d.group] * sums.w[d.rows]) / d.population[d.group]
    return _finish(Statistic.MEAN, arrays, d, value, influence, _srs_variance(d, sums, value))


def ratio(arrays: DesignArrays, sums: CellSums, group: IntArray, groups: int) -> Estimates:
    if sums.wx is None:
        raise ValueError("a ratio needs the cells' Σwx")
    d = _domains(sums, group, groups)
    tx = _sum(d, sums.wx)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = _sum(d, sums.wy) / tx
        influence = (sums.wy[d.rows] - value[d.group] * sums.wx[d.rows]) / tx[d.group]
    return _finish(Statistic.RATIO, arrays, d, value, influence, np.full(d.groups, np.nan))
