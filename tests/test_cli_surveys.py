"""``habmon surveys``: synthetic → add → compute (table and JSON) → compute --submit → show → list;
bad input exits 2 with the problem report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.surveys.compute import compute
from habmon.surveys.design import LonelyPSU
from habmon.surveys.microdata import Microdata, read_microdata
from habmon.surveys.recipe import load_recipe

runner = CliRunner()


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args])
    return result.exit_code, result.output


def test_surveys_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    assert cli(store_url, "init")[0] == 0
    hr = tmp_path / "hr.dta"
    code, output = cli(store_url, "surveys", "synthetic", str(hr), "--households", "1500", "--seed", "4")
    assert code == 0 and "SYNTHETIC" in output
    add = ["surveys", "add", str(hr), "--name", "SYN-DHS", "--country", "KEN", "--fieldwork", "2024-2025"]
    code, output = cli(store_url, *add, "--source", "SYNTHETIC", "--access", "open", "--json")
    assert code == 0, output
    assert json.loads(output)["records"] == 1500
    code, output = cli(store_url, "surveys", "compute", "SYN-DHS", "--file", str(hr), "--indicator", "11.1.1", "--json")
    assert code == 2 and json.loads(output)["error"]["problems"][0]["type"] == "survey-lonely-psu"
    args = ["surveys", "compute", "SYN-DHS", "--file", str(hr), "--indicator", "11.1.1", "--by", "urban,region"]
    code, output = cli(store_url, *args, "--lonely-psu", "adjust", "--json")
    assert code == 0, output
    found = json.loads(output)
    data = read_microdata(hr)
    assert isinstance(data, Microdata)
    direct = compute(data.frame, load_recipe("11.1.1"), by=("urban", "region"), lonely_psu=LonelyPSU.ADJUST)
    assert [e["se"] for e in found["estimates"]] == [r.se for r in direct.rows]
    assert found["domain"] == "urban" and found["estimates"][0]["groups"] == {}  # the total: urban households
    code, output = cli(store_url, *args, "--lonely-psu", "remove")
    assert code == 0 and "urban=1, region=1" in output and "95% CI" in output
    code, output = cli(store_url, "surveys", "compute", "SYN-DHS", "--file", str(hr), "--indicator", "7.1.1",
                       "--by", "urban", "--lonely-psu", "average", "--submit", "--json")  # fmt: skip
    assert code == 0, output
    submitted = json.loads(output)
    assert submitted["submission"]["rows"] == 3 and submitted["not_submitted"] == []  # total, U, R
    code, output = cli(store_url, "surveys", "show", "SYN-DHS", "--json")
    assert code == 0 and [c["indicator"] for c in json.loads(output)["computations"]] == ["11.1.1", "11.1.1", "7.1.1"]
    code, output = cli(store_url, "surveys", "list")
    assert code == 0 and "SYN-DHS" in output
