"""Vintages (issue #18): the current value of a series is the one from its latest release, not its latest arrival;
history keeps every vintage; loading a release again stores nothing."""

from __future__ import annotations

import pytest

from habmon.observation import Nature, Observation
from habmon.store import bulk
from habmon.store.observations import Batch
from habmon.store.store import Store
from habmon.vintage import InvalidVintage, parse_vintage


def obs(value: float, *, geo: str = "404", period: int = 2014) -> Observation:
    return Observation("11.1.1", geo, period, value, "percent", Nature.C, "UN SDG Global Database")


def release(name: str, vintage: str | None) -> Batch:
    return Batch("test", name, "officer", vintage=vintage)


@pytest.mark.parametrize(
    ("text", "stored"), [("2024", "2024"), ("2024-03", "2024-03"), (" 2020-12 ", "2020-12"), ("", None), (None, None)]
)
def test_a_vintage_is_a_year_or_a_year_and_month(text: str | None, stored: str | None) -> None:
    assert parse_vintage(text) == stored


@pytest.mark.parametrize("text", ["2024-13", "2024-3", "24", "March 2024", "2024/03", "2024-03-01"])
def test_anything_else_is_refused_naming_the_field_expected_and_found(text: str) -> None:
    with pytest.raises(InvalidVintage) as caught:
        parse_vintage(text, field="--vintage")
    assert str(caught.value) == (
        f"--vintage: not a vintage (expected a release written YYYY or YYYY-MM (e.g. 2024 or 2024-03); "
        f"found {text!r})"
    )


def test_vintages_order_as_written_a_year_before_its_months() -> None:
    assert sorted(["2024-03", "2020", "2024", "2023-12"]) == ["2020", "2023-12", "2024", "2024-03"]


def test_an_older_vintage_recorded_after_the_newer_does_not_become_current(store: Store) -> None:
    store.record_observations([obs(47.05), obs(30.0, period=2020)], release("UN 2024 release", "2024"))
    older = store.record_observations([obs(34.47), obs(30.0, period=2020)], release("UN 2020 release", "2020"))
    assert (older.new, older.revised, older.unchanged, older.older) == (0, 0, 1, 1)
    current = store.series("11.1.1", "404")
    assert [(o.observation.period, o.observation.value, o.vintage) for o in current] == [
        (2014, 47.05, "2024"),
        (2020, 30.0, "2024"),
    ]
    frame = store.current_frame(["11.1.1"])
    assert sorted(zip(frame["period"], frame["value"], frame["vintage"], strict=True)) == [
        (2014, 47.05, "2024"),
        (2020, 30.0, "2024"),
    ]
    history = store.series("11.1.1", "404", history=True)
    assert [(o.observation.value, o.revision, o.vintage) for o in history if o.observation.period == 2014] == [
        (47.05, 1, "2024"),
        (34.47, 2, "2020"),
    ]


def test_the_same_older_release_again_stores_nothing(store: Store) -> None:
    store.record_observations([obs(47.05)], release("2024", "2024"))
    store.record_observations([obs(34.47)], release("2020", "2020"))
    again = store.record_observations([obs(34.47)], release("2020 again", "2020"))
    assert (again.batch_id, again.unchanged, again.older) == (None, 1, 0)
    assert store.observation_count(current_only=False) == 2


def test_a_newer_vintage_becomes_current_whatever_the_order(store: Store) -> None:
    store.record_observations([obs(34.47)], release("2020", "2020"))
    newer = store.record_observations([obs(47.05)], release("2024-03", "2024-03"))
    assert (newer.revised, newer.older) == (1, 0)
    between = store.record_observations([obs(40.0)], release("2024", "2024"))  # 2024 comes before 2024-03
    assert between.older == 1
    assert [o.observation.value for o in store.series("11.1.1", "404")] == [47.05]


def test_within_one_vintage_the_latest_arrival_wins(store: Store) -> None:
    store.record_observations([obs(47.05)], release("2024", "2024"))
    correction = store.record_observations([obs(47.5)], release("2024 corrected", "2024"))
    assert correction.revised == 1
    assert [(o.observation.value, o.revision) for o in store.series("11.1.1", "404")] == [(47.5, 2)]


def test_a_batch_without_a_vintage_is_dated_by_the_month_it_is_recorded(store: Store) -> None:
    store.record_observations([obs(47.05)], release("undated", None))
    vintage = store.series("11.1.1", "404")[0].vintage
    assert vintage is not None and parse_vintage(vintage) == vintage and len(vintage) == 7
    assert store.record_observations([obs(1.0)], release("old", "1999")).older == 1


def test_compare_flags_values_of_an_older_vintage() -> None:
    frame = bulk.frame_from_observations([obs(34.47), obs(1.0, period=2015), obs(47.05, period=2016)])
    current = bulk.frame_from_observations([obs(47.05), obs(47.05, period=2016)])[[*bulk.KEY, *bulk.COMPARED]]
    current = current.assign(revision=1, vintage="2024", last_revision=1)
    compared = bulk.compare(frame, current, "2020")
    assert list(compared["status"]) == ["older", "new", "unchanged"]
    assert list(compared["old_vintage"].fillna("-")) == ["2024", "-", "2024"]
    assert list(bulk.compare(frame, current, "2024-06")["status"]) == ["revised", "new", "unchanged"]
