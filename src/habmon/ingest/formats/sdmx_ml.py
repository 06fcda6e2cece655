"""SDMX-ML data messages (2.1, also 3.0), *Generic* or *StructureSpecific*, flat or in series, read into a table.

``_row`` is the observation's ordinal in the document. The messages are read with lxml, not sdmx1: sdmx1 2.28 reads
them without their DSD only when the header names ``dimensionAtObservation`` (it fails on messages without it), logs
a warning for every structure-specific message, prints debugging dumps to standard output when a message has
unexpected content, and keeps no source positions. Concepts are mapped by :mod:`habmon.ingest.formats.sdmx_concepts`.

Safety: an XML document is first scanned by defusedxml's expat parser with DTDs, entity declarations and external
references forbidden (:func:`xml_gate`): a ``DOCTYPE`` (the vehicle of external entities and of "billion laughs"
expansion) is refused before any content is read, and a malformed document is reported with its line. Only then is
it read, by lxml with entity resolution, network access, DTD loading and huge trees all off.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any, Final
from xml.etree.ElementTree import ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden  # type: ignore[import-untyped]
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

from habmon.indicators.registry import Registry
from habmon.ingest.formats.common import empty_table
from habmon.ingest.formats.sdmx_concepts import OBS_VALUE, TIME_PERIOD, Builder
from habmon.problems import Problem, Severity
from habmon.submission.table import SubmissionTable

FORMAT_ML: Final = "sdmx-ml"
_GENERIC_NAMESPACE_END: Final = "/data/generic"
# Attributes of an SDMX-ML DataSet element that describe the message, not the data.
_DATASET_META: Final = frozenset(
    {
        "structureRef",
        "setID",
        "action",
        "reportingBeginDate",
        "reportingEndDate",
        "validFromDate",
        "validToDate",
        "publicationYear",
        "publicationPeriod",
        "dataScope",
    }
)


class _Discard:
    """Parser target that keeps nothing: the safety scan only checks the document."""

    def data(self, text: str) -> None:
        return None


_REFUSED: Final[Mapping[type[Exception], str]] = {
    DTDForbidden: "a DOCTYPE declaration",
    EntitiesForbidden: "an ENTITY declaration",
    ExternalReferenceForbidden: "a reference to an external resource",
}


def xml_gate(data: bytes, file: str) -> Problem | None:
    """Refuse DTDs, entity declarations and external references before reading; report malformed XML."""
    parser = DefusedXMLParser(target=_Discard(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        return Problem(
            "file-unreadable",
            expected="an XML document without DOCTYPE or ENTITY declarations (SDMX-ML has none)",
            found=f"{_REFUSED[type(exc)]} at line {parser.parser.CurrentLineNumber}",
            file=file,
            row=parser.parser.CurrentLineNumber,
            hint="DTDs and entities are refused: they can read local files (XXE) or expand without bound "
            "(billion laughs)",
        )
    except ParseError as exc:
        return Problem("syntax", expected="XML", found=str(exc), file=file, row=exc.position[0])
    return None


def read_sdmx_ml(data: bytes, *, registry: Registry, source_name: str) -> SubmissionTable:
    refused = xml_gate(data, source_name)
    if refused is not None:
        return empty_table(source_name, FORMAT_ML, [refused])
    builder = Builder(registry, source_name)
    reader = _MessageReader(source_name, builder.problems)
    try:
        for row, record in enumerate(reader.records(data), start=1):
            builder.add(row, record)
    except etree.XMLSyntaxError as exc:
        builder.problems.append(Problem("syntax", expected="XML", found=str(exc), file=source_name, row=exc.lineno))
    if not reader.data_sets:
        builder.problems.append(
            Problem(
                "syntax",
                expected="an SDMX-ML data message (with a DataSet)",
                found=f"root element {reader.root}",
                file=source_name,
            )
        )
    return builder.table(FORMAT_ML)


class _MessageReader:
    """Streams the observations of an SDMX-ML data message as records: concept -> text."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.obs_dimension = TIME_PERIOD
        self.data_sets = 0
        self.root = ""
        self._dataset: dict[str, str] = {}
        self._groups_noted = False

    def records(self, data: bytes) -> Iterator[dict[str, str]]:
        events = etree.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        for event, elem in events:
            name = etree.QName(elem).localname
            if event == "start":
                self._start(name, elem)
                continue
            parent = elem.getparent()
            if parent is None or etree.QName(parent).localname != "DataSet":
                if name == "Structure" and "dimensionAtObservation" in elem.attrib:
                    self.obs_dimension = elem.get("dimensionAtObservation")
                continue
            yield from self._in_dataset(name, elem)
            _release(elem)

    def _start(self, name: str, elem: Any) -> None:
        self.root = self.root or name
        if name == "DataSet":
            self.data_sets += 1
            self._dataset = {k: v for k, v in elem.attrib.items() if not k.startswith("{") and k not in _DATASET_META}

    def _in_dataset(self, name: str, elem: Any) -> Iterator[dict[str, str]]:
        if name == "Attributes":
            self._dataset |= _generic_values(elem)
        elif name == "Series":
            base = self._dataset | _series_values(elem)
            yield from (base | self._obs_values(obs) for obs in elem if _localname(obs) == "Obs")
        elif name == "Obs":
            yield self._dataset | self._obs_values(elem)
        elif name == "Group":
            self._note_groups(elem)

    def _obs_values(self, obs: Any) -> dict[str, str]:
        if not _is_generic(obs):
            return _plain_attributes(obs)
        values: dict[str, str] = {}
        for child in obs:
            part = _localname(child)
            if part == "ObsDimension":
                values[self.obs_dimension] = child.get("value", "")
            elif part == "ObsValue":
                values[OBS_VALUE] = child.get("value", "")
            elif part in ("ObsKey", "Attributes"):
                values |= _generic_values(child)
        return values

    def _note_groups(self, elem: Any) -> None:
        if self._groups_noted:
            return
        self._groups_noted = True
        self.problems.append(
            Problem(
                "unknown-field",
                expected="observations in series or flat",
                found="Group",
                file=self.file,
                path=f"line {elem.sourceline}",
                hint="attributes attached to groups are not read; attach them to series or observations",
                severity=Severity.WARNING,
            )
        )


def _localname(elem: Any) -> str:
    return str(etree.QName(elem).localname)


def _is_generic(elem: Any) -> bool:
    return str(etree.QName(elem).namespace or "").endswith(_GENERIC_NAMESPACE_END)


def _plain_attributes(elem: Any) -> dict[str, str]:
    """Structure-specific: every unqualified XML attribute is a concept."""
    return {k: v for k, v in elem.attrib.items() if not k.startswith("{")}


def _generic_values(elem: Any) -> dict[str, str]:
    """Generic: ``<gen:Value id="SEX" value="F"/>`` children."""
    return {v.get("id", ""): v.get("value", "") for v in elem if _localname(v) == "Value"}


def _series_values(series: Any) -> dict[str, str]:
    if not _is_generic(series):
        return _plain_attributes(series)
    values: dict[str, str] = {}
    for child in series:
        if _localname(child) in ("SeriesKey", "Attributes"):
            values |= _generic_values(child)
    return values


def _release(elem: Any) -> None:
    """Free a processed element and its processed siblings (keeps memory flat on large messages)."""
    elem.clear(keep_tail=True)
    parent = elem.getparent()
    while parent is not None and elem.getprevious() is not None:
        del parent[0]
