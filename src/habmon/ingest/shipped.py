"""Observations from the public data shipped with habmon (``data/sources``).

Each reader returns the observations and a report: a source row that cannot be
placed in the geography is reported (with file, line and column), never dropped
silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from habmon.geo.model import Geography
from habmon.ingest.files import data_dir, read_csv_rows, read_yaml
from habmon.ingest.geography import NO_CITY, m49
from habmon.observation import Nature, Observation
from habmon.problems import NotFound, Problem, Report

SLUM_FILE = "sdg_11_1_1_slum_share_by_country.csv"
WUP_POPULATION_FILE = "wup2018_urban_rural_population_1950_2050.csv"
WUP_CITIES_FILE = "wup2018_urban_agglomerations_300k_2020.csv"
CITY_DIR = "unsd_sdg_cities"

SOURCE_SLUM = "UN-Habitat / UN SDG Global Database, series EN_LND_SLUM (via Our World in Data)"
SOURCE_WUP = "UN DESA, World Urbanization Prospects 2018"
SOURCE_SDG_CITIES = "UN SDG Global Database, city series {series} (via open-numbers ddf--unstats--sdg_indicators)"

DDF_NATURE = {"c": Nature.C, "ca": Nature.CA, "e": Nature.E, "m": Nature.M, "g": Nature.G}


@dataclass(frozen=True, slots=True)
class ShippedDataset:
    name: str
    file: str
    read: Callable[[Path, Geography], tuple[list[Observation], list[Problem]]]
    vintage: str  # the release of the source (habmon.vintage): loading it again never overrides a newer one


def _number(text: str, *, file: str, line: int, column: str, problems: list[Problem]) -> float | None:
    try:
        return float(text)
    except ValueError:
        problems.append(Problem("type", expected="a number", found=repr(text), file=file, row=line, column=column))
        return None


def read_slum_share(sources: Path, geography: Geography) -> tuple[list[Observation], list[Problem]]:
    path = sources / SLUM_FILE
    problems: list[Problem] = []
    out: list[Observation] = []
    value_column = "11.1.1 - Proportion of urban population living in slums (%) - EN_LND_SLUM"
    for line, row in read_csv_rows(path):
        try:
            unit = geography.resolve(row["Code"])
        except NotFound:
            problems.append(
                Problem(
                    "unmatched-entity",
                    expected="an ISO3 code of the geography",
                    found=f"{row['Entity']} ({row['Code']})",
                    file=SLUM_FILE,
                    row=line,
                    column="Code",
                )
            )
            continue
        value = _number(row[value_column], file=SLUM_FILE, line=line, column=value_column, problems=problems)
        year = _number(row["Year"], file=SLUM_FILE, line=line, column="Year", problems=problems)
        if value is None or year is None:
            continue
        out.append(Observation("11.1.1", unit.code, int(year), value, "percent", Nature.G, SOURCE_SLUM))
    return out, problems


def read_wup_population(sources: Path, geography: Geography) -> tuple[list[Observation], list[Problem]]:
    path = sources / WUP_POPULATION_FILE
    names_doc, problems = read_yaml(data_dir() / "geography" / "wup_names.yaml")
    aliases: dict[str, str] = (names_doc or {}).get("names", {})
    not_units: set[str] = set((names_doc or {}).get("not_units", []))
    by_name = {u.name("en"): u.code for u in geography.units.values()}
    urban_col = "Urban population 1950-2050 (UN World Urbanization Prospects 2018)"
    rural_col = "Rural population 1950-2050 (UN World Urbanization Prospects 2018)"
    out: list[Observation] = []
    reported: set[str] = set()
    claimed: dict[str, str] = {}
    for line, row in read_csv_rows(path):
        entity = row["Entity"]
        code = m49(aliases[entity]) if entity in aliases else by_name.get(entity)
        if code is None or code not in geography.units:
            if entity not in reported:
                reported.add(entity)
                reason = "a grouping habmon does not hold" if entity in not_units else "no unit of that name"
                problems.append(
                    Problem(
                        "unmatched-entity",
                        expected="a unit of the SDG geography",
                        found=f"{entity} ({reason}; all its rows skipped)",
                        file=WUP_POPULATION_FILE,
                        row=line,
                        column="Entity",
                    )
                )
            continue
        if claimed.setdefault(code, entity) != entity:
            if entity not in reported:
                reported.add(entity)
                problems.append(
                    Problem(
                        "inconsistent",
                        expected=f"one source entity per unit ({code} is already {claimed[code]!r})",
                        found=f"{entity} (all its rows skipped)",
                        file=WUP_POPULATION_FILE,
                        row=line,
                        column="Entity",
                    )
                )
            continue
        year = int(row["Year"])
        nature = Nature.E if year <= 2018 else Nature.M  # WUP 2018: estimates to 2018, projections after
        values: dict[str, float] = {}
        for series, column in (("POP.URBAN", urban_col), ("POP.RURAL", rural_col)):
            value = _number(row[column], file=WUP_POPULATION_FILE, line=line, column=column, problems=problems)
            if value is not None:
                values[series] = value
                out.append(Observation(series, code, year, value, "persons", nature, SOURCE_WUP))
        if len(values) == 2:
            out.append(
                Observation(
                    "POP.TOTAL",
                    code,
                    year,
                    values["POP.URBAN"] + values["POP.RURAL"],
                    "persons",
                    nature,
                    SOURCE_WUP,
                    note="urban + rural",
                )
            )
    return out, problems


def read_wup_agglomerations(sources: Path, geography: Geography) -> tuple[list[Observation], list[Problem]]:
    problems: list[Problem] = []
    out: list[Observation] = []
    for line, row in read_csv_rows(sources / WUP_CITIES_FILE):
        try:
            unit = geography.resolve(row["City Code"])
        except NotFound:
            problems.append(
                Problem(
                    "unmatched-entity",
                    expected="a city of the geography",
                    found=f"{row['Urban Agglomeration']} ({row['City Code']})",
                    file=WUP_CITIES_FILE,
                    row=line,
                    column="City Code",
                )
            )
            continue
        text = row["2020"].replace(" ", "").replace("\u00a0", "")
        value = _number(text, file=WUP_CITIES_FILE, line=line, column="2020", problems=problems)
        if value is not None:
            out.append(
                Observation(
                    "POP.AGGLOMERATION", unit.code, 2020, value * 1000, "persons", Nature.M, SOURCE_WUP + " (File 22)"
                )
            )
    return out, problems


CITY_SERIES = {  # ddf file concept → (indicator code, SDG series code)
    "sp_trn_publ": ("11.2.1", "SP_TRN_PUBL"),
    "en_lnd_cnspop": ("11.3.1", "EN_LND_CNSPOP"),
    "en_urb_opensp": ("11.7.1", "EN_URB_OPENSP"),
}


def read_sdg_cities(sources: Path, geography: Geography) -> tuple[list[Observation], list[Problem]]:
    problems: list[Problem] = []
    out: list[Observation] = []
    for path in sorted((sources / CITY_DIR).glob("ddf--datapoints--*.csv")):
        concept = next((c for c in CITY_SERIES if f"--{c}--" in path.name), None)
        if concept is None:
            continue
        indicator, series = CITY_SERIES[concept]
        name = f"{CITY_DIR}/{path.name}"
        for line, row in read_csv_rows(path):
            national = row["cities"] == NO_CITY
            geo = m49(row["geo_area"]) if national else row["cities"]
            if geo not in geography.units:
                problems.append(
                    Problem(
                        "unmatched-entity",
                        expected="a UN SDG city id of the geography",
                        found=row["cities"],
                        file=name,
                        row=line,
                        column="cities",
                    )
                )
                continue
            nature = DDF_NATURE.get(row["nature"].lower())
            if nature is None:
                problems.append(
                    Problem(
                        "code",
                        expected=f"a nature code ({', '.join(DDF_NATURE)})",
                        found=row["nature"],
                        file=name,
                        row=line,
                        column="nature",
                    )
                )
                continue
            value = _number(row[concept], file=name, line=line, column=concept, problems=problems)
            if value is None:
                continue
            out.append(
                Observation(
                    indicator,
                    geo,
                    int(row["year"]),
                    value,
                    row["units"],
                    nature,
                    SOURCE_SDG_CITIES.format(series=series),
                    note="national value (city id 'nociti' in the source)" if national else None,
                )
            )
    return out, problems


PUBLISHED_AGGREGATES_FILE = "sdg_11_1_1_published_aggregates.csv"
# The aggregates in the Our World in Data export, by the M49 code of the same aggregate: an explicit
# table, not a match on names (OWID's "(UN)" suffix, "LDCs", "SIDS" spell them their own way).
PUBLISHED_AGGREGATE_CODES: dict[str, str] = {
    "World": "001",
    "Sub-Saharan Africa (UN)": "202",
    "Northern Africa and Western Asia (UN)": "747",
    "Central and Southern Asia (UN)": "062",
    "Eastern and South-Eastern Asia (UN)": "753",
    "Latin America and the Caribbean (UN)": "419",
    "Europe and Northern America (UN)": "513",
    "Australia and New Zealand (UN)": "053",
    "Least Developed Countries (LDCs)": "199",
    "Small Island Developing States (SIDS)": "722",
}


@dataclass(frozen=True, slots=True)
class PublishedValue:
    """A value of an aggregate as published by its custodian (not stored: it is what habmon is checked against)."""

    series: str
    entity: str  # the name in the source file
    geo: str  # M49 code of the aggregate
    year: int
    value: float
    line: int


def read_published_aggregates(
    geography: Geography, sources: Path | None = None
) -> tuple[list[PublishedValue], list[Problem]]:
    """The published world, regional and group values of SDG 11.1.1 (see PROVENANCE.md)."""
    path = (sources or data_dir() / "sources") / PUBLISHED_AGGREGATES_FILE
    value_column = "11.1.1 - Proportion of urban population living in slums (%) - EN_LND_SLUM"
    problems: list[Problem] = []
    out: list[PublishedValue] = []
    for line, row in read_csv_rows(path):
        code = PUBLISHED_AGGREGATE_CODES.get(row["Entity"])
        if code is None or code not in geography.units:
            problems.append(
                Problem(
                    "unmatched-entity",
                    expected=f"one of the aggregates in PUBLISHED_AGGREGATE_CODES ({len(PUBLISHED_AGGREGATE_CODES)})",
                    found=row["Entity"],
                    file=PUBLISHED_AGGREGATES_FILE,
                    row=line,
                    column="Entity",
                )
            )
            continue
        value = _number(
            row[value_column], file=PUBLISHED_AGGREGATES_FILE, line=line, column=value_column, problems=problems
        )
        year = _number(row["Year"], file=PUBLISHED_AGGREGATES_FILE, line=line, column="Year", problems=problems)
        if value is None or year is None:
            continue
        out.append(PublishedValue("11.1.1", row["Entity"], code, int(year), value, line))
    return out, problems


# Vintages (see PROVENANCE.md): WUP by its revision; the SDG Global Database exports carry no release date in
# the copies shipped, so they are dated by their newest year of data. Migration 0012 dates stored batches alike.
SHIPPED: tuple[ShippedDataset, ...] = (
    ShippedDataset("WUP 2018 urban and rural population", WUP_POPULATION_FILE, read_wup_population, "2018"),
    ShippedDataset("WUP 2018 urban agglomerations, 2020", WUP_CITIES_FILE, read_wup_agglomerations, "2018"),
    ShippedDataset("SDG 11.1.1 slum share by country", SLUM_FILE, read_slum_share, "2022"),
    ShippedDataset("SDG 11.2.1 / 11.3.1 / 11.7.1 by city", CITY_DIR, read_sdg_cities, "2022"),
)


def iter_shipped(
    geography: Geography, sources: Path | None = None
) -> Iterator[tuple[ShippedDataset, list[Observation], Report]]:
    base = sources or data_dir() / "sources"
    for dataset in SHIPPED:
        observations, problems = dataset.read(base, geography)
        yield dataset, observations, Report.of(problems)
