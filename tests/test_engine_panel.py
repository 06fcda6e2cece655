"""The panel engine (habmon.engine.panel) on every engine of HABMON_TEST_ENGINES, against hand-computed figures
and against straightforward reimplementations in plain Python on small synthetic panels."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Any

import ibis
import pandas as pd
import pytest

from habmon.engine.aggregate import Level, NotAggregable
from habmon.engine.panel import Panel, materialized
from habmon.engine.panel_aggregates import AGGREGATE_COLUMNS
from habmon.engine.panel_spec import IndicatorSpec, engagement_frame, membership_frame
from habmon.geo.model import ALWAYS, Geography, GeoUnit, Hierarchy, Membership, UnitKind, Validity
from habmon.indicators.model import AggregationMethod, Direction
from habmon.methods.comparison import compare
from habmon.methods.progress import Method, assess
from tests.test_engine_conformance import ENGINES, backend, engine

__all__ = ["ENGINES", "backend", "engine"]  # the conformance suite's engine fixtures, used here

WM, SUM = AggregationMethod.WEIGHTED_MEAN, AggregationMethod.SUM
SPECS = (
    IndicatorSpec("A", WM, weight="W", max_gap_years=2, min_coverage=0.5, people=True),
    IndicatorSpec("B", SUM, max_gap_years=1, min_coverage=0.6, direction=Direction.DECREASE),
    IndicatorSpec("C", WM, weight="W", gap_filling=False, max_gap_years=2, min_coverage=0.9),
)
# (indicator, geo, period, disaggregation, value)
OBSERVATIONS = [
    ("A", "p1", 2000, "", 10.0), ("A", "p1", 2004, "", 20.0),       # 2002: tie between 2000 and 2004 → 2000
    ("A", "p2", 2001, "", 30.0), ("A", "p2", 2002, "", 32.0),
    ("A", "p3", 2002, "", 50.0),                                      # p3 is in R1 from 2001 only
    ("A", "p4", 2000, "", 5.0), ("A", "p4", 2003, "", 8.0),
    ("A", "p1", 2000, "sex=F", 12.0), ("A", "p2", 2002, "sex=F", 28.0),
    ("B", "p1", 2001, "", 100.0), ("B", "p2", 2001, "", 200.0), ("B", "p4", 2003, "", 50.0),
    ("B", "p5", 2002, "", 0.0),
    ("C", "p1", 2001, "", 1.0), ("C", "p2", 2003, "", 3.0),
]  # fmt: skip
WEIGHTS = [("W", g, y, w) for g, w in (("p1", 100.0), ("p2", 300.0), ("p3", 100.0), ("p4", 400.0)) for y in
           range(2000, 2005)] + [("W", "p5", 2002, 600.0), ("X", "p1", 2002, 7.0)]  # fmt: skip
# (level, group, geo, first_period, last_period)
MEMBERSHIP = [
    ("region", "R1", "p1", None, None), ("region", "R1", "p2", None, None), ("region", "R1", "p3", 2001, None),
    ("region", "R2", "p4", None, None), ("region", "R2", "p5", None, None),
    ("world", "001", "p1", None, None), ("world", "001", "p2", None, None), ("world", "001", "p3", None, None),
    ("world", "001", "p4", None, None), ("world", "001", "p5", None, None),
    ("group", "G", "p1", None, None), ("group", "G", "p4", None, 2002),
]  # fmt: skip


def _frame(rows: list[tuple[Any, ...]], columns: list[str], types: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column, kind in types.items():
        # nullable years travel as Python ints and None: a pandas Int64 column arrives all-null on Spark
        # (ibis 12 + PySpark 4 + pandas 3), so it is not used here
        frame[column] = pd.Series(frame[column].tolist(), dtype=object) if kind == "nullable" else frame[column]
    return frame.astype({c: k for c, k in types.items() if k != "nullable"})


def make_panel(
    observations: list[tuple[str, str, int, str, float]] = OBSERVATIONS,
    specs: tuple[IndicatorSpec, ...] = SPECS,
    membership: list[tuple[str, str, str, int | None, int | None]] = MEMBERSHIP,
) -> Panel:
    obs = _frame(observations, ["indicator", "geo", "period", "disaggregation", "value"], {"period": "int64"})
    weights = _frame(WEIGHTS, ["series", "geo", "period", "weight"], {"period": "int64"})
    members = _frame(
        membership,
        ["level", "group", "geo", "first_period", "last_period"],
        {"first_period": "nullable", "last_period": "nullable"},
    )
    periods = [p for _, _, p, _, _ in observations]
    return Panel(ibis.memtable(obs), ibis.memtable(weights), ibis.memtable(members), specs, min(periods), max(periods))


@pytest.fixture(scope="module")
def series_of(backend: Any) -> Iterator[Any]:
    """Runs ``what(panel, series)`` with the panel's series materialized on the backend."""

    def run(panel: Panel, what: Any, baseline_year: int = 2000) -> pd.DataFrame:
        with materialized(backend, panel.series(baseline_year)) as series:
            return backend.execute(what(panel, series))

    yield run


