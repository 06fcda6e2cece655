"""Excel submissions: habmon's template, reading filled (or foreign) workbooks, annotated workbooks.

The template
------------
:func:`write_template` writes a workbook with three sheets:

* ``Instructions`` / ``说明`` — what the file is for, who it is for, what to enter in each column, the chosen
  indicators (code, name, unit, definition), the places, the nature codes and the disaggregation codes;
* ``Data`` / ``数据`` — row 1 holds the column labels in the template's language, row 2 (hidden) the canonical
  column keys (``indicator``, ``geo``, ``period``, …, ``sex``, ``age``), data entry starts at row 3. The sheet is
  protected without a password (:data:`SHEET_PASSWORD`): the protection guards the two header rows against
  accidents, it is no security. Data columns are unlocked, typed (codes as text, so ``004`` stays ``004``) and
  carry drop-down lists or number checks;
* ``Codes`` (hidden) — the lists behind the drop-downs, each code next to its name.

The workbook's custom document properties mark it as a habmon template (:data:`MARKER`): version, language and
indicator codes.

Reading
-------
:func:`read_excel` never raises on bad input. It finds the data sheet by the hidden key row (habmon templates and
annotated workbooks), else by the first row among the first :data:`HEADER_SCAN_ROWS` of a sheet whose labels name
every required column (foreign workbooks). Cells come back as text: numbers without float noise (``24.8``,
``2022``), dates in ISO form, blanks as None. Formulas and merged cells are reported, not evaluated.

Annotated workbooks
-------------------
:func:`write_annotated_excel` writes the submitted rows back with each problem on its cell (fill and comment), a
``Problems`` column and a ``Problems`` sheet; it keeps the hidden key row, so the corrected file re-imports.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import singledispatch
from itertools import groupby
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.packaging.custom import CustomPropertyList, StringProperty
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from habmon.geo.model import Geography, GeoUnit
from habmon.indicators.model import Dimension, Indicator, Unit
from habmon.indicators.registry import Registry
from habmon.ingest.formats.registry import ReadOptions, suffix
from habmon.observation import Nature
from habmon.problems import Problem, Severity
from habmon.schema import Text
from habmon.submission.table import (
    CORE_COLUMNS,
    REQUIRED_COLUMNS,
    ROW,
    SHEET,
    SubmissionTable,
    canonical_column,
    dimension_aliases,
)

TEMPLATE_VERSION = "1"
LANGUAGES = ("en", "zh")
SHEET_PASSWORD: str | None = None  # no password: protection only prevents accidental edits of the header rows
DEFAULT_MAX_BYTES = 50_000_000
UNPACKED_FACTOR = 25  # a workbook may unpack to at most this many times the size limit (zip bombs)
HEADER_ROW = 1
KEY_ROW = 2
FIRST_DATA_ROW = 3
LAST_TEMPLATE_ROW = 10_002  # drop-downs and number checks cover rows 3 … this
HEADER_SCAN_ROWS = 10  # a foreign workbook's header row may sit below a title
YEARS = (1990, 2100)
NUMBER_LIMIT = "1E+300"
CODES_SHEET = "Codes"
PROBLEMS_SHEET = "Problems"
PROBLEMS_KEY = "_problems"
DATA_SHEET = Text(en="Data", zh="数据")
INSTRUCTIONS_SHEET = Text(en="Instructions", zh="说明")
HABMON_SHEETS = frozenset({DATA_SHEET.en, DATA_SHEET.zh, INSTRUCTIONS_SHEET.en, INSTRUCTIONS_SHEET.zh, CODES_SHEET})
MARKER = "habmon_template"  # custom document property: the template version
NUMERIC_COLUMNS = ("period", "value", "numerator", "denominator")
KEY_PATTERN = re.compile(r"^_?[a-z][a-z0-9_]*$")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
# What openpyxl raises on a damaged workbook: broken zip, missing parts (KeyError), malformed XML (SyntaxError:
# ParseError; ValueError: defusedxml), unexpected attributes or values in a part (TypeError, IndexError).
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

NATURE_NAMES: dict[Nature, Text] = {
    Nature.C: Text(en="Country data", zh="国家数据"),
    Nature.CA: Text(en="Country data adjusted", zh="经调整的国家数据"),
    Nature.E: Text(en="Estimated", zh="估计数据"),
    Nature.M: Text(en="Modelled", zh="模型数据"),
    Nature.G: Text(en="Global monitoring data", zh="全球监测数据"),
}

UNIT_NAMES: dict[Unit, Text] = {
    Unit.PERCENT: Text(en="Percent (0–100)", zh="百分比（0–100）"),
    Unit.RATIO: Text(en="Ratio", zh="比率"),
    Unit.NUMBER: Text(en="Number", zh="数目"),
    Unit.PERSONS: Text(en="Persons", zh="人数"),
    Unit.USD: Text(en="US dollars", zh="美元"),
    Unit.SCORE: Text(en="Score", zh="分值"),
    Unit.MICROGRAMS_PER_M3: Text(en="Micrograms per cubic metre", zh="微克/立方米"),
}

T: dict[str, Text] = {
    "title": Text(en="Habitat Monitor — data submission template", zh="人居监测 — 数据提交模板"),
    "purpose": Text(
        en="This workbook is for reporting data on indicators of UN-Habitat's Strategic Plan 2026–2029 to Habitat "
        "Monitor (habmon). Enter the data in sheet '{data}' and send the file back as .xlsx.",
        zh="本工作簿用于向人居监测（habmon）报告联合国人居署 2026–2029 年战略计划指标的数据。"
        "请在“{data}”工作表中填写数据，并以 .xlsx 格式发回本文件。",
    ),
    "for": Text(en="Prepared for: {who}", zh="提交方：{who}"),
    "version": Text(en="Template version {version}, created by habmon", zh="模板版本 {version}，由 habmon 生成"),
    "how": Text(en="How to fill in", zh="填写说明"),
    "rule_rows": Text(
        en="Enter one value per row in sheet '{data}', starting at row 3.",
        zh="在“{data}”工作表中每行填写一个数值，从第 3 行开始。",
    ),
    "rule_header": Text(
        en="Do not change the header row or the sheet names, and do not insert, delete or move columns.",
        zh="请勿更改标题行或工作表名称，也不要插入、删除或移动列。",
    ),
    "rule_codes": Text(
        en="Use the drop-down lists for codes. Leave a disaggregation cell blank for the total.",
        zh="代码请使用下拉列表。分类列留空表示合计。",
    ),
    "rule_values": Text(
        en="Type values, not formulas; do not merge cells; no thousands separators or units inside number cells.",
        zh="请填写数值而非公式；不要合并单元格；数字单元格中不要使用千位分隔符或单位。",
    ),
    "columns": Text(en="Columns", zh="各列说明"),
    "column": Text(en="Column", zh="列"),
    "required": Text(en="Required", zh="必填"),
    "yes": Text(en="yes", zh="是"),
    "no": Text(en="no", zh="否"),
    "what": Text(en="What to enter", zh="填写内容"),
    "indicators": Text(en="Indicators in this template", zh="本模板中的指标"),
    "code": Text(en="Code", zh="代码"),
    "name": Text(en="Name", zh="名称"),
    "unit": Text(en="Unit", zh="单位"),
    "definition": Text(en="Definition", zh="定义"),
    "geos": Text(en="Places", zh="地理单位"),
    "natures": Text(en="Nature codes", zh="数据性质代码"),
    "meaning": Text(en="Meaning", zh="含义"),
    "dimensions": Text(en="Disaggregation codes", zh="分类代码"),
    "dimension": Text(en="Dimension", zh="分类"),
    "dimension_help": Text(
        en="{name}: a code from the drop-down list; blank means the total ({total}).",
        zh="{name}：从下拉列表中选择代码；留空表示合计（{total}）。",
    ),
    "list_error": Text(en="Choose a value from the drop-down list.", zh="请从下拉列表中选择。"),
    "year_error": Text(en="Enter a year from {low} to {high}.", zh="请输入 {low} 至 {high} 之间的年份。"),
    "number_error": Text(en="Enter a plain number.", zh="请输入纯数字。"),
    "doc_title": Text(en="Habitat Monitor submission template", zh="人居监测数据提交模板"),
}


# -- template -----------------------------------------------------------------------------------------------------


def write_template(
    path: Path,
    *,
    registry: Registry,
    geography: Geography,
    indicators: Sequence[str],
    geos: Sequence[str],
    lang: str = "en",
    submitter: str | None = None,
) -> None:
    """Write a submission template for ``indicators`` × ``geos`` in ``lang`` (en or zh).

    Raises :class:`~habmon.problems.NotFound` for an unknown indicator or geography code and ValueError for an
    unsupported language or no indicator: these are the caller's arguments, not a submitter's data.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"template language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    chosen = [registry.get(code) for code in dict.fromkeys(indicators)]
    if not chosen:
        raise ValueError("a template needs at least one indicator")
    places = list({unit.code: unit for unit in (geography.resolve(code) for code in geos)}.values())
    dimensions = _dimensions_of(registry, chosen)
    columns = [*CORE_SPECS.values(), *(_dimension_spec(d) for d in dimensions)]

    workbook = Workbook()
    instructions = workbook.active
    assert isinstance(instructions, Worksheet)
    instructions.title = INSTRUCTIONS_SHEET.get(lang)
    data = workbook.create_sheet(DATA_SHEET.get(lang))
    codes = workbook.create_sheet(CODES_SHEET)
    lists = _write_codes(codes, _code_lists(chosen, places, dimensions, lang), lang)
    _write_data_sheet(data, columns, lang)
    _add_validations(data, columns, lists, lang)
    _write_instructions(instructions, columns, chosen, places, dimensions, lang, submitter)
    _mark(workbook, lang=lang, indicators=[i.code for i in chosen], submitter=submitter, kind="template")
    workbook.save(path)


