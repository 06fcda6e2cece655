"""Progress methods and like-for-like aggregate progress against hand-computed answers."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from habmon.engine.backends import connect
from habmon.engine.data import IndicatorData
from habmon.engine.progress import aggregate_progress
from habmon.geo.model import Geography
from habmon.indicators.model import Direction
from habmon.indicators.registry import Registry
from habmon.ingest.files import check_registry_dir, default_plan_file, default_registry_dir, load_plan
from habmon.ingest.geography import build_geography
from habmon.methods.likeforlike import Panel, choose, explain, required_coverage
from habmon.methods.progress import Method, Point, ProgressError, Status, assess, milestone, milestones
from habmon.problems import HabmonError


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


# -- yearly targets (milestones): on track only if the projection meets the year's target ----------------------
# increase wanted: 50 (2015) → 60 (2020), CAGR 1.2^(1/5) − 1; projected 2025 = 60 × 1.2 = 72 (both methods)
# decrease wanted: 30 (2015) → 24 (2020), CAGR 0.8^(1/5) − 1; projected 2025 = 24 × 0.8 = 19.2
UP = [(2015, 50.0), (2020, 60.0)]
DOWN = [(2015, 30.0), (2020, 24.0)]


@pytest.mark.parametrize("method", list(Method))
def test_a_milestone_the_projection_meets_is_on_track(method: Method) -> None:
    up = milestone(UP, direction=Direction.INCREASE, target=Point(2025, 70.0), method=method)
    assert (up.status, up.projected) == (Status.ON_TRACK, pytest.approx(72.0))  # 72 ≥ 70
    down = milestone(DOWN, direction=Direction.DECREASE, target=Point(2025, 20.0), method=method)
    assert (down.status, down.projected) == (Status.ON_TRACK, pytest.approx(19.2))  # 19.2 ≤ 20


def test_a_missed_milestone_is_judged_by_the_methods_score_but_never_on_track() -> None:
    # increase, target 75: P = (72 − 50) / (75 − 50) = 0.88 → fair; Statistics Canada: observed 1.2^(1/5) − 1
    # against required 1.5^(1/10) − 1 = 0.8975 → acceleration needed
    unsd = milestone(UP, direction=Direction.INCREASE, target=Point(2025, 75.0))
    assert (unsd.status, unsd.score) == (Status.FAIR, pytest.approx(22 / 25))
    statcan = milestone(UP, direction=Direction.INCREASE, target=Point(2025, 75.0), method=Method.STATCAN)
    ratio = (1.2 ** (1 / 5) - 1) / (1.5 ** (1 / 10) - 1)
    assert (statcan.status, statcan.score) == (Status.ACCELERATION_NEEDED, pytest.approx(ratio))
    assert ratio == pytest.approx(0.8975, abs=1e-4)
    # target 73: P = 22 / 23 = 0.957 is "on track" for UNSD's final target, but 72 < 73 misses the year's target
    assert assess(UP, direction=Direction.INCREASE, target=Point(2025, 73.0)).status == Status.ON_TRACK
    close = milestone(UP, direction=Direction.INCREASE, target=Point(2025, 73.0))
    assert (close.status, close.score, close.projected) == (Status.FAIR, pytest.approx(22 / 23), pytest.approx(72.0))
    # decrease, target 18: P = (19.2 − 30) / (18 − 30) = 0.9 → fair
    down = milestone(DOWN, direction=Direction.DECREASE, target=Point(2025, 18.0))
    assert (down.status, down.score) == (Status.FAIR, pytest.approx(0.9))


@pytest.mark.parametrize(
    ("method", "status"), [(Method.UNSD, Status.REGRESSION), (Method.STATCAN, Status.DETERIORATION)]
)
def test_a_decrease_wanted_and_a_projection_above_the_target_is_off_track(method: Method, status: Status) -> None:
    """Issue #18: 24.70 (2020) → 24.78 (2022), 2026 target 24.8, a decrease wanted. The latest value is below the
    target, but the trend rises: projected 2026 = 24.78 × (24.78 / 24.70)² = 24.9408 > 24.8 — off track, never
    "on track" or "met"; the baseline was already below the target, so the trend moves away from it."""
    m = milestone([(2020, 24.70), (2022, 24.78)], direction=Direction.DECREASE, target=Point(2026, 24.8), method=method)
    assert m.projected == pytest.approx(24.78 * (24.78 / 24.70) ** 2)
    assert m.projected == pytest.approx(24.9408, abs=1e-4)
    assert m.status == status
    # the mirror image: increase wanted, 60 → 58, target 59 (met by the baseline, not by the latest value)
    up = milestone([(2020, 60.0), (2022, 58.0)], direction=Direction.INCREASE, target=Point(2026, 59.0), method=method)
    assert up.status == status
    assert assess([(2020, 60.0), (2022, 58.0)], direction=Direction.INCREASE, target=Point(2026, 59.0)).status == (
        Status.REGRESSION
    )  # the headline status too: P would be (54.1 − 60) / (59 − 60) = +5.9 without the guard


@pytest.mark.parametrize("method", list(Method))
def test_a_milestone_met_now_and_by_the_projection_is_met(method: Method) -> None:
    # decrease: 25 (2020) → 24.5 (2022), CAGR 0.98^(1/2) − 1; target 24.8 in 2026: 24.5 ≤ 24.8 and projected
    # 24.5 × 0.98^(4/2) = 23.53 ≤ 24.8
    found = milestones(
        [(2020, 25.0), (2022, 24.5)],
        direction=Direction.DECREASE,
        targets=[Point(2027, 20.0), Point(2026, 24.8)],
        method=method,
    )
    assert [m.target for m in found] == [Point(2026, 24.8), Point(2027, 20.0)]
    assert found[0].status == Status.MET and found[0].projected == pytest.approx(24.5 * 0.98**2)
    assert found[1].status not in (Status.MET, Status.ON_TRACK)  # 24.5 × 0.98^(5/2) = 23.29 > 20
    assert found[1].projected == pytest.approx(24.5 * 0.98**2.5)


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


# -- like-for-like progress of aggregates ------------------------------------------------------


def test_like_for_like_takes_the_first_panel_covering_enough_at_both_ends() -> None:
    required = required_coverage(0.98, 0.05, 0.6)
    assert required == pytest.approx(0.93)
    assert required_coverage(0.62, 0.05, 0.6) == 0.6  # never below the publication rule
    panels = [
        Panel(2016, 173, 0.72, 0.72, 25.9, 25.8),
        Panel(2018, 180, 0.99, 0.92, 25.7, 25.7),  # enough at the baseline but not at the latest year
        Panel(2020, 197, 0.98, 0.98, 24.7, 24.8),
    ]

    def lazily() -> Iterator[Panel]:
        yield from panels
        raise AssertionError("candidates after the accepted one must not be computed")

    chosen, rejected = choose(lazily(), required)
    assert chosen == panels[2] and rejected == tuple(panels[:2])
    text = explain(2015, chosen, rejected, latest_year=2022, latest_coverage=0.98, tolerance=0.05, required=required)
    assert text.startswith("baseline 2020 (requested 2015): 197 units")
    assert "2016: 173 units, 72.0%" in text and "2018: 180 units, 92.0%" in text and "≥ 93.0%" in text
    none, all_rejected = choose(panels[:2], required)
    assert none is None and len(all_rejected) == 2
    assert "no like-for-like baseline" in explain(
        2015, None, all_rejected, latest_year=2022, latest_coverage=0.98, tolerance=0.05, required=required
    )
    assert not Panel(2016, 3, None, 0.99, None, 20.0).usable(0.5)  # no value at the baseline


@pytest.fixture(scope="module")
def reference() -> tuple[Registry, Geography]:
    registry, report = check_registry_dir(load_plan(default_plan_file()), default_registry_dir())
    assert registry is not None, report
    geography, _ = build_geography()
    return registry, geography


KEN, UGA, TZA, RWA = "404", "800", "834", "646"  # all in Eastern Africa (014)
WEIGHTS_BEFORE_2020 = {KEN: 100.0, UGA: 100.0, TZA: 300.0, RWA: 500.0}
WEIGHTS_FROM_2020 = {KEN: 100.0, UGA: 200.0, TZA: 300.0, RWA: 400.0}
SHARES = [(KEN, 2016, 50.0), (KEN, 2022, 40.0), (UGA, 2016, 30.0), (UGA, 2022, 33.0)]
SHARES += [(TZA, 2019, 22.0), (TZA, 2022, 20.0), (RWA, 2018, 10.0), (RWA, 2022, 12.0)]


def synthetic(reference: tuple[Registry, Geography], tolerance: float | None = None) -> IndicatorData:
    registry, geography = reference
    indicator = registry.get("11.1.1")
    if tolerance is not None:
        rule = indicator.aggregation.model_copy(update={"like_for_like_tolerance": tolerance})
        indicator = indicator.model_copy(update={"aggregation": rule})
    rows = [("11.1.1", geo, year, value) for geo, year, value in SHARES]
    for year in range(2010, 2025):
        weights = WEIGHTS_BEFORE_2020 if year < 2020 else WEIGHTS_FROM_2020
        rows += [("POP.URBAN", geo, year, weight) for geo, weight in weights.items()]
    totals = pd.DataFrame(rows, columns=["series", "geo", "period", "value"])
    return IndicatorData(indicator, geography, totals)


def test_aggregate_progress_moves_the_baseline_to_a_like_for_like_panel(reference: tuple[Registry, Geography]) -> None:
    # 2016: TZA has no value within ±2 years → panel KEN, UGA, RWA = 70 % of the weight at both ends, rejected
    # 2018: TZA from 2019, KEN and UGA from 2016 → all four, 100 % → accepted (required 100 % − 5 %)
    report = aggregate_progress(synthetic(reference), "014", Method.UNSD, connect("duckdb"))
    lff = report.like_for_like
    assert lff is not None and lff.panel is not None
    assert (lff.requested_baseline, lff.baseline_year, lff.latest_year) == (2015, 2018, 2022)
    assert lff.required_coverage == pytest.approx(0.95) and lff.members == tuple(sorted([KEN, UGA, TZA, RWA]))
    (rejected,) = lff.rejected
    assert (rejected.year, rejected.units) == (2016, 3)
    assert rejected.coverage_baseline == pytest.approx(0.7) and rejected.coverage_latest == pytest.approx(0.7)
    # each end with its own year's weights: 2018 (100, 100, 300, 500), 2022 (100, 200, 300, 400)
    baseline = (100 * 50 + 100 * 30 + 300 * 22 + 500 * 10) / 1000  # 19.6
    latest = (100 * 40 + 200 * 33 + 300 * 20 + 400 * 12) / 1000  # 21.4
    start, end = report.progress.baseline, report.progress.latest
    assert start is not None and start.year == 2018 and start.value == pytest.approx(baseline)
    assert end is not None and end.year == 2022 and end.value == pytest.approx(latest)
    assert report.progress.cagr == pytest.approx((latest / baseline) ** (1 / 4) - 1)
    assert report.progress.status == Status.REGRESSION  # rising, a decrease is wanted, no target for 014
    # the aggregate's published series: only 2022 meets the 60 % rule by values reported for the year — 2016
    # (KEN + UGA, 20 %), 2018 (RWA, 50 %) and 2019 (TZA, 30 %) reach it only with filled values: estimates
    assert [y for y, _ in report.series] == [2022]


def test_a_wider_tolerance_accepts_the_smaller_panel(reference: tuple[Registry, Geography]) -> None:
    report = aggregate_progress(synthetic(reference, tolerance=0.35), "014", Method.UNSD, connect("duckdb"))
    lff = report.like_for_like
    assert lff is not None and lff.panel is not None and lff.baseline_year == 2016 and lff.rejected == ()
    assert lff.panel.value_baseline == pytest.approx((100 * 50 + 100 * 30 + 500 * 10) / 700)  # RWA from 2018
    assert lff.panel.value_latest == pytest.approx((100 * 40 + 200 * 33 + 400 * 12) / 700)  # 22.0


def test_no_like_for_like_baseline_is_insufficient_data_and_says_why(reference: tuple[Registry, Geography]) -> None:
    # from 2019: KEN and UGA have no value within ±2 years (2016 is 3 away): TZA + RWA cover 70 % in 2022
    report = aggregate_progress(synthetic(reference), "014", Method.STATCAN, connect("duckdb"), baseline_year=2019)
    lff = report.like_for_like
    assert lff is not None and lff.panel is None and [p.year for p in lff.rejected] == [2019]
    assert lff.rejected[0].coverage_baseline == pytest.approx(0.8) and lff.rejected[0].coverage == pytest.approx(0.7)
    assert report.progress.status == Status.INSUFFICIENT_DATA
    assert report.progress.note == lff.reason and "2019: 2 units, 70.0%" in lff.reason
    later = aggregate_progress(synthetic(reference), "014", Method.UNSD, connect("duckdb"), baseline_year=2022)
    assert later.like_for_like is not None and "no year with data from 2022 on" in later.like_for_like.reason


def test_progress_of_a_country_is_not_an_aggregate(reference: tuple[Registry, Geography]) -> None:
    with pytest.raises(HabmonError, match="not an aggregate"):
        aggregate_progress(synthetic(reference), KEN, Method.UNSD, connect("duckdb"))
