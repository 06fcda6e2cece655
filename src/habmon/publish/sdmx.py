"""Observations exported as SDMX: SDMX-CSV 1.0 and SDMX-ML 2.1 structure-specific data messages.

Both carry the SDG concepts: ``SERIES`` (the indicator's first SDG series code, or the habmon code when it has
none), ``REF_AREA`` (the M49 code; city ids as they are), one column per disaggregation dimension used (its SDG
concept, or its id in capitals, with the codes' SDG codes and ``_T`` for totals), ``TIME_PERIOD``,
``OBS_VALUE``, and the attributes ``UNIT_MEASURE``, ``NATURE``, ``SOURCE_DETAIL``, ``COMMENT_OBS`` (when a note is
present) plus habmon's own ``INDICATOR`` (so that reading back is unambiguous) and ``NUMERATOR`` and
``DENOMINATOR`` (when present). :func:`habmon.ingest.formats.sdmx.read_sdmx` reads both back.

SDMX-ML is written with sdmx1 (``sdmx.model.v21`` and ``sdmx.to_xml``) from a data structure definition built
here (``HABMON:DSD_HABMON(1.0)``; nothing is fetched), with observations grouped in series and
``dimensionAtObservation="TIME_PERIOD"`` — the layout of the SDG Global Database's own messages. sdmx1 2.28
writes generic data sets under a ``StructureSpecificData`` root element, so habmon writes structure-specific
messages only.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import sdmx
from sdmx import message
from sdmx.model import common, v21

from habmon.indicators.model import Dimension
from habmon.indicators.registry import Registry
from habmon.ingest.formats.sdmx import INDICATOR, OBS_VALUE, SERIES, TIME_PERIOD, code_of, concept_of, unit_to_sdmx
from habmon.observation import Observation

DEFAULT_DATAFLOW: Final = "UNSD:DF_SDG_GLH(1.0)"
DSD_ID: Final = "DSD_HABMON"
AGENCY: Final = "HABMON"
REF_AREA: Final = "REF_AREA"
_DATAFLOW: Final = re.compile(r"^(?P<agency>[A-Za-z0-9_.-]+):(?P<id>[A-Za-z0-9_-]+)\((?P<version>[0-9.]+)\)$")


def number_text(value: float) -> str:
    """Shortest text that reads back as the same float (``45.1``, ``1234567``)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class _Layout:
    """What a set of observations needs: its dimensions, attributes and the SDMX codes of each."""

    dimensions: tuple[str, ...]  # habmon dimension ids, codelist order first
    concepts: Mapping[str, str]  # dimension id -> SDMX concept
    codes: Mapping[str, Mapping[str, str]]  # dimension id -> habmon code id -> SDMX code
    totals: Mapping[str, str]  # dimension id -> total code id
    attributes: tuple[str, ...]
    series: Mapping[str, str]  # habmon series/indicator code -> SDG series code

    @classmethod
    def of(cls, observations: Sequence[Observation], registry: Registry) -> _Layout:
        known = {d.id: d for d in registry.codelists.dimensions}
        used = {dim for o in observations for dim, code in o.disaggregation.items() if code != _total(known, dim)}
        ordered = [d for d in known if d in used] + sorted(used - set(known))
        optional = {
            "COMMENT_OBS": any(o.note for o in observations),
            "NUMERATOR": any(o.numerator is not None for o in observations),
            "DENOMINATOR": any(o.denominator is not None for o in observations),
        }
        return cls(
            dimensions=tuple(ordered),
            concepts={d: concept_of(known[d]) if d in known else d.upper() for d in ordered},
            codes={d: _codes(known[d]) for d in ordered if d in known},
            totals={d: known[d].total if d in known else "_T" for d in ordered},
            attributes=("UNIT_MEASURE", "NATURE", INDICATOR, "SOURCE_DETAIL", *(a for a, on in optional.items() if on)),
            series={i.code: i.series[0] if i.series else i.code for i in registry.indicators},
        )

    def key(self, o: Observation) -> dict[str, str]:
        """Dimension values except TIME_PERIOD, in DSD order."""
        key = {SERIES: self.series.get(o.series, o.series), REF_AREA: o.geo}
        for dim in self.dimensions:
            code = o.disaggregation.get(dim, self.totals[dim])
            key[self.concepts[dim]] = self.codes.get(dim, {}).get(code, code)
        return key

    def attribute_values(self, o: Observation) -> dict[str, str]:
        values = {
            "UNIT_MEASURE": unit_to_sdmx(o.unit),
            "NATURE": str(o.nature),
            INDICATOR: o.series,
            "SOURCE_DETAIL": o.source,
            "COMMENT_OBS": o.note,
            "NUMERATOR": None if o.numerator is None else number_text(o.numerator),
            "DENOMINATOR": None if o.denominator is None else number_text(o.denominator),
        }
        return {a: values[a] or "" for a in self.attributes}

    @property
    def dimension_concepts(self) -> list[str]:
        return [self.concepts[d] for d in self.dimensions]


