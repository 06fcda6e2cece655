"""Supported places versus the others (para 92 e): a difference in differences with a bootstrap interval."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from habmon.engine.service import compare_places
from habmon.methods.comparison import compare
from habmon.services import Monitor


def synthetic() -> tuple[pd.DataFrame, dict[str, tuple[date, date | None]]]:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        supported = i < 15
        start = 50 + rng.normal(0, 5)
        change = (-5.0 if supported else -1.0) + rng.normal(0, 0.5)
        rows += [(f"P{i}", 2016, start), (f"P{i}", 2022, start + change)]
    panel = pd.DataFrame(rows, columns=["geo", "period", "value"])
    engagements: dict[str, tuple[date, date | None]] = {f"P{i}": (date(2018, 1, 1), None) for i in range(15)}
    engagements["P39"] = (date(2010, 1, 1), None)  # engaged before the baseline: left out
    engagements["P38"] = (date(2018, 1, 1), date(2019, 12, 31))  # ended before the latest year: left out
    return panel, engagements


def test_difference_in_differences_recovers_a_known_effect() -> None:
    panel, engagements = synthetic()
    result = compare(panel, engagements, baseline_year=2015, latest_year=2022)
    assert (result.supported.places, result.others.places, result.excluded) == (15, 23, 2)
    assert result.difference == pytest.approx(-4.0, abs=0.5)
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < -4.0 < result.ci_high < 0  # the interval holds the effect and excludes 0
    assert result.baseline_year == 2015 and "does not prove" in result.caveat


def test_no_supported_places_gives_no_estimate() -> None:
    panel, _ = synthetic()
    result = compare(panel, {}, baseline_year=2015, latest_year=2022)
    assert result.difference is None and result.supported.places == 0 and result.others.places == 40


def test_compare_on_the_shipped_data_with_the_illustrative_list(demo: Monitor) -> None:
    result, header = compare_places(demo, "11.1.1", baseline_year=2015)
    assert header is not None and header["illustrative"] is True
    assert result.latest_year == 2022
    assert result.supported.places > 20 and result.others.places > 100
    assert result.difference is not None and result.ci_low is not None and result.ci_high is not None
    assert result.ci_low <= result.difference <= result.ci_high