def _dimensions_of(registry: Registry, indicators: Sequence[Indicator]) -> list[Dimension]:
    used = {dim for indicator in indicators for dim in indicator.disaggregations}
    return [d for d in registry.codelists.dimensions if d.id in used]


def _dimension_spec(dimension: Dimension) -> ColumnSpec:
    def help_text(lang: str) -> str:
        return T["dimension_help"].get(lang).format(name=dimension.name.get(lang), total=dimension.total)

    return ColumnSpec(dimension.id, dimension.name, Text(en=help_text("en"), zh=help_text("zh")), width=14)


def _code_lists(
    indicators: Sequence[Indicator], places: Sequence[GeoUnit], dimensions: Sequence[Dimension], lang: str
) -> dict[str, list[tuple[str, str]]]:
    """Drop-down lists by column key: (code, name in ``lang``)."""
    units = dict.fromkeys(indicator.unit for indicator in indicators)
    lists: dict[str, list[tuple[str, str]]] = {
        "indicator": [(i.code, i.name.get(lang)) for i in indicators],
        "geo": [(unit.code, unit.name(lang)) for unit in places],
        "nature": [(str(n), NATURE_NAMES[n].get(lang)) for n in Nature],
        "unit": [(str(u), UNIT_NAMES[u].get(lang)) for u in units],
    }
    for dimension in dimensions:
        lists[dimension.id] = [(code.id, code.name.get(lang)) for code in dimension.codes]
    return {key: items for key, items in lists.items() if items}


