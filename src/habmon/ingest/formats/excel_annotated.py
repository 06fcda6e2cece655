"""The annotated workbook: submitted rows written back with their problems, for the submitter to fix.

Annotated workbooks
-------------------
:func:`write_annotated_excel` writes the submitted rows back with each problem on its cell (fill and comment), a
``Problems`` column and a ``Problems`` sheet; it keeps the hidden key row, so the corrected file re-imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from habmon.indicators.registry import Registry
from habmon.ingest.formats.excel_common import (
    BOLD,
    CORE_SPECS,
    DATA_SHEET,
    ERROR_FILL,
    FIRST_DATA_ROW,
    HEADER_FILL,
    HEADER_ROW,
    KEY_ROW,
    NUMERIC_COLUMNS,
    PROBLEMS_KEY,
    PROBLEMS_SHEET,
    WARNING_FILL,
    WRAP,
    cell_text,
    display_width,
    mark,
    set_text,
)
from habmon.problems import Problem, Severity
from habmon.submission.table import CORE_COLUMNS, ROW, SHEET, SubmissionTable

PROBLEM_SHEET_COLUMNS = (
    ("Severity", 10),
    ("Type", 16),
    ("Problem", 60),
    ("File", 20),
    ("Sheet", 12),
    ("Row", 7),
    ("Column", 18),
    ("Expected", 30),
    ("Found", 30),
    ("Hint", 50),
    ("Row in this file", 10),
)


def write_annotated_excel(
    path: Path, table: SubmissionTable, problems: Sequence[Problem], *, registry: Registry | None = None
) -> None:
    """Write the submitted rows with their problems marked, for the submitter to fix and send again.

    ``registry`` (optional) gives the English names of the disaggregation columns; without it the column ids
    are used. The hidden key row is kept, so :func:`read_excel` reads the corrected file.
    """
    frame = table.frame.reset_index(drop=True)
    columns = [*CORE_COLUMNS, *(c for c in frame.columns if c not in CORE_COLUMNS and not str(c).startswith("_"))]
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = DATA_SHEET.en
    _annotated_header(sheet, columns, _english_labels(columns, registry))
    out_rows = _output_rows(frame)
    for index, column in enumerate(columns, start=1):
        if column not in frame.columns:
            continue
        for out_row, value in zip(out_rows, frame[column].tolist(), strict=True):
            _write_value(sheet, out_row, index, column, value)
    placed = _place_problems(sheet, table, frame, out_rows, columns, problems)
    _problems_sheet(workbook.create_sheet(PROBLEMS_SHEET), problems, placed)
    mark(workbook, lang="en", indicators=_indicators_in(frame), submitter=None, kind="annotated")
    workbook.save(path)


def _english_labels(columns: Sequence[str], registry: Registry | None) -> list[str]:
    names = {d.id: d.name.en for d in registry.codelists.dimensions} if registry else {}
    return [CORE_SPECS[c].label.en if c in CORE_SPECS else names.get(c, c) for c in columns]


def _annotated_header(sheet: Worksheet, columns: Sequence[str], labels: Sequence[str]) -> None:
    entries = [*zip(columns, labels, strict=True), (PROBLEMS_KEY, PROBLEMS_SHEET)]
    for index, (key, label) in enumerate(entries, start=1):
        header = sheet.cell(HEADER_ROW, index, label)
        header.font, header.fill, header.alignment = BOLD, HEADER_FILL, WRAP
        sheet.cell(KEY_ROW, index, key)
        spec = CORE_SPECS.get(key)
        width = spec.width if spec else 60 if key == PROBLEMS_KEY else 14
        sheet.column_dimensions[get_column_letter(index)].width = max(width, display_width(label) + 2)
        sheet.column_dimensions[get_column_letter(index)].number_format = spec.number_format if spec else "@"
    sheet.row_dimensions[KEY_ROW].hidden = True
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"


def _output_rows(frame: pd.DataFrame) -> list[int]:
    """Rows keep their original numbers when they can (one sheet, all at or below row 3), else follow on."""
    rows = [int(r) for r in frame[ROW]] if ROW in frame.columns else []
    sheets = set(frame[SHEET].dropna()) if SHEET in frame.columns else set()
    if rows and len(set(rows)) == len(rows) and min(rows) >= FIRST_DATA_ROW and len(sheets) <= 1:
        return rows
    return list(range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame)))


def _write_value(sheet: Worksheet, row: int, index: int, column: str, value: object) -> None:
    if value is None or pd.isna(value):
        return  # no cell at all for a blank
    text = str(value)
    number = _as_number(text) if column in NUMERIC_COLUMNS else None
    if number is None:
        set_text(sheet.cell(row, index), text).number_format = "@"
    else:
        sheet.cell(row, index, number)


def _as_number(text: str) -> int | float | None:
    """The number, when writing it as a number reads back as the same text; else None."""
    try:
        number = float(text)
    except ValueError:
        return None
    value: int | float = int(number) if number.is_integer() and abs(number) < 2**53 else number
    return value if cell_text(value) == text else None


def _indicators_in(frame: pd.DataFrame) -> list[str]:
    if "indicator" not in frame.columns:
        return []
    return [str(code) for code in dict.fromkeys(frame["indicator"].dropna())]


def _column_lookup(table: SubmissionTable, columns: Sequence[str]) -> dict[str, str]:
    """Every name a problem may use for a column (canonical, label, letter, header) -> canonical column."""
    lookup: dict[str, str] = {}
    for column in columns:
        lookup[column.casefold()] = column
        label = table.labels.get(column)
        if not label:
            continue
        lookup[label.casefold()] = column
        match = re.fullmatch(r"([A-Z]{1,3}) \((.*)\)", label)
        if match:
            lookup[match.group(1).casefold()] = column
            lookup[match.group(2).casefold()] = column
    return lookup


def _place_problems(
    sheet: Worksheet,
    table: SubmissionTable,
    frame: pd.DataFrame,
    out_rows: Sequence[int],
    columns: Sequence[str],
    problems: Sequence[Problem],
) -> dict[int, int]:
    """Mark each problem on its cell and in the row's Problems cell; return problem index -> output row."""
    lookup = _column_lookup(table, columns)
    by_row: dict[int, list[tuple[str | None, int]]] = {}
    sheets = frame[SHEET].tolist() if SHEET in frame.columns else [None] * len(frame)
    for number, sheet_name, out_row in zip(frame[ROW].tolist(), sheets, out_rows, strict=True):
        by_row.setdefault(int(number), []).append((_sheet_name(sheet_name), out_row))
    notes: dict[tuple[int, int], list[Problem]] = {}  # (row, column index) -> problems
    placed: dict[int, int] = {}
    problems_column = len(columns) + 1
    positions = {column: index for index, column in enumerate(columns, start=1)}
    for number, problem in enumerate(problems):
        for out_row in _rows_of(problem, by_row):
            column = lookup.get((problem.column or "").casefold())
            index = positions[column] if column else problems_column
            notes.setdefault((out_row, index), []).append(problem)
            placed.setdefault(number, out_row)
    _annotate(sheet, notes, columns, problems_column)
    return placed


