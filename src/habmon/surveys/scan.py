"""One parallel DuckDB pass over a survey file: sums per stratum × PSU × domain cell, and counts.

    SELECT stratum, psu, <by variables>, count(*), Σw, Σwy, Σwy², Σwx   -- over records in the domain
           , count(*) FILTER (WHERE <check>) …                        -- bad weights, missing codes …
    FROM <the file> GROUP BY ALL

straight from a Parquet (or CSV) file, reading only the columns the query names. The result is a
small frame (one row per cell: about PSUs × domains) with the design numbered over it
(PSUs nested in strata, as :func:`design.arrays` does) for :mod:`habmon.surveys.cells`. A design without
PSUs makes every record its own PSU (a row number). Column names are matched case-insensitively,
as :func:`microdata.read_microdata` lower-cases them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from habmon.surveys.cells import CellSums
from habmon.surveys.design import Design, DesignArrays, unsampled_fraction

# pandas.read_csv's default missing-value markers, so DuckDB reads a CSV file's gaps as pandas does
CSV_NULLS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
_P = "_hm_"  # prefix of the query's own columns


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    """A column of the file as SQL: ``number`` is it as a number (pandas.to_numeric(errors='coerce'))."""

    ref: str
    kind: str  # integer | float | other (read through TRY_CAST … AS DOUBLE)

    @property
    def numeric(self) -> bool:
        return self.kind != "other"

    @property
    def number(self) -> str:
        return self.ref if self.numeric else f"TRY_CAST({self.ref} AS DOUBLE)"

    @property
    def absent(self) -> str:
        """No value (pandas ``isna``): NULL, or NaN in a floating column."""
        return f"({self.ref} IS NULL OR isnan({self.ref}))" if self.kind == "float" else f"({self.ref} IS NULL)"

    @property
    def not_a_number(self) -> str:
        """NaN after ``pandas.to_numeric(errors='coerce')``."""
        return self.absent if self.numeric else f"({self.number} IS NULL OR isnan({self.number}))"

    def codes(self, values: Sequence[float]) -> str:
        """``values`` as a SQL list to compare this column with (numbers as doubles unless integers)."""
        if self.kind == "integer" and all(float(v).is_integer() for v in values):
            return ", ".join(str(int(v)) for v in values)
        return ", ".join(f"{float(v)!r}::DOUBLE" for v in values)


@dataclass(frozen=True)
class Source:
    """A file as a DuckDB table function, and its columns by lower-cased name."""

    sql: str
    columns: Mapping[str, Column]
    duplicated: frozenset[str]  # lower-cased names that several columns share

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]


def _kind(sql_type: str) -> str:
    if sql_type in INTEGER_TYPES:
        return "integer"
    return "float" if sql_type in FLOAT_TYPES else "other"


def open_source(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> Source:
    """``fmt``: parquet or csv. Raises duckdb.Error when DuckDB cannot read the file."""
    if fmt == "parquet":
        sql = f"read_parquet({literal(str(path))})"
    else:
        nulls = ", ".join(literal(n) for n in CSV_NULLS)
        sql = f"read_csv({literal(str(path))}, header = true, nullstr = [{nulls}])"
    described = con.sql(f"DESCRIBE SELECT * FROM {sql}").fetchall()
    columns: dict[str, Column] = {}
    duplicated: set[str] = set()
    for name, sql_type, *_ in described:
        lower = str(name).lower()
        if lower in columns:
            duplicated.add(lower)
        columns[lower] = Column(quoted(str(name)), _kind(str(sql_type)))
    return Source(sql, columns, frozenset(duplicated))


def design_weight(design: Design, source: Source, multiplier: str | None = None) -> str:
    """The analysis weight per record, in the order of design.arrays (weight / divisor × multiplier)."""
    w = f"CAST({source[design.weight].number} AS DOUBLE) / {float(design.weight_divisor)!r}::DOUBLE"
    return w if multiplier is None else f"{w} * CAST({multiplier} AS DOUBLE)"


@dataclass(frozen=True)
class Cells:
    frame: pd.DataFrame  # one row per cell: the by variables (their own names) and the query's columns
    arrays: DesignArrays | None  # the design numbered over the cells; None when a stratum or PSU is missing
    sums: CellSums
    checks: dict[str, int]  # records meeting each check
    fpc_constant: bool  # the fpc has one value per stratum (as R requires); True without an fpc

    @property
    def within(self) -> np.ndarray:
        return np.asarray(self.frame[f"{_P}n"].to_numpy() > 0)


def cell_sums(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    design: Design,
    *,
    weight: str,
    y: str,
    within: str = "TRUE",
    x: str | None = None,
    by: Sequence[str] = (),
    checks: Mapping[str, str] | None = None,
    relation: str | None = None,
    binary: bool = False,
) -> Cells:
    """Sums over the records where ``within`` holds, per cell; SQL expressions over ``relation``
    (default: the file itself; a subquery over it that adds columns, as the recipe's states).
    ``binary``: y is 0 or 1, so Σwy² is Σwy (one sum fewer)."""
    checks = dict(checks or {})
    by = tuple(dict.fromkeys(by))
    stratum = source[design.strata].ref if design.strata else "0"
    inner = [f"{weight} AS {_P}w", f"{y} AS {_P}y", f"({within}) AS {_P}in"]
    inner += [f"({x}) AS {_P}x"] if x is not None else []
    inner += [f"{stratum} AS {_P}stratum"]
    inner += [f"{source[design.psu].ref} AS {_P}psu" if design.psu else f"row_number() OVER () AS {_P}psu"]
    inner += [f"{source[b].ref} AS {quoted(b)}" for b in by]
    inner += [f"({sql}) AS {_P}check_{i}" for i, sql in enumerate(checks.values())]
    if design.fpc:
        inner.append(f"CAST({source[design.fpc].number} AS DOUBLE) AS {_P}fpc")
    inside = f"FILTER (WHERE {_P}in)"
    outer = [f"{_P}stratum", f"{_P}psu", *(quoted(b) for b in by)]
    outer += [
        f"count(*) {inside} AS {_P}n",
        f"coalesce(sum({_P}w) {inside}, 0) AS {_P}sw",
        f"coalesce(sum({_P}w * {_P}y) {inside}, 0) AS {_P}swy",
    ]
    outer += [] if binary else [f"coalesce(sum({_P}w * {_P}y * {_P}y) {inside}, 0) AS {_P}swyy"]
    outer += [f"coalesce(sum({_P}w * {_P}x) {inside}, 0) AS {_P}swx"] if x is not None else []
    outer += [f"count(*) FILTER (WHERE {_P}check_{i}) AS {_P}check_{i}" for i in range(len(checks))]
    if design.fpc:
        outer += [f"min({_P}fpc) AS {_P}fpc_low", f"max({_P}fpc) AS {_P}fpc_high", f"count({_P}fpc) AS {_P}fpc_n"]
    query = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {relation or source.sql}) GROUP BY ALL"
    frame = con.sql(query).to_arrow_table().to_pandas()
    counts = {name: int(frame[f"{_P}check_{i}"].sum()) for i, name in enumerate(checks)}
    counts["records"] = int(frame[f"{_P}n"].sum())
    sums = CellSums(
        frame[f"{_P}n"].to_numpy(dtype=np.int64),
        frame[f"{_P}sw"].to_numpy(dtype=np.float64),
        frame[f"{_P}swy"].to_numpy(dtype=np.float64),
        frame[f"{_P}swy" if binary else f"{_P}swyy"].to_numpy(dtype=np.float64),
        frame[f"{_P}swx"].to_numpy(dtype=np.float64) if x is not None else None,
    )
    if frame[f"{_P}stratum"].isna().any() or frame[f"{_P}psu"].isna().any():
        return Cells(frame, None, sums, counts, True)
    a = _numbered(frame, design)
    fpc_constant = True
    if design.fpc and len(frame):
        per = frame.groupby(a.stratum).agg(
            low=(f"{_P}fpc_low", "min"), high=(f"{_P}fpc_high", "max"), n=(f"{_P}fpc_n", "sum")
        )
        fpc_constant = bool(((per["low"] == per["high"]) & (per["n"] > 0)).all())
        a = dataclasses.replace(a, f=unsampled_fraction(per["low"].to_numpy(dtype=np.float64), a.n_psu))
    return Cells(frame, a, sums, counts, fpc_constant)


def _numbered(frame: pd.DataFrame, design: Design) -> DesignArrays:
    """Strata 0..H−1 and PSUs 0..P−1 nested in them (R's nest=TRUE) over the cells, by hashing."""
    stratum = np.asarray(pd.factorize(frame[f"{_P}stratum"], sort=True)[0], dtype=np.int64)
    psu_codes, psu_values = pd.factorize(frame[f"{_P}psu"])
    span = max(len(psu_values), 1)
    psu, keys = pd.factorize(stratum * span + np.asarray(psu_codes, dtype=np.int64), sort=True)
    psu_stratum = np.asarray(keys, dtype=np.int64) // span
    strata = int(stratum.max()) + 1 if len(frame) else 0
    n_psu = np.bincount(psu_stratum, minlength=strata).astype(np.int64)
    weights = frame[f"{_P}sw"].to_numpy(dtype=np.float64)
    f = np.ones(strata, dtype=np.float64)
    return DesignArrays(design, weights, stratum, np.asarray(psu, dtype=np.int64), psu_stratum, n_psu, f)
