"""Build the geography from the shipped public sources and habmon's curated files.

Sources (see ``data/sources/PROVENANCE.md``): UNSD M49 mapping (names in six languages,
LDC/LLDC/SIDS flags), the SDG regions tree, WUP 2018 urban agglomerations, and the
UN SDG city ids of the city datasets. Curated files (``data/geography``) add region
names, historical units, UN-Habitat regional offices and the engagement list.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from habmon.geo.model import (
    LANGUAGES,
    Alias,
    AliasScheme,
    Engagement,
    Geography,
    GeoUnit,
    Hierarchy,
    Membership,
    UnitKind,
    Validity,
)
from habmon.ingest.files import data_dir, read_csv_rows, read_yaml
from habmon.problems import NotFound, Problem, Report

GEOGRAPHY_VERSION = "m49-sdg-2024+wup2018"
GEOGRAPHY_AS_OF = date(2024, 12, 31)
WORLD = "001"

GROUPS = {  # M49 code of the grouping → flag column in the M49 mapping
    "199": "isLDC",
    "432": "isLLDC",
    "722": "isSIDS",
}
GROUP_NAMES = {
    "199": {"en": "Least Developed Countries (LDC)", "zh": "最不发达国家"},
    "432": {"en": "Landlocked Developing Countries (LLDC)", "zh": "内陆发展中国家"},
    "722": {"en": "Small Island Developing States (SIDS)", "zh": "小岛屿发展中国家"},
}
CITY_FILES = "unsd_sdg_cities"
NO_CITY = "nociti"  # the SDG city datasets' id for a national value (no city)


def m49(code: str | int) -> str:
    """Normalise an M49 code to its three-digit form ('4' → '004'); longer codes pass unchanged."""
    text = str(code).strip()
    return text.zfill(3) if text.isdigit() else text


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits only, for matching names across sources."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


@dataclass
class _Builder:
    units: dict[str, GeoUnit] = field(default_factory=dict)
    memberships: list[Membership] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, unit: GeoUnit) -> None:
        self.units[unit.code] = unit

    def link(self, parent: str, child: str, hierarchy: Hierarchy, validity: Validity | None = None) -> None:
        self.memberships.append(Membership(parent, child, hierarchy, validity or Validity()))

    def alias(self, scheme: AliasScheme, value: str | None, code: str) -> None:
        if value:
            self.aliases.append(Alias(scheme, value, code))

    def unmatched(
        self,
        found: str,
        *,
        file: str,
        expected: str = "a country of the SDG tree",
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Report a source row that names a place the geography does not hold (it is left out, not guessed)."""
        self.problems.append(
            Problem("unmatched-entity", expected=expected, found=found, file=file, row=row, column=column, hint=hint)
        )


def build_geography(sources: Path | None = None, curated: Path | None = None) -> tuple[Geography, Report]:
    """The geography and the report of source rows it could not place (cached: the result is immutable)."""
    return _build(sources or data_dir() / "sources", curated or data_dir() / "geography")


@functools.lru_cache(maxsize=4)
def _build(sources: Path, curated: Path) -> tuple[Geography, Report]:
    b = _Builder()
    m49_rows = {m49(row["m49"]): (line, row) for line, row in read_csv_rows(sources / "unsd_m49_mapping.csv")}
    extra_names, problems = read_yaml(curated / "sdg_regions.yaml")
    b.problems += problems
    _sdg_tree(b, sources / "unsd_sdg_regions_tree.csv", m49_rows, extra_names or {})
    _groups(b, m49_rows, sources / "unsd_m49_mapping.csv")
    _history(b, curated / "history.yaml")
    _regional_offices(b, curated / "regional_offices.yaml")
    _cities(b, sources)
    geography = Geography.build(GEOGRAPHY_VERSION, GEOGRAPHY_AS_OF, b.units.values(), b.memberships, b.aliases)
    return geography, Report.of(b.problems)


def _names(row: dict[str, str] | None, fallback_en: str) -> dict[str, str]:
    if row is None:
        return {"en": fallback_en}
    names = {lang: row.get(f"name{lang.upper()}", "").strip() for lang in LANGUAGES}
    names = {k: v for k, v in names.items() if v}
    names.setdefault("en", fallback_en)
    return names