def _sheet_name(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _rows_of(problem: Problem, by_row: Mapping[int, list[tuple[str | None, int]]]) -> Iterator[int]:
    if problem.row is None:
        return
    for sheet, out_row in by_row.get(problem.row, []):
        if problem.sheet is None or sheet is None or problem.sheet == sheet:
            yield out_row


def _annotate(
    sheet: Worksheet, notes: Mapping[tuple[int, int], list[Problem]], columns: Sequence[str], problems_column: int
) -> None:
    row_texts: dict[int, list[str]] = {}
    for (row, index), found in sorted(notes.items()):
        name = columns[index - 1] if index <= len(columns) else None
        row_texts.setdefault(row, []).extend(_problem_line(p, name) for p in found)
        if index == problems_column:
            continue
        cell = sheet.cell(row, index)
        cell.fill = ERROR_FILL if any(p.severity == Severity.ERROR for p in found) else WARNING_FILL
        text = "\n".join(f"{p.severity}: {_with_hint(p)}" for p in found)
        cell.comment = Comment(text, "habmon", height=20 * (len(text) // 45 + len(found) + 1), width=320)
    for row, lines in row_texts.items():
        set_text(sheet.cell(row, problems_column), "\n".join(lines)).alignment = WRAP


def _problem_line(problem: Problem, column: str | None) -> str:
    where = f"{CORE_SPECS[column].label.en if column in CORE_SPECS else column}: " if column else ""
    return f"{problem.severity}: {where}{_with_hint(problem)}"


def _with_hint(problem: Problem) -> str:
    return f"{problem.message} (hint: {problem.hint})" if problem.hint else problem.message


def _problems_sheet(sheet: Worksheet, problems: Iterable[Problem], placed: Mapping[int, int]) -> None:
    for index, (label, width) in enumerate(PROBLEM_SHEET_COLUMNS, start=1):
        header = sheet.cell(HEADER_ROW, index, label)
        header.font, header.fill = BOLD, HEADER_FILL
        sheet.column_dimensions[get_column_letter(index)].width = width
    for number, problem in enumerate(problems):
        values = (
            str(problem.severity),
            problem.type,
            problem.message,
            problem.file,
            problem.sheet,
            problem.row,
            problem.column,
            problem.expected,
            problem.found,
            problem.hint,
            placed.get(number),
        )
        row = HEADER_ROW + 1 + number
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row, index)
            cell.alignment = WRAP
            if isinstance(value, str):
                set_text(cell, value)
            else:
                cell.value = value
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = sheet.dimensions
