"""SDMX submissions: SDMX-CSV and SDMX-ML data messages read into a :class:`SubmissionTable`.

* **SDMX-CSV** 1.0 and 2.0 — :mod:`~habmon.ingest.formats.sdmx_csv`;
* **SDMX-ML** data messages (2.1, also 3.0), Generic or StructureSpecific, read with lxml after a defusedxml safety
  scan — :mod:`~habmon.ingest.formats.sdmx_ml`;
* the mapping of SDMX concepts and codes to habmon's columns and codes, shared by both —
  :mod:`~habmon.ingest.formats.sdmx_concepts`.

This module refuses a file over ``max_bytes`` before it is read, tells XML from CSV, and registers the ``sdmx``
format. The names of the three modules are importable from here as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from habmon.indicators.registry import Registry
from habmon.ingest.formats.common import build_frame, empty_table, ordered_columns, read_limited
from habmon.ingest.formats.registry import ReadOptions, header_columns, suffix
from habmon.ingest.formats.sdmx_concepts import (
    COLUMN_CONCEPTS,
    CONCEPT_COLUMNS,
    CSV_BOOKKEEPING,
    INDICATOR,
    NEUTRAL_VALUES,
    OBS_VALUE,
    SDG_NOT_KEPT,
    SDMX_UNITS,
    SERIES,
    TIME_PERIOD,
    UNIT_TO_SDMX,
    Builder,
    code_of,
    concept_of,
    series_index,
    unit_from_sdmx,
    unit_to_sdmx,
)
from habmon.ingest.formats.sdmx_csv import CSV_MARKERS, FORMAT_CSV, csv_records, read_sdmx_csv
from habmon.ingest.formats.sdmx_ml import FORMAT_ML, read_sdmx_ml, xml_gate
from habmon.submission.table import SubmissionTable

DEFAULT_MAX_BYTES: Final = 100_000_000


def read_sdmx(
    path: Path, *, registry: Registry, source_name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> SubmissionTable:
    """Read an SDMX-CSV file or an SDMX-ML data message; never raises on bad input."""
    name = source_name or path.name
    data, problems = read_limited(path, name, max_bytes)
    if data is None:
        return empty_table(name, "sdmx", problems)
    if is_xml(data):
        return read_sdmx_ml(data, registry=registry, source_name=name)
    return read_sdmx_csv(data, registry=registry, source_name=name)


def is_xml(data: bytes) -> bool:
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff"))


# -- registration in the format registry (habmon.ingest.formats.registry) ------------------------------------------

SNIFFED_CONCEPTS = frozenset({"dataflow", "structure", "obs_value"})  # SDMX-CSV 1.0 (DATAFLOW) and 2.0 (STRUCTURE)


class Sdmx:
    """SDMX: an .xml file (SDMX-ML), or a CSV whose header has DATAFLOW, STRUCTURE or OBS_VALUE (SDMX-CSV)."""

    name = "sdmx"

    def detect(self, filename: str, head: bytes) -> float:
        if suffix(filename) == ".xml":
            return 1.0
        return 0.9 if SNIFFED_CONCEPTS & header_columns(head) else 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        return read_sdmx(path, registry=options.registry, source_name=options.source_name, max_bytes=options.max_bytes)


PLUGIN = Sdmx()


__all__ = [  # the names of the SDMX modules, importable from here as before
    "COLUMN_CONCEPTS",
    "CONCEPT_COLUMNS",
    "CSV_BOOKKEEPING",
    "CSV_MARKERS",
    "DEFAULT_MAX_BYTES",
    "FORMAT_CSV",
    "FORMAT_ML",
    "INDICATOR",
    "NEUTRAL_VALUES",
    "OBS_VALUE",
    "PLUGIN",
    "SDG_NOT_KEPT",
    "SDMX_UNITS",
    "SERIES",
    "SNIFFED_CONCEPTS",
    "TIME_PERIOD",
    "UNIT_TO_SDMX",
    "Builder",
    "Sdmx",
    "build_frame",
    "code_of",
    "concept_of",
    "csv_records",
    "empty_table",
    "is_xml",
    "ordered_columns",
    "read_limited",
    "read_sdmx",
    "read_sdmx_csv",
    "read_sdmx_ml",
    "series_index",
    "unit_from_sdmx",
    "unit_to_sdmx",
    "xml_gate",
]
