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
from sqlalchemy import Connection, Table, func, or_, select

from habmon.observation import OBSERVATION_FIELDS, Observation, disaggregation_key
from habmon.store import tables as t

KEY = ["series", "geo", "period", "disaggregation_key"]
FRAME_COLUMNS = list(OBSERVATION_FIELDS)
# the same fields as stored in observation and submission_row
STORED_COLUMNS = ["geo_code" if c == "geo" else c for c in OBSERVATION_FIELDS]
COMPARED = ["value", "numerator", "denominator", "unit", "nature", "source"]
# design-based uncertainty of survey estimates (issue #12); frames without them store NULL
UNCERTAINTY_COLUMNS = ["se", "ci_low", "ci_high", "n", "deff"]
# a value against the stored one: see :func:`compare`
STATUSES = ("new", "revised", "unchanged", "older")


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
    conn: Connection,
    series: Sequence[str],
    *,
    public: bool = False,
    as_of: int | None = None,
    vintage: str | None = None,
) -> pd.DataFrame:
    """The current value of every stored observation of these series, with the compared fields, its revision and
    vintage, and ``last_revision`` (the key's highest revision, of any vintage).

    The current value of a key is the newest revision of its latest vintage (:mod:`habmon.vintage`): a release
    older than the stored one stays in the history without becoming current. ``public``: among *published*
    revisions only (see :func:`public_batches`); ``as_of``: only observations recorded up to this id (a
    reproducible snapshot); ``vintage``: the newest revision of that vintage only.
    """
    o = t.observation.c
    b = t.batch.c
    columns = [*KEY, *COMPARED, "revision", "vintage", "last_revision"]
    if not series:
        return pd.DataFrame(columns=columns)
    key = [o.series, o.geo_code, o.period, o.disaggregation_key]
    ranked_query = (
        select(
            *key,
            *(o[c] for c in COMPARED),
            o.revision,
            b.vintage,
            func.max(o.revision).over(partition_by=key).label("last_revision"),
            func.row_number()
            .over(partition_by=key, order_by=[func.coalesce(b.vintage, "").desc(), o.revision.desc()])
            .label("rank"),
        )
        .join(t.batch, b.id == o.batch_id)
        .where(o.series.in_(list(series)))
    )
    if public:
        ranked_query = ranked_query.where(o.batch_id.in_(public_batches()))
    if as_of is not None:
        ranked_query = ranked_query.where(o.id <= as_of)
    if vintage is not None:
        ranked_query = ranked_query.where(b.vintage == vintage)
    ranked = ranked_query.subquery()
    query = select(
        *(ranked.c[c] for c in ["series", "geo_code", "period", "disaggregation_key"]),
        *(ranked.c[c] for c in [*COMPARED, "revision", "vintage", "last_revision"]),
    ).where(ranked.c.rank == 1)
    return records_frame(conn.execute(query).all(), columns)


def records_frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    """A frame from result rows (as plain tuples: pandas probes Row objects attribute by attribute)."""
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def compare(frame: pd.DataFrame, current: pd.DataFrame, vintage: str | None = None) -> pd.DataFrame:
    """The frame with ``status``, ``old_value``, ``old_revision``, ``old_vintage`` and ``last_revision``.

    Status: ``new`` (no stored value), ``unchanged`` (equal to the current one), ``revised`` (differs), or — given
    the frame's ``vintage`` — ``older`` where it differs from a current value of a newer vintage (it would be
    kept in the history, not become current). See :func:`settle_older` for values of that vintage already stored.
    """
    carried = [*COMPARED, "revision", "vintage"]
    old = current.rename(columns={c: f"{c}_old" for c in carried})
    if "last_revision" not in old:
        old = old.assign(last_revision=old["revision_old"])
    if "vintage_old" not in old:
        old = old.assign(vintage_old=None)
    merged = frame.merge(old, on=KEY, how="left", sort=False)
    exists = merged["revision_old"].notna()
    same = exists.copy()
    for column in COMPARED:
        a, b = merged[column], merged[f"{column}_old"]
        same &= (a == b) | (a.isna() & b.isna())
    status = np.where(~exists, "new", np.where(same, "unchanged", "revised"))
    if vintage is not None:
        newer = merged["vintage_old"].notna() & (merged["vintage_old"].fillna("").astype(str) > vintage)
        status = np.where((status == "revised") & newer.to_numpy(), "older", status)
    merged["status"] = status
    merged["old_value"] = merged["value_old"]
    merged["old_revision"] = merged["revision_old"]
    merged["old_vintage"] = merged["vintage_old"]
    return merged.drop(columns=[f"{c}_old" for c in carried])


def settle_older(compared: pd.DataFrame, same_vintage: pd.DataFrame) -> pd.DataFrame:
    """``older`` values equal to the stored value of their own vintage become ``unchanged`` (already in the
    history: loading a release again stores nothing)."""
    older = compared["status"] == "older"
    if not older.any():
        return compared
    again = compare(compared.loc[older, [*KEY, *COMPARED]], same_vintage)
    kept = np.where(again["status"].to_numpy() == "unchanged", "unchanged", "older")
    compared = compared.copy()
    compared.loc[older, "status"] = kept
    return compared


def compare_stored(conn: Connection, frame: pd.DataFrame, vintage: str, current: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare` a frame of this ``vintage`` with the current values, then :func:`settle_older` against the
    values of the same vintage already stored."""
    compared = compare(frame, current, vintage)
    older = compared["status"] == "older"
    if not older.any():
        return compared
    same = current_frame(conn, sorted(compared.loc[older, "series"].unique()), vintage=vintage)
    return settle_older(compared, same)


def counts(compared: pd.DataFrame) -> dict[str, int]:
    found = compared["status"].value_counts()
    return {s: int(found.get(s, 0)) for s in STATUSES}


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
