"""Open SDG data files: export one file per indicator and read them back."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from habmon.indicators.registry import Registry
from habmon.ingest import files
from habmon.ingest.files import load_plan, load_registry
from habmon.ingest.formats.opensdg import indicator_from_file_name, read_opensdg
from habmon.ingest.geography import build_geography
from habmon.ingest.shipped import read_slum_share
from habmon.observation import Nature, Observation
from habmon.problems import Severity
from habmon.publish.opensdg import write_opensdg
from habmon.submission.table import SubmissionTable


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(load_plan())


@pytest.fixture(scope="module")
def slum_share() -> list[Observation]:
    geography, _ = build_geography()
    observations, problems = read_slum_share(files.data_dir() / "sources", geography)
    assert not problems
    return observations


def _disaggregated(geo: str = "404") -> list[Observation]:
    def obs(value: float, **disaggregation: str) -> Observation:
        return Observation("11.1.1", geo, 2020, value, "percent", Nature.C, "KNBS", MappingProxyType(disaggregation))

    return [
        obs(40.0),
        obs(41.5, sex="F"),
        obs(38.5, sex="M"),
        obs(30.0, sex="_T", urbanisation="U"),
        obs(50.0, urbanisation="R"),
        obs(31.25, sex="F", urbanisation="U"),
    ]


def _write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_text(text, encoding=encoding)
    return path


def _rows(table: SubmissionTable, *columns: str) -> list[tuple[Any, ...]]:
    frame = table.frame
    return list(zip(*(frame[c] if c in frame.columns else [None] * len(frame) for c in columns), strict=True))


def _located(table: SubmissionTable) -> set[tuple[str, int | None, str | None]]:
    return {(p.type, p.row, p.column) for p in table.problems}


# --- round trips -------------------------------------------------------------------------------------------


def test_shipped_slum_share_round_trips(registry: Registry, slum_share: list[Observation], tmp_path: Path) -> None:
    (path,) = write_opensdg(slum_share, tmp_path / "data", registry=registry)
    assert path.name == "indicator_11-1-1.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["Year,GeoCode,Value", "2006,004,63.6"]
    table = read_opensdg(path, registry=registry)
    assert table.problems == () and table.format == "opensdg"
    assert table.rows == 2121
    got = sorted((i, g, p, float(v)) for i, g, p, v in _rows(table, "indicator", "geo", "period", "value"))
    assert got == sorted((o.series, o.geo, str(o.period), o.value) for o in slum_share)
    assert list(table.frame["_row"]) == list(range(2, 2123))


def test_disaggregations_round_trip_in_sorted_rows(registry: Registry, tmp_path: Path) -> None:
    (path,) = write_opensdg(_disaggregated(), tmp_path, registry=registry)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "Year,Sex,Urban/rural,Value",
        "2020,,,40",
        "2020,,Urban,30",
        "2020,,Rural,50",
        "2020,Female,,41.5",
        "2020,Female,Urban,31.25",
        "2020,Male,,38.5",
    ]
    table = read_opensdg(path, registry=registry, geo="404")
    assert table.problems == ()
    assert _rows(table, "geo", "sex", "urbanisation", "value") == [
        ("404", None, None, "40"),
        ("404", None, "U", "30"),
        ("404", None, "R", "50"),
        ("404", "F", None, "41.5"),
        ("404", "F", "U", "31.25"),
        ("404", "M", None, "38.5"),
    ]


def test_units_and_geocode_columns_when_they_vary(registry: Registry, tmp_path: Path) -> None:
    observations = [
        *_disaggregated("404")[:2],
        Observation("11.1.1", "032", 2019, 12.0, "number", Nature.E, "INDEC"),
        Observation("UH.OC.A.1", "ke_nairobi", 2024, 3.0, "number", Nature.C, "UN-Habitat"),
    ]
    paths = write_opensdg(observations, tmp_path, registry=registry)
    assert [p.name for p in paths] == ["indicator_11-1-1.csv", "indicator_UH-OC-A-1.csv"]
    assert paths[0].read_text(encoding="utf-8").splitlines() == [
        "Year,Sex,Units,GeoCode,Value",
        "2019,,number,032,12",
        "2020,,percent,404,40",
        "2020,Female,percent,404,41.5",
    ]
    assert paths[1].read_text(encoding="utf-8").splitlines() == ["Year,Value", "2024,3"]
    table = read_opensdg(paths[1], registry=registry, geo="ke_nairobi")
    assert table.problems == () and _rows(table, "indicator", "geo", "value") == [("UH.OC.A.1", "ke_nairobi", "3")]


# --- indicator and geography -------------------------------------------------------------------------------


def test_indicator_from_the_file_name() -> None:
    assert indicator_from_file_name("indicator_11-1-1.csv") == "11.1.1"
    assert indicator_from_file_name("data/indicator_11-a-1.csv") == "11.a.1"
    assert indicator_from_file_name("INDICATOR_UH-OC-E-1.CSV") == "UH.OC.E.1"
    assert indicator_from_file_name("slums.csv") is None


def test_indicator_argument_and_unknown_indicators(registry: Registry, tmp_path: Path) -> None:
    text = "Year,GeoCode,Value\n2020,404,40\n"
    named = read_opensdg(_write(tmp_path, "indicator_6-1-1.csv", text), registry=registry)
    assert named.problems == () and list(named.frame["indicator"]) == ["6.1.1"]
    given = read_opensdg(_write(tmp_path, "upload.csv", text), registry=registry, indicator="11.1.1")
    assert given.problems == () and list(given.frame["indicator"]) == ["11.1.1"]
    (unnamed,) = read_opensdg(tmp_path / "upload.csv", registry=registry).problems
    assert unnamed.type == "missing" and "indicator_11-1-1.csv" in unnamed.expected
    (unknown,) = read_opensdg(_write(tmp_path, "indicator_99-9-9.csv", text), registry=registry).problems
    assert unknown.type == "code" and unknown.found == "99.9.9"


def test_source_name_names_the_indicator(registry: Registry, tmp_path: Path) -> None:
    path = _write(tmp_path, "tmp123.csv", "Year,GeoCode,Value\n2020,404,40\n")
    table = read_opensdg(path, registry=registry, source_name="indicator_7-1-1.csv")
    assert table.problems == () and list(table.frame["indicator"]) == ["7.1.1"]
    assert table.source == "indicator_7-1-1.csv"


def test_geocode_column_and_geo_argument(registry: Registry, tmp_path: Path) -> None:
    path = _write(tmp_path, "indicator_11-1-1.csv", "Year,GeoCode,Value\n2020,404,40\n2020,,41\n")
    table = read_opensdg(path, registry=registry, geo="800")
    assert table.problems == () and list(table.frame["geo"]) == ["404", "800"]
    assert table.labels["geo"] == "GeoCode"


def test_missing_geography_is_a_problem(registry: Registry, tmp_path: Path) -> None:
    table = read_opensdg(_write(tmp_path, "indicator_11-1-1.csv", "Year,Value\n2020,40\n"), registry=registry)
    (problem,) = table.problems
    assert (problem.type, problem.column) == ("missing", "GeoCode")
    assert list(table.frame["geo"]) == [None]


def test_missing_value_column(registry: Registry, tmp_path: Path) -> None:
    path = _write(tmp_path, "indicator_11-1-1.csv", "Year,GeoCode\n2020,404\n")
    table = read_opensdg(path, registry=registry)
    assert _located(table) == {("missing", 1, "Value")} and table.rows == 0


# --- languages, names and problems -------------------------------------------------------------------------


def test_chinese_names_map_to_codes(registry: Registry, tmp_path: Path) -> None:
    text = "Year,性别,城乡,Value\n2020,女性,城市,31.25\n2020,男性,,38.5\n2020,合计,农村,50\n"
    table = read_opensdg(_write(tmp_path, "indicator_11-1-1.csv", text), registry=registry, geo="156")
    assert table.problems == ()
    assert _rows(table, "sex", "urbanisation") == [("F", "U"), ("M", None), (None, "R")]
    assert table.labels["sex"] == "性别"


def test_chinese_export_round_trips(registry: Registry, tmp_path: Path) -> None:
    (path,) = write_opensdg(_disaggregated(), tmp_path, registry=registry, lang="zh")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Year,性别,城乡,Value" and lines[4] == "2020,女性,,41.5"
    table = read_opensdg(path, registry=registry, geo="404")
    assert table.problems == ()
    assert _rows(table, "sex", "urbanisation", "value") == [
        (None, None, "40"),
        (None, "U", "30"),
        (None, "R", "50"),
        ("F", None, "41.5"),
        ("F", "U", "31.25"),
        ("M", None, "38.5"),
    ]


def test_columns_by_id_or_sdmx_concept_and_values_by_code(registry: Registry, tmp_path: Path) -> None:
    text = "year,SEX,urbanisation,INCOME_WEALTH_QUANTILE,value\n2020,f,U,Q1,1\n2020,_T,r,Poorest 20%,2\n"
    table = read_opensdg(_write(tmp_path, "indicator_6-1-1.csv", text), registry=registry, geo="404")
    assert table.problems == ()
    assert _rows(table, "sex", "urbanisation", "income_quintile") == [("F", "U", "Q1"), (None, "R", "Q1")]


def test_unknown_column_and_value_are_located(registry: Registry, tmp_path: Path) -> None:
    text = "Year,Sex,Colour,Value\n2020,Female,red,1\n2020,Unknown,blue,2\n"
    table = read_opensdg(_write(tmp_path, "indicator_11-1-1.csv", text), registry=registry, geo="404")
    assert _located(table) == {("unknown-field", 1, "Colour"), ("code", 3, "Sex")}
    assert list(table.frame["sex"]) == ["F", "Unknown"] and "Colour" not in table.frame.columns


def test_series_column_is_checked_and_ignored(registry: Registry, tmp_path: Path) -> None:
    text = "Year,Series,GeoCode,Value\n2020,EN_LND_SLUM,404,40\n2021,SP_ACS_BSRVH2O,404,41\n2022,SP_ACS_BSRVH2O,404,4\n"
    table = read_opensdg(_write(tmp_path, "indicator_11-1-1.csv", text), registry=registry)
    (problem,) = table.problems
    assert (problem.type, problem.row, problem.column, problem.severity) == (
        "inconsistent",
        3,
        "Series",
        Severity.WARNING,
    )
    assert table.rows == 3 and "Series" not in table.frame.columns


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_with_or_without_bom(encoding: str, registry: Registry, tmp_path: Path) -> None:
    path = _write(tmp_path, "indicator_11-1-1.csv", "Year,性别,Value\n2020,女性,1\n", encoding=encoding)
    table = read_opensdg(path, registry=registry, geo="156")
    assert table.problems == () and table.encoding == encoding
    assert _rows(table, "period", "sex", "value") == [("2020", "F", "1")]


def test_file_over_the_limit_is_refused(registry: Registry, tmp_path: Path) -> None:
    path = _write(tmp_path, "indicator_11-1-1.csv", "Year,GeoCode,Value\n" + "2020,404,40\n" * 100)
    (problem,) = read_opensdg(path, registry=registry, max_bytes=100).problems
    assert problem.type == "too-large"
