"""A seeded generator of a SYNTHETIC DHS-like household recode file (for tests, the demo, benchmarks).

Nothing here describes a real country: regions are "Synthetic region k", clusters, weights and
answers are drawn from a seeded generator. The file has the DHS household recode's variable names
and answer codes (DHS Recode Manual, DHS-7) so the shipped recipes apply: hv001 cluster, hv022
stratum (region × urban/rural), hv005 weight × 1e6, hv009 members, hv024 region, hv025 urban (1) /
rural (2), hv201 water, hv204 minutes to water, hv205 toilet, hv206 electricity, hv213 floor,
hv214 wall, hv215 roof, hv216 sleeping rooms, hv219 sex of head, hv225 shared toilet, hv270
wealth quintile. Each cluster has a "service level" so answers cluster, as in real surveys; the
last ``lonely`` strata get a single cluster (lonely PSUs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from habmon.surveys.recipe import load_recipe

SYNTHETIC_NOTE = "SYNTHETIC data from habmon.surveys.synthetic (seeded); not a real survey"

_CODES = {  # variable: (adequate codes, deprived codes)
    "hv201": ([11, 12, 13, 14, 21, 31, 41, 51, 61, 71, 72], [32, 42, 43]),
    "hv205": ([11, 12, 13, 15, 21, 22, 41], [14, 23, 31, 42, 43]),
    "hv213": ([31, 33, 34, 35], [11, 12, 21, 22]),
    "hv214": ([31, 32, 33, 34, 35, 36], [11, 12, 13, 21, 22, 23, 24, 25, 26]),
    "hv215": ([31, 32, 33, 34, 35, 36], [11, 12, 13, 21, 22, 23, 24]),
}


def _pick(rng: np.random.Generator, good: np.ndarray, codes: tuple[list[int], list[int]]) -> np.ndarray:
    adequate, deprived = (np.asarray(c, dtype=np.int16) for c in codes)
    a = adequate[rng.integers(0, adequate.size, good.size)]
    d = deprived[rng.integers(0, deprived.size, good.size)]
    return np.where(good, a, d)


def synthetic_dhs(households: int, seed: int = 20261203, regions: int = 6, lonely: int = 2) -> pd.DataFrame:
    """``households`` synthetic households in about households/20 clusters, 2 × ``regions`` strata."""
    rng = np.random.default_rng(seed)
    strata = 2 * regions
    clusters = max(households // 20, 2 * strata)
    # clusters per stratum: the last `lonely` strata get one each, the others share the rest
    share = rng.dirichlet(np.full(strata - lonely, 4.0))
    per = np.maximum(2, np.round(share * (clusters - lonely)).astype(np.int64))
    per = np.concatenate([per, np.ones(lonely, dtype=np.int64)])
    cluster_stratum = np.repeat(np.arange(strata), per)
    n_clusters = cluster_stratum.size
    cluster = np.concatenate([np.arange(n_clusters), rng.integers(0, n_clusters, households - n_clusters)])
    cluster = np.sort(cluster[:households])
    stratum = cluster_stratum[cluster]
    region = stratum // 2 + 1
    urban = np.where(stratum % 2 == 0, 1, 2)
    level = rng.beta(4.0, 2.0, n_clusters)  # cluster service level
    level = np.where(cluster_stratum % 2 == 0, level, level * 0.75)[cluster]
    weight = rng.integers(200_000, 3_000_000, n_clusters)[cluster]
    frame = {
        "hv001": (cluster + 1).astype(np.int32),
        "hv022": (stratum + 1).astype(np.int16),
        "hv005": weight.astype(np.int32),
        "hv024": region.astype(np.int16),
        "hv025": urban.astype(np.int16),
        "hv009": (1 + rng.poisson(3.5, households)).astype(np.int16),
        "hv216": rng.choice(np.array([0, 1, 2, 3, 4], dtype=np.int16), households, p=[0.03, 0.37, 0.33, 0.17, 0.10]),
    }
    for variable, codes in _CODES.items():
        frame[variable] = _pick(rng, rng.random(households) < 0.6 + 0.4 * level, codes)
    frame["hv204"] = np.where(
        rng.random(households) < level,
        996,
        np.where(rng.random(households) < 0.02, 998, rng.integers(1, 121, households)),
    ).astype(np.int16)
    frame["hv206"] = (rng.random(households) < level + 0.1).astype(np.int16)
    frame["hv219"] = np.where(rng.random(households) < 0.7, 1, 2).astype(np.int16)
    frame["hv225"] = (rng.random(households) > level).astype(np.int16)
    frame["hv270"] = np.clip(np.ceil(5 * rng.beta(4 * level + 0.5, 2.0)), 1, 5).astype(np.int16)
    return pd.DataFrame(frame)


def synthetic_labels() -> dict[str, dict[int, str]]:
    """Value labels for the synthetic file: the recipes' code labels, and the design variables'."""
    labels: dict[str, dict[int, str]] = {
        "hv025": {1: "urban", 2: "rural"},
        "hv206": {0: "no", 1: "yes"},
        "hv219": {1: "male", 2: "female"},
        "hv225": {0: "no", 1: "yes"},
        "hv270": {1: "poorest", 2: "poorer", 3: "middle", 4: "richer", 5: "richest"},
        "hv024": {k: f"Synthetic region {k}" for k in range(1, 21)},
    }
    for indicator in ("11.1.1", "1.4.1"):
        for component in load_recipe(indicator).components:
            for part in component.parts():
                labels.setdefault(part.variable, {}).update(part.labels())
    return labels
