"""Progress methods against hand-computed answers."""

from __future__ import annotations

import pytest

from habmon.indicators.model import Direction
from habmon.methods.progress import Method, Point, ProgressError, Status, assess


def test_unsd_with_target_fair_progress() -> None:
    # 50 → 45 in 5 years, target 30 in 2030 (decrease wanted)
    p = assess([(2015, 50.0), (2020, 45.0)], direction=Direction.DECREASE, target=Point(2030, 30.0))
    cagr = (45 / 50) ** (1 / 5) - 1
    projected = 45 * (1 + cagr) ** 10
    assert p.cagr == pytest.approx(cagr)
    assert p.projected == pytest.approx(projected)
    assert p.score == pytest.approx((projected - 50) / (30 - 50))  # ≈ 0.68
    assert p.status == Status.FAIR


def test_unsd_regression_when_moving_away_from_the_target() -> None:
    p = assess([(2015, 24.2), (2020, 24.8)], direction=Direction.DECREASE, target=Point(2030, 12.0))
    assert p.score is not None and p.score < 0
    assert p.status == Status.REGRESSION


def test_unsd_on_track_and_met() -> None:
    on_track = assess([(2015, 60.0), (2020, 80.0)], direction=Direction.INCREASE, target=Point(2030, 100.0))
    assert on_track.status == Status.ON_TRACK  # projected 142 ≥ 100 → P > 1
    met = assess([(2015, 60.0), (2020, 101.0)], direction=Direction.INCREASE, target=Point(2030, 100.0))
    assert met.status == Status.MET


@pytest.mark.parametrize(
    ("end", "status"),
    [
        (50 * 1.03**5, Status.ON_TRACK),
        (50 * 1.01**5, Status.FAIR),
        (50 * 1.002**5, Status.STAGNATION),
        (50 * 0.99**5, Status.REGRESSION),
    ],
)
def test_unsd_without_target_uses_cagr_thresholds(end: float, status: Status) -> None:
    assert assess([(2015, 50.0), (2020, end)], direction=Direction.INCREASE).status == status
    mirrored = assess([(2015, 50.0), (2020, 50 * 50 / end)], direction=Direction.DECREASE)
    assert mirrored.status == status


def test_statcan_ratio_of_observed_to_required_growth() -> None:
    p = assess(
        [(2015, 50.0), (2020, 45.0)], direction=Direction.DECREASE, method=Method.STATCAN, target=Point(2030, 30.0)
    )
    observed = (45 / 50) ** (1 / 5) - 1
    required = (30 / 50) ** (1 / 15) - 1
    assert p.score == pytest.approx(observed / required)  # ≈ 0.62
    assert p.status == Status.ACCELERATION_NEEDED
    worse = assess(
        [(2015, 50.0), (2020, 52.0)], direction=Direction.DECREASE, method=Method.STATCAN, target=Point(2030, 30.0)
    )
    assert worse.status == Status.DETERIORATION
    slow = assess(
        [(2015, 50.0), (2020, 48.0)], direction=Direction.DECREASE, method=Method.STATCAN, target=Point(2030, 30.0)
    )
    assert slow.status == Status.LIMITED


def test_zero_values_use_absolute_change() -> None:
    p = assess([(2015, 0.0), (2020, 10.0)], direction=Direction.INCREASE, target=Point(2030, 40.0))
    assert p.cagr == pytest.approx(2.0)  # +2 per year
    assert p.projected == pytest.approx(30.0)
    assert p.score == pytest.approx(0.75) and p.status == Status.FAIR
    assert p.note and "absolute" in p.note
    zero_target = assess(
        [(2015, 20.0), (2020, 10.0)], direction=Direction.DECREASE, method=Method.STATCAN, target=Point(2030, 0.0)
    )
    assert zero_target.score == pytest.approx((-10 / 5) / (-20 / 15))  # 1.5 → on track
    assert zero_target.status == Status.ON_TRACK


def test_baseline_year_and_insufficient_data() -> None:
    series = [(2010, 30.0), (2015, 28.0), (2020, 26.0)]
    assert assess(series, direction=Direction.DECREASE, baseline_year=2015).baseline == Point(2015, 28.0)
    assert assess([(2020, 26.0)], direction=Direction.DECREASE).status == Status.INSUFFICIENT_DATA
    with pytest.raises(ProgressError, match="target year"):
        assess(series, direction=Direction.DECREASE, target=Point(2019, 10.0))