# -- an independent aggregation, in plain Python -------------------------------------------------------------------


def nearest(points: dict[int, float], year: int, gap: int) -> tuple[float, int] | None:
    for distance in range(gap + 1):
        for candidate in (year - distance, year + distance):  # the earlier year first
            if candidate in points:
                return points[candidate], candidate
    return None


def reference_aggregates(
    observations: list[tuple[str, str, int, str, float]],
    specs: tuple[IndicatorSpec, ...],
    membership: list[tuple[str, str, str, int | None, int | None]],
) -> dict[tuple[str, str, str, str, int], dict[str, Any]]:
    series: dict[tuple[str, str, str], dict[int, float]] = {}
    for indicator, geo, period, key, value in observations:
        series.setdefault((indicator, key, geo), {})[period] = value
    weight = {(s, g, y): w for s, g, y, w in WEIGHTS}
    groups = sorted({(level, group) for level, group, *_ in membership})
    out = {}
    for spec in specs:
        gap = spec.max_gap_years if spec.gap_filling else 0
        keys = sorted({key for (i, key, _) in series if i == spec.indicator})
        for key in keys:
            years = sorted({y for (i, k, _), pts in series.items() if (i, k) == (spec.indicator, key) for y in pts})
            for year in years:
                for level, group in groups:
                    geos = [
                        g
                        for lv, gr, g, first, last in membership
                        if (lv, gr) == (level, group)
                        and (first is None or first <= year)
                        and (last is None or year <= last)
                    ]
                    if not geos:
                        continue
                    wsum = vw = positive = plain = reported_w = own_w = valued_w = filled_w = 0.0
                    reported = imputed = 0
                    for g in geos:
                        w = weight.get((spec.weight, g, year), 0.0) if spec.weight else 1.0
                        wsum += w
                        found = nearest(series.get((spec.indicator, key, g), {}), year, gap)
                        if found is None:
                            continue
                        value, used = found
                        reported += 1
                        imputed += used != year
                        reported_w += w
                        own_w += w if used == year else 0.0
                        counted = w if spec.method != WM or w > 0 else 0.0  # the weight this value has in the mean
                        valued_w += counted
                        filled_w += counted if used != year else 0.0
                        plain += value
                        if w > 0:
                            vw += value * w
                            positive += w
                    mean = vw / positive if positive else None
                    value_ = mean if spec.method == WM else (plain if reported else None)
                    coverage = reported_w / wsum if wsum else None
                    own = own_w / wsum if wsum else None
                    out[(level, group, spec.indicator, key, year)] = {
                        "value": value_,
                        "coverage": coverage,
                        "units_reported": reported,
                        "units_total": len(geos),
                        "imputed_units": imputed,
                        "coverage_reported": own,
                        "filled_share": filled_w / valued_w if valued_w else None,
                        "published": own is not None and value_ is not None and own >= spec.min_coverage,
                        "people": value_ / 100 * wsum if spec.people and value_ is not None else None,
                    }
    for (level, _group, indicator, key, year), row in out.items():  # the world: only when its regions are published
        regions = [r for (lv, _, i, k, y), r in out.items() if (lv, i, k, y) == ("region", indicator, key, year)]
        if level == "world" and not all(r["published"] for r in regions):
            row["published"] = False
    return out