def _total(known: Mapping[str, Dimension], dim: str) -> str:
    return known[dim].total if dim in known else "_T"


def _codes(dimension: Dimension) -> dict[str, str]:
    return {code.id: code_of(code) for code in dimension.codes}


# --- SDMX-CSV --------------------------------------------------------------------------------------------


def write_sdmx_csv(
    observations: Sequence[Observation], path: Path, *, registry: Registry, dataflow: str = DEFAULT_DATAFLOW
) -> None:
    """SDMX-CSV 1.0: DATAFLOW, SERIES, REF_AREA, TIME_PERIOD, the dimensions, OBS_VALUE, the attributes."""
    layout = _Layout.of(observations, registry)
    header = ["DATAFLOW", SERIES, REF_AREA, TIME_PERIOD, *layout.dimension_concepts, OBS_VALUE, *layout.attributes]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for o in observations:
            record = {"DATAFLOW": dataflow, TIME_PERIOD: str(o.period), OBS_VALUE: number_text(o.value)}
            record |= layout.key(o) | layout.attribute_values(o)
            writer.writerow(record[column] for column in header)


# --- SDMX-ML ---------------------------------------------------------------------------------------------


def write_sdmx_ml(
    observations: Sequence[Observation],
    path: Path,
    *,
    registry: Registry,
    dataflow: str = DEFAULT_DATAFLOW,
    message_id: str = "HABMON_EXPORT",
) -> None:
    """An SDMX-ML 2.1 structure-specific data message, observations in series by TIME_PERIOD."""
    layout = _Layout.of(observations, registry)
    dsd, time = _structure(layout)
    flow = _dataflow(dataflow, dsd)
    data_set = v21.StructureSpecificDataSet(structured_by=dsd, described_by=flow)
    for key, members in _series(observations, layout).items():
        series_key = dsd.make_key(common.SeriesKey, dict(key))
        data_set.add_obs([_observation(dsd, layout, o) for o in members], series_key=series_key)
    header = message.Header(id=message_id, test=False, prepared=datetime.now(UTC), sender=common.Agency(id=AGENCY))
    data = message.DataMessage(data=[data_set], dataflow=flow, header=header, observation_dimension=time)
    path.write_bytes(sdmx.to_xml(data, pretty_print=True))


def _structure(layout: _Layout) -> tuple[Any, Any]:
    """The DSD (dimensions, time dimension, OBS_VALUE, attributes) and its time dimension."""
    dsd = v21.DataStructureDefinition(id=DSD_ID, maintainer=common.Agency(id=AGENCY), version="1.0")
    concepts = [SERIES, REF_AREA, *layout.dimension_concepts]
    for order, concept in enumerate(concepts):
        dsd.dimensions.getdefault(id=concept, order=order)
    time = dsd.dimensions.getdefault(id=TIME_PERIOD, cls=common.TimeDimension, order=len(concepts))
    dsd.measures.getdefault(id=OBS_VALUE)
    for attribute in layout.attributes:
        dsd.attributes.getdefault(id=attribute)
    return dsd, time


def _dataflow(text: str, dsd: Any) -> Any:
    match = _DATAFLOW.match(text)
    if match is None:
        raise ValueError(f"dataflow must read AGENCY:ID(VERSION), e.g. {DEFAULT_DATAFLOW}; found {text!r}")
    return v21.DataflowDefinition(
        id=match["id"], maintainer=common.Agency(id=match["agency"]), version=match["version"], structure=dsd
    )


def _series(
    observations: Sequence[Observation], layout: _Layout
) -> dict[tuple[tuple[str, str], ...], list[Observation]]:
    groups: dict[tuple[tuple[str, str], ...], list[Observation]] = {}
    for o in observations:
        groups.setdefault(tuple(layout.key(o).items()), []).append(o)
    return groups


def _observation(dsd: Any, layout: _Layout, o: Observation) -> Any:
    attributes = {
        name: common.AttributeValue(value_for=dsd.attributes.get(name), value=value)
        for name, value in layout.attribute_values(o).items()
        if value
    }
    return v21.Observation(
        dimension=dsd.make_key(common.Key, {TIME_PERIOD: str(o.period)}),
        value=number_text(o.value),
        value_for=dsd.measures[0],
        attached_attribute=attributes,
    )
