"""Excel submissions: reading filled (or foreign) workbooks, and the ``xlsx`` format of the format registry.

The template and the annotated workbook are written by :mod:`~habmon.ingest.formats.excel_template` and
:mod:`~habmon.ingest.formats.excel_annotated`; what the three share (the layout of the Data sheet, column labels,
styles, the marker, :func:`cell_text`) is in :mod:`~habmon.ingest.formats.excel_common`; finding the data sheet
and its columns in :mod:`~habmon.ingest.formats.excel_layout`. Their names are importable from here as before.

Reading
-------
:func:`read_excel` never raises on bad input. It finds the data sheet by the hidden key row (habmon templates and
annotated workbooks), else by the first row among the first :data:`HEADER_SCAN_ROWS` of a sheet whose labels name
every required column (foreign workbooks). Cells come back as text: numbers without float noise (``24.8``,
``2022``), dates in ISO form, blanks as None. Formulas and merged cells are reported, not evaluated.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from habmon.indicators.registry import Registry
from habmon.ingest.formats.common import build_frame, empty_table, too_large
from habmon.ingest.formats.excel_annotated import PROBLEM_SHEET_COLUMNS, write_annotated_excel
from habmon.ingest.formats.excel_common import (
    BOLD,
    CODES_SHEET,
    CORE_SPECS,
    DATA_SHEET,
    ERROR_FILL,
    FIRST_DATA_ROW,
    HABMON_SHEETS,
    HEADER_FILL,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    KEY_ROW,
    MARKER,
    NUMERIC_COLUMNS,
    PROBLEMS_KEY,
    PROBLEMS_SHEET,
    TEMPLATE_VERSION,
    WARNING_FILL,
    WRAP,
    ColumnSpec,
    cell_text,
    template_marker,
)
from habmon.ingest.formats.excel_layout import (
    HEADER_SCAN_ROWS,
    KEY_PATTERN,
    Layout,
    find_layout,
    known_label,
    no_data_sheet,
    worksheets,
)
from habmon.ingest.formats.excel_template import (
    LANGUAGES,
    LAST_TEMPLATE_ROW,
    NATURE_NAMES,
    NUMBER_LIMIT,
    SHEET_PASSWORD,
    UNIT_NAMES,
    YEARS,
    T,
    write_template,
)
from habmon.ingest.formats.registry import ReadOptions, suffix
from habmon.problems import Problem, Severity
from habmon.submission.table import (
    CORE_COLUMNS,
    ROW,
    SHEET,
    SubmissionTable,
    dimension_aliases,
)

DEFAULT_MAX_BYTES = 50_000_000
UNPACKED_FACTOR = 25  # a workbook may unpack to at most this many times the size limit (zip bombs)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
# What openpyxl raises on a damaged workbook: broken zip, missing parts (KeyError), malformed XML (SyntaxError:
# ParseError; ValueError: defusedxml), unexpected attributes or values in a part (TypeError, IndexError).
SPLIT_HINT = "split the data over several files"
WORKBOOK_ERRORS = (
    zipfile.BadZipFile,
    InvalidFileException,
    KeyError,
    OSError,
    ValueError,
    SyntaxError,
    TypeError,
    IndexError,
)


# -- reading ------------------------------------------------------------------------------------------------------


def read_excel(
    path: Path, *, registry: Registry, source_name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> SubmissionTable:
    """Read a habmon template or a foreign .xlsx workbook into a submission table; problems, never exceptions."""
    name = source_name or path.name
    workbook, problems = open_workbook(path, name, max_bytes)
    if workbook is None:
        return empty_table(name, "xlsx", problems)
    aliases = dimension_aliases(registry.codelists)
    known = frozenset((*CORE_COLUMNS, *aliases))
    layout = find_layout(workbook, aliases, known, name)
    if layout is None:
        return empty_table(name, "xlsx", [no_data_sheet(workbook, aliases, name)])
    problems.extend(layout.problems)
    problems.extend(_ignored_sheets(workbook, layout, name))
    problems.extend(_merged_cells(layout, name))
    frame, cell_problems = _read_rows(layout, name)
    problems.extend(cell_problems)
    meta = {"sheet": layout.sheet.title, "header_row": layout.header_row, "template": template_marker(workbook)}
    return SubmissionTable(name, "xlsx", frame, layout.labels, None, tuple(problems), meta)


def open_workbook(path: Path, name: str, max_bytes: int) -> tuple[Workbook | None, list[Problem]]:
    """The workbook (formulas kept as formulas) or the problem that stops reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [too_large(name, f"{size:,} bytes", max_bytes, hint=SPLIT_HINT)]
        with path.open("rb") as handle:
            head = handle.read(len(OLE2_MAGIC))
        refused = _refuse_by_signature(head, name)
        if refused is not None:
            return None, [refused]
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_bytes * UNPACKED_FACTOR:
            return None, [
                too_large(name, f"{unpacked:,} bytes when unpacked", max_bytes * UNPACKED_FACTOR, hint=SPLIT_HINT)
            ]
        with path.open("rb") as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # unsupported extensions (slicers, …) are irrelevant here
            return load_workbook(handle, data_only=False), []
    except WORKBOOK_ERRORS as exc:
        return None, [_unreadable(name, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})")]


