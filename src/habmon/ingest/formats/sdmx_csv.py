"""SDMX-CSV 1.0 (first column ``DATAFLOW``) and 2.0 (``STRUCTURE``, ``STRUCTURE_ID``, ``ACTION``) read into a table.

One observation per line, a column per concept; ``_row`` is the line number (the header is line 1). Headers written
with labels (``SEX: Sex``) are read by their id, and so are their values (``F: Female``). Concepts are mapped by
:mod:`habmon.ingest.formats.sdmx_concepts`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from habmon.indicators.registry import Registry
from habmon.ingest.formats.common import empty_table
from habmon.ingest.formats.csv_long import decode, delimiter_of
from habmon.ingest.formats.sdmx_concepts import OBS_VALUE, Builder
from habmon.problems import Problem
from habmon.submission.table import SubmissionTable

if TYPE_CHECKING:
    from _csv import Reader

FORMAT_CSV: Final = "sdmx-csv"
CSV_MARKERS: Final = frozenset({"DATAFLOW", "STRUCTURE", OBS_VALUE})
_LABELLED: Final = re.compile(r"^\s*([^:]+?)\s*:\s.*$", re.DOTALL)


def read_sdmx_csv(data: bytes, *, registry: Registry, source_name: str) -> SubmissionTable:
    text, encoding, problems = decode(data, source_name)
    if text is None:
        return empty_table(source_name, FORMAT_CSV, problems)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = next(reader, [])
    concepts = [_concept_id(label) for label in header]
    if not CSV_MARKERS & set(concepts):
        problems.append(
            Problem(
                "syntax",
                expected="SDMX-CSV (a header with DATAFLOW or STRUCTURE and OBS_VALUE) or SDMX-ML",
                found=repr(text[:80]),
                file=source_name,
                row=1,
            )
        )
        return empty_table(source_name, FORMAT_CSV, problems, encoding)
    builder = Builder(registry, source_name)
    builder.problems.extend(problems)
    builder.problems.extend(_duplicates(concepts, source_name))
    labelled = [_LABELLED.match(label) is not None for label in header]
    try:
        _csv_rows(reader, concepts, labelled, builder)
    except csv.Error as exc:
        builder.problems.append(
            Problem("syntax", expected="CSV", found=str(exc), file=source_name, row=reader.line_num)
        )
    return builder.table(FORMAT_CSV, encoding)


def csv_records(reader: Reader, width: int, file: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Records of a CSV reader with their line numbers; blank lines skipped, ragged ones reported."""
    previous = reader.line_num
    for record in reader:
        line, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != width:
            problems.append(
                Problem(
                    "syntax",
                    expected=f"{width} fields, as in the header",
                    found=f"{len(record)} fields",
                    file=file,
                    row=line,
                )
            )
            continue
        yield line, record


def _csv_rows(reader: Reader, concepts: list[str], labelled: list[bool], builder: Builder) -> None:
    for line, record in csv_records(reader, len(concepts), builder.file, builder.problems):
        cells = (_strip_label(cell) if has_label else cell for cell, has_label in zip(record, labelled, strict=True))
        builder.add(line, dict(zip(concepts, cells, strict=True)))


def _delimiter(text: str) -> str:
    return delimiter_of(text.split("\n", 1)[0], ",;\t")


def _concept_id(label: str) -> str:
    """``SEX: Sex`` (SDMX-CSV with labels) -> ``SEX``."""
    match = _LABELLED.match(label)
    return (match.group(1) if match else label).strip().upper()


def _strip_label(cell: str) -> str:
    match = _LABELLED.match(cell)
    return match.group(1) if match else cell


def _duplicates(concepts: list[str], file: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for concept in concepts:
        if concept in seen:
            yield Problem("duplicate-id", expected="each concept once", found=concept, file=file, row=1, column=concept)
        seen.add(concept)
