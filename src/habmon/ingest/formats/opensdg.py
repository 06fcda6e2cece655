"""Open SDG data files read into a :class:`SubmissionTable`.

An Open SDG data file (``data/indicator_11-1-1.csv`` of an Open SDG site) holds one indicator: ``Year``,
disaggregation columns named in words (``Sex`` = ``Female``; blank = total), optionally ``Units``, ``Series``
and ``GeoCode``, and ``Value``. The indicator comes from the ``indicator`` argument or the file name; the
geography from the ``GeoCode`` column (blank cells: the ``geo`` argument) or the ``geo`` argument.

Disaggregation columns are matched by the dimension's English or Chinese name, its id or its SDMX concept,
ignoring case; their values by the code's English or Chinese name, id or SDMX code. ``_row`` is the line
number in the file (the header is line 1). UTF-8 with or without BOM (GB18030 is read with a warning).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from habmon.indicators.model import Codelists, Dimension
from habmon.indicators.registry import Registry
from habmon.ingest.formats.csv_long import decode, delimiter_of
from habmon.ingest.formats.registry import ReadOptions, header_columns
from habmon.ingest.formats.sdmx import (
    DEFAULT_MAX_BYTES,
    build_frame,
    csv_records,
    empty_table,
    ordered_columns,
    read_limited,
)
from habmon.problems import Problem, Severity
from habmon.submission.table import ROW, SubmissionTable

if TYPE_CHECKING:
    from _csv import Reader

FORMAT: Final = "opensdg"
YEAR: Final = "Year"
VALUE: Final = "Value"
UNITS: Final = "Units"
GEOCODE: Final = "GeoCode"
SERIES: Final = "Series"

# Open SDG column (case-insensitive) -> canonical column.
OPENSDG_COLUMNS: Final[Mapping[str, str]] = {
    YEAR.casefold(): "period",
    VALUE.casefold(): "value",
    UNITS.casefold(): "unit",
    GEOCODE.casefold(): "geo",
}
REQUIRED: Final = (YEAR, VALUE)
FILE_NAME: Final = re.compile(r"^indicator_(?P<code>[A-Za-z0-9_-]+)\.csv$", re.IGNORECASE)


def indicator_file_name(code: str) -> str:
    """``11.1.1`` -> ``indicator_11-1-1.csv``."""
    return f"indicator_{code.replace('.', '-')}.csv"


def indicator_from_file_name(name: str) -> str | None:
    """``indicator_11-1-1.csv`` -> ``11.1.1``; None when the name is not an Open SDG data file name."""
    match = FILE_NAME.match(Path(name).name)
    return match["code"].replace("-", ".") if match else None


@dataclass(frozen=True, slots=True)
class _DimensionColumn:
    dimension: Dimension
    codes: Mapping[str, str | None]  # folded name, id or SDMX code -> code id (None: total)

    @classmethod
    def of(cls, dimension: Dimension) -> _DimensionColumn:
        codes: dict[str, str | None] = {}
        for code in dimension.codes:
            target = None if code.id == dimension.total else code.id
            keys = (code.name.en, code.name.zh, code.id, code.sdmx)
            codes.update({key.casefold(): target for key in keys if key})
        return cls(dimension, codes)

    @property
    def expected(self) -> str:
        names = ", ".join(c.name.en for c in self.dimension.codes)
        return f"a {self.dimension.name.en} value ({names}; blank for the total)"


def dimension_columns(codelists: Codelists) -> dict[str, _DimensionColumn]:
    """Folded column label (English or Chinese name, id, SDMX concept) -> its dimension."""
    out: dict[str, _DimensionColumn] = {}
    for dim in codelists.dimensions:
        column = _DimensionColumn.of(dim)
        out.update({label.casefold(): column for label in (dim.name.en, dim.name.zh, dim.id, dim.sdmx) if label})
    return out


@dataclass
class _Reader:
    registry: Registry
    file: str
    indicator: str | None
    geo: str | None
    problems: list[Problem] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    columns: list[str | _DimensionColumn | None] = field(default_factory=list)  # per source column
    series_allowed: frozenset[str] = frozenset()
    _series_noted: set[str] = field(default_factory=set)

    def header(self, header: list[str]) -> bool:
        """Read the header; False when a required column is missing."""
        dimensions = dimension_columns(self.registry.codelists)
        for label in header:
            self.columns.append(self._column(label.strip(), dimensions))
        missing = [r for r in REQUIRED if OPENSDG_COLUMNS[r.casefold()] not in self.labels]
        for required in missing:
            self.problems.append(
                Problem("missing", expected=f"a column '{required}'", file=self.file, row=1, column=required)
            )
        if "geo" not in self.labels and self.geo is None:
            self.problems.append(
                Problem(
                    "missing",
                    expected=f"the geography: a '{GEOCODE}' column or the geo argument",
                    file=self.file,
                    row=1,
                    column=GEOCODE,
                    hint="pass the M49 code of the country the file is for as geo",
                )
            )
        return not missing

    def _column(self, label: str, dimensions: Mapping[str, _DimensionColumn]) -> str | _DimensionColumn | None:
        key = label.casefold()
        if key == SERIES.casefold():
            return SERIES
        target: str | _DimensionColumn | None = OPENSDG_COLUMNS.get(key) or dimensions.get(key)
        if target is None:
            self.problems.append(
                Problem(
                    "unknown-field",
                    expected="Year, Value, Units, Series, GeoCode or a disaggregation (e.g. Sex, Age, Urban/rural)",
                    found=repr(label),
                    file=self.file,
                    row=1,
                    column=label,
                )
            )
            return None
        column = target if isinstance(target, str) else target.dimension.id
        if column in self.labels:
            self.problems.append(
                Problem(
                    "duplicate-id",
                    expected="each column once",
                    found=f"{label!r} (same as {self.labels[column]!r})",
                    file=self.file,
                    row=1,
                    column=label,
                )
            )
            return None
        self.labels[column] = label
        return target

    def row(self, line: int, record: list[str], header: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {ROW: line, "indicator": self.indicator, "geo": self.geo}
        for target, label, raw in zip(self.columns, header, record, strict=True):
            text = raw.strip()
            if target is None or not text:
                continue
            if target == SERIES:
                self._series(text, line, label)
            elif isinstance(target, _DimensionColumn):
                out[target.dimension.id] = self._code(target, text, line, label)
            else:
                out[target] = text
        return out

    def _code(self, column: _DimensionColumn, text: str, line: int, label: str) -> str | None:
        key = text.casefold()
        if key in column.codes:
            return column.codes[key]
        self.problems.append(
            Problem("code", expected=column.expected, found=text, file=self.file, row=line, column=label)
        )
        return text

    def _series(self, text: str, line: int, label: str) -> None:
        if text in self.series_allowed or text in self._series_noted:
            return
        self._series_noted.add(text)
        self.problems.append(
            Problem(
                "inconsistent",
                expected=f"a series of {self.indicator} ({', '.join(sorted(self.series_allowed))})",
                found=text,
                file=self.file,
                row=line,
                column=label,
                hint="the Series column is not read; rows of other series are read as the indicator",
                severity=Severity.WARNING,
            )
        )


def read_opensdg(
    path: Path,
    *,
    registry: Registry,
    geo: str | None = None,
    indicator: str | None = None,
    source_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SubmissionTable:
    """Read an Open SDG data file; never raises on bad input."""
    name = source_name or path.name
    data, problems = read_limited(path, name, max_bytes)
    if data is None:
        return empty_table(name, FORMAT, problems)
    text, encoding, found = decode(data, name)
    problems.extend(found)
    if text is None:
        return empty_table(name, FORMAT, problems)
    code, found = _indicator(registry, indicator, (source_name, path.name), name)
    problems.extend(found)
    reader = _Reader(registry, name, code, geo, problems, series_allowed=_series_allowed(registry, code))
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text.split("\n", 1)[0]))
    header = next(records, [])
    if not reader.header(header):
        return empty_table(name, FORMAT, problems, encoding)
    try:
        rows = list(_rows(records, header, reader))
    except csv.Error as exc:
        problems.append(Problem("syntax", expected="CSV", found=str(exc), file=name, row=records.line_num))
        return empty_table(name, FORMAT, problems, encoding)
    columns = ordered_columns(["indicator", "geo", *reader.labels], registry.codelists)
    return SubmissionTable(name, FORMAT, build_frame(rows, columns), reader.labels, encoding, tuple(problems))


def _rows(records: Reader, header: list[str], reader: _Reader) -> Iterator[dict[str, Any]]:
    for line, record in csv_records(records, len(header), reader.file, reader.problems):
        yield reader.row(line, record, header)


def _indicator(
    registry: Registry, given: str | None, names: tuple[str | None, str], file: str
) -> tuple[str | None, list[Problem]]:
    candidates = [given] if given else [indicator_from_file_name(n) for n in names if n]
    code = next((c for c in candidates if c), None)
    if code is None:
        return None, [
            Problem(
                "missing",
                expected="the indicator: a file named like indicator_11-1-1.csv, or the indicator argument",
                found=file,
                file=file,
            )
        ]
    if code not in registry.series_codes:
        return code, [
            Problem(
                "code",
                expected="an indicator code of the registry (file indicator_11-1-1.csv is 11.1.1)",
                found=code,
                file=file,
            )
        ]
    return code, []


def _series_allowed(registry: Registry, code: str | None) -> frozenset[str]:
    series = next((i.series for i in registry.indicators if i.code == code), ())
    return frozenset({*series, *([code] if code else [])})


class OpenSdg:
    """An Open SDG data file: a CSV with Year and Value columns and no indicator column (the file is one indicator's;
    the place and indicator come from the options or the file name)."""

    name = FORMAT

    def detect(self, filename: str, head: bytes) -> float:
        columns = header_columns(head)
        return 0.8 if "year" in columns and "value" in columns and "indicator" not in columns else 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        return read_opensdg(
            path,
            registry=options.registry,
            geo=options.geo,
            indicator=options.indicator,
            source_name=options.source_name,
            max_bytes=options.max_bytes,
        )


PLUGIN = OpenSdg()
