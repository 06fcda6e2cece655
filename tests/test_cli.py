"""The CLI, run in-process against a loaded store on each backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.ingest.files import default_plan_file
from habmon.services import Monitor

runner = CliRunner()


def run(demo: Monitor, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", demo.store.url, *args])
    return result.exit_code, result.output


def run_json(demo: Monitor, *args: str) -> object:
    code, output = run(demo, *args, "--json")
    assert code == 0, output
    return json.loads(output)


def test_plan_show_json_has_focus_areas_means_and_outcomes_in_both_languages(demo: Monitor) -> None:
    plan = run_json(demo, "plan", "show")
    assert isinstance(plan, dict)
    assert plan["strategic_focus"]["statement"]["zh"] and plan["strategic_focus"]["statement"]["en"]
    assert len(plan["impact_areas"]) == 3
    means = plan["means_of_implementation"]
    assert [m["kind"] for m in means].count("substantive") == 2
    assert [m["kind"] for m in means].count("enabling") == 3
    for m in means:
        assert m["outcome"]["statement"]["zh"] and m["outcome"]["statement"]["en"] and m["outcome"]["paragraphs"]


def test_plan_show_in_chinese(demo: Monitor) -> None:
    code, output = run(demo, "plan", "show", "--lang", "zh")
    assert code == 0
    assert "适当住房" in output


def test_plan_validate_lists_every_error(demo: Monitor, tmp_path: Path) -> None:
    doc = yaml.safe_load(default_plan_file().read_text(encoding="utf-8"))
    del doc["means_of_implementation"][3]["outcome"]["statement"]["en"]
    doc["impact_areas"][0]["paragraphs"] = [999]
    doc["means_of_implementation"][0]["kind"] = "primary"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, output = run(demo, "plan", "validate", str(broken), "--json")
    assert code == 2
    report = json.loads(output)
    assert report["errors"] == 2  # structure first; paragraph range is checked once the structure is sound
    paths = {p["path"] for p in report["problems"]}
    assert paths == {"means_of_implementation[3].outcome.statement.en", "means_of_implementation[0].kind"}
    code, output = run(demo, "plan", "validate", str(default_plan_file()))
    assert code == 0 and "valid" in output


def test_plan_diff_between_two_files(demo: Monitor, tmp_path: Path) -> None:
    doc = yaml.safe_load(default_plan_file().read_text(encoding="utf-8"))
    doc["plan"]["version"] = "2026-2029.draft-2"
    doc["means_of_implementation"][4]["outcome"]["statement"]["en"] = "More predictable resources."
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    diff = run_json(demo, "plan", "diff", str(default_plan_file()), str(new))
    assert isinstance(diff, dict)
    assert [(c["kind"], c["path"]) for c in diff["changes"]] == [
        ("changed", "means_of_implementation[MI-E].outcome.statement.en"),
        ("changed", "plan.version"),
    ]


def test_indicators_list_json_has_every_field(demo: Monitor) -> None:
    items = run_json(demo, "indicators", "list")
    assert isinstance(items, list) and len(items) >= 30
    fields = {
        "code",
        "status",
        "name",
        "definition",
        "level",
        "measures",
        "unit",
        "direction",
        "disaggregations",
        "references",
        "baseline",
        "targets",
        "data_sources",
        "means_of_verification",
        "collection",
        "appraisal",
        "aggregation",
    }
    for item in items:
        assert fields <= set(item), item["code"]


def test_indicators_show_and_unknown_code(demo: Monitor) -> None:
    code, output = run(demo, "indicators", "show", "11.1.1")
    assert code == 0 and "24.8" in output
    code, output = run(demo, "indicators", "show", "99.9.9")
    assert code == 1 and "99.9.9" in output and "habmon indicators list" in output


def test_indicators_appraise_table_and_json(demo: Monitor) -> None:
    code, output = run(demo, "indicators", "appraise")
    assert code == 0 and "appraisal against para 98" in output
    rows = run_json(demo, "indicators", "appraise")
    assert isinstance(rows, list)
    assert all(set(r["ratings"]) == set("abcdef") for r in rows)
    weak = [r for r in rows if r["weak"]]
    assert all(r["reasons"] for r in weak)


@pytest.mark.parametrize("code", ["KEN", "404", "KE"])
def test_geo_show_by_any_code(demo: Monitor, code: str) -> None:
    unit = run_json(demo, "geo", "show", code)
    assert isinstance(unit, dict)
    assert unit["code"] == "404" and unit["names"]["zh"] == "肯尼亚"
    assert [p["code"] for p in unit["parents"]] == ["014", "202", "001"]
    assert unit["unhabitat_engagement"]["illustrative"] is True


def test_geo_show_city(demo: Monitor) -> None:
    unit = run_json(demo, "geo", "show", "ke_nairobi")
    assert isinstance(unit, dict) and unit["kind"] == "city" and unit["parents"][0]["code"] == "404"


def test_data_series_returns_kenyas_published_values_with_provenance(demo: Monitor) -> None:
    series = run_json(demo, "data", "series", "--indicator", "11.1.1", "--geo", "KEN")
    assert isinstance(series, dict)
    assert series["geo"]["iso3"] == "KEN"
    values = {o["period"]: o["value"] for o in series["observations"]}
    assert (values[2000], values[2018], values[2022]) == (63.18, 50.81, 40.5)  # the published EN_LND_SLUM values
    provenance = series["observations"][0]["provenance"]
    assert provenance["file"].endswith("sdg_11_1_1_slum_share_by_country.csv")
    assert provenance["recorded_by"] == "test"


def test_unknown_geography_is_a_clear_error(demo: Monitor) -> None:
    code, output = run(demo, "data", "series", "--indicator", "11.1.1", "--geo", "ATLANTIS")
    assert code == 1
    assert "ATLANTIS" in output and "ISO3" in output


def test_audit_list_shows_the_loads(demo: Monitor) -> None:
    events = run_json(demo, "audit", "list")
    assert isinstance(events, list)
    assert {"plan.load", "registry.load", "geography.load", "observations.record"} <= {e["action"] for e in events}


def test_engagement_list_import_and_errors(store_url: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["--database", store_url, "init"]).exit_code == 0
    good = tmp_path / "places.csv"
    good.write_text(
        "place,start,end,note\nKEN,2020-01-01,,country office\nBRA,2019-05-01,2023-12-31,\n", encoding="utf-8"
    )
    result = runner.invoke(
        app, ["--database", store_url, "geo", "engagements", "--import", str(good), "--name", "2026 portfolio"]
    )
    assert result.exit_code == 0 and "2 places" in result.output
    listing = json.loads(runner.invoke(app, ["--database", store_url, "geo", "engagements", "--json"]).output)
    assert listing["list"]["name"] == "2026 portfolio" and listing["list"]["illustrative"] is False
    assert [(p["code"], p["end"]) for p in listing["places"]] == [("404", None), ("076", "2023-12-31")]
    bad = tmp_path / "bad.csv"
    bad.write_text("place,start,end,note\nKEN,yesterday,,\n", encoding="utf-8")
    result = runner.invoke(app, ["--database", store_url, "geo", "engagements", "--import", str(bad), "--json"])
    assert result.exit_code == 2
    problem = json.loads(result.output)["error"]["problems"][0]
    assert (problem["row"], problem["column"], problem["found"]) == (2, "start", "yesterday")
    listing = json.loads(runner.invoke(app, ["--database", store_url, "geo", "engagements", "--json"]).output)
    assert listing["list"]["name"] == "2026 portfolio"  # the refused file changed nothing


def test_demo_command_on_a_fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HABMON_HOME", str(tmp_path))
    monkeypatch.delenv("HABMON_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "observations in the store" in result.output
    assert (tmp_path / "habmon.sqlite3").exists()


def test_command_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--database", f"sqlite:///{tmp_path / 'empty.sqlite3'}", "plan", "show"])
    assert result.exit_code == 1
    assert "habmon init" in result.output


def test_trend_bar_is_proportional() -> None:
    from habmon.cli.main import bar

    assert bar(50, 100, width=24) == "█" * 12
    assert bar(100, 100, width=4) == "████"
    assert bar(1, 8, width=1) == "▏"
    assert bar(0, 100) == "" and bar(5, 0) == ""
