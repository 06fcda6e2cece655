"""The shipped real data, loaded into each backend, matches its source files."""

from __future__ import annotations

import csv

from habmon.ingest.files import data_dir
from habmon.observation import Nature
from habmon.services import Monitor

SOURCES = data_dir() / "sources"


def _kenya_slum_rows() -> dict[int, float]:
    with (SOURCES / "sdg_11_1_1_slum_share_by_country.csv").open(encoding="utf-8") as handle:
        return {int(r["Year"]): float(r[list(r)[3]]) for r in csv.DictReader(handle) if r["Code"] == "KEN"}


def test_kenya_slum_share_equals_the_source_rows(demo: Monitor) -> None:
    series = demo.series("11.1.1", "KEN")
    stored = {o.observation.period: o.observation.value for o in series.observations}
    assert stored == _kenya_slum_rows()
    assert len(stored) >= 5
    first = series.observations[0]
    assert first.revision == 1
    assert first.batch_file == "data/sources/sdg_11_1_1_slum_share_by_country.csv"
    assert first.observation.nature == Nature.G and "EN_LND_SLUM" in first.observation.source


def test_every_slum_row_of_the_source_is_stored(demo: Monitor) -> None:
    with (SOURCES / "sdg_11_1_1_slum_share_by_country.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    summary = {r["series"]: r for r in demo.store.series_summary()}
    assert summary["11.1.1"]["rows"] == len(rows) == 2121
    assert summary["11.1.1"]["places"] == len({r["Code"] for r in rows})


def test_world_urban_population_from_wup(demo: Monitor) -> None:
    world = {o.observation.period: o.observation.value for o in demo.store.series("POP.URBAN", "001")}
    assert world[2018] == 4_219_816_960  # WUP 2018, File 19
    kenya = {o.observation.period: o.observation for o in demo.store.series("POP.URBAN", "404")}
    assert kenya[2050].nature == Nature.M and kenya[2015].nature == Nature.E


def test_city_series_keep_the_source_nature(demo: Monitor) -> None:
    nairobi = demo.series("11.2.1", "ke_nairobi").observations
    assert nairobi and all(o.observation.unit == "percent" for o in nairobi)
    with (
        SOURCES / "unsd_sdg_cities" / "ddf--datapoints--sp_trn_publ--by--cities--custom_breakdown--geo_area--nature"
        "--units--year.csv"
    ).open(encoding="utf-8") as handle:
        expected = {
            int(r["year"]): float(r["sp_trn_publ"]) for r in csv.DictReader(handle) if r["cities"] == "ke_nairobi"
        }
    assert {o.observation.period: o.observation.value for o in nairobi} == expected


def test_loading_the_shipped_data_again_changes_nothing(demo: Monitor) -> None:
    before = demo.store.observation_count(current_only=False)
    steps = demo.load_shipped()
    assert not any(s.created for s in steps)
    assert demo.store.observation_count(current_only=False) == before
    assert all("0 new, 0 revised" in s.detail for s in steps)


def test_init_twice_stores_one_version_of_everything(demo: Monitor) -> None:
    steps = demo.init()
    assert [s.created for s in steps] == [False, False, False, False]
    assert len(demo.store.plan_versions()) == 1
