"""The store on every backend: migrations, append-only revisions, atomic batches."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from habmon.observation import Nature, Observation
from habmon.store import tables as t
from habmon.store.database import StoreError, schema_head
from habmon.store.observations import Batch
from habmon.store.store import Store


def obs(
    value: float, *, geo: str = "404", period: int = 2020, sex: str | None = None, source: str = "test source"
) -> Observation:
    disaggregation = {"sex": sex} if sex else {}
    return Observation("11.1.1", geo, period, value, "percent", Nature.C, source, disaggregation)


def test_migrations_match_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []
    assert store.schema_revision() == schema_head()


def test_upgrade_twice_is_harmless(store: Store) -> None:
    store.upgrade()
    assert store.schema_revision() == schema_head()


def test_first_record_is_revision_one_and_same_values_change_nothing(store: Store) -> None:
    first = store.record_observations([obs(50.0), obs(40.0, period=2022)], Batch("test", "first", "a"))
    assert (first.new, first.revised, first.unchanged) == (2, 0, 0)
    again = store.record_observations([obs(50.0), obs(40.0, period=2022)], Batch("test", "again", "a"))
    assert (again.new, again.revised, again.unchanged, again.batch_id) == (0, 0, 2, None)
    assert store.observation_count(current_only=False) == 2


def test_a_changed_value_is_a_new_revision_and_history_is_kept(store: Store) -> None:
    store.record_observations([obs(50.0)], Batch("test", "v1", "alice"))
    summary = store.record_observations([obs(47.5)], Batch("test", "v2", "bob"))
    assert (summary.new, summary.revised) == (0, 1)
    current = store.series("11.1.1", "404")
    assert [(o.observation.value, o.revision, o.actor) for o in current] == [(47.5, 2, "bob")]
    history = store.series("11.1.1", "404", history=True)
    assert [(o.observation.value, o.revision, o.batch_name) for o in history] == [(50.0, 1, "v1"), (47.5, 2, "v2")]


def test_a_changed_source_alone_is_also_a_revision(store: Store) -> None:
    store.record_observations([obs(50.0)], Batch("test", "v1", "a"))
    summary = store.record_observations([obs(50.0, source="national survey 2021")], Batch("test", "v2", "a"))
    assert summary.revised == 1


def test_disaggregations_are_separate_observations(store: Store) -> None:
    summary = store.record_observations(
        [obs(50.0), obs(52.0, sex="F"), obs(48.0, sex="M")], Batch("test", "sexes", "a")
    )
    assert summary.new == 3
    values = {o.observation.disaggregation.get("sex", "_T"): o.observation.value for o in store.series("11.1.1", "404")}
    assert values == {"_T": 50.0, "F": 52.0, "M": 48.0}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE observation SET value = 1",
        "DELETE FROM observation",
        "UPDATE audit_event SET actor = 'mallory'",
        "DELETE FROM audit_event",
    ],
)
def test_observations_and_audit_are_append_only_in_the_database(store: Store, statement: str) -> None:
    store.record_observations([obs(50.0)], Batch("test", "v1", "a"))
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement))
    assert [o.observation.value for o in store.series("11.1.1", "404")] == [50.0]
    with store.engine.connect() as conn:
        assert conn.execute(select(t.audit_event.c.actor)).scalars().all() == ["a"]


def test_a_batch_that_fails_stores_nothing(store: Store) -> None:
    store.record_observations([obs(50.0)], Batch("test", "v1", "a"))
    with pytest.raises(StoreError, match="same observation twice"):
        store.record_observations([obs(10.0, geo="800"), obs(45.0), obs(44.0)], Batch("test", "bad", "a"))
    assert store.observation_count(current_only=False) == 1
    assert store.series("11.1.1", "800") == []
    with store.engine.connect() as conn:
        assert conn.execute(select(t.batch.c.name)).scalars().all() == ["v1"]


def test_every_batch_is_audited(store: Store) -> None:
    store.record_observations([obs(50.0)], Batch("test", "v1", "alice"))
    events = store.audit_events()
    assert [(e["actor"], e["action"], e["details"]["new"]) for e in events] == [("alice", "observations.record", 1)]


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store("this is not a url")
