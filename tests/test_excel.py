"""Excel: the submission template, reading filled and foreign workbooks, the annotated workbook."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from habmon.geo.model import Geography
from habmon.indicators.registry import Registry
from habmon.ingest.files import load_plan, load_registry
from habmon.ingest.formats.excel import (
    ERROR_FILL,
    WARNING_FILL,
    cell_text,
    read_excel,
    template_marker,
    write_annotated_excel,
    write_template,
)
from habmon.ingest.geography import build_geography
from habmon.problems import Problem, Severity
from habmon.submission.table import ROW, SHEET, SubmissionTable
from habmon.submission.validate import validate

INDICATORS = ["11.1.1", "1.4.1"]
GEOS = ["KEN", "ke_nairobi"]
CJK = re.compile(r"[\u3400-\u9fff]")
CORE_LABELS = {
    "en": ["Indicator", "Geography", "Year", "Value", "Numerator", "Denominator", "Unit", "Nature", "Source", "Note"],
    "zh": ["指标", "地理", "年份", "数值", "分子", "分母", "单位", "数据性质", "数据来源", "备注"],
}
DIMENSION_LABELS = {
    "en": ["Sex", "Age", "Urban/rural", "Disability status", "Migratory status", "Income quintile", "Settlement type"],
    "zh": ["性别", "年龄", "城乡", "残疾状况", "移徙状况", "收入五分位", "住区类型"],
}
LABELS = {lang: [*CORE_LABELS[lang], *DIMENSION_LABELS[lang]] for lang in ("en", "zh")}
CORE_KEYS = ["indicator", "geo", "period", "value", "numerator", "denominator", "unit", "nature", "source", "note"]
DIMENSION_KEYS = ["sex", "age", "urbanisation", "disability_status", "migratory_status", "income_quintile"]
KEYS = [*CORE_KEYS, *DIMENSION_KEYS, "settlement_type"]
SHEETS = {"en": ["Instructions", "Data", "Codes"], "zh": ["说明", "数据", "Codes"]}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(load_plan())


@pytest.fixture(scope="module")
def geography() -> Geography:
    geo, _ = build_geography()
    return geo


def make_template(tmp_path: Path, registry: Registry, geography: Geography, lang: str = "en") -> Path:
    path = tmp_path / f"template-{lang}.xlsx"
    write_template(
        path,
        registry=registry,
        geography=geography,
        indicators=INDICATORS,
        geos=GEOS,
        lang=lang,
        submitter="Kenya National Bureau of Statistics",
    )
    return path


def fill(path: Path, rows: dict[int, dict[str, Any]]) -> None:
    """Type values into the data sheet as a person would: by column letter, from row 3."""
    workbook = load_workbook(path)
    sheet = workbook.worksheets[1]
    for row, values in rows.items():
        for letter, value in values.items():
            sheet[f"{letter}{row}"] = value
    workbook.save(path)


def data_sheet(path: Path) -> Worksheet:
    sheet = load_workbook(path).worksheets[1]
    assert isinstance(sheet, Worksheet)
    return sheet


def records(table: SubmissionTable, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: r[c] for c in columns} for r in table.frame.to_dict("records")]


def foreign(path: Path, rows: Sequence[Sequence[Any]], extra: dict[str, Sequence[Sequence[Any]]] | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "Sheet1"
    for row in rows:
        sheet.append(list(row))
    for name, content in (extra or {}).items():
        other = workbook.create_sheet(name)
        for row in content:
            other.append(list(row))
    workbook.save(path)
    return path


FILLED = {
    3: {"A": "11.1.1", "B": "404", "C": 2022, "D": 24.800000000000001, "I": "Census 2019", "K": "F"},
    4: {"A": "11.1.1", "B": "404", "C": 2021.0, "D": 25, "H": "E", "I": "  Census 2019 ", "J": "   "},
    5: {"J": "   ", "K": ""},  # blanks only: skipped
    6: {"A": "1.4.1", "B": "ke_nairobi", "C": 2023, "D": 30.000000000000004, "E": 3, "F": 10, "I": "DHS", "M": "U"},
}
EXPECTED = [
    {"indicator": "11.1.1", "geo": "404", "period": "2022", "value": "24.8", "nature": None, "note": None, "sex": "F"},
    {"indicator": "11.1.1", "geo": "404", "period": "2021", "value": "25", "nature": "E", "note": None, "sex": None},
    {"indicator": "1.4.1", "geo": "ke_nairobi", "period": "2023", "value": "30", "nature": None, "note": None}
    | {"sex": None},
]


# -- template -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_sheets_headers_and_key_row(
    tmp_path: Path, registry: Registry, geography: Geography, lang: str
) -> None:
    path = make_template(tmp_path, registry, geography, lang)
    workbook = load_workbook(path)
    assert workbook.sheetnames == SHEETS[lang]
    assert workbook["Codes"].sheet_state == "hidden"
    sheet = data_sheet(path)
    assert [c.value for c in sheet[1]] == LABELS[lang]
    assert [c.value for c in sheet[2]] == KEYS
    assert sheet.row_dimensions[2].hidden
    assert sheet.freeze_panes == "A3"
    assert sheet.max_row == 2  # nothing pre-filled
    if lang == "zh":
        assert all(CJK.search(str(c.value)) for c in sheet[1])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_is_protected_with_data_cells_unlocked(
    tmp_path: Path, registry: Registry, geography: Geography, lang: str
) -> None:
    sheet = data_sheet(make_template(tmp_path, registry, geography, lang))
    assert sheet.protection.sheet
    assert not sheet.protection.password
    assert all(c.protection.locked for row in (1, 2) for c in sheet[row])
    letters = [get_column_letter(i) for i in range(1, sheet.max_column + 1)]
    assert all(sheet.column_dimensions[letter].protection.locked is False for letter in letters)
    assert sheet.column_dimensions["B"].number_format == "@"  # geo codes stay text: 004 is not 4


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_drop_downs_refer_to_the_codes_sheet(
    tmp_path: Path, registry: Registry, geography: Geography, lang: str
) -> None:
    path = make_template(tmp_path, registry, geography, lang)
    sheet = data_sheet(path)
    codes = load_workbook(path)["Codes"]
    validations = {str(dv.sqref).split(":")[0]: dv for dv in sheet.data_validations.dataValidation}

    def listed(cell: str) -> list[Any]:
        dv = validations[cell]
        assert dv.type == "list"
        assert dv.formula1 is not None
        ref = dv.formula1.removeprefix("Codes!").replace("$", "")
        return [c.value for row in codes[ref] for c in row]

    assert validations["A3"].formula1 == "Codes!$A$2:$A$3"
    assert listed("A3") == INDICATORS
    assert validations["B3"].formula1 == "Codes!$C$2:$C$3"
    assert listed("B3") == ["404", "ke_nairobi"]  # canonical codes of KEN and Nairobi
    assert validations["H3"].formula1 == "Codes!$E$2:$E$6"
    assert listed("H3") == ["C", "CA", "E", "M", "G"]
    assert listed("G3") == ["percent"]
    assert listed("K3") == ["_T", "F", "M"]
    assert listed("L3") == ["_T", "Y0T14", "Y15T24", "Y25T64", "Y_GE65"]
    year = validations["C3"]
    assert (year.type, year.formula1, year.formula2) == ("whole", "1990", "2100")
    assert {validations[c].type for c in ("D3", "E3", "F3")} == {"decimal"}
    names = [codes.cell(row, 2).value for row in (2, 3)]
    assert names == [registry.get(code).name.get(lang) for code in INDICATORS]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_instructions_list_the_indicators_in_the_language(
    tmp_path: Path, registry: Registry, geography: Geography, lang: str
) -> None:
    path = make_template(tmp_path, registry, geography, lang)
    instructions = load_workbook(path).worksheets[0]
    text = "\n".join(str(v) for row in instructions.iter_rows(values_only=True) for v in row if v is not None)
    for code in INDICATORS:
        indicator = registry.get(code)
        assert indicator.name.get(lang) in text
        assert indicator.definition.get(lang) in text
    assert "Kenya National Bureau of Statistics" in text
    assert geography.resolve("KEN").name(lang) in text
    if lang == "en":
        assert "Do not change the header row or the sheet names" in text
        assert "Country data adjusted" in text
        assert "Percent (0–100)" in text
    else:
        assert "请勿更改标题行或工作表名称" in text
        assert "经调整的国家数据" in text
        assert registry.get("11.1.1").name.en not in text


def test_template_marker_and_properties(tmp_path: Path, registry: Registry, geography: Geography) -> None:
    workbook = load_workbook(make_template(tmp_path, registry, geography, "zh"))
    assert workbook.properties.creator == "habmon"
    assert workbook.properties.title
    marker = template_marker(workbook)
    assert marker["habmon_template"] == "1"
    assert marker["habmon_lang"] == "zh"
    assert marker["habmon_indicators"] == "11.1.1,1.4.1"
    assert template_marker(Workbook()) == {}


def test_template_refuses_bad_arguments(tmp_path: Path, registry: Registry, geography: Geography) -> None:
    with pytest.raises(ValueError, match="language"):
        write_template(
            tmp_path / "t.xlsx", registry=registry, geography=geography, indicators=INDICATORS, geos=[], lang="fr"
        )
    with pytest.raises(ValueError, match="at least one indicator"):
        write_template(tmp_path / "t.xlsx", registry=registry, geography=geography, indicators=[], geos=GEOS)


# -- reading a filled template ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_read_filled_template(tmp_path: Path, registry: Registry, geography: Geography, lang: str) -> None:
    path = make_template(tmp_path, registry, geography, lang)
    fill(path, FILLED)
    table = read_excel(path, registry=registry)
    assert table.problems == ()
    assert table.format == "xlsx"
    assert table.source == path.name
    assert records(table, list(EXPECTED[0])) == EXPECTED
    assert table.frame[ROW].tolist() == [3, 4, 6]  # row 5 holds only blanks: skipped
    assert set(table.frame[SHEET]) == {SHEETS[lang][1]}
    assert table.frame["source"].tolist() == ["Census 2019", "Census 2019", "DHS"]
    assert table.frame.loc[2, ["numerator", "denominator", "urbanisation"]].tolist() == ["3", "10", "U"]
    assert table.labels["value"] == ("D (Value)" if lang == "en" else "D (数值)")
    assert table.labels["sex"] == ("K (Sex)" if lang == "en" else "K (性别)")
    assert table.meta["template"]["habmon_lang"] == lang


def test_filled_template_validates(tmp_path: Path, registry: Registry, geography: Geography) -> None:
    path = make_template(tmp_path, registry, geography)
    fill(path, FILLED)
    table = read_excel(path, registry=registry, source_name="kenya.xlsx")
    assert table.source == "kenya.xlsx"
    validated = validate(table, registry=registry, geography=geography)
    assert validated.valid, str(validated.report)
    assert len(validated.frame) == 3


def test_blank_template_reads_as_no_rows(tmp_path: Path, registry: Registry, geography: Geography) -> None:
    table = read_excel(make_template(tmp_path, registry, geography), registry=registry)
    assert table.problems == ()
    assert table.rows == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("   ", None),
        ("  KEN ", "KEN"),
        (24.800000000000001, "24.8"),
        (2022.0, "2022"),
        (2022, "2022"),
        (0.1 + 0.2, "0.3"),
        (1e-7, "0.0000001"),
        (-3.5, "-3.5"),
        (1234567.0, "1234567"),
        (True, "TRUE"),
        (datetime(2022, 1, 1), "2022-01-01"),
        (datetime(2022, 1, 1, 12, 30), "2022-01-01 12:30:00"),
        (date(2021, 6, 30), "2021-06-30"),
    ],
)
def test_cell_text(value: object, text: str | None) -> None:
    assert cell_text(value) == text


# -- foreign workbooks --------------------------------------------------------------------------------------------

HEADER = ["Indicator", "Country", "Year", "Value", "Sex"]
ROWS = [["11.1.1", "KEN", 2020, 27.5, "F"], ["11.1.1", "KEN", 2021, 26.0, None]]


def test_foreign_workbook_with_an_extra_sheet(tmp_path: Path, registry: Registry) -> None:
    path = foreign(
        tmp_path / "foreign.xlsx",
        [HEADER, *ROWS],
        {"Notes": [["prepared by the ministry"]], "Empty": []},
    )
    table = read_excel(path, registry=registry)
    assert records(table, ["indicator", "geo", "period", "value", "sex", ROW, SHEET]) == [
        {"indicator": "11.1.1", "geo": "KEN", "period": "2020", "value": "27.5", "sex": "F", ROW: 2, SHEET: "Sheet1"},
        {"indicator": "11.1.1", "geo": "KEN", "period": "2021", "value": "26", "sex": None, ROW: 3, SHEET: "Sheet1"},
    ]
    assert table.labels["geo"] == "B (Country)"
    [warning] = table.problems
    assert (warning.type, warning.severity, warning.sheet) == ("unknown-field", Severity.WARNING, "Notes")
    assert "ignored" in warning.found


def test_foreign_workbook_with_chinese_headers_under_a_title(tmp_path: Path, registry: Registry) -> None:
    path = foreign(
        tmp_path / "中文.xlsx",
        [["肯尼亚城市数据"], [], ["指标", "地区", "年份", "数值", "性别"], *ROWS],
    )
    workbook = load_workbook(path)
    workbook.active.merge_cells("A1:E1")  # type: ignore[union-attr]  # a merged title is not data
    workbook.save(path)
    table = read_excel(path, registry=registry)
    assert table.problems == ()
    assert table.frame[ROW].tolist() == [4, 5]
    assert table.frame["sex"].tolist() == ["F", None]
    assert table.labels["period"] == "C (年份)"


def test_merged_cells_in_the_data_are_reported(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "merged.xlsx", [HEADER, *ROWS, ["11.1.1", "KEN", 2022, 25.1, "M"]])
    workbook = load_workbook(path)
    workbook.active.merge_cells("B2:B4")  # type: ignore[union-attr]
    workbook.save(path)
    table = read_excel(path, registry=registry)
    [problem] = table.problems
    assert problem.type == "inconsistent"
    assert (problem.sheet, problem.row, problem.column) == ("Sheet1", 2, "B (Country)")
    assert problem.expected == "one value per cell"
    assert "B2:B4" in problem.found
    assert table.frame["geo"].tolist() == ["KEN", None, None]


def test_formulas_are_reported(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "formula.xlsx", [HEADER, *ROWS, ["11.1.1", "KEN", 2022, "=D2*2", None]])
    table = read_excel(path, registry=registry)
    [problem] = table.problems
    assert problem.type == "type"
    assert (problem.sheet, problem.row, problem.column) == ("Sheet1", 4, "D (Value)")
    assert problem.expected == "a value, not a formula"
    assert problem.found == "=D2*2"
    assert table.frame[ROW].tolist() == [2, 3, 4]
    assert table.frame.loc[2, "value"] is None


def test_unknown_header_is_reported(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "unknown.xlsx", [[*HEADER, "Remarks"], [*ROWS[0], "check"]])
    table = read_excel(path, registry=registry)
    [problem] = table.problems
    assert problem.type == "unknown-field"
    assert (problem.sheet, problem.row, problem.column) == ("Sheet1", 1, "F (Remarks)")
    assert "Remarks" in problem.found
    assert problem.hint is not None and "accepted labels" in problem.hint
    assert "Remarks" not in table.frame.columns
    assert table.rows == 1


def test_values_under_an_empty_header_are_reported(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "stray.xlsx", [HEADER, [*ROWS[0], None, "stray"]])
    [problem] = read_excel(path, registry=registry).problems
    assert (problem.type, problem.row, problem.column) == ("unknown-field", 1, "G")
    assert "row 2" in problem.found


def test_duplicate_columns_are_reported(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "dup.xlsx", [[*HEADER, "Year"], [*ROWS[0], 2021]])
    [problem] = read_excel(path, registry=registry).problems
    assert (problem.type, problem.column) == ("duplicate-id", "F (Year)")


def test_missing_required_column(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "missing.xlsx", [["Indicator", "Country", "Year", "Note"], ["11.1.1", "KEN", 2020, "x"]])
    table = read_excel(path, registry=registry)
    [problem] = table.problems
    assert problem.type == "missing"
    assert "value" in problem.expected
    assert "geo" not in problem.expected
    assert (problem.sheet, problem.row) == ("Sheet1", 1)
    assert table.rows == 0


def test_percent_formatted_cells_are_read_as_shown(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "percent.xlsx", [HEADER, ["11.1.1", "KEN", 2020, 0.248, None]])
    workbook = load_workbook(path)
    workbook.active["D2"].number_format = "0.0%"  # type: ignore[index]
    workbook.save(path)
    table = read_excel(path, registry=registry)
    assert table.frame["value"].tolist() == ["24.8"]
    [warning] = table.problems
    assert (warning.type, warning.severity, warning.column) == ("value", Severity.WARNING, "D (Value)")


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [
        ("renamed.xlsx", b"indicator,geo,period,value\n11.1.1,KEN,2020,27.5\n", "not a zip archive"),
        ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 200, "not a readable .xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "Excel 97–2003 (.xls)"),
        ("upload.bin", b"indicator,geo\n", "not a zip archive"),
        ("empty.xlsx", b"", "not a zip archive"),
    ],
)
def test_unreadable_files(tmp_path: Path, registry: Registry, name: str, content: bytes, found: str) -> None:
    table = read_excel(write_bytes(tmp_path / name, content), registry=registry)
    [problem] = table.problems
    assert problem.type == "file-unreadable"
    assert problem.file == name
    assert found in problem.found
    assert table.rows == 0


def test_a_zip_that_is_not_a_workbook(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", "indicator,geo\n")
    [problem] = read_excel(path, registry=registry).problems
    assert (problem.type, problem.file) == ("file-unreadable", "archive.xlsx")


def test_file_over_the_size_limit(tmp_path: Path, registry: Registry) -> None:
    path = foreign(tmp_path / "big.xlsx", [HEADER, *ROWS])
    size = path.stat().st_size
    table = read_excel(path, registry=registry, max_bytes=1000)
    [problem] = table.problems
    assert problem.type == "too-large"
    assert problem.found == f"{size:,} bytes"
    assert problem.expected == "1,000 bytes"
    assert table.rows == 0


def test_missing_file_is_a_problem(tmp_path: Path, registry: Registry) -> None:
    [problem] = read_excel(tmp_path / "nowhere.xlsx", registry=registry).problems
    assert problem.type == "file-unreadable"


# -- annotated workbook -------------------------------------------------------------------------------------------


def test_annotated_workbook(tmp_path: Path, registry: Registry, geography: Geography) -> None:
    path = make_template(tmp_path, registry, geography)
    fill(path, FILLED)
    table = read_excel(path, registry=registry)
    problems = [
        Problem("range", expected="a value from 0 to 100", found="250", sheet="Data", row=4, column="value"),
        Problem("code", expected="a sex code", found="X", row=3, column="K (Sex)", severity=Severity.WARNING),
        Problem("duplicate-row", found="11.1.1 404 2022", row=6),
        Problem("encoding", expected="UTF-8", found="GB18030"),
    ]
    out = tmp_path / "annotated.xlsx"
    write_annotated_excel(out, table, problems, registry=registry)

    workbook = load_workbook(out)
    assert workbook.sheetnames == ["Data", "Problems"]
    sheet = workbook["Data"]
    assert [c.value for c in sheet[1]][:4] == ["Indicator", "Geography", "Year", "Value"]
    assert sheet.cell(1, sheet.max_column).value == "Problems"
    assert sheet.row_dimensions[2].hidden
    value_cell = sheet["D4"]
    assert value_cell.fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert value_cell.comment is not None and "expected a value from 0 to 100, found 250" in value_cell.comment.text
    assert sheet["K3"].fill.fgColor.rgb == WARNING_FILL.fgColor.rgb
    assert sheet["D3"].fill.fill_type is None
    row_notes = {row: str(sheet.cell(row, sheet.max_column).value) for row in (3, 4, 5, 6)}
    assert "Value: expected a value from 0 to 100, found 250" in row_notes[4]
    assert "warning" in row_notes[3]
    assert "the same observation appears again" in row_notes[6]
    assert row_notes[5] == "None"

    listed = list(workbook["Problems"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[5], r[6]) for r in listed] == [
        ("error", "range", 4, "value"),
        ("warning", "code", 3, "K (Sex)"),
        ("error", "duplicate-row", 6, None),
        ("warning", "encoding", None, None),
    ]

    again = read_excel(out, registry=registry)
    assert again.problems == ()
    assert again.frame[ROW].tolist() == table.frame[ROW].tolist()
    columns = [c for c in table.frame.columns if c != SHEET]
    assert records(again, columns) == records(table, columns)


def test_annotated_workbook_of_rows_from_elsewhere(tmp_path: Path, registry: Registry) -> None:
    """Rows numbered as in a CSV (from line 2) follow on from row 3; text stays text."""
    path = foreign(tmp_path / "foreign.xlsx", [[*HEADER, "Note"], [*ROWS[0], "=not a formula"], [*ROWS[1], "ok"]])
    workbook = load_workbook(path)
    workbook.active["F2"].data_type = "s"  # type: ignore[index]
    workbook.save(path)
    table = read_excel(path, registry=registry)
    assert table.frame["note"].tolist() == ["=not a formula", "ok"]
    out = tmp_path / "annotated.xlsx"
    write_annotated_excel(out, table, [Problem("value", expected="x", found="y", row=3, column="D (Value)")])
    listed = list(load_workbook(out)["Problems"].iter_rows(min_row=2, values_only=True))
    assert listed[0][-1] == 4  # CSV-like row 3 is row 4 of the annotated file
    assert load_workbook(out)["Data"]["D4"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    again = read_excel(out, registry=registry)
    assert again.problems == ()
    assert again.frame[ROW].tolist() == [3, 4]
    columns = ["indicator", "geo", "period", "value", "sex", "note"]
    assert records(again, columns) == records(table, columns)
