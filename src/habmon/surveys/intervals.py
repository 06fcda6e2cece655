"""Confidence intervals for proportions on the logit scale, as R's ``svyciprop(method="logit")``.

R fits ``svyglm(y ~ 1, family=quasibinomial)``; its intercept is logit(p̂) with standard error
se(p̂) / (p̂(1 − p̂)) (the sandwich variance of an intercept-only logistic model is exactly
that), and the interval is expit(logit(p̂) ± t_{df, 1−α/2} · se(p̂)/(p̂(1 − p̂))) with df the design's
degrees of freedom (PSUs − strata, in the domain). With df ≤ 0 the interval is undefined (NaN).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit
from scipy.stats import t as student_t

from habmon.surveys.design import FloatArray, IntArray


def logit_interval(p: FloatArray, se: FloatArray, df: IntArray, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    dff = df.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(dff > 0, student_t.ppf(1.0 - (1.0 - level) / 2.0, np.where(dff > 0, dff, 1.0)), np.nan)
        half = q * se / (p * (1.0 - p))
        centre = logit(p)
        return np.asarray(expit(centre - half), dtype=np.float64), np.asarray(expit(centre + half), dtype=np.float64)
