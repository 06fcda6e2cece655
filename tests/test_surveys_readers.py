"""Survey microdata formats are plugins found through the entry-point group ``habmon.microdata`` (habmon's own
declared in pyproject.toml like a third party's); an unknown suffix is a problem naming the formats there are."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from habmon.problems import Report
from habmon.surveys import readers
from habmon.surveys.microdata import Microdata, read_microdata


def test_the_built_in_formats_come_through_the_entry_point_group() -> None:
    found = readers.microdata_formats()
    assert {suffix: plugin.name for suffix, plugin in found.items()} == {
        ".csv": "csv",
        ".dta": "dta",
        ".parquet": "parquet",
        ".sav": "sav",
    }
    names = {p.name for p in readers.entry_points(group=readers.ENTRY_POINT_GROUP)}
    assert {"csv", "dta", "parquet", "sav"} <= names


def test_an_unknown_suffix_names_the_registered_formats(tmp_path: Path) -> None:
    path = tmp_path / "hr.xlsx"
    path.write_bytes(b"not a survey")
    read = read_microdata(path)
    assert isinstance(read, Report)
    (problem,) = read.problems
    assert (problem.expected, problem.found, problem.file) == ("a .csv, .dta, .parquet, .sav file", ".xlsx", "hr.xlsx")


def test_a_third_party_format_is_read_like_a_built_in_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Tsv:
        name = "tsv"
        suffixes = (".tsv",)

        def read(self, path: Path) -> tuple[pd.DataFrame, dict[str, dict[int, str]]]:
            return pd.read_csv(path, sep="\t"), {"HV025": {1: "urban", 2: "rural"}}

    plugin = Tsv()
    points = [*readers.entry_points(group=readers.ENTRY_POINT_GROUP), _point("tsv", plugin)]
    _registered(monkeypatch, points)
    path = tmp_path / "hr.tsv"
    path.write_text("HV025\tHV005\n1\t1000000\n2\t2000000\n")
    read = read_microdata(path)
    assert isinstance(read, Microdata)
    assert (read.format, list(read.frame.columns), read.labels) == (
        "tsv",
        ["hv025", "hv005"],
        {"hv025": {1: "urban", 2: "rural"}},
    )


def test_a_broken_plugin_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    _registered(monkeypatch, [_point("broken", object())])
    with pytest.raises(readers.MicrodataFormatError) as refused:
        readers.microdata_formats()
    assert "'broken'" in str(refused.value) and refused.value.found == "object"


def _point(name: str, plugin: object) -> Any:
    class Point(EntryPoint):
        def load(self) -> Any:
            return plugin

    return Point(name, f"tests:{name}", readers.ENTRY_POINT_GROUP)


def _registered(monkeypatch: pytest.MonkeyPatch, points: list[Any]) -> None:
    monkeypatch.setattr(readers, "entry_points", lambda group: points)
    readers.microdata_formats.cache_clear()  # and again after the test (below): others see the installed formats


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    readers.microdata_formats.cache_clear()
    yield
    readers.microdata_formats.cache_clear()
