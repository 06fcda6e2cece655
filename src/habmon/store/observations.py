"""Observations and their revisions: append-only, a value that differs from the stored one is the next revision.

A batch (its provenance: :class:`Batch`) is stored atomically; the current value of a key (series, place, period,
disaggregation) is its newest revision, optionally only among published batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, insert, select

from habmon.observation import Nature, Observation, ObservationKey
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.audit import AuditLog
from habmon.store.database import StoreError, insert_id, now
from habmon.vintage import month_of


@dataclass(frozen=True, slots=True)
class Batch:
    """Where a batch of observations comes from: recorded with every value (provenance)."""

    kind: str  # shipped | submission | …
    name: str
    actor: str
    source_file: str | None = None
    content_sha256: str | None = None
    organization: str | None = None
    note: str | None = None
    vintage: str | None = None  # the release of the source (habmon.vintage); None: the month it is recorded


@dataclass(frozen=True, slots=True)
class RevisionSummary:
    batch_id: int | None
    new: int
    revised: int
    unchanged: int
    older: int = 0  # values of an older vintage than the current ones: kept in the history, not current

    @property
    def stored(self) -> int:
        return self.new + self.revised + self.older


@dataclass(frozen=True, slots=True)
class StoredObservation:
    observation: Observation
    revision: int
    batch_id: int
    batch_name: str
    batch_file: str | None
    actor: str
    recorded_at: datetime
    vintage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        o = self.observation
        return {
            "indicator": o.series,
            "geo": o.geo,
            "period": o.period,
            "disaggregation": dict(o.disaggregation),
            "value": o.value,
            "numerator": o.numerator,
            "denominator": o.denominator,
            "unit": o.unit,
            "nature": str(o.nature),
            "source": o.source,
            "note": o.note,
            "revision": self.revision,
            "provenance": {
                "batch": self.batch_id,
                "batch_name": self.batch_name,
                "file": self.batch_file,
                "recorded_by": self.actor,
                "recorded_at": self.recorded_at.isoformat(),
                "vintage": self.vintage,
            },
        }


class ObservationRecords(AuditLog):
    """Recording batches of observations and reading current values and their history."""

    def record_observations(
        self, observations: Iterable[Observation], batch: Batch, conn: Connection | None = None
    ) -> RevisionSummary:
        """Store a batch atomically: new keys get revision 1, changed values a new revision, equal values nothing."""
        return self.record_frame(bulk.frame_from_observations(observations), batch, conn)

    def record_frame(self, frame: pd.DataFrame, batch: Batch, conn: Connection | None = None) -> RevisionSummary:
        """:meth:`record_observations` for an observation frame (see :mod:`habmon.store.bulk`).

        With ``conn`` the batch joins the caller's transaction (e.g. approving a submission).
        """
        if conn is None:
            with self.transaction() as own:
                return self.record_frame(frame, batch, own)
        duplicated = frame.duplicated(subset=bulk.KEY)
        if duplicated.any():
            first = frame[duplicated].iloc[0]
            raise StoreError(
                "the batch holds the same observation twice",
                found=str(
                    ObservationKey(first["series"], first["geo"], int(first["period"]), first["disaggregation_key"])
                ),
                hint="validate the batch first; duplicates are reported there",
            )
        moment = now()
        vintage = batch.vintage or month_of(moment)
        current = bulk.current_frame(conn, sorted(frame["series"].unique()))
        compared = bulk.compare_stored(conn, frame, vintage, current)
        found = bulk.counts(compared)
        changed = compared[compared["status"] != "unchanged"].copy()
        if changed.empty:
            return RevisionSummary(None, 0, 0, found["unchanged"])
        values = {**asdict(batch), "vintage": vintage}
        batch_id = insert_id(conn, insert(t.batch).values(loaded_at=moment, **values))
        changed["revision"] = changed["last_revision"].fillna(0).astype("int64") + 1
        changed = changed.rename(columns={"geo": "geo_code"})
        uncertainty = [c for c in bulk.UNCERTAINTY_COLUMNS if c in changed.columns]
        columns = ["batch_id", *bulk.STORED_COLUMNS, *uncertainty, "revision", "recorded_at"]
        constants = {"batch_id": batch_id, "recorded_at": bulk.stamp(conn, moment)}
        bulk.bulk_insert(conn, t.observation, columns, bulk.rows_of(changed, columns, constants))
        self.audit(
            conn,
            batch.actor,
            "observations.record",
            "batch",
            str(batch_id),
            {"name": batch.name, **found, "file": batch.source_file},
        )
        return RevisionSummary(batch_id, found["new"], found["revised"], found["unchanged"], found["older"])

    def series(self, series: str, geo: str, *, history: bool = False, public: bool = False) -> list[StoredObservation]:
        """Observations of one series for one place: the current value of each key (the newest revision of its
        latest vintage) unless ``history`` (every revision, in the order recorded).

        ``public``: only values that are published — shipped public data, and values of published
        submissions; an approved but unpublished revision leaves the published one in view.
        """
        self.require_schema()
        o = t.observation.c
        b = t.batch.c
        query = (
            select(t.observation, b.name.label("batch_name"), b.source_file, b.actor, b.vintage)
            .join(t.batch, b.id == o.batch_id)
            .where(o.series == series, o.geo_code == geo)
            .order_by(o.period, o.disaggregation_key, o.revision)
        )
        if public:
            query = query.where(b.id.in_(bulk.public_batches()))
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        result = [
            StoredObservation(
                _observation(r), r.revision, r.batch_id, r.batch_name, r.source_file, r.actor, r.recorded_at, r.vintage
            )
            for r in rows
        ]
        if history:
            return result
        current: dict[ObservationKey, StoredObservation] = {}
        for item in result:
            held = current.get(item.observation.key)
            if held is None or (item.vintage or "") >= (held.vintage or ""):
                current[item.observation.key] = item
        return list(current.values())

    def current_frame(self, series: Sequence[str], *, public: bool = False, as_of: int | None = None) -> pd.DataFrame:
        """Newest revision of every stored value of these series (see :func:`habmon.store.bulk.current_frame`)."""
        self.require_schema()
        with self.engine.connect() as conn:
            return bulk.current_frame(conn, series, public=public, as_of=as_of)

    def geos_with(self, series: str) -> list[str]:
        """Places that have values of a series."""
        self.require_schema()
        o = t.observation.c
        with self.engine.connect() as conn:
            return list(
                conn.execute(select(o.geo_code).where(o.series == series).distinct().order_by(o.geo_code)).scalars()
            )

    def observation_count(self, *, current_only: bool = True) -> int:
        self.require_schema()
        o = t.observation.c
        with self.engine.connect() as conn:
            if not current_only:
                return int(conn.execute(select(func.count()).select_from(t.observation)).scalar_one())
            keys = select(o.series, o.geo_code, o.period, o.disaggregation_key).distinct().subquery()
            return int(conn.execute(select(func.count()).select_from(keys)).scalar_one())

    def series_summary(self) -> list[dict[str, Any]]:
        self.require_schema()
        o = t.observation.c
        query = (
            select(
                o.series,
                func.count(func.distinct(o.geo_code)).label("places"),
                func.min(o.period).label("first"),
                func.max(o.period).label("last"),
                func.count().label("rows"),
            )
            .group_by(o.series)
            .order_by(o.series)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


def _observation(row: Any) -> Observation:
    return Observation(
        series=row.series,
        geo=row.geo_code,
        period=row.period,
        value=row.value,
        unit=row.unit,
        nature=Nature(row.nature),
        source=row.source,
        disaggregation=dict(row.disaggregation or {}),
        numerator=row.numerator,
        denominator=row.denominator,
        note=row.note,
    )
