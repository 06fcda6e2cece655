"""The submission commands, in-process, on each backend: submit → show → approve → publish, templates, audit."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from habmon.cli.main import app

runner = CliRunner()


def cli(url: str, *args: str, user: str = "focal.point") -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, "--user", user, *args])
    return result.exit_code, result.output


def test_submission_workflow_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    assert cli(store_url, "init")[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "indicator,geo,period,value,source\n11.1.1,KEN,2024,abc,KNBS\n11.1.1,ZZZ,2024,30,KNBS\n", encoding="utf-8"
    )
    annotated = tmp_path / "bad-annotated.csv"
    code, output = cli(store_url, "submit", str(bad), "--as", "KNBS", "--json", "--annotated", str(annotated))
    assert code == 2
    report = json.loads(output)["report"]
    assert [(p["row"], p["column"], p["type"]) for p in report["problems"]] == [
        (3, "geo", "code"),
        (2, "value", "type"),
    ]
    text = annotated.read_text(encoding="utf-8-sig")
    assert "expected a number" in text and "code ZZZ is not known" in text

    good = tmp_path / "good.csv"
    good.write_text(
        "indicator,geo,period,value,sex,source\n11.1.1,KEN,2024,36.0,,KNBS\n11.1.1,KEN,2024,37.0,F,KNBS\n"
        "11.1.1,KEN,2024,35.0,M,KNBS\n",
        encoding="utf-8",
    )
    code, output = cli(store_url, "submit", str(good), "--as", "KNBS", "--json")
    assert code == 0, output
    outcome = json.loads(output)
    assert (outcome["submission"], outcome["state"], outcome["changes"]["new"]) == (1, "validated", 3)

    code, output = cli(store_url, "submissions", "show", "1", "--json")
    assert json.loads(output)["rows"] == 3
    code, output = cli(store_url, "data", "series", "--indicator", "11.1.1", "--geo", "KEN", "--json")
    assert json.loads(output)["observations"] == []  # not approved yet
    assert cli(store_url, "submissions", "approve", "1", user="officer")[0] == 0
    public = json.loads(
        cli(store_url, "data", "series", "--indicator", "11.1.1", "--geo", "KEN", "--public", "--json")[1]
    )
    assert public["observations"] == []  # approved, not yet published
    assert cli(store_url, "submissions", "publish", "1", user="officer")[0] == 0
    public = json.loads(
        cli(store_url, "data", "series", "--indicator", "11.1.1", "--geo", "KEN", "--public", "--json")[1]
    )
    assert sorted(o["value"] for o in public["observations"]) == [35.0, 36.0, 37.0]
    code, output = cli(store_url, "submissions", "return", "1", "--comment", "too late")
    assert code == 1 and "cannot return a submission that is published" in output

    events = json.loads(cli(store_url, "audit", "list", "--type", "submission", "--json")[1])
    assert [(e["action"], e["actor"]) for e in events][::-1] == [
        ("submission.submit", "focal.point"),
        ("submission.validate", "focal.point"),
        ("submission.approve", "officer"),
        ("submission.publish", "officer"),
    ]
    exported = tmp_path / "audit.csv"
    assert cli(store_url, "audit", "export", "--out", str(exported))[0] == 0
    assert "submission.publish" in exported.read_text(encoding="utf-8-sig")


def test_template_command_writes_a_chinese_workbook(store_url: str, tmp_path: Path) -> None:
    assert cli(store_url, "init")[0] == 0
    out = tmp_path / "template.xlsx"
    code, output = cli(
        store_url,
        "template",
        "--indicators",
        "11.1.1,11.2.1",
        "--geo",
        "KEN,ke_nairobi",
        "--lang",
        "zh",
        "--out",
        str(out),
        "--submitter",
        "KNBS",
    )
    assert code == 0, output
    workbook = load_workbook(out)
    assert "数据" in workbook.sheetnames and "说明" in workbook.sheetnames
    code, output = cli(store_url, "template", "--indicators", "99.9.9", "--geo", "KEN", "--out", str(out))
    assert code == 1 and "99.9.9" in output