def _write_codes(sheet: Worksheet, lists: Mapping[str, list[tuple[str, str]]], lang: str) -> dict[str, str]:
    """Write each list as two columns (code, name); return the range of the codes by column key."""
    refs: dict[str, str] = {}
    for position, (key, items) in enumerate(lists.items()):
        code_col, name_col = 2 * position + 1, 2 * position + 2
        sheet.cell(HEADER_ROW, code_col, key).font = BOLD
        sheet.cell(HEADER_ROW, name_col, T["name"].get(lang)).font = BOLD
        for offset, (code, name) in enumerate(items, start=HEADER_ROW + 1):
            sheet.cell(offset, code_col, code).number_format = "@"
            sheet.cell(offset, name_col, name)
        letter = get_column_letter(code_col)
        refs[key] = f"{CODES_SHEET}!${letter}${HEADER_ROW + 1}:${letter}${HEADER_ROW + len(items)}"
        sheet.column_dimensions[letter].width = 14
        sheet.column_dimensions[get_column_letter(name_col)].width = 40
    sheet.sheet_state = "hidden"
    return refs


def _write_data_sheet(sheet: Worksheet, columns: Sequence[ColumnSpec], lang: str) -> None:
    for index, spec in enumerate(columns, start=1):
        label = sheet.cell(HEADER_ROW, index, spec.label.get(lang))
        label.font, label.fill, label.alignment = BOLD, HEADER_FILL, WRAP
        sheet.cell(KEY_ROW, index, spec.key)
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = max(spec.width, _display_width(spec.label.get(lang)) + 2)
        dimension.number_format = spec.number_format
        dimension.protection = Protection(locked=False)
    sheet.row_dimensions[KEY_ROW].hidden = True
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
    _protect(sheet)


def _protect(sheet: Worksheet) -> None:
    """Lock the header rows (cells are locked by default); people may still resize, sort and add rows."""
    protection = sheet.protection
    protection.sheet = True
    if SHEET_PASSWORD:
        protection.password = SHEET_PASSWORD
    for action in ("formatColumns", "formatRows", "insertRows", "deleteRows", "sort", "autoFilter"):
        setattr(protection, action, False)  # False: the action is allowed on a protected sheet


