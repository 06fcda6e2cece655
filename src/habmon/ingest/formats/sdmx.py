"""SDMX submissions: SDMX-CSV and SDMX-ML data messages read into a :class:`SubmissionTable`.

Formats
-------
* **SDMX-CSV** 1.0 (first column ``DATAFLOW``) and 2.0 (``STRUCTURE``, ``STRUCTURE_ID``, ``ACTION``): one
  observation per line, a column per concept; ``_row`` is the line number (the header is line 1). Headers
  written with labels (``SEX: Sex``) are read by their id, and so are their values (``F: Female``).
* **SDMX-ML** data messages (2.1, also 3.0), *Generic* or *StructureSpecific*, flat or in series; ``_row``
  is the observation's ordinal in the document. They are read with lxml, not sdmx1: sdmx1 2.28 reads these
  messages without their DSD only when the header names ``dimensionAtObservation`` (it fails on messages
  without it), logs a warning for every structure-specific message, prints debugging dumps to standard output
  when a message has unexpected content, and keeps no source positions.

Safety
------
A file over ``max_bytes`` is refused before it is read. An XML document is first scanned by defusedxml's
expat parser with DTDs, entity declarations and external references forbidden: a ``DOCTYPE`` (the vehicle of
external entities and of "billion laughs" expansion) is refused before any content is read, and a malformed
document is reported with its line. Only then is it read, by lxml with entity resolution, network access,
DTD loading and huge trees all off.

Mapping
-------
``SERIES`` (an SDG series code of the registry) or habmon's own ``INDICATOR`` attribute → ``indicator``;
``REF_AREA`` → ``geo``; ``TIME_PERIOD`` → ``period``; ``OBS_VALUE`` → ``value``; ``UNIT_MEASURE`` → ``unit``;
``NATURE`` → ``nature``; ``SOURCE_DETAIL`` → ``source``; ``COMMENT_OBS`` → ``note``; habmon's ``NUMERATOR`` and
``DENOMINATOR`` → ``numerator``, ``denominator``. A dimension concept (the ``sdmx`` concept of a codelist
dimension, or its id in capitals) → the dimension's column, its codes (``Code.sdmx`` or ``Code.id``) → habmon
code ids, the total code (``_T``) → blank. Values are kept as text; validation judges them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from xml.etree.ElementTree import ParseError

import pandas as pd
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden  # type: ignore[import-untyped]
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

from habmon.indicators.model import Code, Codelists, Dimension, Unit
from habmon.indicators.registry import Registry
from habmon.ingest.formats.csv_long import decode, delimiter_of
from habmon.ingest.formats.registry import ReadOptions, header_columns, suffix
from habmon.problems import Problem, Severity
from habmon.submission.table import CORE_COLUMNS, REQUIRED_COLUMNS, ROW, SubmissionTable

if TYPE_CHECKING:
    from _csv import Reader

DEFAULT_MAX_BYTES: Final = 100_000_000
FORMAT_CSV: Final = "sdmx-csv"
FORMAT_ML: Final = "sdmx-ml"

SERIES: Final = "SERIES"
INDICATOR: Final = "INDICATOR"
TIME_PERIOD: Final = "TIME_PERIOD"
OBS_VALUE: Final = "OBS_VALUE"

# SDMX concept -> canonical column. INDICATOR, NUMERATOR and DENOMINATOR are habmon's own attributes.
CONCEPT_COLUMNS: Final[Mapping[str, str]] = {
    INDICATOR: "indicator",
    "REF_AREA": "geo",
    TIME_PERIOD: "period",
    OBS_VALUE: "value",
    "NUMERATOR": "numerator",
    "DENOMINATOR": "denominator",
    "UNIT_MEASURE": "unit",
    "NATURE": "nature",
    "SOURCE_DETAIL": "source",
    "COMMENT_OBS": "note",
}
COLUMN_CONCEPTS: Final[Mapping[str, str]] = {column: concept for concept, column in CONCEPT_COLUMNS.items()}

# Bookkeeping columns of SDMX-CSV 1.0 and 2.0: not data, skipped silently.
CSV_BOOKKEEPING: Final = frozenset({"DATAFLOW", "STRUCTURE", "STRUCTURE_ID", "ACTION"})
CSV_MARKERS: Final = frozenset({"DATAFLOW", "STRUCTURE", OBS_VALUE})

# SDG concepts habmon does not keep but reads when they hold the one value that changes nothing: annual data,
# unscaled values and no breakdown habmon lacks. Any other value is an error.
NEUTRAL_VALUES: Final[Mapping[str, frozenset[str]]] = {
    "FREQ": frozenset({"A"}),
    "UNIT_MULT": frozenset({"0"}),
    **{
        concept: frozenset({"_T"})
        for concept in ("CUST_BREAKDOWN", "COMPOSITE_BREAKDOWN", "EDUCATION_LEV", "OCCUPATION", "ACTIVITY", "PRODUCT")
    },
}

# SDG attributes (and the REPORTING_TYPE dimension) habmon does not keep: a warning, their values are dropped.
SDG_NOT_KEPT: Final = frozenset(
    {
        "REPORTING_TYPE",
        "OBS_STATUS",
        "UPPER_BOUND",
        "LOWER_BOUND",
        "BASE_PER",
        "TIME_DETAIL",
        "TIME_COVERAGE",
        "GEO_INFO_URL",
        "GEO_INFO_TYPE",
        "CUST_BREAKDOWN_LB",
        "COMMENT_TS",
        "DATA_LAST_UPDATE",
    }
)

# SDG UNIT_MEASURE codes -> habmon units; habmon's own unit names (any case) are read too.
SDMX_UNITS: Final[Mapping[str, str]] = {"PT": Unit.PERCENT.value} | {u.value.upper(): u.value for u in Unit}
UNIT_TO_SDMX: Final[Mapping[str, str]] = {Unit.PERCENT.value: "PT"}

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
_LABELLED: Final = re.compile(r"^\s*([^:]+?)\s*:\s.*$", re.DOTALL)


def concept_of(dimension: Dimension) -> str:
    """The SDMX concept that carries a dimension: its SDG concept, or its id in capitals."""
    return dimension.sdmx or dimension.id.upper()


def code_of(code: Code) -> str:
    """The SDMX code of a habmon code: its SDG code, or its id."""
    return code.sdmx or code.id


def unit_to_sdmx(unit: str) -> str:
    return UNIT_TO_SDMX.get(unit, unit.upper())


def unit_from_sdmx(code: str) -> str:
    return SDMX_UNITS.get(code.upper(), code)


# --- shared by the SDMX and Open SDG readers -------------------------------------------------------------


def read_limited(path: Path, name: str, max_bytes: int) -> tuple[bytes | None, list[Problem]]:
    """The bytes of a file, or None and a problem when it is unreadable or larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [
                Problem(
                    "too-large",
                    expected=f"{max_bytes:,} bytes",
                    found=f"{size:,} bytes",
                    file=name,
                    hint="split the submission into smaller files",
                )
            ]
        return path.read_bytes(), []
    except OSError as exc:
        return None, [Problem("file-unreadable", expected="a readable file", found=str(exc), file=name)]


