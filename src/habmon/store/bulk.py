"""Column-wise writes for large batches: observation frames, bulk inserts (COPY on PostgreSQL).

An *observation frame* is a pandas frame with the columns of :data:`FRAME_COLUMNS`; it is
how a million submitted rows travel from validation to the store without a Python object
per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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


def query_frame(conn: Connection, query: Any, columns: Sequence[str], chunk: int = 50_000) -> pd.DataFrame:
    """:func:`records_frame` of ``conn.execute(query).all()``, read in chunks from the driver's own cursor: no
    Row object per row, and equal values of a column share one object (while the column has few distinct ones)."""
    compiled = query.compile(dialect=conn.dialect)
    params = tuple(compiled.params[k] for k in compiled.positiontup or ()) if compiled.positional else compiled.params
    cells: list[list[Any]] = [[] for _ in columns]
    shared: list[dict[Any, Any] | None] = [{} for _ in columns]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:  # the same connection, inside the caller's transaction
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(chunk):
            for j, values in enumerate(zip(*rows, strict=True)):
                seen = shared[j]
                if seen is None:
                    cells[j].extend(values)
                    continue
                cells[j].extend(map(seen.setdefault, values, values))
                if len(seen) > SHARED_LIMIT:  # mostly distinct (values, row numbers): stop sharing
                    shared[j] = None
    finally:
        cursor.close()
    if not cells[0]:
        return pd.DataFrame(columns=list(columns))
    return pd.DataFrame({c: pd.Series(v) for c, v in zip(columns, cells, strict=True)})


SHARED_LIMIT = 10_000


def compare(frame: pd.DataFrame, current: pd.DataFrame, vintage: str | None = None) -> pd.DataFrame:
    """The frame with ``status``, ``old_value``, ``old_revision``, ``old_vintage`` and ``last_revision``.

    Status: ``new`` (no stored value), ``unchanged`` (equal to the current one), ``revised`` (differs), or — given
    the frame's ``vintage`` — ``older`` where it differs from a current value of a newer vintage (it would be
    kept in the history, not become current). See :func:`settle_older` for values of that vintage already stored.
    """
    if current.empty:  # nothing stored yet: every row is new (the merge below would say the same, slowly)
        nothing = pd.Series(np.nan, index=range(len(frame)), dtype=object)
        return frame.reset_index(drop=True).assign(
            last_revision=nothing,
            status=np.full(len(frame), "new", dtype=object),
            old_value=nothing,
            old_revision=nothing,
            old_vintage=nothing,
        )
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
    _insert(conn, table, columns, rows)


def insert_frame(
    conn: Connection, table: Table, frame: pd.DataFrame, columns: Sequence[str], constants: Mapping[str, Any]
) -> None:
    """Insert a frame's rows (``columns`` of ``frame``, or of ``constants``) inside the caller's transaction.

    What :func:`bulk_insert` stores for the frame's rows as plain Python values (NaN as NULL), with less work per
    row: a column that is NULL in every row is left out (the database stores NULL), the rows are made in chunks
    from each column's distinct values (no Python object per cell held), and on SQLite a constant text or integer
    is written once into the statement and each statement inserts :data:`ROWS_PER_STATEMENT` rows.
    """
    if frame.empty:
        return
    written: list[str] = []
    makers: list[Maker] = []
    fixed: dict[str, Any] = {}
    for column in columns:
        if column in constants:
            maker, constant = _repeat(constants[column]), constants[column]
        else:
            maker, constant = _column_maker(frame[column])
        if constant is None or constant is _ALL_NULL:
            continue
        literal = None if constant is _VARYING or conn.dialect.name != "sqlite" else _literal(constant)
        if literal is None:
            written.append(column)
            makers.append(maker)
        else:
            fixed[column] = literal
    if conn.dialect.name == "sqlite":
        _sqlite_insert(conn, table, written, fixed, makers, len(frame))
    else:
        _insert(conn, table, written, _chunked_rows(makers, len(frame)))


Maker = Callable[[int, int], list[Any]]
_ALL_NULL, _VARYING = object(), object()
CHUNK_ROWS = 20_000
ROWS_PER_STATEMENT = 40  # divides CHUNK_ROWS; at most 40 × 20 columns = 800 parameters per statement


def _repeat(value: Any) -> Maker:
    return lambda start, stop: [value] * (stop - start)


def _column_maker(series: pd.Series) -> tuple[Maker, Any]:
    """A function giving the plain Python values of rows ``start:stop`` (NULL as None), and the column's constant
    value if it has one (:data:`_ALL_NULL` when every cell is NULL, :data:`_VARYING` when the cells differ)."""
    missing = series.isna().to_numpy()
    if missing.all():
        return _repeat(None), _ALL_NULL
    if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        values = series.to_numpy(dtype=object if missing.any() else None)
        if missing.any():
            values[missing] = None
        return (lambda start, stop: values[start:stop].tolist()), _VARYING
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = [_plain(u) for u in uniques]
    table[-1] = None  # code -1: NULL
    if len(uniques) == 1 and not missing.any():
        return _repeat(table[0]), table[0]
    return (lambda start, stop: table[codes[start:stop]].tolist()), _VARYING


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _chunked_rows(makers: Sequence[Maker], total: int) -> Iterator[tuple[Any, ...]]:
    for start in range(0, total, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, total)
        yield from zip(*(make(start, stop) for make in makers), strict=True)


def _literal(value: Any) -> str | None:
    """A value as an SQLite literal: text (quotes doubled) or an integer; None for anything else."""
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _sqlite_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    literals: Mapping[str, str],
    makers: Sequence[Maker],
    total: int,
) -> None:
    names = ", ".join([*columns, *literals])
    one = "(" + ", ".join(["?"] * len(columns) + list(literals.values())) + ")"
    width = len(columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:  # the same connection, inside the caller's transaction
        if not width:
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES {one}", [()] * total)
            return
        many = f"INSERT INTO {table.name} ({names}) VALUES {', '.join([one] * ROWS_PER_STATEMENT)}"
        step = ROWS_PER_STATEMENT * width
        for start in range(0, total, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, total)
            flat: list[Any] = [None] * ((stop - start) * width)
            for j, make in enumerate(makers):
                flat[j::width] = make(start, stop)  # row-major: the rows' values one after the other
            whole = len(flat) - len(flat) % step
            cursor.executemany(many, (flat[i : i + step] for i in range(0, whole, step)))
            if whole < len(flat):
                single = f"INSERT INTO {table.name} ({names}) VALUES {one}"
                cursor.executemany(single, (flat[i : i + width] for i in range(whole, len(flat), width)))
    finally:
        cursor.close()


def _insert(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
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
