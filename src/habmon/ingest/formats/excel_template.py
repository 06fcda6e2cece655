"""habmon's Excel submission template (the workbook a submitter fills in).

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

The reader (:mod:`habmon.ingest.formats.excel`) reads the filled template back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from habmon.geo.model import Geography, GeoUnit
from habmon.indicators.model import Dimension, Indicator, Unit
from habmon.indicators.registry import Registry
from habmon.ingest.formats.excel_common import (
    BOLD,
    CODES_SHEET,
    CORE_SPECS,
    DATA_SHEET,
    DOC_TITLE,
    FIRST_DATA_ROW,
    HEADER_FILL,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    KEY_ROW,
    NUMERIC_COLUMNS,
    TEMPLATE_VERSION,
    WRAP,
    ColumnSpec,
    display_width,
    mark,
)
from habmon.observation import Nature
from habmon.schema import Text

LANGUAGES = ("en", "zh")
SHEET_PASSWORD: str | None = None  # no password: protection only prevents accidental edits of the header rows
LAST_TEMPLATE_ROW = 10_002  # drop-downs and number checks cover rows 3 … this
YEARS = (1990, 2100)
NUMBER_LIMIT = "1E+300"

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
    "doc_title": DOC_TITLE,
}


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
    mark(workbook, lang=lang, indicators=[i.code for i in chosen], submitter=submitter, kind="template")
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
        dimension.width = max(spec.width, display_width(spec.label.get(lang)) + 2)
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
