"""SDMX-CSV and SDMX-ML: export, read back, and refuse what must be refused."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import sdmx

from habmon.indicators.registry import Registry
from habmon.ingest import files
from habmon.ingest.files import load_plan, load_registry
from habmon.ingest.formats.sdmx import read_sdmx
from habmon.ingest.geography import build_geography
from habmon.ingest.shipped import read_slum_share
from habmon.observation import Nature, Observation
from habmon.problems import Severity
from habmon.publish.sdmx import write_sdmx_csv, write_sdmx_ml
from habmon.submission.table import SubmissionTable

WRITERS = {"sdmx-csv": (write_sdmx_csv, "export.csv"), "sdmx-ml": (write_sdmx_ml, "export.xml")}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(load_plan())


@pytest.fixture(scope="module")
def slum_share() -> list[Observation]:
    geography, _ = build_geography()
    observations, problems = read_slum_share(files.data_dir() / "sources", geography)
    assert not problems
    return observations


def _export(fmt: str, observations: Sequence[Observation], directory: Path, registry: Registry) -> Path:
    write, name = WRITERS[fmt]
    path = directory / name
    write(observations, path, registry=registry)
    return path


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in order, blank (None) cells first."""
    return sorted(rows, key=lambda row: tuple((cell is not None, cell) for cell in row))


def _cells(table: SubmissionTable, *columns: str) -> list[tuple[Any, ...]]:
    frame = table.frame
    return _sorted(list(zip(*(frame[c] if c in frame.columns else [None] * len(frame) for c in columns), strict=True)))


def _disaggregated() -> list[Observation]:
    def obs(value: float, **disaggregation: str) -> Observation:
        return Observation("11.1.1", "404", 2020, value, "percent", Nature.C, "KNBS", MappingProxyType(disaggregation))

    return [
        obs(40.0),
        obs(41.5, sex="F"),
        obs(38.5, sex="M"),
        obs(30.0, sex="_T", urbanisation="U"),
        obs(50.0, urbanisation="R"),
        obs(31.25, sex="F", urbanisation="U"),
    ]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- round trips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_shipped_slum_share_round_trips(
    fmt: str, registry: Registry, slum_share: list[Observation], tmp_path: Path
) -> None:
    table = read_sdmx(_export(fmt, slum_share, tmp_path, registry), registry=registry)
    assert table.format == fmt
    assert table.problems == ()
    assert table.rows == len(slum_share) == 2121
    got = sorted((i, g, p, float(v)) for i, g, p, v in _cells(table, "indicator", "geo", "period", "value"))
    assert got == sorted((o.series, o.geo, str(o.period), o.value) for o in slum_share)
    assert set(table.frame["unit"]) == {"percent"} and set(table.frame["nature"]) == {"G"}
    assert sorted(table.frame["_row"]) == list(range(2, 2123) if fmt == "sdmx-csv" else range(1, 2122))


def test_sdmx_csv_header_follows_sdmx_csv_1(registry: Registry, slum_share: list[Observation], tmp_path: Path) -> None:
    lines = _export("sdmx-csv", slum_share, tmp_path, registry).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,NATURE,INDICATOR,SOURCE_DETAIL"
    assert lines[1].startswith("UNSD:DF_SDG_GLH(1.0),EN_LND_SLUM,004,2006,63.6,PT,G,11.1.1,")


def test_sdmx_ml_export_is_read_by_sdmx1(registry: Registry, slum_share: list[Observation], tmp_path: Path) -> None:
    message = sdmx.read_sdmx(_export("sdmx-ml", slum_share, tmp_path, registry))
    (data_set,) = message.data
    assert len(data_set.obs) == 2121
    kenya = {o.key["TIME_PERIOD"].value: float(o.value) for o in data_set.obs if o.key["REF_AREA"].value == "404"}
    assert kenya == {str(o.period): o.value for o in slum_share if o.geo == "404"}
    assert {o.attrib["INDICATOR"].value for o in data_set.obs} == {"11.1.1"}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_disaggregations_round_trip(fmt: str, registry: Registry, tmp_path: Path) -> None:
    table = read_sdmx(_export(fmt, _disaggregated(), tmp_path, registry), registry=registry)
    assert table.problems == ()
    expected = [("F", "U", "31.25"), ("F", None, "41.5"), ("M", None, "38.5"), (None, "U", "30"), (None, "R", "50")]
    assert _cells(table, "sex", "urbanisation", "value") == _sorted([(None, None, "40"), *expected])
    assert table.labels["sex"] == "SEX" and table.labels["urbanisation"] == "URBANISATION"


def test_sdmx_csv_writes_total_codes(registry: Registry, tmp_path: Path) -> None:
    lines = _export("sdmx-csv", _disaggregated(), tmp_path, registry).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,SEX,URBANISATION,OBS_VALUE,")
    assert lines[1].startswith("UNSD:DF_SDG_GLH(1.0),EN_LND_SLUM,404,2020,_T,_T,40,PT,C,11.1.1,KNBS")
    assert lines[6].startswith("UNSD:DF_SDG_GLH(1.0),EN_LND_SLUM,404,2020,F,U,31.25,")