def build_frame(rows: list[dict[str, Any]], columns: Iterable[str]) -> pd.DataFrame:
    """Text columns (str or None) in the given order, then ``_row`` as integers."""
    data: dict[str, Any] = {c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns}
    data[ROW] = pd.Series([r[ROW] for r in rows], dtype="int64")
    return pd.DataFrame(data)


def empty_table(name: str, fmt: str, problems: Iterable[Problem], encoding: str | None = None) -> SubmissionTable:
    frame = pd.DataFrame({ROW: pd.Series(dtype="int64")})
    return SubmissionTable(name, fmt, frame, {}, encoding, tuple(problems))


def ordered_columns(present: Iterable[str], codelists: Codelists) -> list[str]:
    """Canonical columns first, then dimension columns in codelist order."""
    found = set(present)
    dims = [d.id for d in codelists.dimensions if d.id in found]
    return [c for c in CORE_COLUMNS if c in found] + dims


# --- concept mapping, shared by SDMX-CSV and SDMX-ML -----------------------------------------------------

_SERIES_COLUMN: Final = "_series"


@dataclass(frozen=True, slots=True)
class _Field:
    """How one concept is read: into ``column`` (None: checked, not kept) through ``read``."""

    column: str | None
    read: Callable[[str, int], str | None]


