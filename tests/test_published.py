"""Our aggregates against the values UN-Habitat published for the world, SDG regions, LDCs and SIDS (SDG 11.1.1)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.engine.published import compare_published
from habmon.geo.model import UnitKind
from habmon.ingest.files import data_dir
from habmon.ingest.geography import build_geography
from habmon.ingest.shipped import PUBLISHED_AGGREGATE_CODES, PUBLISHED_AGGREGATES_FILE, read_published_aggregates
from habmon.services import Monitor

runner = CliRunner()

AGREES_WITHIN = 0.15  # percentage points: what the shipped data meet where the country table is complete (2022)
# Complete country tables whose published 2022 value we do not reproduce (docs/engine.md): pinned, so a change
# in the data or the engine shows up here and the documentation is revisited.
KNOWN_2022_DIFFERENCES = {"419": 1.95, "753": -1.73}


def test_every_published_row_is_mapped_by_the_explicit_table() -> None:
    geography, _ = build_geography()
    values, problems = read_published_aggregates(geography)
    assert problems == [] and len(values) == 230  # 10 aggregates × 2000–2022
    assert {v.geo for v in values} == set(PUBLISHED_AGGREGATE_CODES.values())
    kinds = {geography.units[code].kind for code in PUBLISHED_AGGREGATE_CODES.values()}
    assert kinds == {UnitKind.WORLD, UnitKind.REGION, UnitKind.SUBREGION, UnitKind.GROUP}
    world = {v.year: v.value for v in values if v.geo == "001"}
    assert (world[2015], world[2022]) == (24.95, 24.76)


def test_an_unknown_aggregate_is_reported_not_dropped(tmp_path: Path) -> None:
    shutil.copy(data_dir() / "sources" / PUBLISHED_AGGREGATES_FILE, tmp_path / PUBLISHED_AGGREGATES_FILE)
    with (tmp_path / PUBLISHED_AGGREGATES_FILE).open("a", encoding="utf-8") as handle:
        handle.write("Oceania (excluding Australia and New Zealand) (UN),,2022,23.1\n")
    values, problems = read_published_aggregates(build_geography()[0], sources=tmp_path)
    assert len(values) == 230
    (problem,) = problems
    assert (problem.type, problem.row, problem.column) == ("unmatched-entity", 232, "Entity")
    assert problem.found.startswith("Oceania (excluding")


def test_published_regional_values_where_the_country_table_is_complete(demo: Monitor) -> None:
    rows, report = compare_published(demo, "11.1.1")
    assert len(report) == 0 and len(rows) == 230
    table = {(r.geo, r.year): r for r in rows}

    world = table[("001", 2022)]
    assert (world.published, world.complete) == (24.76, True)
    assert world.value == pytest.approx(24.78, abs=0.005) and world.difference == pytest.approx(0.02, abs=0.005)
    # own-value coverage written out: urban population of countries with a 2022 value / of all countries
    stored = demo.store.current_frame(["11.1.1", "POP.URBAN"], public=True)
    countries = {c.code for c in demo.geography().of_kind(UnitKind.COUNTRY, at=date(2022, 12, 31))}
    stored = stored[(stored["disaggregation_key"] == "") & (stored["period"] == 2022) & stored["geo"].isin(countries)]
    urban = stored[stored["series"] == "POP.URBAN"].set_index("geo")["value"]
    reporting = set(stored.loc[stored["series"] == "11.1.1", "geo"])
    assert world.own_coverage == pytest.approx(urban[urban.index.isin(reporting)].sum() / urban.sum(), rel=1e-9)

    odd = table[("753", 2001)]  # published (interpolated); no country has an own value in 2001
    assert (odd.own_coverage, odd.complete, odd.imputed_units) == (0.0, False, 11)
    json.dumps([r.to_dict() for r in rows], allow_nan=False)  # valid JSON: no NaN coverage

    latest = {geo: r for (geo, year), r in table.items() if year == 2022}
    complete = {geo for geo, r in latest.items() if r.complete}
    assert complete == {"001", "053", "062", "199", "202", "419", "747", "753"}
    assert not latest["513"].complete and not latest["722"].complete  # 93 % and 86 %: not asserted
    for geo in sorted(complete):
        difference = latest[geo].difference
        assert difference is not None
        if geo in KNOWN_2022_DIFFERENCES:
            assert difference == pytest.approx(KNOWN_2022_DIFFERENCES[geo], abs=0.01), geo
        else:
            assert abs(difference) <= AGREES_WITHIN, geo


def test_aggregate_command_puts_the_published_value_beside_ours(demo: Monitor) -> None:
    args = ["--database", demo.store.url, "aggregate", "--indicator", "11.1.1", "--year", "2022", "--level", "region"]
    result = runner.invoke(app, [*args, "--compare-published", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["geo"]: r for r in json.loads(result.output)}
    africa = rows["202"]["published"]
    assert africa["value"] == 53.55 and africa["difference"] == pytest.approx(-0.03, abs=0.005) and africa["complete"]
    assert rows["009"]["published"] is None  # Oceania as a whole is not in the published file
    text = runner.invoke(app, [*args, "--compare-published"])
    assert text.exit_code == 0 and "53.55" in text.output and "-0.03" in text.output
