"""Observations exported as Open SDG data files: one CSV per indicator, ``indicator_11-1-1.csv``.

Columns: ``Year``; one column per disaggregation dimension used, named by the dimension's name in ``lang``,
holding the code's name in ``lang`` (``Sex`` = ``Female``; blank for the total); ``Units`` when the units vary;
``GeoCode`` when more than one geography is present; ``Value`` last. Rows are sorted by geography,
disaggregation (totals first, then codelist order) and year. UTF-8 without BOM, no index column.
:func:`habmon.ingest.formats.opensdg.read_opensdg` reads the files back.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from habmon.indicators.model import Codelists, Dimension
from habmon.indicators.registry import Registry
from habmon.ingest.formats.opensdg import GEOCODE, UNITS, VALUE, YEAR, indicator_file_name
from habmon.observation import Observation
from habmon.publish.sdmx import number_text


def write_opensdg(
    observations: Sequence[Observation], directory: Path, *, registry: Registry, lang: str = "en"
) -> list[Path]:
    """Write one Open SDG data file per indicator (series) into ``directory``; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    by_series: dict[str, list[Observation]] = {}
    for o in observations:
        by_series.setdefault(o.series, []).append(o)
    paths = []
    for series in sorted(by_series):
        path = directory / indicator_file_name(series)
        _write_file(path, by_series[series], registry.codelists, lang)
        paths.append(path)
    return paths


@dataclass(frozen=True)
class _Column:
    """A disaggregation column: its label and each code's label and sort position."""

    dimension: str
    label: str
    total: str
    names: Mapping[str, str]  # code id -> name in the language
    order: Mapping[str, int]  # code id -> position in the codelist

    @classmethod
    def of(cls, dimension: Dimension, lang: str) -> _Column:
        return cls(
            dimension.id,
            dimension.name.get(lang),
            dimension.total,
            {c.id: c.name.get(lang) for c in dimension.codes},
            {c.id: k for k, c in enumerate(dimension.codes)},
        )

    @classmethod
    def unknown(cls, dimension: str) -> _Column:
        return cls(dimension, dimension, "_T", {}, {})

    def code(self, o: Observation) -> str | None:
        code = o.disaggregation.get(self.dimension, self.total)
        return None if code == self.total else code

    def cell(self, o: Observation) -> str:
        code = self.code(o)
        return "" if code is None else self.names.get(code, code)

    def sort_key(self, o: Observation) -> tuple[int, str]:
        code = self.code(o)
        return (-1, "") if code is None else (self.order.get(code, len(self.order)), code)


def _columns(observations: Sequence[Observation], codelists: Codelists, lang: str) -> list[_Column]:
    known = {d.id: d for d in codelists.dimensions}
    used = {
        dim
        for o in observations
        for dim, code in o.disaggregation.items()
        if code != (known[dim].total if dim in known else "_T")
    }
    return [_Column.of(known[d], lang) for d in known if d in used] + [
        _Column.unknown(d) for d in sorted(used - set(known))
    ]


def _write_file(path: Path, observations: Sequence[Observation], codelists: Codelists, lang: str) -> None:
    columns = _columns(observations, codelists, lang)
    with_units = len({o.unit for o in observations}) > 1
    with_geo = len({o.geo for o in observations}) > 1
    header = [YEAR, *(c.label for c in columns), *([UNITS] if with_units else []), *([GEOCODE] if with_geo else [])]
    ordered = sorted(observations, key=lambda o: (o.geo, *(c.sort_key(o) for c in columns), o.period))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*header, VALUE])
        for o in ordered:
            cells = [str(o.period), *(c.cell(o) for c in columns)]
            cells += [o.unit] if with_units else []
            cells += [o.geo] if with_geo else []
            writer.writerow([*cells, number_text(o.value)])