def _display_width(text: str) -> int:
    """Width in Excel characters: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _add_validations(sheet: Worksheet, columns: Sequence[ColumnSpec], lists: Mapping[str, str], lang: str) -> None:
    for index, spec in enumerate(columns, start=1):
        validation = _validation(spec.key, lists, lang)
        if validation is None:
            continue
        letter = get_column_letter(index)
        validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_TEMPLATE_ROW}")
        sheet.add_data_validation(validation)


def _validation(key: str, lists: Mapping[str, str], lang: str) -> DataValidation | None:
    if key in lists:
        return DataValidation(
            type="list", formula1=lists[key], allow_blank=True, showErrorMessage=True, error=T["list_error"].get(lang)
        )
    if key == "period":
        low, high = YEARS
        return DataValidation(
            type="whole",
            operator="between",
            formula1=str(low),
            formula2=str(high),
            allow_blank=True,
            showErrorMessage=True,
            error=T["year_error"].get(lang).format(low=low, high=high),
        )
    if key in NUMERIC_COLUMNS:
        return DataValidation(
            type="decimal",
            operator="between",
            formula1=f"-{NUMBER_LIMIT}",
            formula2=NUMBER_LIMIT,
            allow_blank=True,
            showErrorMessage=True,
            error=T["number_error"].get(lang),
        )
    return None


def _write_instructions(
    sheet: Worksheet,
    columns: Sequence[ColumnSpec],
    indicators: Sequence[Indicator],
    places: Sequence[GeoUnit],
    dimensions: Sequence[Dimension],
    lang: str,
    submitter: str | None,
) -> None:
    def t(key: str, **values: object) -> str:
        return T[key].get(lang).format(data=DATA_SHEET.get(lang), **values)

    sheet.append([t("title")])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=14)
    sheet.append([t("purpose")])
    if submitter:
        sheet.append([t("for", who=submitter)])
    sheet.append([t("version", version=TEMPLATE_VERSION)])
    _section(sheet, t("how"), None)
    for rule in ("rule_rows", "rule_header", "rule_codes", "rule_values"):
        sheet.append([f"• {t(rule)}"])
    _section(sheet, t("columns"), [t("column"), t("required"), t("what")])
    for spec in columns:
        sheet.append([spec.label.get(lang), t("yes") if spec.required else t("no"), spec.help.get(lang)])
    _section(sheet, t("indicators"), [t("code"), t("name"), t("unit"), t("definition")])
    for indicator in indicators:
        unit = UNIT_NAMES[indicator.unit].get(lang)
        sheet.append([indicator.code, indicator.name.get(lang), unit, indicator.definition.get(lang)])
    if places:
        _section(sheet, t("geos"), [t("code"), t("name")])
        for place in places:
            sheet.append([place.code, place.name(lang)])
    _section(sheet, t("natures"), [t("code"), t("meaning")])
    for nature in Nature:
        sheet.append([str(nature), NATURE_NAMES[nature].get(lang)])
    if dimensions:
        _section(sheet, t("dimensions"), [t("dimension"), t("code"), t("name")])
        for dimension in dimensions:
            for code in dimension.codes:
                sheet.append([dimension.name.get(lang), code.id, code.name.get(lang)])
    for letter, width in zip("ABCD", (24, 60, 22, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = WRAP


def _section(sheet: Worksheet, title: str, header: Sequence[str] | None) -> None:
    sheet.append([])
    sheet.append([title])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=12)
    if header:
        sheet.append(list(header))
        for cell in sheet[sheet.max_row]:
            cell.font, cell.fill = BOLD, HEADER_FILL


def _mark(workbook: Workbook, *, lang: str, indicators: Sequence[str], submitter: str | None, kind: str) -> None:
    """Document properties and the custom marker saying this is a habmon workbook."""
    workbook.properties.title = T["doc_title"].get(lang)
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


# -- reading ------------------------------------------------------------------------------------------------------


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


def read_excel(
    path: Path, *, registry: Registry, source_name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> SubmissionTable:
    """Read a habmon template or a foreign .xlsx workbook into a submission table; problems, never exceptions."""
    name = source_name or path.name
    workbook, problems = open_workbook(path, name, max_bytes)
    if workbook is None:
        return _empty(name, problems)
    aliases = dimension_aliases(registry.codelists)
    known = frozenset((*CORE_COLUMNS, *aliases))
    layout = _find_layout(workbook, aliases, known, name)
    if layout is None:
        return _empty(name, [_no_data_sheet(workbook, aliases, name)])
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
            return None, [_too_large(name, f"{size:,} bytes", max_bytes)]
        with path.open("rb") as handle:
            head = handle.read(len(OLE2_MAGIC))
        refused = _refuse_by_signature(head, name)
        if refused is not None:
            return None, [refused]
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_bytes * UNPACKED_FACTOR:
            return None, [_too_large(name, f"{unpacked:,} bytes when unpacked", max_bytes * UNPACKED_FACTOR)]
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


def _too_large(name: str, found: str, limit: int) -> Problem:
    return Problem(
        "too-large",
        expected=f"{limit:,} bytes",
        found=found,
        file=name,
        hint="split the data over several files",
    )


def _worksheets(workbook: Workbook) -> list[Worksheet]:
    return [sheet for sheet in workbook.worksheets if isinstance(sheet, Worksheet)]


def _find_layout(
    workbook: Workbook, aliases: Mapping[str, tuple[str, ...]], known: frozenset[str], file: str
) -> Layout | None:
    """The data sheet: first one with a hidden key row, else first one whose header names the required columns."""
    sheets = _worksheets(workbook)
    for sheet in sheets:
        keys = _key_row(sheet)
        if keys is not None:
            return _layout(sheet, HEADER_ROW, keys, aliases, known, file)
    for sheet in sheets:
        header_row = _header_row(sheet, aliases)
        if header_row is not None:
            return _layout(sheet, header_row, None, aliases, known, file)
    return None


def _row_texts(sheet: Worksheet, row: int) -> list[str | None]:
    values = next(sheet.iter_rows(min_row=row, max_row=row, values_only=True), ())
    return [cell_text(value) for value in values]


def _key_row(sheet: Worksheet) -> list[str | None] | None:
    """Row 2 of a habmon workbook: identifiers only, naming at least the required columns."""
    if sheet.max_row < KEY_ROW:
        return None
    keys = _row_texts(sheet, KEY_ROW)
    present = [key for key in keys if key]
    if present and all(KEY_PATTERN.match(key) for key in present) and set(REQUIRED_COLUMNS) <= set(present):
        return keys
    return None


def _header_row(sheet: Worksheet, aliases: Mapping[str, tuple[str, ...]]) -> int | None:
    for row in range(1, min(sheet.max_row, HEADER_SCAN_ROWS) + 1):
        if not _missing_required(_row_texts(sheet, row), aliases):
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
    labels = _row_texts(sheet, header_row)
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


def _no_data_sheet(workbook: Workbook, aliases: Mapping[str, tuple[str, ...]], file: str) -> Problem:
    """A `missing` problem naming the required columns that the most promising header row lacks."""
    candidates = [
        (_missing_required(_row_texts(sheet, row), aliases), sheet.title, row)
        for sheet in _worksheets(workbook)
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


def _ignored_sheets(workbook: Workbook, layout: Layout, file: str) -> Iterator[Problem]:
    for sheet in _worksheets(workbook):
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
            column=_known_label(layout, merged.min_col),
            hint="unmerge the cells and repeat the value in every row",
        )


def _known_label(layout: Layout, index: int) -> str:
    canonical = layout.columns.get(index)
    return layout.labels[canonical] if canonical else get_column_letter(index)


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
        "column": _known_label(layout, cell.column or 0),
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
    data: dict[str, pd.Series] = {
        column: pd.Series([r.get(column) for r in records], dtype=object) for column in columns
    }
    data[ROW] = pd.Series([r[ROW] for r in records], dtype="int64")
    data[SHEET] = pd.Series([r[SHEET] for r in records], dtype=object)
    return pd.DataFrame(data)


def _empty(name: str, problems: Sequence[Problem]) -> SubmissionTable:
    frame = pd.DataFrame({ROW: pd.Series(dtype="int64")})
    return SubmissionTable(name, "xlsx", frame, {}, None, tuple(problems))


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


# -- annotated workbook -------------------------------------------------------------------------------------------

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
    _mark(workbook, lang="en", indicators=_indicators_in(frame), submitter=None, kind="annotated")
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
        sheet.column_dimensions[get_column_letter(index)].width = max(width, _display_width(label) + 2)
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
        _set_text(sheet.cell(row, index), text).number_format = "@"
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
        _set_text(sheet.cell(row, problems_column), "\n".join(lines)).alignment = WRAP


def _set_text(cell: Cell | MergedCell, text: str) -> Cell | MergedCell:
    """Put text in a cell as text (never a formula, even if it starts with '='), without illegal characters."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"
    return cell


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
                _set_text(cell, value)
            else:
                cell.value = value
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = sheet.dimensions


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