@dataclass(frozen=True, slots=True)
class _CodeMap:
    concept: str
    dimension: Dimension
    codes: Mapping[str, str | None]  # SDMX code or habmon id -> habmon code id (None: the total)

    @classmethod
    def of(cls, dimension: Dimension) -> _CodeMap:
        codes: dict[str, str | None] = {}
        for code in dimension.codes:
            target = None if code.id == dimension.total else code.id
            codes.update({key: target for key in (code.id, code.sdmx) if key})
        return cls(concept_of(dimension), dimension, codes)

    def lookup(self, text: str) -> tuple[bool, str | None]:
        for key in (text, text.upper()):
            if key in self.codes:
                return True, self.codes[key]
        return False, None

    @property
    def expected(self) -> str:
        return f"a {self.concept} code ({', '.join(code_of(c) for c in self.dimension.codes)})"


def series_index(registry: Registry) -> dict[str, tuple[str, ...]]:
    """SDG series code -> the indicators that report it; every habmon series code maps to itself."""
    index: dict[str, list[str]] = {code: [code] for code in registry.series_codes}
    for indicator in registry.indicators:
        for series in indicator.series:
            index.setdefault(series, []).append(indicator.code)
    return {code: tuple(codes) for code, codes in index.items()}


class _Builder:
    """Turns records (concept -> text) into canonical rows, reporting what it cannot map."""

    def __init__(self, registry: Registry, file: str) -> None:
        self.registry = registry
        self.file = file
        self.problems: list[Problem] = []
        self.rows: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}
        self._fields: dict[str, _Field | None] = {}
        self._series = series_index(registry)
        self._known = registry.series_codes
        self._codes: dict[str, _CodeMap] = {}
        for dim in registry.codelists.dimensions:
            code_map = _CodeMap.of(dim)
            self._codes.update({concept_of(dim): code_map, dim.id.upper(): code_map})
        self._readers: dict[str, Callable[[str, int], str | None]] = {"UNIT_MEASURE": self._unit}

    # fields ------------------------------------------------------------------------------------------

    def field(self, concept: str, row: int) -> _Field | None:
        if concept not in self._fields:
            self._fields[concept] = self._make_field(concept, row)
        return self._fields[concept]

    def _make_field(self, concept: str, row: int) -> _Field | None:
        if concept in CONCEPT_COLUMNS:
            column = CONCEPT_COLUMNS[concept]
            self.labels.setdefault(column, concept)
            return _Field(column, self._readers.get(concept, _keep))
        if concept == SERIES:
            self.labels.setdefault(_SERIES_COLUMN, concept)
            return _Field(_SERIES_COLUMN, _keep)
        if concept in self._codes:
            code_map = self._codes[concept]
            self.labels.setdefault(code_map.dimension.id, concept)
            return _Field(code_map.dimension.id, lambda text, r: self._code(code_map, concept, text, r))
        if concept in NEUTRAL_VALUES:
            return _Field(None, lambda text, r: self._neutral(concept, text, r))
        if concept not in CSV_BOOKKEEPING:
            self._unknown(concept, row)
        return None

    def _unknown(self, concept: str, row: int) -> None:
        known = concept in SDG_NOT_KEPT
        self.problems.append(
            Problem(
                "unknown-field",
                expected="an SDMX concept habmon reads (SERIES, REF_AREA, TIME_PERIOD, OBS_VALUE, UNIT_MEASURE, "
                "NATURE, … or a dimension such as SEX, AGE, URBANISATION)",
                found=concept,
                file=self.file,
                row=row,
                column=concept,
                hint="an SDG attribute habmon does not keep; its values are ignored"
                if known
                else "remove it, or map it to a habmon dimension in the codelists",
                severity=Severity.WARNING if known else Severity.ERROR,
            )
        )

    # readers -----------------------------------------------------------------------------------------

    def _unit(self, text: str, row: int) -> str:
        return unit_from_sdmx(text)

    def _code(self, code_map: _CodeMap, concept: str, text: str, row: int) -> str | None:
        known, code = code_map.lookup(text)
        if known:
            return code
        self.problems.append(
            Problem("code", expected=code_map.expected, found=text, file=self.file, row=row, column=concept)
        )
        return text

    def _neutral(self, concept: str, text: str, row: int) -> None:
        allowed = NEUTRAL_VALUES[concept]
        if text not in allowed:
            self.problems.append(
                Problem(
                    "value",
                    expected=f"{concept} {' or '.join(sorted(allowed))}",
                    found=text,
                    file=self.file,
                    row=row,
                    column=concept,
                    hint=f"habmon keeps no {concept}: other values would change what the observation means",
                )
            )
        return None

    # rows --------------------------------------------------------------------------------------------

    def add(self, row: int, values: Mapping[str, str | None]) -> None:
        out: dict[str, Any] = {ROW: row}
        for concept, raw in values.items():
            found = self.field(concept, row)
            text = raw.strip() if raw else ""
            if found is None:
                continue
            cell = found.read(text, row) if text else None
            if found.column is not None:
                out[found.column] = cell
        series = out.pop(_SERIES_COLUMN, None)
        if series is not None or out.get("indicator") is not None:
            out["indicator"] = self._indicator(series, out.get("indicator"), row)
        self.rows.append(out)

    def _indicator(self, series: str | None, indicator: str | None, row: int) -> str | None:
        if indicator is not None:
            self._check_indicator(indicator, series, row)
            return indicator
        matches = self._series.get(series or "", ())
        if len(matches) == 1:
            return matches[0]
        self.problems.append(
            Problem(
                "code",
                expected="an SDG series code of the registry (e.g. EN_LND_SLUM for 11.1.1) or a habmon indicator code",
                found=f"{series} (used by {', '.join(matches)})" if matches else str(series),
                file=self.file,
                row=row,
                column=SERIES,
                hint="add an INDICATOR column with habmon's indicator code" if matches else None,
            )
        )
        return series

    def _check_indicator(self, indicator: str, series: str | None, row: int) -> None:
        if indicator not in self._known:
            self.problems.append(
                Problem(
                    "code",
                    expected="a habmon indicator or series code",
                    found=indicator,
                    file=self.file,
                    row=row,
                    column=INDICATOR,
                )
            )
            return
        if series is None:
            return
        matches = self._series.get(series)
        if matches is None:
            self.problems.append(
                Problem(
                    "code",
                    expected=f"a series of {indicator}",
                    found=series,
                    file=self.file,
                    row=row,
                    column=SERIES,
                    hint="the series is not in the registry; the INDICATOR column is used",
                    severity=Severity.WARNING,
                )
            )
        elif indicator not in matches:
            self.problems.append(
                Problem(
                    "inconsistent",
                    expected=f"SERIES of indicator {indicator}",
                    found=f"{series} (series of {', '.join(matches)})",
                    file=self.file,
                    row=row,
                    column=SERIES,
                )
            )

    # table -------------------------------------------------------------------------------------------

    def table(self, fmt: str, encoding: str | None = None) -> SubmissionTable:
        labels = dict(self.labels)
        series_label = labels.pop(_SERIES_COLUMN, None)
        if series_label is not None:
            labels.setdefault("indicator", series_label)
        if self.rows:
            self._missing(labels)
        columns = ordered_columns(labels, self.registry.codelists)
        frame = build_frame(self.rows, columns)
        return SubmissionTable(self.file, fmt, frame, labels, encoding, tuple(self.problems))

    def _missing(self, labels: Mapping[str, str]) -> None:
        for column in REQUIRED_COLUMNS:
            if column not in labels:
                concept = SERIES if column == "indicator" else COLUMN_CONCEPTS[column]
                self.problems.append(
                    Problem("missing", expected=f"the concept {concept}", file=self.file, column=concept)
                )