def as_dict(frame: pd.DataFrame) -> dict[tuple[str, str, str, str, int], dict[str, Any]]:
    return {
        (r["level"], r["group"], r["indicator"], r["disaggregation"], int(r["period"])): r
        for r in frame.to_dict("records")
    }


def same(a: Any, b: Any) -> bool:
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return bool(a == pytest.approx(b, rel=1e-12))


def assert_matches(found: dict[Any, dict[str, Any]], expected: dict[Any, dict[str, Any]]) -> None:
    assert sorted(found) == sorted(expected)
    for key, want in expected.items():
        row = found[key]
        for field, value in want.items():
            assert same(row[field], value), (key, field, row[field], value)


# -- aggregation ----------------------------------------------------------------------------------------------------


def test_aggregates_match_a_plain_python_aggregation(series_of: Any) -> None:
    frame = series_of(make_panel(), lambda p, s: p.aggregates(s))
    assert list(frame.columns) == list(AGGREGATE_COLUMNS)
    assert_matches(as_dict(frame), reference_aggregates(OBSERVATIONS, SPECS, MEMBERSHIP))


def test_weighted_mean_coverage_gap_filling_and_people_by_hand(series_of: Any) -> None:
    rows = as_dict(series_of(make_panel(), lambda p, s: p.aggregates(s)))
    # R1 in 2002: p1 2000 (tie 2000/2004 → the earlier), p2 2002, p3 2002
    r1 = rows[("region", "R1", "A", "", 2002)]
    assert r1["value"] == pytest.approx((10 * 100 + 32 * 300 + 50 * 100) / 500)
    assert (r1["units_reported"], r1["units_total"], r1["imputed_units"]) == (3, 3, 1)
    assert r1["people"] == pytest.approx(r1["value"] / 100 * 500)
    # R1 in 2000: p3 is not yet a member; p2's 2001 value fills 2000
    r1_2000 = rows[("region", "R1", "A", "", 2000)]
    assert (r1_2000["units_total"], r1_2000["units_reported"], r1_2000["imputed_units"]) == (2, 2, 1)
    assert r1_2000["value"] == pytest.approx((10 * 100 + 30 * 300) / 400)
    # R2 in 2002: p4 takes its 2003 value (nearer than 2000); p5 weighs 600 but has no value for A → not in the
    # mean, but in the coverage, which falls below A's 50 %
    r2 = rows[("region", "R2", "A", "", 2002)]
    assert r2["value"] == pytest.approx(8.0) and r2["imputed_units"] == 1
    assert r2["coverage"] == pytest.approx(400 / 1000) and not r2["published"]
    # G: p4 leaves the group after 2002
    assert rows[("group", "G", "A", "", 2003)]["units_total"] == 1


def test_sum_counts_members_and_fills_one_year(series_of: Any) -> None:
    rows = as_dict(series_of(make_panel(), lambda p, s: p.aggregates(s)))
    world_2002 = rows[("world", "001", "B", "", 2002)]
    # p1 and p2 from 2001, p4 from 2003 (each one year away), p5 reports 0 in 2002, p3 nothing; every member weighs 1
    assert world_2002["value"] == pytest.approx(100 + 200 + 50 + 0)
    assert (world_2002["units_reported"], world_2002["imputed_units"]) == (4, 3)
    assert world_2002["coverage"] == pytest.approx(4 / 5)
    # … but only p5 reports 2002 itself: coverage by reported values 1/5, three of the four counted values filled;
    # the publication rule (60 %) is judged on the reported coverage, so 2002 is an estimate, not published
    assert world_2002["coverage_reported"] == pytest.approx(1 / 5)
    assert world_2002["filled_share"] == pytest.approx(3 / 4) and not world_2002["published"]
    assert world_2002["people"] is None or math.isnan(world_2002["people"])
    world_2003 = rows[("world", "001", "B", "", 2003)]
    assert world_2003["value"] == pytest.approx(50.0 + 0.0)  # p4 and p5 (2002); 2001 is beyond B's gap of 1
    assert world_2003["coverage"] == pytest.approx(2 / 5) and not world_2003["published"]