def _sdg_tree(b: _Builder, path: Path, m49_rows: dict[str, tuple[int, dict[str, str]]], extra: dict[str, Any]) -> None:
    b.add(GeoUnit(WORLD, UnitKind.WORLD, _names(m49_rows.get(WORLD, (0, None))[1], "World"), m49=WORLD))
    b.alias(AliasScheme.M49, WORLD, WORLD)
    rows = list(read_csv_rows(path))
    parent_of: dict[str, str] = {}
    for line, row in rows:
        code, parent = m49(row["Area_Code_M49"]), m49(row["Region_Code"])
        if row["Type"] == "Other areas":
            b.unmatched(
                f"{row['Area']} ({code})",
                expected="a country, area or region",
                file=path.name,
                row=line,
                column="Type",
                hint="statistical grouping of the SDG tree; not held as a unit",
            )
            continue
        if row["Type"] != "Region" and not row["isoAlpha3"]:
            b.unmatched(
                f"{row['Area']} ({code})",
                expected="a country or area with an ISO3 code",
                file=path.name,
                row=line,
                column="isoAlpha3",
                hint="sub-national statistical area; its parent country is held instead",
            )
            continue
        parent_of[code] = parent
        source_row = m49_rows.get(code, (0, None))[1]
        names = _names(source_row, row["Area"].strip())
        names.update({k: v for k, v in (extra.get(code) or {}).items() if k not in names or k == "zh"})
        kind = UnitKind.COUNTRY if row["Type"] != "Region" else UnitKind.REGION
        b.add(
            GeoUnit(
                code,
                kind,
                names,
                m49=code,
                iso2=(source_row or {}).get("isoAlpha2") or None,
                iso3=row["isoAlpha3"] or None,
            )
        )
        b.alias(AliasScheme.M49, code, code)
        b.alias(AliasScheme.ISO3, row["isoAlpha3"], code)
        b.alias(AliasScheme.ISO2, (source_row or {}).get("isoAlpha2"), code)
    for child, parent in parent_of.items():
        b.link(parent, child, Hierarchy.SDG)
    # depth below the world decides region / sub-region / intermediate
    for code, unit in list(b.units.items()):
        if unit.kind != UnitKind.REGION:
            continue
        depth, current = 0, code
        while current in parent_of:
            depth, current = depth + 1, parent_of[current]
        kind = {1: UnitKind.REGION, 2: UnitKind.SUBREGION}.get(depth, UnitKind.INTERMEDIATE)
        b.add(GeoUnit(code, kind, unit.names, m49=code))


def _groups(b: _Builder, m49_rows: dict[str, tuple[int, dict[str, str]]], path: Path) -> None:
    for code, column in GROUPS.items():
        names = dict(GROUP_NAMES[code])
        source = m49_rows.get(code, (0, None))[1]
        if source is not None:
            names = {**_names(source, names["en"]), "zh": names["zh"]}
        b.add(GeoUnit(code, UnitKind.GROUP, names, m49=code))
        b.alias(AliasScheme.M49, code, code)
        for child, (line, row) in m49_rows.items():
            if row.get(column) != "True":
                continue
            if child not in b.units:
                b.unmatched(child, file=path.name, row=line, column=column)
                continue
            b.link(code, child, Hierarchy.GROUP)


def _history(b: _Builder, path: Path) -> None:
    entries, problems = read_yaml(path)
    b.problems += problems
    for entry in entries or []:
        code = m49(entry["code"])
        valid_to: date = entry["valid_to"]
        b.add(
            GeoUnit(
                code,
                UnitKind.COUNTRY,
                dict(entry["names"]),
                m49=code,
                validity=Validity(None, valid_to),
                note="former country or area",
            )
        )
        b.alias(AliasScheme.M49, code, code)
        b.link(m49(entry["parent"]), code, Hierarchy.SDG, Validity(None, valid_to))
        for successor in entry["successors"]:
            unit = b.units.get(m49(successor))
            if unit is None:
                b.problems.append(
                    Problem(
                        "unknown-reference",
                        expected="a country of the SDG tree",
                        found=str(successor),
                        file=path.name,
                        path=f"{code}.successors",
                    )
                )
                continue
            b.add(
                GeoUnit(
                    unit.code,
                    unit.kind,
                    unit.names,
                    unit.m49,
                    unit.iso2,
                    unit.iso3,
                    validity=Validity(valid_to + timedelta(days=1), None),
                )
            )


def _regional_offices(b: _Builder, path: Path) -> None:
    document, problems = read_yaml(path)
    b.problems += problems
    if not document:
        return
    assigned: set[str] = set()
    countries = [u for u in b.units.values() if u.kind == UnitKind.COUNTRY]
    parent_of = {m.child: m.parent for m in b.memberships if m.hierarchy == Hierarchy.SDG}

    def sdg_chain(code: str) -> set[str]:
        chain = set()
        while code in parent_of:
            code = parent_of[code]
            chain.add(code)
        return chain

    for office in document["offices"]:
        code = office["code"]
        b.add(
            GeoUnit(
                code,
                UnitKind.REGIONAL_OFFICE,
                dict(office["names"]),
                note=f"seat: {office['seat']}; {document['note']}",
            )
        )
        listed = {m49(c) for c in office.get("countries", [])}
        within = {m49(c) for c in office.get("within", [])}
        for country in countries:
            if country.code in assigned or country.validity.valid_to is not None:
                continue
            if country.code in listed or sdg_chain(country.code) & within:
                b.link(code, country.code, Hierarchy.REGIONAL_OFFICE)
                assigned.add(country.code)