def _refuse_by_signature(head: bytes, name: str) -> Problem | None:
    if head.startswith(OLE2_MAGIC):
        return _unreadable(
            name,
            "an Excel 97–2003 (.xls) workbook or a password-protected file",
            hint="open it in Excel and save it as 'Excel Workbook (.xlsx)' without a password",
        )
    if not head.startswith(ZIP_MAGIC):
        return _unreadable(name, "not an .xlsx workbook (the file is not a zip archive; is it a CSV or text file?)")
    return None


def _unreadable(name: str, found: str, hint: str = "save the file as 'Excel Workbook (.xlsx)'") -> Problem:
    return Problem("file-unreadable", expected="an Excel .xlsx workbook", found=found, file=name, hint=hint)


def _ignored_sheets(workbook: Workbook, layout: Layout, file: str) -> Iterator[Problem]:
    for sheet in worksheets(workbook):
        if sheet is layout.sheet or (layout.keyed and sheet.title in HABMON_SHEETS | {PROBLEMS_SHEET}):
            continue
        if not _has_content(sheet):
            continue
        yield Problem(
            "unknown-field",
            expected="data in one sheet only",
            found=f"sheet '{sheet.title}' (ignored)",
            file=file,
            sheet=sheet.title,
            hint=f"only sheet '{layout.sheet.title}' was read; move other data there or send it in another file",
            severity=Severity.WARNING,
        )


def _has_content(sheet: Worksheet) -> bool:
    return any(value is not None for row in sheet.iter_rows(values_only=True) for value in row)