def test_without_gap_filling_only_the_year_itself_counts(series_of: Any) -> None:
    rows = as_dict(series_of(make_panel(), lambda p, s: p.aggregates(s)))
    c = rows[("region", "R1", "C", "", 2001)]
    assert c["value"] == pytest.approx(1.0) and c["imputed_units"] == 0 and c["units_reported"] == 1
    assert {k[4] for k in rows if k[2] == "C"} == {2001, 2003}  # the years with any value


def test_a_group_without_any_report_is_still_listed(series_of: Any) -> None:
    rows = as_dict(series_of(make_panel(), lambda p, s: p.aggregates(s)))
    r2 = rows[("region", "R2", "C", "", 2001)]
    assert r2["units_reported"] == 0 and r2["units_total"] == 2
    assert r2["value"] is None or math.isnan(r2["value"])
    assert r2["coverage"] == pytest.approx(0.0) and not r2["published"]


def test_disaggregations_are_aggregated_over_the_same_members_and_weights(series_of: Any) -> None:
    rows = as_dict(series_of(make_panel(), lambda p, s: p.aggregates(s)))
    female = rows[("region", "R1", "A", "sex=F", 2002)]
    assert female["value"] == pytest.approx((12 * 100 + 28 * 300) / 400)  # p1: 2000, two years away
    assert (female["units_reported"], female["units_total"], female["imputed_units"]) == (2, 3, 1)
    assert {k[4] for k in rows if k[3] == "sex=F"} == {2000, 2002}  # the years of the disaggregation


def test_years_more_than_one_mask_word_apart(series_of: Any) -> None:
    spec = (IndicatorSpec("L", SUM, max_gap_years=1),)
    observations = [
        ("L", "p1", 1900, "", 1.0), ("L", "p1", 1961, "", 2.0), ("L", "p2", 1963, "", 4.0),
        ("L", "p1", 1963, "", 8.0), ("L", "p2", 2000, "", 16.0), ("L", "p3", 1962, "", 32.0),
    ]  # fmt: skip
    panel = make_panel(observations, spec)
    assert panel.words == 2
    frame = series_of(panel, lambda p, s: p.aggregates(s), baseline_year=1900)
    assert_matches(as_dict(frame), reference_aggregates(observations, spec, MEMBERSHIP))
    # 1961 is the last bit of the first word, 1962 the first of the second: p3 fills 1961 and 1963 across it
    world = as_dict(frame)[("world", "001", "L", "", 1961)]
    assert world["value"] == pytest.approx(2.0 + 32.0) and world["imputed_units"] == 1
    assert as_dict(frame)[("world", "001", "L", "", 1963)]["value"] == pytest.approx(8.0 + 4.0 + 32.0)


# -- progress -------------------------------------------------------------------------------------------------------

PROGRESS_OBSERVATIONS = [
    ("A", "grow", 2014, "", 1.0), ("A", "grow", 2015, "", 100.0), ("A", "grow", 2020, "", 121.0),
    ("A", "zero", 2015, "", 0.0), ("A", "zero", 2019, "", 2.0),
    ("A", "neg", 2016, "", -4.0), ("A", "neg", 2018, "", -2.0),
    ("A", "one", 2015, "", 5.0), ("A", "old", 2010, "", 5.0), ("A", "old", 2012, "", 6.0),
    ("A", "flat", 2015, "", 50.0), ("A", "flat", 2025, "", 50.0),
    ("A", "fair", 2015, "", 100.0), ("A", "fair", 2025, "", 110.0),
    ("B", "drop", 2015, "", 100.0), ("B", "drop", 2017, "", 81.0),
    ("B", "rise", 2016, "", 10.0), ("B", "rise", 2018, "", 10.5), ("B", "rise", 2017, "", 3.0),
]  # fmt: skip


