"""A dated, versioned geography: units, the hierarchies they belong to, and aliases.

Units and memberships carry validity periods, so a change (a country split, a
regrouping) adds new rows rather than rewriting old ones: asking for the parents of
a unit *at* a date gives the hierarchy valid then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from habmon.problems import NotFound

LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")  # the six official UN languages


class UnitKind(StrEnum):
    WORLD = "world"
    REGION = "region"  # SDG region
    SUBREGION = "subregion"  # SDG sub-region
    INTERMEDIATE = "intermediate"  # intermediate region (e.g. Channel Islands, Europe)
    COUNTRY = "country"  # country or area (M49)
    CITY = "city"
    GROUP = "group"  # LDC, LLDC, SIDS
    REGIONAL_OFFICE = "regional_office"  # UN-Habitat regional office coverage


class Hierarchy(StrEnum):
    SDG = "sdg"  # world → SDG region → sub-region → (intermediate) → country → city
    GROUP = "group"  # LDC / LLDC / SIDS → country
    REGIONAL_OFFICE = "regional_office"  # UN-Habitat regional office → country


class AliasScheme(StrEnum):
    M49 = "m49"
    ISO3 = "iso3"
    ISO2 = "iso2"
    SDG_CITY = "sdg_city"
    WUP_CITY = "wup_city"


@dataclass(frozen=True, slots=True)
class Validity:
    valid_from: date | None = None
    valid_to: date | None = None

    def contains(self, when: date) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_to is None or when <= self.valid_to)


ALWAYS = Validity()


@dataclass(frozen=True, slots=True)
class GeoUnit:
    code: str
    kind: UnitKind
    names: Mapping[str, str]
    m49: str | None = None
    iso2: str | None = None
    iso3: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    population: float | None = None  # persons, for cities: WUP 2018 estimate for 2020
    validity: Validity = ALWAYS
    note: str | None = None

    def name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names.get("en") or self.code


@dataclass(frozen=True, slots=True)
class Membership:
    parent: str
    child: str
    hierarchy: Hierarchy
    validity: Validity = ALWAYS


@dataclass(frozen=True, slots=True)
class Alias:
    scheme: AliasScheme
    value: str
    code: str


@dataclass(frozen=True, slots=True)
class Engagement:
    """A place where UN-Habitat works, from ``start`` to ``end`` (open if None)."""

    code: str
    start: date
    end: date | None = None
    illustrative: bool = False
    note: str | None = None

    def active(self, when: date) -> bool:
        return self.start <= when and (self.end is None or when <= self.end)


@dataclass(frozen=True)
class Geography:
    """An immutable snapshot of the geography; lookups are indexed on construction."""

    version: str
    as_of: date
    units: Mapping[str, GeoUnit]
    memberships: tuple[Membership, ...]
    aliases: tuple[Alias, ...] = ()
    _parents: Mapping[str, tuple[Membership, ...]] = field(init=False, repr=False, compare=False)
    _children: Mapping[str, tuple[Membership, ...]] = field(init=False, repr=False, compare=False)
    _alias_index: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parents: dict[str, list[Membership]] = defaultdict(list)
        children: dict[str, list[Membership]] = defaultdict(list)
        for m in self.memberships:
            parents[m.child].append(m)
            children[m.parent].append(m)
        index: dict[str, str] = {}
        for alias in self.aliases:
            index.setdefault(_alias_key(alias.value), alias.code)
        object.__setattr__(self, "_parents", {k: tuple(v) for k, v in parents.items()})
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})
        object.__setattr__(self, "_alias_index", index)

    @classmethod
    def build(
        cls,
        version: str,
        as_of: date,
        units: Iterable[GeoUnit],
        memberships: Iterable[Membership],
        aliases: Iterable[Alias] = (),
    ) -> Geography:
        return cls(version, as_of, {u.code: u for u in units}, tuple(memberships), tuple(aliases))

    # -- lookups -----------------------------------------------------------------

    def resolve(self, code: str) -> GeoUnit:
        """Find a unit by its code, M49 (with or without leading zeros), ISO3, ISO2 or city id."""
        text = code.strip()
        if text in self.units:
            return self.units[text]
        target = self._alias_index.get(_alias_key(text))
        if target is not None:
            return self.units[target]
        raise NotFound(
            f"no geography unit for {code!r}",
            expected="an M49 code (e.g. 404), ISO3 code (KEN), ISO2 code (KE) or UN SDG city id (ke_nairobi)",
            found=code,
            hint="`habmon geo list --kind country` lists the known units",
        )

    def parents(self, code: str, hierarchy: Hierarchy | None = None, at: date | None = None) -> tuple[GeoUnit, ...]:
        when = at or self.as_of
        return tuple(
            self.units[m.parent]
            for m in self._parents.get(code, ())
            if (hierarchy is None or m.hierarchy == hierarchy)
            and m.validity.contains(when)
            and self.units[m.parent].validity.contains(when)
        )

    def children(self, code: str, hierarchy: Hierarchy | None = None, at: date | None = None) -> tuple[GeoUnit, ...]:
        when = at or self.as_of
        return tuple(
            self.units[m.child]
            for m in self._children.get(code, ())
            if (hierarchy is None or m.hierarchy == hierarchy)
            and m.validity.contains(when)
            and self.units[m.child].validity.contains(when)
        )

    def ancestors(self, code: str, at: date | None = None) -> tuple[GeoUnit, ...]:
        """The SDG chain above a unit, nearest first (e.g. Nairobi → Kenya → Eastern Africa → … → World)."""
        chain: list[GeoUnit] = []
        current = code
        while True:
            up = self.parents(current, Hierarchy.SDG, at)
            if not up:
                return tuple(chain)
            chain.append(up[0])
            current = up[0].code

    def groups(self, code: str, at: date | None = None) -> tuple[GeoUnit, ...]:
        """Groupings a unit belongs to outside the SDG chain (LDC/LLDC/SIDS, regional office)."""
        return tuple(u for u in self.parents(code, at=at) if u.kind in (UnitKind.GROUP, UnitKind.REGIONAL_OFFICE))

    def of_kind(self, kind: UnitKind, at: date | None = None) -> tuple[GeoUnit, ...]:
        when = at or self.as_of
        return tuple(u for u in self.units.values() if u.kind == kind and u.validity.contains(when))

    def aliases_of(self, code: str) -> tuple[Alias, ...]:
        return tuple(a for a in self.aliases if a.code == code)


def _alias_key(value: str) -> str:
    text = value.strip().casefold()
    return text.lstrip("0") or "0" if text.isdigit() else text
