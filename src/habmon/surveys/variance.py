"""Taylor-linearised variance of estimates in domains, as R's ``svyrecvar`` (first stage).

An estimate's influence values (one per record, zero outside its domain) are summed per PSU;
within each stratum h with n_h PSUs the PSU totals z_hi are centred at their mean and

    v = Σ_h f_h · n_h / (n_h − 1) · Σ_i (z_hi − z̄_h)²        (f_h = 1 − n_h/N_h, or 1 without an fpc)

Domains are subpopulations of the full design: PSUs of a stratum that hold no record of the
domain count with z_hi = 0, exactly as R's ``subset()`` keeps the design's PSU counts. Strata
with a single PSU follow the lonely-PSU rule, as ``options(survey.lonely.psu=...)``:
``fail`` refuses, ``remove`` drops their contribution, ``adjust`` centres their PSU total at 0
instead of the stratum mean, ``average`` replaces it by the mean contribution of the other strata
(the sum over the strata with several PSUs times strata / such strata, counting the strata in
which the domain has records).

Many domains are estimated at once: each record belongs to at most one group ``g`` (−1: none), so
PSU totals of every domain come from one ``bincount`` over ``psu × G + g`` — memory stays O(records).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from habmon.problems import HabmonError
from habmon.surveys.design import DesignArrays, FloatArray, IntArray, LonelyPSU


class LonelyPSUError(HabmonError):
    """A stratum has a single PSU and the design's rule is ``fail``."""

    def __init__(self, strata: list[int]) -> None:
        super().__init__(
            "a stratum has only one PSU",
            expected="at least two PSUs in every stratum under the lonely-PSU rule 'fail'",
            found=f"{len(strata)} stratum/strata with one PSU",
            hint="choose another rule: --lonely-psu remove|adjust|average (R: options(survey.lonely.psu=...))",
        )
        self.strata = strata


def group_sums(index: IntArray, values: FloatArray, size: int) -> FloatArray:
    return np.bincount(index, weights=values, minlength=size).astype(np.float64)


def per_stratum(psu_stratum: IntArray, values: FloatArray, n_strata: int) -> FloatArray:
    """Sums of PSU rows (PSU × groups) per stratum (strata × groups)."""
    groups = values.shape[1]
    index = (psu_stratum[:, None] * groups + np.arange(groups)[None, :]).ravel()
    return group_sums(index, values.ravel(), n_strata * groups).reshape(n_strata, groups)


def domain_variance(
    arrays: DesignArrays, influence: FloatArray, group: IntArray, groups: int, rows: IntArray | None = None
) -> FloatArray:
    """Variance of ``groups`` estimates; ``influence``/``group`` are given for ``rows`` (all records when None)."""
    psu = arrays.psu if rows is None else arrays.psu[rows]
    stratum = arrays.stratum if rows is None else arrays.stratum[rows]
    n_strata, n_psus = arrays.strata_count, arrays.psu_count
    z = group_sums(psu * groups + group, influence, n_psus * groups).reshape(n_psus, groups)
    present = np.bincount(stratum * groups + group, minlength=n_strata * groups).reshape(n_strata, groups) > 0
    n_h = arrays.n_psu.astype(np.float64)
    by_stratum = per_stratum(arrays.psu_stratum, z, n_strata)
    centred = z - (centre(arrays) * by_stratum / n_h[:, None])[arrays.psu_stratum]
    squares = per_stratum(arrays.psu_stratum, centred * centred, n_strata)
    return combine_strata(arrays, squares, present)


def _lonely(arrays: DesignArrays) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    census = arrays.f < 1e-7  # a stratum sampled in full contributes nothing, whatever its PSUs (R: onestrat)
    return census, (arrays.n_psu == 1) & ~census


def centre(arrays: DesignArrays) -> FloatArray:
    """Per stratum (as a column): 1 where PSU totals are centred at their mean, 0 where at zero (adjust)."""
    _, lonely = _lonely(arrays)
    return np.where(lonely & (arrays.design.lonely_psu == LonelyPSU.ADJUST), 0.0, 1.0)[:, None]


def combine_strata(arrays: DesignArrays, squares: FloatArray, present: npt.NDArray[np.bool_]) -> FloatArray:
    """The variance of each domain from its strata's Σ_i (z_hi − z̄_h)² (strata × domains), by the rules."""
    census, lonely = _lonely(arrays)
    n_h = arrays.n_psu.astype(np.float64)
    scale = np.where(lonely, arrays.f, arrays.f * n_h / np.maximum(n_h - 1.0, 1.0))
    contribution = np.where(census[:, None], 0.0, squares * scale[:, None])
    lonely_present = lonely[:, None] & present
    rule = arrays.design.lonely_psu
    if lonely_present.any():
        if rule == LonelyPSU.FAIL:
            raise LonelyPSUError([int(h) for h in np.flatnonzero(lonely_present.any(axis=1))])
        if rule in (LonelyPSU.REMOVE, LonelyPSU.AVERAGE):
            contribution = np.where(lonely_present, 0.0, contribution)
    contribution = np.where(present, contribution, 0.0)
    total = contribution.sum(axis=0)
    if rule == LonelyPSU.AVERAGE:
        n_present = present.sum(axis=0).astype(np.float64)
        n_ok = (present & ~lonely[:, None]).sum(axis=0).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = total * n_present / n_ok
    return np.asarray(total, dtype=np.float64)


def degrees_of_freedom(arrays: DesignArrays, group: IntArray, groups: int, rows: IntArray | None = None) -> IntArray:
    """R's ``degf`` of each domain's subset: PSUs with records in it minus strata with records in it."""
    psu = arrays.psu if rows is None else arrays.psu[rows]
    stratum = arrays.stratum if rows is None else arrays.stratum[rows]
    psus = (np.bincount(psu * groups + group, minlength=arrays.psu_count * groups) > 0).reshape(-1, groups)
    strata = (np.bincount(stratum * groups + group, minlength=arrays.strata_count * groups) > 0).reshape(-1, groups)
    return np.asarray(psus.sum(axis=0) - strata.sum(axis=0), dtype=np.int64)