def test_progress_of_every_series_matches_assess(series_of: Any) -> None:
    frame = series_of(make_panel(PROGRESS_OBSERVATIONS), lambda p, s: p.progress(s), baseline_year=2015)
    rows = {(r["indicator"], r["geo"]): r for r in frame.to_dict("records")}
    assert len(rows) == 9
    direction = {s.indicator: s.direction for s in SPECS}
    for (indicator, geo), row in rows.items():
        points = [(y, v) for i, g, y, _, v in PROGRESS_OBSERVATIONS if (i, g) == (indicator, geo)]
        for method in Method:
            want = assess(points, direction=direction[indicator], method=method, baseline_year=2015)
            assert row[str(method)] == str(want.status), (indicator, geo, method)
            assert same(row["rate"], want.cagr), (indicator, geo)
            assert same(row["score"], want.score), (indicator, geo)
        if want.baseline is not None:
            assert (row["baseline_period"], row["baseline_value"]) == (want.baseline.year, want.baseline.value)
    grow = rows[("A", "grow")]
    assert grow["rate"] == pytest.approx(1.21 ** (1 / 5) - 1)  # 2014 is before the baseline year
    assert (grow["unsd"], grow["statcan"]) == ("on_track", "on_track")
    zero = rows[("A", "zero")]
    assert zero["linear"] and zero["rate"] == pytest.approx(0.5)  # (2 − 0) / 4 years
    assert rows[("A", "one")]["unsd"] == "insufficient_data" and rows[("A", "old")]["points"] == 0
    assert (rows[("B", "drop")]["unsd"], rows[("B", "drop")]["score"]) == ("on_track", pytest.approx(0.1))


# -- supported vs others --------------------------------------------------------------------------------------------


def test_split_matches_the_comparison_point_estimate(backend: Any, series_of: Any) -> None:
    observations = [
        (ind, f"g{n}", year, "", float(n * 3 + (year - 2013) * (n % 4) + (ind == "B") * 7))
        for ind in ("A", "B")
        for n in range(12)
        for year in (2013, 2014, 2016, 2019, 2020, 2021)
        if (n + year) % 5 != 0
    ] + [("A", "g1", 2015, "sex=F", 99.0)]
    engaged = [
        ("g0", date(2016, 3, 1), None), ("g1", date(2017, 1, 1), date(2022, 5, 1)), ("g2", date(2010, 1, 1), None),
        ("g3", date(2018, 1, 1), date(2019, 12, 31)), ("g4", date(2016, 1, 1), None),
    ]  # fmt: skip
    engagements = ibis.memtable(engagement_frame(engaged))
    panel = make_panel(observations)
    frame = series_of(panel, lambda p, s: p.split(s, engagements, baseline_year=2015))
    rows = {r["indicator"]: r for r in frame.to_dict("records")}
    assert set(rows) == {"A", "B"}
    for spec in SPECS[:2]:
        table = pd.DataFrame(
            [(g, y, v) for i, g, y, k, v in observations if i == spec.indicator and k == ""],
            columns=["geo", "period", "value"],
        )
        want = compare(
            table,
            {code: (start, end) for code, start, end in engaged},
            baseline_year=2015,
            latest_year=2021,
            max_gap_years=spec.max_gap_years,
            draws=10,
        )
        row = rows[spec.indicator]
        assert row["latest_year"] == 2021 and row["excluded"] == want.excluded
        assert (row["supported_places"], row["others_places"]) == (want.supported.places, want.others.places)
        assert row["difference"] == pytest.approx(want.difference)
        assert row["supported_baseline"] == pytest.approx(want.supported.mean_baseline)
        assert row["others_latest"] == pytest.approx(want.others.mean_latest)


# -- membership from a dated geography ------------------------------------------------------------------------------


def test_membership_frame_keeps_runs_of_years_of_a_dated_hierarchy() -> None:
    def unit(code: str, kind: UnitKind, validity: Validity = ALWAYS) -> GeoUnit:
        return GeoUnit(code, kind, {"en": code}, validity=validity)

    old = Validity(valid_to=date(2011, 7, 8))
    new = Validity(valid_from=date(2011, 7, 9))
    geography = Geography.build(
        "test",
        date(2024, 1, 1),
        [
            unit("001", UnitKind.WORLD), unit("002", UnitKind.REGION), unit("SDN_OLD", UnitKind.COUNTRY, old),
            unit("SDN", UnitKind.COUNTRY, new), unit("SSD", UnitKind.COUNTRY, new),
        ],
        [
            Membership("001", "002", Hierarchy.SDG), Membership("002", "SDN_OLD", Hierarchy.SDG),
            Membership("002", "SDN", Hierarchy.SDG), Membership("002", "SSD", Hierarchy.SDG),
        ],
    )  # fmt: skip
    frame = membership_frame(geography, range(2008, 2014), [Level.REGION])
    runs = {row.geo: (row.group, row.first_period, row.last_period) for row in frame.itertuples()}
    # valid at the end of the year: the old country through 2010, the new ones from 2011
    assert runs == {"SDN_OLD": ("002", 2008, 2010), "SDN": ("002", 2011, 2013), "SSD": ("002", 2011, 2013)}


