"""Geography built from the shipped UNSD/WUP sources: codes, hierarchy, validity, groupings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from habmon.geo.model import Geography, Hierarchy, UnitKind
from habmon.ingest.geography import build_geography, read_engagements
from habmon.problems import NotFound


@pytest.fixture(scope="module")
def geo() -> Geography:
    geography, _ = build_geography()
    return geography


@pytest.mark.parametrize("code", ["KEN", "404", "ken", "KE", " 404 "])
def test_resolve_country_by_any_code(geo: Geography, code: str) -> None:
    unit = geo.resolve(code)
    assert unit.code == "404"
    assert unit.names["en"] == "Kenya"
    assert unit.names["zh"] == "肯尼亚"
    assert set(unit.names) == {"en", "fr", "es", "ru", "zh", "ar"}


def test_resolve_m49_without_leading_zeros(geo: Geography) -> None:
    assert geo.resolve("4").names["en"] == "Afghanistan"
    assert geo.resolve("004").iso3 == "AFG"


def test_unknown_code_says_what_is_expected(geo: Geography) -> None:
    with pytest.raises(NotFound) as info:
        geo.resolve("XYZ")
    assert "XYZ" in str(info.value)
    assert "ISO3" in info.value.expected


def test_sdg_chain_from_city_to_world(geo: Geography) -> None:
    chain = [u.code for u in geo.ancestors("ke_nairobi")]
    assert chain == ["404", "014", "202", "001"]
    assert [u.kind for u in geo.ancestors("ke_nairobi")] == [
        UnitKind.COUNTRY,
        UnitKind.SUBREGION,
        UnitKind.REGION,
        UnitKind.WORLD,
    ]


def test_sdg_regions_are_the_seven_of_the_tree(geo: Geography) -> None:
    regions = {u.code for u in geo.of_kind(UnitKind.REGION)}
    assert regions == {"202", "747", "062", "753", "419", "009", "513"}
    assert geo.units["753"].names["zh"] == "东亚和东南亚"


def test_every_current_country_reaches_the_world_and_one_regional_office(geo: Geography) -> None:
    countries = geo.of_kind(UnitKind.COUNTRY)
    assert len(countries) >= 245
    for country in countries:
        assert geo.ancestors(country.code)[-1].code == "001", country.code
        offices = geo.parents(country.code, Hierarchy.REGIONAL_OFFICE)
        assert len(offices) == 1, (country.code, offices)


@pytest.mark.parametrize(
    ("iso3", "office"),
    [("EGY", "ROAS"), ("KEN", "ROAF"), ("BRA", "ROLAC"), ("IND", "ROAP"), ("FRA", "HQLO"), ("SOM", "ROAS")],
)
def test_regional_office_assignment(geo: Geography, iso3: str, office: str) -> None:
    unit = geo.resolve(iso3)
    assert [u.code for u in geo.parents(unit.code, Hierarchy.REGIONAL_OFFICE)] == [office]


def test_groupings_from_m49_flags(geo: Geography) -> None:
    afghanistan = {u.code for u in geo.groups("004")}
    assert {"199", "432"} <= afghanistan  # LDC and LLDC
    assert "722" in {u.code for u in geo.groups(geo.resolve("FJI").code)}  # SIDS
    # counts of the True flags in the shipped M49 file
    assert len(geo.children("199", Hierarchy.GROUP)) == 44
    assert len(geo.children("432", Hierarchy.GROUP)) == 32
    assert len(geo.children("722", Hierarchy.GROUP)) == 53


def test_hierarchy_change_does_not_rewrite_history(geo: Geography) -> None:
    before = {u.code for u in geo.children("015", at=date(2010, 1, 1))}
    after = {u.code for u in geo.children("015", at=date(2020, 1, 1))}
    assert "736" in before and "729" not in before  # Sudan [former] until 2011-07-08
    assert "729" in after and "736" not in after
    east_africa_2010 = {u.code for u in geo.children("014", at=date(2010, 1, 1))}
    east_africa_2020 = {u.code for u in geo.children("014", at=date(2020, 1, 1))}
    assert "728" not in east_africa_2010 and "728" in east_africa_2020  # South Sudan from 2011-07-09


def test_cities_from_sdg_ids_and_wup(geo: Geography) -> None:
    cities = geo.of_kind(UnitKind.CITY)
    assert len(cities) > 3000
    nairobi = geo.units["ke_nairobi"]
    assert nairobi.latitude == pytest.approx(-1.28, abs=0.05)
    assert nairobi.population is not None and nairobi.population > 4_000_000
    assert geo.resolve("20001").code == "af_herat"  # WUP city code resolves to the SDG city id
    wup_only = [c for c in cities if c.code.startswith("wup-")]
    assert wup_only, "WUP agglomerations without an SDG id are kept as their own units"


def test_build_reports_what_it_skipped() -> None:
    _, report = build_geography()
    assert report.valid
    found = {p.found for p in report}
    assert any("Belgium and Luxembourg" in f for f in found)
    assert all(p.file and p.row for p in report if p.file != "unsd_sdg_cities")


def test_engagement_file_errors_name_row_and_column(geo: Geography, tmp_path: Path) -> None:
    path = tmp_path / "engagements.csv"
    path.write_text(
        "place,start,end,note\n"
        "KEN,2016-01-01,,ok\n"
        "ATLANTIS,2016-01-01,,unknown place\n"
        "TZA,2016-13-01,,bad date\n"
        "UGA,2020-01-01,2019-01-01,ends before it starts\n"
        ",2020-01-01,,no place\n",
        encoding="utf-8",
    )
    engagements, report = read_engagements(path, geo, illustrative=False)
    assert [e.code for e in engagements] == ["404"]
    located = {(p.row, p.column, p.type) for p in report}
    assert located == {(3, "place", "code"), (4, "start", "type"), (5, "end", "inconsistent"), (6, "place", "missing")}