# --- safety ------------------------------------------------------------------------------------------------

XXE = """<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<mes:StructureSpecificData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">
  <mes:DataSet><Obs SERIES="EN_LND_SLUM" REF_AREA="&xxe;" TIME_PERIOD="2020" OBS_VALUE="1"/></mes:DataSet>
</mes:StructureSpecificData>
"""
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n  <!ENTITY lol0 "lol">\n'
    + "".join(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    + "]>\n<lolz>&lol9;</lolz>\n"
)
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE data SYSTEM "http://example.org/evil.dtd">\n<data/>\n'


@pytest.mark.parametrize("text", [XXE, LAUGHS, EXTERNAL_DTD], ids=["xxe", "billion-laughs", "external-dtd"])
def test_doctype_is_refused_before_reading(text: str, registry: Registry, tmp_path: Path) -> None:
    table = read_sdmx(_write(tmp_path, "evil.xml", text), registry=registry)
    (problem,) = table.problems
    assert problem.type == "file-unreadable" and problem.row == 2
    assert "DOCTYPE" in problem.found and "XXE" in str(problem.hint)
    assert table.rows == 0 and table.format == "sdmx-ml"
    assert "root:" not in str(problem)


def test_file_over_the_limit_is_refused(registry: Registry, slum_share: list[Observation], tmp_path: Path) -> None:
    path = _export("sdmx-csv", slum_share, tmp_path, registry)
    size = path.stat().st_size
    table = read_sdmx(path, registry=registry, max_bytes=10_000)
    (problem,) = table.problems
    assert problem.type == "too-large" and problem.found == f"{size:,} bytes" and problem.expected == "10,000 bytes"
    assert table.rows == 0


def test_malformed_xml_is_a_syntax_problem_with_its_line(registry: Registry, tmp_path: Path) -> None:
    text = '<?xml version="1.0"?>\n<mes:GenericData xmlns:mes="m">\n  <mes:DataSet>\n  </mes:Data>\n'
    (problem,) = read_sdmx(_write(tmp_path, "bad.xml", text), registry=registry).problems
    assert problem.type == "syntax" and problem.row == 4 and "mismatched tag" in problem.found


def test_text_that_is_not_sdmx(registry: Registry, tmp_path: Path) -> None:
    (problem,) = read_sdmx(_write(tmp_path, "x.csv", "country,year\nKenya,2020\n"), registry=registry).problems
    assert problem.type == "syntax" and problem.row == 1


def test_xml_that_is_not_a_data_message(registry: Registry, tmp_path: Path) -> None:
    (problem,) = read_sdmx(_write(tmp_path, "x.xml", "<html><body/></html>"), registry=registry).problems
    assert problem.type == "syntax" and "html" in problem.found


# --- mapping problems --------------------------------------------------------------------------------------

HEADER = "DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,SEX,OBS_VALUE,UNIT_MEASURE,NATURE"


def test_unknown_series_concept_and_code_are_located(registry: Registry, tmp_path: Path) -> None:
    text = "\n".join(
        [
            f"{HEADER},FOO,OBS_STATUS",
            "UNSD:DF_SDG_GLH(1.0),EN_LND_SLUM,404,2020,F,41.5,PT,C,x,A",
            "UNSD:DF_SDG_GLH(1.0),XX_NOT_A_SERIES,404,2020,_T,40,PT,C,x,A",
            "UNSD:DF_SDG_GLH(1.0),EN_LND_SLUM,404,2020,X,39,PT,C,x,A",
        ]
    )
    table = read_sdmx(_write(tmp_path, "s.csv", text), registry=registry)
    found = {(p.type, p.row, p.column, p.severity) for p in table.problems}
    assert found == {
        ("unknown-field", 2, "FOO", Severity.ERROR),
        ("unknown-field", 2, "OBS_STATUS", Severity.WARNING),
        ("code", 3, "SERIES", Severity.ERROR),
        ("code", 4, "SEX", Severity.ERROR),
    }
    assert list(table.frame["indicator"]) == ["11.1.1", "XX_NOT_A_SERIES", "11.1.1"]
    assert list(table.frame["sex"]) == ["F", None, "X"]
    assert "FOO" not in table.frame.columns


def test_unknown_code_in_sdmx_ml_is_located_by_observation(registry: Registry, tmp_path: Path) -> None:
    text = """<?xml version="1.0" encoding="utf-8"?>
<mes:StructureSpecificData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">
  <mes:Header><mes:ID>T</mes:ID><mes:Structure structureID="S" dimensionAtObservation="TIME_PERIOD"/></mes:Header>
  <mes:DataSet structureRef="S">
    <Series SERIES="EN_LND_SLUM" REF_AREA="404" SEX="F"><Obs TIME_PERIOD="2018" OBS_VALUE="1"/></Series>
    <Series SERIES="EN_LND_SLUM" REF_AREA="404" SEX="Q"><Obs TIME_PERIOD="2019" OBS_VALUE="2"/></Series>
  </mes:DataSet>
</mes:StructureSpecificData>
"""
    table = read_sdmx(_write(tmp_path, "s.xml", text), registry=registry)
    (problem,) = table.problems
    assert (problem.type, problem.row, problem.column, problem.found) == ("code", 2, "SEX", "Q")