def _merged_cells(layout: Layout, file: str) -> Iterator[Problem]:
    for merged in sorted(layout.sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        if merged.max_row < layout.first_row:
            continue
        yield Problem(
            "inconsistent",
            expected="one value per cell",
            found=f"merged cells {merged.coord}",
            file=file,
            sheet=layout.sheet.title,
            row=max(merged.min_row, layout.first_row),
            column=known_label(layout, merged.min_col),
            hint="unmerge the cells and repeat the value in every row",
        )


def _read_rows(layout: Layout, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    sheet = layout.sheet
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    stray: dict[int, int] = {}  # unlabelled column index -> first row holding data
    for number, cells in _rows_of_cells(sheet, layout.first_row):
        record: dict[str, Any] = {}
        filled = False
        for index, cell in cells:
            if index in layout.ignored:
                continue
            if index not in layout.columns:
                if cell_text(cell.value) is not None:
                    stray.setdefault(index, number)
                continue
            text, problem = _read_cell(cell, layout, file)
            filled = filled or text is not None or problem is not None
            record[layout.columns[index]] = text
            problems.extend([problem] if problem else [])
        if filled:
            records.append({**record, ROW: number, SHEET: sheet.title})
    problems.extend(_stray_columns(layout, stray, file))
    return _frame(records, list(layout.columns.values())), problems


def _rows_of_cells(sheet: Worksheet, first_row: int) -> Iterator[tuple[int, list[tuple[int, Cell | MergedCell]]]]:
    """The cells holding a value from ``first_row`` on, row by row, as (column index, cell).

    Goes through the sheet's stored cells: ``iter_rows`` would create a cell object for every blank in the
    rectangle, which costs more time and memory than the reading itself on a large, sparse sheet.
    """
    stored = sorted(
        (position, cell)
        for position, cell in sheet._cells.items()  # private, but stable since openpyxl 2 and typed in the stubs
        if position[0] >= first_row and cell.value is not None
    )
    for number, group in groupby(stored, key=lambda item: item[0][0]):
        yield number, [(column, cell) for (_, column), cell in group]


def _read_cell(cell: Cell | MergedCell, layout: Layout, file: str) -> tuple[str | None, Problem | None]:
    """The text of a cell, or None and the problem that prevents reading it."""
    if cell.data_type == "f":
        found = getattr(cell.value, "text", None) or str(cell.value)
        found = found if found.startswith("=") else f"={found}"
        return None, Problem("type", expected="a value, not a formula", found=found, **_where(cell, layout, file))
    if _is_percent(cell):
        shown = cell_text(float(cell.value) * 100)  # type: ignore[arg-type]
        warning = Problem(
            "value",
            expected="a plain number (percentages as 24.8, not 24.8%)",
            found=f"{shown}% (stored as {cell_text(cell.value)})",
            hint=f"read as {shown}; format the cell as a number to avoid this warning",
            severity=Severity.WARNING,
            **_where(cell, layout, file),
        )
        return shown, warning
    return cell_text(cell.value), None


def _where(cell: Cell | MergedCell, layout: Layout, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "sheet": layout.sheet.title,
        "row": cell.row,
        "column": known_label(layout, cell.column or 0),
    }


def _is_percent(cell: Cell | MergedCell) -> bool:
    value = cell.value
    return isinstance(value, int | float) and not isinstance(value, bool) and "%" in str(cell.number_format)


def _stray_columns(layout: Layout, stray: Mapping[int, int], file: str) -> Iterator[Problem]:
    for index, first in sorted(stray.items()):
        yield Problem(
            "unknown-field",
            expected="a header label above every column with data",
            found=f"values under an empty header (first at row {first})",
            file=file,
            sheet=layout.sheet.title,
            row=layout.header_row,
            column=get_column_letter(index),
            hint="add the column label or delete the values",
        )


def _frame(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """The text columns and ``_row`` (:func:`~habmon.ingest.formats.common.build_frame`), then each row's sheet."""
    frame = build_frame(records, columns)
    frame[SHEET] = pd.Series([r[SHEET] for r in records], dtype=object)
    return frame


# -- registration in the format registry (habmon.ingest.formats.registry) ------------------------------------------


class Excel:
    """An .xlsx/.xlsm workbook; also an Excel 97–2003 file by its signature, so that the reader can say to save it
    as .xlsx."""

    name = "xlsx"

    def detect(self, filename: str, head: bytes) -> float:
        if suffix(filename) in {".xlsx", ".xlsm"}:
            return 1.0
        return 0.6 if head.startswith(OLE2_MAGIC) else 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        return read_excel(path, registry=options.registry, source_name=options.source_name, max_bytes=options.max_bytes)


PLUGIN = Excel()

__all__ = [  # the names of the template, the annotated workbook and the shared module, importable from here as before
    "BOLD",
    "CODES_SHEET",
    "CORE_SPECS",
    "DATA_SHEET",
    "DEFAULT_MAX_BYTES",
    "ERROR_FILL",
    "FIRST_DATA_ROW",
    "HABMON_SHEETS",
    "HEADER_FILL",
    "HEADER_ROW",
    "HEADER_SCAN_ROWS",
    "INSTRUCTIONS_SHEET",
    "KEY_PATTERN",
    "KEY_ROW",
    "LANGUAGES",
    "LAST_TEMPLATE_ROW",
    "MARKER",
    "NATURE_NAMES",
    "NUMBER_LIMIT",
    "NUMERIC_COLUMNS",
    "PLUGIN",
    "PROBLEMS_KEY",
    "PROBLEMS_SHEET",
    "PROBLEM_SHEET_COLUMNS",
    "SHEET_PASSWORD",
    "TEMPLATE_VERSION",
    "UNIT_NAMES",
    "WARNING_FILL",
    "WRAP",
    "YEARS",
    "ColumnSpec",
    "Excel",
    "Layout",
    "T",
    "cell_text",
    "open_workbook",
    "read_excel",
    "template_marker",
    "write_annotated_excel",
    "write_template",
]