def _cities(b: _Builder, sources: Path) -> None:
    """SDG city ids (from the city datasets) and WUP agglomerations, matched by name within a country."""
    wup_path = sources / "wup2018_urban_agglomerations_300k_2020.csv"
    wup_rows: list[tuple[str, dict[str, str]]] = []
    wup_by_name: dict[tuple[str, str], list[dict[str, str]]] = {}
    for line, row in read_csv_rows(wup_path):
        country = m49(row["Country Code"])
        if country not in b.units:
            b.unmatched(
                f"{row['Country or area']} ({country}) for {row['Urban Agglomeration']}",
                file=wup_path.name,
                row=line,
                column="Country Code",
            )
            continue
        wup_rows.append((country, row))
        wup_by_name.setdefault((country, _fold(row["Urban Agglomeration"])), []).append(row)

    matched_wup: set[str] = set()
    for city_id, country in sorted(_sdg_city_ids(sources)):
        parent = b.units.get(country)
        if parent is None:
            b.unmatched(f"{country} for {city_id}", file=CITY_FILES, column="geo_area")
            continue
        slug = city_id.removeprefix(f"{(parent.iso2 or '').lower()}_")
        candidates = wup_by_name.get((country, _fold(slug)), [])
        if len(candidates) == 1:  # an ambiguous name (two agglomerations called Xinyi) is not matched
            row = candidates[0]
            matched_wup.add(row["City Code"])
            b.add(_wup_unit(city_id, row, note="UN SDG city id; name, position and population from WUP 2018"))
            b.alias(AliasScheme.WUP_CITY, row["City Code"], city_id)
        else:
            b.add(
                GeoUnit(
                    city_id,
                    UnitKind.CITY,
                    {"en": slug.replace("_", " ").title()},
                    note="UN SDG city id; name derived from the id (no WUP 2018 match)",
                )
            )
        b.alias(AliasScheme.SDG_CITY, city_id, city_id)
        b.link(country, city_id, Hierarchy.SDG)

    for country, row in wup_rows:
        if row["City Code"] in matched_wup:
            continue
        code = f"wup-{row['City Code']}"
        b.add(_wup_unit(code, row, note="WUP 2018 urban agglomeration (no UN SDG city id)"))
        b.alias(AliasScheme.WUP_CITY, row["City Code"], code)
        b.link(country, code, Hierarchy.SDG)


def _wup_unit(code: str, row: dict[str, str], note: str) -> GeoUnit:
    population = row["2020"].replace(" ", "").replace("\u00a0", "")
    name = row["Urban Agglomeration"].strip()
    return GeoUnit(
        code,
        UnitKind.CITY,
        {"en": name},
        latitude=float(row["Latitude"]),
        longitude=float(row["Longitude"]),
        population=float(population) * 1000 if population else None,
        note=note + ("; non-ASCII letters were replaced by 'xxx' in the source" if "xxx" in name else ""),
    )


def _sdg_city_ids(sources: Path) -> set[tuple[str, str]]:
    ids: set[tuple[str, str]] = set()
    for path in sorted((sources / CITY_FILES).glob("ddf--datapoints--*.csv")):
        for _, row in read_csv_rows(path):
            if row["cities"] != NO_CITY:
                ids.add((row["cities"], m49(row["geo_area"])))
    return ids


def read_engagements(path: Path, geography: Geography, *, illustrative: bool) -> tuple[list[Engagement], Report]:
    """Read an engagement list (place, start, end, note); every bad row is reported with its line."""
    engagements: list[Engagement] = []
    problems: list[Problem] = []
    required = ("place", "start")
    for line, row in read_csv_rows(path):
        missing = [c for c in required if not (row.get(c) or "").strip()]
        for column in missing:
            problems.append(
                Problem("missing", expected=f"a value in column '{column}'", file=str(path), row=line, column=column)
            )
        if missing:
            continue
        try:
            unit = geography.resolve(row["place"])
        except NotFound:
            problems.append(
                Problem(
                    "code",
                    expected="an M49, ISO3 or city code",
                    found=row["place"],
                    file=str(path),
                    row=line,
                    column="place",
                )
            )
            continue
        dates: dict[str, date | None] = {}
        for column in ("start", "end"):
            text = (row.get(column) or "").strip()
            try:
                dates[column] = date.fromisoformat(text) if text else None
            except ValueError:
                problems.append(
                    Problem("type", expected="a date YYYY-MM-DD", found=text, file=str(path), row=line, column=column)
                )
                dates[column] = None
        start, end = dates["start"], dates["end"]
        if start is None:
            continue
        if end is not None and end < start:
            problems.append(
                Problem(
                    "inconsistent",
                    expected=f"end on or after start ({start})",
                    found=str(end),
                    file=str(path),
                    row=line,
                    column="end",
                )
            )
            continue
        engagements.append(Engagement(unit.code, start, end, illustrative, (row.get("note") or None)))
    return engagements, Report.of(problems)
