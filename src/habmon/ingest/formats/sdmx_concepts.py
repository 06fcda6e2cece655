"""SDMX concepts and codes mapped to habmon's columns and codes, shared by the SDMX-CSV and SDMX-ML readers.

``SERIES`` (an SDG series code of the registry) or habmon's own ``INDICATOR`` attribute → ``indicator``;
``REF_AREA`` → ``geo``; ``TIME_PERIOD`` → ``period``; ``OBS_VALUE`` → ``value``; ``UNIT_MEASURE`` → ``unit``;
``NATURE`` → ``nature``; ``SOURCE_DETAIL`` → ``source``; ``COMMENT_OBS`` → ``note``; habmon's ``NUMERATOR`` and
``DENOMINATOR`` → ``numerator``, ``denominator``. A dimension concept (the ``sdmx`` concept of a codelist
dimension, or its id in capitals) → the dimension's column, its codes (``Code.sdmx`` or ``Code.id``) → habmon
code ids, the total code (``_T``) → blank. Values are kept as text; validation judges them.

:class:`Builder` turns records (concept -> text) into the rows of a :class:`SubmissionTable`, reporting every concept
or code it cannot map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from habmon.indicators.model import Code, Dimension, Unit
from habmon.indicators.registry import Registry
from habmon.ingest.formats.common import build_frame, ordered_columns
from habmon.problems import Problem, Severity
from habmon.submission.table import REQUIRED_COLUMNS, ROW, SubmissionTable

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


# --- concept mapping -------------------------------------------------------------------------------------

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


class Builder:
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