def test_generic_data_message(registry: Registry, tmp_path: Path) -> None:
    text = """<?xml version="1.0" encoding="utf-8"?>
<mes:GenericData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
    xmlns:gen="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic">
  <mes:Header><mes:ID>T</mes:ID><mes:Structure structureID="S" dimensionAtObservation="TIME_PERIOD"/></mes:Header>
  <mes:DataSet>
    <gen:Attributes><gen:Value id="NATURE" value="C"/></gen:Attributes>
    <gen:Series>
      <gen:SeriesKey>
        <gen:Value id="SERIES" value="EN_LND_SLUM"/><gen:Value id="REF_AREA" value="404"/>
        <gen:Value id="URBANISATION" value="U"/>
      </gen:SeriesKey>
      <gen:Attributes><gen:Value id="UNIT_MEASURE" value="PT"/></gen:Attributes>
      <gen:Obs>
        <gen:ObsDimension value="2020"/><gen:ObsValue value="30.5"/>
        <gen:Attributes><gen:Value id="COMMENT_OBS" value="census"/></gen:Attributes>
      </gen:Obs>
      <gen:Obs><gen:ObsDimension value="2022"/><gen:ObsValue value="29"/></gen:Obs>
    </gen:Series>
  </mes:DataSet>
</mes:GenericData>
"""
    table = read_sdmx(_write(tmp_path, "g.xml", text), registry=registry)
    assert table.problems == ()
    columns = ("_row", "indicator", "geo", "period", "value", "unit", "nature", "urbanisation", "note")
    assert _cells(table, *columns) == [
        (1, "11.1.1", "404", "2020", "30.5", "percent", "C", "U", "census"),
        (2, "11.1.1", "404", "2022", "29", "percent", "C", "U", None),
    ]


def test_concepts_read_only_when_neutral(registry: Registry, tmp_path: Path) -> None:
    text = f"{HEADER},FREQ,UNIT_MULT\nD,EN_LND_SLUM,404,2020,_T,40,PT,C,A,0\nD,EN_LND_SLUM,404,2021,_T,4,PT,C,A,3\n"
    (problem,) = read_sdmx(_write(tmp_path, "n.csv", text), registry=registry).problems
    assert (problem.type, problem.row, problem.column, problem.found) == ("value", 3, "UNIT_MULT", "3")


def test_indicator_column_must_agree_with_series(registry: Registry, tmp_path: Path) -> None:
    text = f"{HEADER},INDICATOR\nD,EN_LND_SLUM,404,2020,_T,40,PT,C,11.1.1\nD,EN_LND_SLUM,404,2020,_T,40,PT,C,6.1.1\n"
    table = read_sdmx(_write(tmp_path, "i.csv", text), registry=registry)
    (problem,) = table.problems
    assert (problem.type, problem.row, problem.column) == ("inconsistent", 3, "SERIES")
    assert list(table.frame["indicator"]) == ["11.1.1", "6.1.1"] and table.labels["indicator"] == "INDICATOR"


def test_sdmx_csv_with_labels_and_bom(registry: Registry, tmp_path: Path) -> None:
    text = "\ufeffDATAFLOW,SERIES: Series,REF_AREA: Area,TIME_PERIOD: Time,SEX: Sex,OBS_VALUE: Value\n"
    text += "UNSD:DF_SDG_GLH(1.0),EN_LND_SLUM: Slums,404: Kenya,2020,F: Female,41.5\n"
    table = read_sdmx(_write(tmp_path, "l.csv", text), registry=registry)
    assert table.problems == () and table.encoding == "utf-8-sig"
    assert _cells(table, "indicator", "geo", "period", "sex", "value") == [("11.1.1", "404", "2020", "F", "41.5")]


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_parts_note_and_units_round_trip(fmt: str, registry: Registry, tmp_path: Path) -> None:
    observations = [
        Observation("11.1.1", "404", 2022, 45.5, "percent", Nature.E, "KNBS", numerator=91.0, denominator=200.0),
        Observation("UH.IMP.2", "404", 2024, 1_250_000.0, "persons", Nature.C, "State Dept", note="provisional"),
        Observation("POP.URBAN", "404", 2020, 15_000_000.0, "persons", Nature.M, "WUP 2018"),
    ]
    table = read_sdmx(_export(fmt, observations, tmp_path, registry), registry=registry)
    assert table.problems == ()
    columns = ("indicator", "value", "numerator", "denominator", "unit", "nature", "source", "note")
    assert _cells(table, *columns) == _sorted(
        [
            ("11.1.1", "45.5", "91", "200", "percent", "E", "KNBS", None),
            ("UH.IMP.2", "1250000", None, None, "persons", "C", "State Dept", "provisional"),
            ("POP.URBAN", "15000000", None, None, "persons", "M", "WUP 2018", None),
        ]
    )


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_no_observations(fmt: str, registry: Registry, tmp_path: Path) -> None:
    table = read_sdmx(_export(fmt, [], tmp_path, registry), registry=registry)
    assert table.problems == () and table.rows == 0
