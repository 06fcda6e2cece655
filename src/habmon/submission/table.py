"""What every submission reader produces: one table in habmon's canonical columns.

A reader (long CSV, Excel template, SDMX, Open SDG) turns its format into a
:class:`SubmissionTable`: a pandas frame of *text* cells (blank = missing: None or NA) under canonical column names,
with the source row of every record, plus the problems it met while reading. It does
not judge values — validation does that, for every format alike.

Canonical columns
-----------------
``indicator`` (indicator or auxiliary series code), ``geo`` (M49, ISO3, ISO2 or city id),
``period`` (year), ``value``, ``numerator``, ``denominator``, ``unit``, ``nature``
(C, CA, E, M, G), ``source``, ``note``, and one column per disaggregation dimension named
by the dimension id of the codelists (``sex``, ``age``, ``urbanisation``, …); a blank
dimension cell means the total. Bookkeeping columns start with an underscore:
``_row`` (1-based row or line number in the source, as a person would count it) and
``_sheet`` (sheet name, Excel only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from habmon.indicators.model import Codelists
from habmon.problems import Problem

CORE_COLUMNS = (
    "indicator",
    "geo",
    "period",
    "value",
    "numerator",
    "denominator",
    "unit",
    "nature",
    "source",
    "note",
)
REQUIRED_COLUMNS = ("indicator", "geo", "period", "value")
ROW = "_row"
SHEET = "_sheet"

# Header labels a person may write, in English and Chinese, for the core columns.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "indicator": ("indicator", "indicator code", "series", "指标", "指标代码"),
    "geo": ("geo", "geography", "geo code", "area", "ref_area", "country", "city", "地理", "地区", "地理代码"),
    "period": ("period", "year", "time_period", "时期", "年份"),
    "value": ("value", "obs_value", "值", "数值"),
    "numerator": ("numerator", "分子"),
    "denominator": ("denominator", "分母"),
    "unit": ("unit", "units", "unit_measure", "单位"),
    "nature": ("nature", "性质", "数据性质"),
    "source": ("source", "来源", "数据来源"),
    "note": ("note", "notes", "comment", "备注"),
}


def dimension_aliases(codelists: Codelists) -> dict[str, tuple[str, ...]]:
    """Labels that name each dimension: its English and Chinese names and its SDMX concept."""
    return {d.id: tuple(label for label in (d.name.en, d.name.zh, d.sdmx) if label) for d in codelists.dimensions}


def canonical_column(label: str, dimensions: Mapping[str, tuple[str, ...]]) -> str | None:
    """The canonical name of a header label (case and surrounding space ignored), or None.

    ``dimensions`` maps a dimension id to the labels that also name it (e.g. its English and
    Chinese names and its SDMX concept id).
    """
    key = label.strip().casefold()
    for column, aliases in COLUMN_ALIASES.items():
        if key in aliases:
            return column
    for dim, aliases in dimensions.items():
        if key == dim or key in (a.casefold() for a in aliases):
            return dim
    return None


@dataclass(frozen=True)
class SubmissionTable:
    source: str  # the file name as the submitter gave it
    format: str  # csv | xlsx | sdmx-csv | sdmx-ml | opensdg
    frame: pd.DataFrame  # text cells (None for blank) under canonical columns, plus _row (and _sheet)
    labels: Mapping[str, str]  # canonical column -> the column label in the source ("Value", "C", "性别")
    encoding: str | None = None
    problems: tuple[Problem, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.frame)

    def label(self, column: str) -> str:
        return self.labels.get(column, column)

    def dimensions(self, known: set[str]) -> list[str]:
        return [c for c in self.frame.columns if c in known]