# -- gap filling by the regional mean ---------------------------------------------------------------------------------

REGIONAL = (IndicatorSpec("D", WM, weight="W", max_gap_years=0, min_coverage=0.5, people=True, regional=True),)
REGIONAL_OBSERVATIONS = [
    ("D", "p1", 2002, "", 10.0), ("D", "p2", 2002, "", 30.0), ("D", "p4", 2002, "", 40.0),  # p3, p5: no value
    ("D", "p1", 2003, "", 12.0),  # 2003: only p1
]  # fmt: skip


def regional_panel() -> Panel:
    panel = make_panel(REGIONAL_OBSERVATIONS, REGIONAL)
    return Panel(*(getattr(panel, f) for f in ("observations", "weights", "membership", "specs")),
                 panel.first_period, panel.last_period, regional_level="region")  # fmt: skip


def test_a_missing_member_takes_its_regions_weighted_mean_outside_the_coverage(series_of: Any) -> None:
    rows = as_dict(series_of(regional_panel(), lambda p, s: p.aggregates(s)))
    # 2002, R1 = p1 (10, w 100), p2 (30, w 300), p3 (none, w 100) → p3 takes (10·100 + 30·300) / 400 = 25;
    # R2 = p4 (40, w 400), p5 (none, w 600) → p5 takes 40
    r1, r2, world = (rows[(level, group, "D", "", 2002)] for level, group in
                     (("region", "R1"), ("region", "R2"), ("world", "001")))  # fmt: skip
    assert r1["value"] == pytest.approx(25.0) and r2["value"] == pytest.approx(40.0)
    assert (r1["units_reported"], r1["imputed_units"], r1["units_total"]) == (2, 1, 3)
    assert r1["coverage"] == pytest.approx(400 / 500) and r2["coverage"] == pytest.approx(400 / 1000)
    # the world weighs each region by all its members: (1000 + 9000 + 25·100 + 16000 + 40·600) / 1500 = 35
    # (without the regional means it would be the reporters' mean, (1000 + 9000 + 16000) / 800 = 32.5)
    assert world["value"] == pytest.approx(35.0) and world["people"] == pytest.approx(35.0 / 100 * 1500)
    assert (world["units_reported"], world["imputed_units"], world["units_total"]) == (3, 2, 5)
    assert world["coverage"] == pytest.approx(800 / 1500) and world["coverage_reported"] == pytest.approx(800 / 1500)
    # p3 (w 100) and p5 (w 600) are estimated: 700 of the value's 1500; the world meets 50 % itself, but R2 (40 %)
    # does not, and the world is published for a year only when its regions are
    assert world["filled_share"] == pytest.approx(700 / 1500) and not r2["published"] and not world["published"]
    # G (p1, p4) has both values: nothing estimated
    g = rows[("group", "G", "D", "", 2002)]
    assert g["value"] == pytest.approx((10 * 100 + 40 * 400) / 500) and g["imputed_units"] == 0
    # 2003: R1's mean is p1's 12 (p2 and p3 take it); no member of R2 reports, so R2 stays empty
    r1_2003, r2_2003 = rows[("region", "R1", "D", "", 2003)], rows[("region", "R2", "D", "", 2003)]
    assert r1_2003["value"] == pytest.approx(12.0) and (r1_2003["units_reported"], r1_2003["imputed_units"]) == (1, 2)
    assert r2_2003["units_reported"] == 0 and (r2_2003["value"] is None or math.isnan(r2_2003["value"]))
    assert rows[("world", "001", "D", "", 2003)]["value"] == pytest.approx(12.0)


def test_a_regional_mean_is_refused_for_sums() -> None:
    with pytest.raises(NotAggregable, match="weighted means only"):
        IndicatorSpec("B", SUM, regional=True)