def _keep(text: str, row: int) -> str:
    return text


# --- entry point -----------------------------------------------------------------------------------------


def read_sdmx(
    path: Path, *, registry: Registry, source_name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> SubmissionTable:
    """Read an SDMX-CSV file or an SDMX-ML data message; never raises on bad input."""
    name = source_name or path.name
    data, problems = read_limited(path, name, max_bytes)
    if data is None:
        return empty_table(name, "sdmx", problems)
    if is_xml(data):
        return read_sdmx_ml(data, registry=registry, source_name=name)
    return read_sdmx_csv(data, registry=registry, source_name=name)


def is_xml(data: bytes) -> bool:
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff"))


# --- SDMX-CSV --------------------------------------------------------------------------------------------


def read_sdmx_csv(data: bytes, *, registry: Registry, source_name: str) -> SubmissionTable:
    text, encoding, problems = decode(data, source_name)
    if text is None:
        return empty_table(source_name, FORMAT_CSV, problems)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = next(reader, [])
    concepts = [_concept_id(label) for label in header]
    if not CSV_MARKERS & set(concepts):
        problems.append(
            Problem(
                "syntax",
                expected="SDMX-CSV (a header with DATAFLOW or STRUCTURE and OBS_VALUE) or SDMX-ML",
                found=repr(text[:80]),
                file=source_name,
                row=1,
            )
        )
        return empty_table(source_name, FORMAT_CSV, problems, encoding)
    builder = _Builder(registry, source_name)
    builder.problems.extend(problems)
    builder.problems.extend(_duplicates(concepts, source_name))
    labelled = [_LABELLED.match(label) is not None for label in header]
    try:
        _csv_rows(reader, concepts, labelled, builder)
    except csv.Error as exc:
        builder.problems.append(
            Problem("syntax", expected="CSV", found=str(exc), file=source_name, row=reader.line_num)
        )
    return builder.table(FORMAT_CSV, encoding)


def csv_records(reader: Reader, width: int, file: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Records of a CSV reader with their line numbers; blank lines skipped, ragged ones reported."""
    previous = reader.line_num
    for record in reader:
        line, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != width:
            problems.append(
                Problem(
                    "syntax",
                    expected=f"{width} fields, as in the header",
                    found=f"{len(record)} fields",
                    file=file,
                    row=line,
                )
            )
            continue
        yield line, record


def _csv_rows(reader: Reader, concepts: list[str], labelled: list[bool], builder: _Builder) -> None:
    for line, record in csv_records(reader, len(concepts), builder.file, builder.problems):
        cells = (_strip_label(cell) if has_label else cell for cell, has_label in zip(record, labelled, strict=True))
        builder.add(line, dict(zip(concepts, cells, strict=True)))


def _delimiter(text: str) -> str:
    return delimiter_of(text.split("\n", 1)[0], ",;\t")


def _concept_id(label: str) -> str:
    """``SEX: Sex`` (SDMX-CSV with labels) -> ``SEX``."""
    match = _LABELLED.match(label)
    return (match.group(1) if match else label).strip().upper()


def _strip_label(cell: str) -> str:
    match = _LABELLED.match(cell)
    return match.group(1) if match else cell


def _duplicates(concepts: list[str], file: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for concept in concepts:
        if concept in seen:
            yield Problem("duplicate-id", expected="each concept once", found=concept, file=file, row=1, column=concept)
        seen.add(concept)


# --- SDMX-ML ---------------------------------------------------------------------------------------------


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
    builder = _Builder(registry, source_name)
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


# -- registration in the format registry (habmon.ingest.formats.registry) ------------------------------------------

SNIFFED_CONCEPTS = frozenset({"dataflow", "structure", "obs_value"})  # SDMX-CSV 1.0 (DATAFLOW) and 2.0 (STRUCTURE)


class Sdmx:
    """SDMX: an .xml file (SDMX-ML), or a CSV whose header has DATAFLOW, STRUCTURE or OBS_VALUE (SDMX-CSV)."""

    name = "sdmx"

    def detect(self, filename: str, head: bytes) -> float:
        if suffix(filename) == ".xml":
            return 1.0
        return 0.9 if SNIFFED_CONCEPTS & header_columns(head) else 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        return read_sdmx(path, registry=options.registry, source_name=options.source_name, max_bytes=options.max_bytes)


PLUGIN = Sdmx()
