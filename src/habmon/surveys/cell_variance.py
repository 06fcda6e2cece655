"""The linearised variance of many domains from cells, holding only the PSU × domain pairs that occur.

:func:`variance.domain_variance` keeps a dense PSUs × domains matrix of PSU totals — 10 million
numbers for 500,000 PSUs and 20 domains, most of them zero, since a PSU usually lies in one domain.
Here the PSU totals z are kept per pair that has records (k_hg pairs of domain g in stratum h); the
others are zero, so with the stratum mean m_hg = c_h · Σz / n_h (c_h = 0 for a lonely PSU under
``adjust``)

    Σ_i (z_hi − m_hg)² = Σ_{pairs} (z − m_hg)² + (n_h − k_hg) · m_hg²

— the same deviations, not a difference of large sums. The lonely-PSU rules, the fpc and census
strata are then applied by :func:`variance.combine_strata`, shared with the record path. Degrees
of freedom: PSUs with records of the domain minus strata with records of it, counted on the pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from habmon.surveys.design import DesignArrays, FloatArray, IntArray
from habmon.surveys.variance import centre, combine_strata


def sparse_variance(
    arrays: DesignArrays, influence: FloatArray, group: IntArray, groups: int, rows: IntArray
) -> tuple[FloatArray, IntArray]:
    """Variance and degrees of freedom of ``groups`` estimates; ``influence``/``group`` given for ``rows``."""
    pair, keys = pd.factorize(arrays.psu[rows] * groups + group)
    keys = np.asarray(keys, dtype=np.int64)
    z = np.bincount(pair, weights=influence, minlength=keys.size)
    pair_group = keys % groups
    cell = arrays.psu_stratum[keys // groups] * groups + pair_group  # stratum × domain of each pair
    size = arrays.strata_count * groups
    shape = (arrays.strata_count, groups)
    k = np.bincount(cell, minlength=size).reshape(shape)
    n_h = arrays.n_psu.astype(np.float64)[:, None]
    m = centre(arrays) * np.bincount(cell, weights=z, minlength=size).reshape(shape) / n_h
    deviation = z - m.ravel()[cell]
    squares = np.bincount(cell, weights=deviation * deviation, minlength=size).reshape(shape) + (n_h - k) * m * m
    present = k > 0
    df = np.bincount(pair_group, minlength=groups) - present.sum(axis=0)
    return combine_strata(arrays, squares, present), np.asarray(df, dtype=np.int64)
