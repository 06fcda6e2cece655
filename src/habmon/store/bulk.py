"""Column-wise writes for large batches: observation frames, bulk inserts (COPY on PostgreSQL).

An *observation frame* is a pandas frame with the columns of :data:`FRAME_COLUMNS`; it is
how a million submitted rows travel from validation to the store without a Python object
per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, and_, func, or_, select

from habmon.observation import OBSERVATION_FIELDS, Observation, disaggregation_key
from habmon.store import tables as t

KEY = ["series", "geo", "period", "disaggregation_key"]
FRAME_COLUMNS = list(OBSERVATION_FIELDS)
# the same fields as stored in observation and submission_row
STORED_COLUMNS = ["geo_code" if c == "geo" else c for c in OBSERVATION_FIELDS]
COMPARED = ["value", "numerator", "denominator", "unit", "nature", "source"]
# design-based uncertainty of survey estimates (issue #12); frames without them store NULL
UNCERTAINTY_COLUMNS = ["se", "ci_low", "ci_high", "n", "deff"]


def frame_from_observations(observations: Iterable[Observation]) -> pd.DataFrame:
    records = [
        (
            o.series,
            o.geo,
            o.period,
            disaggregation_key(o.disaggregation),
            json.dumps(dict(sorted(o.disaggregation.items())), ensure_ascii=False),
            o.value,
            o.numerator,
            o.denominator,
            o.unit,
            str(o.nature),
            o.source,
            o.note,
        )
        for o in observations
    ]
    return _typed(pd.DataFrame.from_records(records, columns=FRAME_COLUMNS))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["period"] = frame["period"].astype("int64")
    for column in ("value", "numerator", "denominator"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("series", "geo", "disaggregation_key", "disaggregation", "unit", "nature", "source", "note"):
        frame[column] = frame[column].astype(object)
    return frame


def public_batches() -> Any:
    """Batches whose values the public sees: shipped public data and published submissions."""
    published = select(t.submission.c.batch_id).where(
        t.submission.c.state == "published", t.submission.c.batch_id.is_not(None)
    )
    return select(t.batch.c.id).where(or_(t.batch.c.kind == "shipped", t.batch.c.id.in_(published)))


def current_frame(
    conn: Connection, series: Sequence[str], *, public: bool = False, as_of: int | None = None
) -> pd.DataFrame:
    """Newest revision of every stored observation of these series, with the compared fields and revision.

    ``public``: the newest *published* revision (see :func:`public_batches`); ``as_of``: only observations
    recorded up to this id (a reproducible snapshot).
    """
    o = t.observation.c
    columns = [*KEY, *COMPARED, "revision"]
    if not series:
        return pd.DataFrame(columns=columns)
    latest_query = (
        select(o.series, o.geo_code, o.period, o.disaggregation_key, func.max(o.revision).label("revision"))
        .where(o.series.in_(list(series)))
        .group_by(o.series, o.geo_code, o.period, o.disaggregation_key)
    )
    if public:
        latest_query = latest_query.where(o.batch_id.in_(public_batches()))
    if as_of is not None:
        latest_query = latest_query.where(o.id <= as_of)
    latest = latest_query.subquery()
    query = select(
        o.series,
        o.geo_code,
        o.period,
        o.disaggregation_key,
        o.value,
        o.numerator,
        o.denominator,
        o.unit,
        o.nature,
        o.source,
        o.revision,
    ).join(
        latest,
        and_(
            o.series == latest.c.series,
            o.geo_code == latest.c.geo_code,
            o.period == latest.c.period,
            o.disaggregation_key == latest.c.disaggregation_key,
            o.revision == latest.c.revision,
        ),
    )
    return records_frame(conn.execute(query).all(), columns)


def records_frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    """A frame from result rows (as plain tuples: pandas probes Row objects attribute by attribute)."""
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def compare(frame: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``status`` (new / revised / unchanged), ``old_value`` and ``old_revision``."""
    old = current.rename(columns={c: f"{c}_old" for c in [*COMPARED, "revision"]})
    merged = frame.merge(old, on=KEY, how="left", sort=False)
    exists = merged["revision_old"].notna()
    same = exists.copy()
    for column in COMPARED:
        a, b = merged[column], merged[f"{column}_old"]
        same &= (a == b) | (a.isna() & b.isna())
    merged["status"] = np.where(~exists, "new", np.where(same, "unchanged", "revised"))
    merged["old_value"] = merged["value_old"]
    merged["old_revision"] = merged["revision_old"]
    return merged.drop(columns=[f"{c}_old" for c in [*COMPARED, "revision"]])


def counts(compared: pd.DataFrame) -> dict[str, int]:
    found = compared["status"].value_counts()
    return {s: int(found.get(s, 0)) for s in ("new", "revised", "unchanged")}


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert many rows inside the caller's transaction: COPY on PostgreSQL, executemany elsewhere."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:  # the same connection, inside the caller's transaction; rows stream without a list of a million tuples
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def stamp(conn: Connection, moment: datetime) -> Any:
    """A timestamp as the dialect stores it (SQLite: SQLAlchemy's naive text form)."""
    if conn.dialect.name == "sqlite":
        return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return moment


def rows_of(frame: pd.DataFrame, columns: Sequence[str], constants: Mapping[str, Any]) -> Iterable[tuple[Any, ...]]:
    """Tuples for :func:`bulk_insert`: NaN becomes NULL; object arrays hold plain Python values."""
    arrays = []
    for column in columns:
        if column in constants:
            arrays.append(np.full(len(frame), constants[column], dtype=object))
            continue
        series = frame[column]
        values = series.astype(object).where(series.notna(), None).to_numpy()
        arrays.append(values)
    return zip(*arrays, strict=True)
