"""Where the data sits in a workbook: the data sheet, its header row and what each column means.

The data sheet is the first with the hidden key row of a habmon workbook (row 2: the canonical column keys of the
template and of an annotated workbook), else the first whose row, among its first :data:`HEADER_SCAN_ROWS`, labels
every required column (a foreign workbook). Unknown and repeated columns are reported, not read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from habmon.ingest.formats.excel_common import CORE_SPECS, FIRST_DATA_ROW, HEADER_ROW, KEY_ROW, cell_text
from habmon.problems import Problem
from habmon.submission.table import CORE_COLUMNS, REQUIRED_COLUMNS, canonical_column

HEADER_SCAN_ROWS = 10  # a foreign workbook's header row may sit below a title
KEY_PATTERN = re.compile(r"^_?[a-z][a-z0-9_]*$")


@dataclass
class Layout:
    """Where the data sits in a sheet and what each column means."""

    sheet: Worksheet
    header_row: int
    first_row: int
    columns: dict[int, str]  # 1-based column index -> canonical column
    labels: dict[str, str]  # canonical column -> "D (Value)"
    ignored: set[int] = field(default_factory=set)  # columns reported (unknown) or bookkeeping
    problems: list[Problem] = field(default_factory=list)
    keyed: bool = False  # found by the hidden key row of a habmon workbook


def worksheets(workbook: Workbook) -> list[Worksheet]:
    return [sheet for sheet in workbook.worksheets if isinstance(sheet, Worksheet)]


def find_layout(
    workbook: Workbook, aliases: Mapping[str, tuple[str, ...]], known: frozenset[str], file: str
) -> Layout | None:
    """The data sheet: first one with a hidden key row, else first one whose header names the required columns."""
    sheets = worksheets(workbook)
    for sheet in sheets:
        keys = _key_row(sheet)
        if keys is not None:
            return _layout(sheet, HEADER_ROW, keys, aliases, known, file)
    for sheet in sheets:
        header_row = _header_row(sheet, aliases)
        if header_row is not None:
            return _layout(sheet, header_row, None, aliases, known, file)
    return None


def row_texts(sheet: Worksheet, row: int) -> list[str | None]:
    values = next(sheet.iter_rows(min_row=row, max_row=row, values_only=True), ())
    return [cell_text(value) for value in values]


def _key_row(sheet: Worksheet) -> list[str | None] | None:
    """Row 2 of a habmon workbook: identifiers only, naming at least the required columns."""
    if sheet.max_row < KEY_ROW:
        return None
    keys = row_texts(sheet, KEY_ROW)
    present = [key for key in keys if key]
    if present and all(KEY_PATTERN.match(key) for key in present) and set(REQUIRED_COLUMNS) <= set(present):
        return keys
    return None


def _header_row(sheet: Worksheet, aliases: Mapping[str, tuple[str, ...]]) -> int | None:
    for row in range(1, min(sheet.max_row, HEADER_SCAN_ROWS) + 1):
        if not _missing_required(row_texts(sheet, row), aliases):
            return row
    return None


def _missing_required(labels: Sequence[str | None], aliases: Mapping[str, tuple[str, ...]]) -> list[str]:
    mapped = {canonical_column(label, aliases) for label in labels if label}
    return [column for column in REQUIRED_COLUMNS if column not in mapped]


def _layout(
    sheet: Worksheet,
    header_row: int,
    keys: Sequence[str | None] | None,
    aliases: Mapping[str, tuple[str, ...]],
    known: frozenset[str],
    file: str,
) -> Layout:
    labels = row_texts(sheet, header_row)
    first_row = FIRST_DATA_ROW if keys is not None else header_row + 1
    layout = Layout(sheet, header_row, first_row, {}, {}, keyed=keys is not None)
    width = max(len(labels), len(keys or ()))
    for index in range(1, width + 1):
        label = labels[index - 1] if index <= len(labels) else None
        key = keys[index - 1] if keys is not None and index <= len(keys) else None
        _place_column(layout, index, label, key, aliases, known, file)
    return layout


def _place_column(
    layout: Layout,
    index: int,
    label: str | None,
    key: str | None,
    aliases: Mapping[str, tuple[str, ...]],
    known: frozenset[str],
    file: str,
) -> None:
    if key is not None and key.startswith("_"):
        layout.ignored.add(index)  # bookkeeping column of an annotated workbook
        return
    if label is None and key is None:
        return  # unlabelled: reported only if it holds data
    canonical = key if key in known else canonical_column(label or "", aliases)
    where = _column_label(index, label or key)
    if canonical is None:
        layout.ignored.add(index)
        layout.problems.append(
            Problem(
                "unknown-field",
                expected="a habmon column",
                found=repr(label or key),
                file=file,
                sheet=layout.sheet.title,
                row=layout.header_row,
                column=where,
                hint=_accepted_labels(aliases),
            )
        )
        return
    if canonical in layout.labels:
        layout.ignored.add(index)
        layout.problems.append(
            Problem(
                "duplicate-id",
                expected="each column once",
                found=f"{where} (same as {layout.labels[canonical]})",
                file=file,
                sheet=layout.sheet.title,
                row=layout.header_row,
                column=where,
            )
        )
        return
    layout.columns[index] = canonical
    layout.labels[canonical] = where


def _column_label(index: int, header: str | None) -> str:
    letter = get_column_letter(index)
    return f"{letter} ({header})" if header else letter


def _accepted_labels(aliases: Mapping[str, tuple[str, ...]]) -> str:
    core = ", ".join(CORE_SPECS[c].label.en for c in CORE_COLUMNS)
    dims = ", ".join(names[0] if names else dim for dim, names in aliases.items())
    return f"accepted labels: {core}; disaggregations: {dims} (English or Chinese, or the habmon column ids)"


def no_data_sheet(workbook: Workbook, aliases: Mapping[str, tuple[str, ...]], file: str) -> Problem:
    """A `missing` problem naming the required columns that the most promising header row lacks."""
    candidates = [
        (_missing_required(row_texts(sheet, row), aliases), sheet.title, row)
        for sheet in worksheets(workbook)
        for row in range(1, min(sheet.max_row, HEADER_SCAN_ROWS) + 1)
    ]
    missing, sheet_name, row = min(candidates, key=lambda c: len(c[0]), default=(list(REQUIRED_COLUMNS), None, None))
    return Problem(
        "missing",
        expected=f"a header row with the column(s) {', '.join(missing)}",
        found=f"no sheet with all of {', '.join(REQUIRED_COLUMNS)}",
        file=file,
        sheet=sheet_name,
        row=row,
        hint=_accepted_labels(aliases),
    )


def known_label(layout: Layout, index: int) -> str:
    canonical = layout.columns.get(index)
    return layout.labels[canonical] if canonical else get_column_letter(index)
