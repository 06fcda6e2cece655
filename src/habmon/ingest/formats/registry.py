"""The format registry: every submission format is a plugin, the built-in ones too.

A format is an object with a ``name`` (what ``--format`` and the web form's format field take), a
``detect(filename, head)`` that says how sure it is that a file is in its format (0 = not mine, 1 = certainly
mine; ``head`` is the file's first :data:`HEAD_BYTES` bytes) and a ``read(path, options)`` that turns the file
into a :class:`~habmon.submission.table.SubmissionTable` (problems, never exceptions, on bad input).

Formats are found through the entry-point group ``habmon.formats``: habmon's own (CSV, Excel, SDMX, Open SDG) are
declared in its pyproject.toml exactly as a third-party package declares one::

    [project.entry-points."habmon.formats"]
    jsonl = "my_package.module:PLUGIN"

Detection asks every format and takes the surest (ties go to the first name in alphabetical order); a file that
no format accepts is refused with the list of formats tried. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

from habmon.indicators.registry import Registry
from habmon.problems import HabmonError
from habmon.submission.table import SubmissionTable

ENTRY_POINT_GROUP = "habmon.formats"
HEAD_BYTES = 4096


@dataclass(frozen=True)
class ReadOptions:
    """What a reader may use: the indicator registry (codes, codelists), the name to report problems against,
    the size limit, and for single-series formats (Open SDG) the place and indicator the file is about."""

    registry: Registry
    source_name: str
    max_bytes: int
    geo: str | None = None
    indicator: str | None = None


@runtime_checkable
class Format(Protocol):
    """A submission format (see the module docstring)."""

    @property
    def name(self) -> str: ...

    def detect(self, filename: str, head: bytes) -> float:
        """Confidence in [0, 1] that the file named ``filename`` starting with ``head`` is in this format."""
        ...

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable: ...


class FormatError(HabmonError):
    """No format, or no format of that name, reads a file; or a plugin is broken."""


def first_line(head: bytes) -> str:
    """The first line of a file's head as text (BOM dropped, undecodable bytes replaced), for header sniffing."""
    line = head.split(b"\n", 1)[0]
    return line.decode("utf-8", errors="replace").lstrip("\ufeff").strip()


def header_columns(head: bytes) -> set[str]:
    """The comma-separated column labels of the first line, casefolded and unquoted."""
    return {c.strip().strip('"') for c in first_line(head).casefold().split(",")}


def suffix(filename: str) -> str:
    return Path(filename).suffix.lower()


class Formats:
    """The formats a submission service reads, by name."""

    def __init__(self, formats: Iterable[Format]) -> None:
        by_name: dict[str, Format] = {}
        for fmt in formats:
            if fmt.name in by_name:
                raise FormatError(
                    f"two submission formats are named {fmt.name!r}",
                    expected="one format per name",
                    found=f"{type(by_name[fmt.name]).__qualname__} and {type(fmt).__qualname__}",
                )
            by_name[fmt.name] = fmt
        self._formats = dict(sorted(by_name.items()))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._formats)

    def __iter__(self) -> Iterator[Format]:
        return iter(self._formats.values())

    def __contains__(self, name: object) -> bool:
        return name in self._formats

    def get(self, name: str) -> Format:
        fmt = self._formats.get(name)
        if fmt is None:
            raise FormatError("unknown submission format", expected=", ".join(self.names), found=name)
        return fmt

    def detect(self, path: Path) -> Format:
        """The format surest that it reads ``path``; :class:`FormatError` naming every format tried if none does."""
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        best: Format | None = None
        best_score = 0.0
        for fmt in self._formats.values():
            score = fmt.detect(path.name, head)
            if score > best_score:
                best, best_score = fmt, score
        if best is None:
            raise FormatError(
                f"no submission format reads {path.name}",
                expected=f"a file in one of the formats tried: {', '.join(self.names) or 'none installed'}",
                found=f"{suffix(path.name) or 'no extension'}, starting {head[:40]!r}",
                hint=_hint(self.names),
            )
        return best


def _hint(names: tuple[str, ...]) -> str:
    if not names:
        return (
            f"no format is registered in the entry-point group {ENTRY_POINT_GROUP!r}: "
            "reinstall habmon (`scripts/setup.sh dev` or `pip install -e .`)"
        )
    return "name the format with --format, or save the file as CSV (UTF-8) or Excel (.xlsx)"


def load(group: str = ENTRY_POINT_GROUP) -> Formats:
    """Every format registered in the entry-point group (habmon's own and any installed plugin's)."""
    found: list[Format] = []
    for point in entry_points(group=group):
        fmt = point.load()
        if not isinstance(fmt, Format):
            raise FormatError(
                f"entry point {point.name!r} in {group!r} is not a submission format",
                expected="an object with name, detect(filename, head) and read(path, options)",
                found=f"{point.value} ({type(fmt).__qualname__})",
            )
        found.append(fmt)
    return Formats(found)


@cache
def installed() -> Formats:
    """:func:`load` once per process."""
    return load()
