"""Validation problems as data.

Every check in habmon reports what it found as a :class:`Problem`: a record with a
stable type code, a severity, where it happened (file, path inside a document, or
sheet/row/column of a table), what was expected, what was found and a hint.
Problems are collected into a :class:`Report`; nothing raises on the first problem.

Problem types are declared once in :data:`PROBLEM_TYPES` with a title and a message
template, so the same problem reads the same wherever it is reported and can be
matched by its code in tests, the API and the web app.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class ProblemType:
    code: str
    title: str
    template: str
    severity: Severity = Severity.ERROR


def _types(*items: ProblemType) -> dict[str, ProblemType]:
    return {item.code: item for item in items}


PROBLEM_TYPES: dict[str, ProblemType] = _types(
    ProblemType("file-unreadable", "File cannot be read", "cannot read the file: {found}"),
    ProblemType("syntax", "Document syntax error", "the document is not valid {expected}: {found}"),
    ProblemType("missing", "Required value missing", "{expected} is required but is missing"),
    ProblemType("type", "Wrong type", "expected {expected}, found {found}"),
    ProblemType("value", "Value not allowed", "expected {expected}, found {found}"),
    ProblemType("unknown-field", "Unknown field", "field is not part of the schema (found {found})"),
    ProblemType("duplicate-id", "Duplicate identifier", "identifier {found} is used more than once"),
    ProblemType("unknown-reference", "Unknown reference", "refers to {found}, expected {expected}"),
    ProblemType(
        "paragraph-range", "Paragraph outside the plan", "paragraph {found} does not exist; expected {expected}"
    ),
    ProblemType("period", "Period outside the plan", "year {found} is outside {expected}"),
    ProblemType("inconsistent", "Inconsistent values", "expected {expected}, found {found}"),
    ProblemType(
        "unmatched-entity",
        "Source entity not matched",
        "no geography unit matches {found}; expected {expected}",
        Severity.WARNING,
    ),
    ProblemType("code", "Unknown code", "code {found} is not known; expected {expected}"),
    ProblemType("encoding", "Text encoding", "the file is {found}; expected {expected}", Severity.WARNING),
    ProblemType("too-large", "File too large", "the file is {found}; the limit is {expected}"),
    ProblemType("duplicate-row", "Duplicate observation", "the same observation appears again: {found}"),
    ProblemType("range", "Value out of range", "expected {expected}, found {found}"),
    ProblemType("ratio", "Ratio inconsistent", "expected {expected}, found {found}"),
    ProblemType("totals", "Parts inconsistent with total", "expected {expected}, found {found}"),
    ProblemType("rule", "Cross-indicator rule broken", "expected {expected}, found {found}"),
    ProblemType("outlier", "Unusual value", "expected {expected}, found {found}", Severity.WARNING),
    ProblemType("workflow", "Action not allowed", "expected {expected}, found {found}"),
    ProblemType("scope", "Outside your scope", "{found} is outside your scope; expected {expected}"),
    ProblemType("survey-design", "Survey design variable unusable", "expected {expected}, found {found}"),
    ProblemType("survey-weight", "Survey weight not positive", "expected {expected}, found {found}"),
    ProblemType("survey-lonely-psu", "Stratum with a single PSU", "expected {expected}, found {found}"),
    ProblemType(
        "survey-code",
        "Answer code not classified",
        "code {found} is in no code list of the recipe; expected {expected}",
    ),
    ProblemType("survey-label", "Value label contradicts the recipe", "expected {expected}, found {found}"),
    ProblemType("survey-variable", "Survey variable missing", "{expected} is required but is missing"),
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    type: str
    expected: str = ""
    found: str = ""
    file: str | None = None
    path: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    hint: str | None = None
    severity: Severity | None = None

    def __post_init__(self) -> None:
        if self.type not in PROBLEM_TYPES:
            raise KeyError(f"unknown problem type {self.type!r}; declare it in PROBLEM_TYPES")
        if self.severity is None:
            object.__setattr__(self, "severity", PROBLEM_TYPES[self.type].severity)

    @property
    def title(self) -> str:
        return PROBLEM_TYPES[self.type].title

    @property
    def message(self) -> str:
        return PROBLEM_TYPES[self.type].template.format(expected=self.expected, found=self.found)

    @property
    def location(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.path:
            parts.append(self.path)
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "severity": str(self.severity),
            "message": self.message,
            "file": self.file,
            "path": self.path,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "expected": self.expected,
            "found": self.found,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text


@dataclass(frozen=True)
class Report:
    """All problems found in one input."""

    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, problems: Iterable[Problem]) -> Report:
        return cls(tuple(problems))

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == Severity.WARNING)

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class HabmonError(Exception):
    """Base error: carries what was expected, what was found and a hint."""

    def __init__(self, message: str, *, expected: str = "", found: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        details = []
        if self.expected:
            details.append(f"expected {self.expected}")
        if self.found:
            details.append(f"found {self.found}")
        if details:
            text = f"{text} ({'; '.join(details)})"
        if self.hint:
            text = f"{text}. Hint: {self.hint}"
        return text


class InvalidDocument(HabmonError):
    """A document (plan, indicator registry, data file) failed validation; see ``report``."""

    def __init__(self, source: str, report: Report) -> None:
        super().__init__(f"{source}: {len(report.errors)} error(s)\n{report}")
        self.source = source
        self.report = report


class NotFound(HabmonError):
    """A code or identifier does not exist."""
