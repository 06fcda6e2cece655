"""What habmon's Excel workbooks share: the layout of the Data sheet, the column labels, styles, the marker.

The template (:mod:`~habmon.ingest.formats.excel_template`), the annotated workbook
(:mod:`~habmon.ingest.formats.excel_annotated`) and the reader (:mod:`~habmon.ingest.formats.excel`) agree through
this module: row 1 holds the labels, row 2 (hidden) the canonical column keys, data starts at row 3; the custom
document properties mark a workbook as habmon's (:data:`MARKER`); cells are read as text by :func:`cell_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import singledispatch
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.packaging.custom import CustomPropertyList, StringProperty
from openpyxl.styles import Alignment, Font, PatternFill

from habmon.schema import Text

TEMPLATE_VERSION = "1"
HEADER_ROW = 1
KEY_ROW = 2
FIRST_DATA_ROW = 3
CODES_SHEET = "Codes"
PROBLEMS_SHEET = "Problems"
PROBLEMS_KEY = "_problems"
DATA_SHEET = Text(en="Data", zh="数据")
INSTRUCTIONS_SHEET = Text(en="Instructions", zh="说明")
HABMON_SHEETS = frozenset({DATA_SHEET.en, DATA_SHEET.zh, INSTRUCTIONS_SHEET.en, INSTRUCTIONS_SHEET.zh, CODES_SHEET})
MARKER = "habmon_template"  # custom document property: the template version
NUMERIC_COLUMNS = ("period", "value", "numerator", "denominator")
DOC_TITLE = Text(en="Habitat Monitor submission template", zh="人居监测数据提交模板")

HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
ERROR_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
WARNING_FILL = PatternFill("solid", start_color="FFEB9C", end_color="FFEB9C")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the Data sheet: key, label and help in both languages, width, cell format."""

    key: str
    label: Text
    help: Text
    width: float = 14
    number_format: str = "@"
    required: bool = False


CORE_SPECS: dict[str, ColumnSpec] = {
    spec.key: spec
    for spec in (
        ColumnSpec(
            "indicator",
            Text(en="Indicator", zh="指标"),
            Text(
                en="Indicator code, from the drop-down list (e.g. 11.1.1).",
                zh="指标代码，从下拉列表中选择（如 11.1.1）。",
            ),
            width=14,
            required=True,
        ),
        ColumnSpec(
            "geo",
            Text(en="Geography", zh="地理"),
            Text(
                en="Code of the country, area or city, from the drop-down list (M49, ISO3 or city id).",
                zh="国家、地区或城市的代码，从下拉列表中选择（M49、ISO3 或城市代码）。",
            ),
            width=14,
            required=True,
        ),
        ColumnSpec(
            "period",
            Text(en="Year", zh="年份"),
            Text(en="Year the value refers to, four digits (e.g. 2026).", zh="数值所指的年份，四位数字（如 2026）。"),
            width=8,
            number_format="0",
            required=True,
        ),
        ColumnSpec(
            "value",
            Text(en="Value", zh="数值"),
            Text(
                en="The value, as a plain number in the indicator's unit: percentages as 24.8 (not 24.8% or 0.248).",
                zh="数值，按指标单位填写纯数字：百分比填 24.8（不要填 24.8% 或 0.248）。",
            ),
            width=12,
            number_format="General",
            required=True,
        ),
        ColumnSpec(
            "numerator",
            Text(en="Numerator", zh="分子"),
            Text(en="For ratios and percentages: the numerator, if known.", zh="比率和百分比：分子（如已知）。"),
            width=12,
            number_format="General",
        ),
        ColumnSpec(
            "denominator",
            Text(en="Denominator", zh="分母"),
            Text(en="For ratios and percentages: the denominator, if known.", zh="比率和百分比：分母（如已知）。"),
            width=12,
            number_format="General",
        ),
        ColumnSpec(
            "unit",
            Text(en="Unit", zh="单位"),
            Text(en="Unit of the value; blank means the indicator's unit.", zh="数值的单位；留空表示指标的单位。"),
            width=12,
        ),
        ColumnSpec(
            "nature",
            Text(en="Nature", zh="数据性质"),
            Text(
                en="Nature of the data (C, CA, E, M, G; see below); blank means C.",
                zh="数据性质（C、CA、E、M、G，见下文）；留空表示 C。",
            ),
            width=9,
        ),
        ColumnSpec(
            "source",
            Text(en="Source", zh="数据来源"),
            Text(
                en="Where the value comes from (survey, census, register, publication); needed on every row "
                "unless one source is given for the whole submission.",
                zh="数值的来源（调查、普查、登记、出版物）；除非为整个提交指定了统一来源，否则每行都须填写。",
            ),
            width=30,
        ),
        ColumnSpec(
            "note",
            Text(en="Note", zh="备注"),
            Text(en="Anything a reviewer should know about the value.", zh="审核人员应了解的关于该数值的任何情况。"),
            width=30,
        ),
    )
}


# -- the marker ---------------------------------------------------------------------------------------------------


def mark(workbook: Workbook, *, lang: str, indicators: Sequence[str], submitter: str | None, kind: str) -> None:
    """Document properties and the custom marker saying this is a habmon workbook."""
    workbook.properties.title = DOC_TITLE.get(lang)
    workbook.properties.creator = "habmon"
    workbook.properties.keywords = "habmon"
    marker = {
        MARKER: TEMPLATE_VERSION,
        "habmon_kind": kind,
        "habmon_lang": lang,
        "habmon_indicators": ",".join(indicators),
        "habmon_submitter": submitter or "",
    }
    for name, value in marker.items():
        _custom_properties(workbook).append(StringProperty(name=name, value=value))


def _custom_properties(workbook: Workbook) -> CustomPropertyList[Any]:
    return workbook.custom_doc_props  # type: ignore[attr-defined,no-any-return]  # missing from types-openpyxl


def template_marker(workbook: Workbook) -> dict[str, str]:
    """The habmon marker properties of a workbook (empty for a foreign workbook)."""
    found = {prop.name: str(prop.value or "") for prop in _custom_properties(workbook)}
    return {name: value for name, value in found.items() if name.startswith("habmon_")} if MARKER in found else {}


# -- cells ----------------------------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Width in Excel characters: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def set_text(cell: Cell | MergedCell, text: str) -> Cell | MergedCell:
    """Put text in a cell as text (never a formula, even if it starts with '='), without illegal characters."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"
    return cell


# -- cell values as text ------------------------------------------------------------------------------------------


@singledispatch
def cell_text(value: object) -> str | None:
    """A cell value as habmon text: None for blank, numbers without float noise, dates in ISO form."""
    return str(value).strip() or None


@cell_text.register(type(None))
def _(value: None) -> str | None:
    return None


@cell_text.register
def _(value: str) -> str | None:
    return value.strip() or None


@cell_text.register
def _(value: bool) -> str | None:
    return "TRUE" if value else "FALSE"


@cell_text.register
def _(value: int) -> str | None:
    return str(value)


@cell_text.register
def _(value: float) -> str | None:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    # 15 significant digits, as Excel shows them: 24.800000000000001 → 24.8, 2022.0 → 2022, 1e-07 → 0.0000001
    text = format(Decimal(f"{value:.15g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@cell_text.register
def _(value: datetime) -> str | None:
    return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")


@cell_text.register
def _(value: date) -> str | None:
    return value.isoformat()


@cell_text.register
def _(value: time) -> str | None:
    return value.isoformat()


@cell_text.register
def _(value: timedelta) -> str | None:
    return str(value)
