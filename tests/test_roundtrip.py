"""Done-when of issue #3: the shipped 11.1.1 data export to Open SDG and SDMX-CSV and import back identically."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.services import Monitor
from habmon.submission.service import Submissions

runner = CliRunner()


def published(demo: Monitor) -> dict[tuple[str, int], float]:
    values: dict[tuple[str, int], float] = {}
    for geo in demo.store.geos_with("11.1.1"):
        for item in demo.store.series("11.1.1", geo, public=True):
            values[(item.observation.geo, item.observation.period)] = item.observation.value
    return values


@pytest.mark.parametrize(("command", "target"), [("opensdg", "out"), ("sdmx", "out/11.1.1.csv"), ("sdmx", "out/x.xml")])
def test_export_and_import_back_gives_identical_values(
    demo: Monitor, tmp_path: Path, command: str, target: str
) -> None:
    out = tmp_path / target
    out.parent.mkdir(parents=True, exist_ok=True)
    result = runner.invoke(
        app, ["--database", demo.store.url, "export", command, "--indicator", "11.1.1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    exported = out / "indicator_11-1-1.csv" if command == "opensdg" else out
    subs = Submissions(demo)
    table = subs.read(exported)
    checked = subs.check(table, source="round trip")
    assert checked.report.valid, str(checked.report)
    frame = checked.frame
    back = {(g, int(p)): float(v) for g, p, v in zip(frame["geo"], frame["period"], frame["value"], strict=True)}
    expected = published(demo)
    assert len(expected) == 2121
    assert back == expected
