"""Formats as plugins: the built-in formats and a third-party one (tests/plugins/habmon-jsonl, installed by
``scripts/setup.sh dev``) are found through the entry-point group ``habmon.formats`` and read end to end."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.ingest.formats import registry
from habmon.ingest.formats.csv_long import PLUGIN as CSV
from habmon.ingest.formats.registry import FormatError, Formats, ReadOptions
from habmon.ingest.formats.sdmx import PLUGIN as SDMX
from habmon.services import Monitor
from habmon.submission.service import SubmissionError, Submissions, detect_format
from habmon.submission.table import SubmissionTable
from habmon.submission.workflow import OrganizationType

PLUGIN_HINT = "the example plugin is installed by `scripts/setup.sh dev` (pip install -e tests/plugins/habmon-jsonl)"

KENYA = (
    '{"indicator": "11.1.1", "geo": "KEN", "period": 2024, "value": 38.5, "nature": "C", "source": "KNBS"}\n'
    "\n"
    '{"indicator": "11.1.1", "geo": "KEN", "period": 2024, "value": 39.5, "sex": "F", "source": "KNBS"}\n'
    '{"indicator": "11.1.1", "geo": "KEN", "period": 2024, "value": 37.5, "sex": "M", "source": "KNBS"}\n'
)


def test_every_format_is_registered_through_the_entry_point_group() -> None:
    declared = {point.name: point.value for point in entry_points(group="habmon.formats")}
    assert declared.get("jsonl") == "habmon_jsonl:PLUGIN", PLUGIN_HINT
    assert declared["csv"] == "habmon.ingest.formats.csv_long:PLUGIN"
    assert registry.installed().names == ("csv", "jsonl", "opensdg", "sdmx", "xlsx")


def test_a_plugin_format_is_submitted_approved_and_stored(monitor: Monitor, tmp_path: Path) -> None:
    path = tmp_path / "kenya.jsonl"
    path.write_text(KENYA, encoding="utf-8")
    subs = Submissions(monitor)
    outcome = subs.submit(path, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE)
    assert outcome.report.valid, outcome.report.to_dict()
    assert (outcome.format, outcome.rows, outcome.state) == ("jsonl", 3, "validated")
    assert outcome.changes == {"new": 3, "revised": 0, "unchanged": 0, "older": 0}
    summary = subs.approve(outcome.submission_id or 0)
    assert (summary.new, summary.revised) == (3, 0)
    stored = {
        (o.observation.disaggregation.get("sex", "_T"), o.observation.period, o.observation.value)
        for o in monitor.store.series("11.1.1", "404")
    }
    assert stored == {("_T", 2024, 38.5), ("F", 2024, 39.5), ("M", 2024, 37.5)}


def test_a_plugin_formats_problems_name_the_line(monitor: Monitor, tmp_path: Path) -> None:
    subs = Submissions(monitor)
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"indicator": "11.1.1", "geo": "KEN", "period": 2024, "value": 38.5}\nnot json\n', "utf-8")
    outcome = subs.submit(broken, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE)
    assert outcome.submission_id is None
    assert [(p.file, p.row, p.type) for p in outcome.report.errors] == [("broken.ndjson", 2, "syntax")]
    unknown = tmp_path / "unknown.ndjson"
    unknown.write_text(
        '{"indicator": "11.1.1", "geo": "KEN", "period": 2024, "value": 38.5, "source": "KNBS"}\n'
        '{"indicator": "11.1.1", "geo": "ZZZ", "period": 2024, "value": 30, "source": "KNBS"}\n',
        encoding="utf-8",
    )
    outcome = subs.submit(unknown, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE)
    assert outcome.submission_id is None
    assert [(p.row, p.column, p.type) for p in outcome.report.errors] == [(2, "geo", "code")]


def test_the_command_line_submits_a_plugin_format(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--database", store_url, "init"]).exit_code == 0
    path = tmp_path / "kenya.jsonl"
    path.write_text(KENYA, encoding="utf-8")
    result = runner.invoke(app, ["--database", store_url, "submit", str(path), "--as", "KNBS", "--json"])
    assert result.exit_code == 0, result.output
    assert {k: json.loads(result.output)[k] for k in ("format", "rows", "state")} == {
        "format": "jsonl",
        "rows": 3,
        "state": "validated",
    }


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.jsonl", b"", "jsonl"),
        ("a.json", b'{"indicator": "11.1.1"}\n', "jsonl"),  # text, so CSV would take it, but JSON Lines is surer
        ("a.csv", b"indicator,geo,period,value\n", "csv"),
        ("upload", b"indicator,geo,period,value\n", "csv"),  # no extension
        ("a.dat", "指标,地理,年份,数值\n".encode("gb18030"), "csv"),  # any text file falls back to CSV
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xlsx"),  # so its reader says: save as .xlsx
    ],
)
def test_detection_asks_every_format(tmp_path: Path, name: str, head: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(head)
    assert detect_format(path) == expected


def test_a_file_no_format_reads_is_refused_with_the_formats_tried(monitor: Monitor, tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")
    with pytest.raises(FormatError) as caught:
        Submissions(monitor).submit(path, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE)
    message = str(caught.value)
    assert "no submission format reads scan.pdf" in message
    assert "tried: csv, jsonl, opensdg, sdmx, xlsx" in message
    assert "found .pdf" in message


def test_the_service_reads_only_the_formats_it_is_given(monitor: Monitor, tmp_path: Path) -> None:
    path = tmp_path / "kenya.jsonl"
    path.write_text(KENYA, encoding="utf-8")
    subs = Submissions(monitor, Formats([CSV, SDMX]))
    with pytest.raises(SubmissionError) as caught:
        subs.read(path, fmt="jsonl")
    assert (caught.value.expected, caught.value.found) == ("csv, sdmx", "jsonl")
    assert subs.read(path).format == "csv"  # without the plugin the text file falls back to CSV …
    assert not subs.check(subs.read(path)).report.valid  # … which cannot read it


class Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def detect(self, filename: str, head: bytes) -> float:
        return 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        raise AssertionError("never read")


def test_two_formats_of_one_name_are_refused() -> None:
    with pytest.raises(FormatError, match="two submission formats are named 'csv'"):
        Formats([CSV, Named("csv")])


def test_an_empty_registry_says_how_to_register_formats(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("indicator,geo,period,value\n", encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        Formats([]).detect(path)
    assert "none installed" in str(caught.value) and "habmon.formats" in caught.value.hint
    assert registry.load("habmon.no-such-group").names == ()
