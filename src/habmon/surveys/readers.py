"""Survey microdata formats as plugins: CSV, Parquet, Stata ``.dta`` and SPSS ``.sav``.

Each is a small object with a ``name``, the file ``suffixes`` it reads and ``read(path)`` → (records as a frame of
codes, value labels per variable). They are found through the entry-point group ``habmon.microdata``, where
habmon declares its own in pyproject.toml exactly as a third-party package would declare another::

    [project.entry-points."habmon.microdata"]
    feather = "my_package.module:PLUGIN"

Survey files are not submissions (records, not observations), so they have their own group beside
``habmon.formats``; the pattern is the same (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from habmon.problems import HabmonError

ENTRY_POINT_GROUP = "habmon.microdata"
Labels = dict[str, dict[int, str]]


@runtime_checkable
class MicrodataFormat(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def suffixes(self) -> tuple[str, ...]: ...

    def read(self, path: Path) -> tuple[pd.DataFrame, Labels]:
        """The records (codes, labels not applied) and the value labels; raises OSError/ValueError on a bad file."""
        ...


def _int_labels(labels: Mapping[str, Mapping[Any, Any]]) -> Labels:
    out: Labels = {}
    for variable, codes in labels.items():
        kept = {
            int(float(str(c))): str(v) for c, v in codes.items() if str(c).lstrip("-").replace(".", "", 1).isdigit()
        }
        if kept:
            out[variable] = kept
    return out


@dataclass(frozen=True)
class Csv:
    name: str = "csv"
    suffixes: tuple[str, ...] = (".csv",)

    def read(self, path: Path) -> tuple[pd.DataFrame, Labels]:
        return pd.read_csv(path), {}


@dataclass(frozen=True)
class Parquet:
    name: str = "parquet"
    suffixes: tuple[str, ...] = (".parquet",)

    def read(self, path: Path) -> tuple[pd.DataFrame, Labels]:
        return pd.read_parquet(path), {}


@dataclass(frozen=True)
class Readstat:
    """Stata and SPSS through pyreadstat, keeping the value labels."""

    name: str
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> tuple[pd.DataFrame, Labels]:
        import pyreadstat

        reader = {"dta": pyreadstat.read_dta, "sav": pyreadstat.read_sav}[self.name]
        try:
            frame, meta = reader(str(path), apply_value_formats=False)
        except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
            raise ValueError(str(exc)) from exc
        return frame, _int_labels(meta.variable_value_labels)


CSV, PARQUET = Csv(), Parquet()
STATA, SPSS = Readstat("dta", (".dta",)), Readstat("sav", (".sav",))


class MicrodataFormatError(HabmonError):
    """A microdata plugin is broken, or none is registered."""


@cache
def microdata_formats() -> dict[str, MicrodataFormat]:
    """Every registered microdata format by file suffix (habmon's own and any installed plugin's)."""
    found: dict[str, MicrodataFormat] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        plugin = point.load()
        if not isinstance(plugin, MicrodataFormat):
            raise MicrodataFormatError(
                f"entry point {point.name!r} in {ENTRY_POINT_GROUP!r} is not a microdata format",
                expected="an object with name, suffixes and read(path)",
                found=type(plugin).__name__,
            )
        for suffix in plugin.suffixes:
            found.setdefault(suffix.lower(), plugin)
    if not found:
        raise MicrodataFormatError(
            f"no microdata format is registered in the entry-point group {ENTRY_POINT_GROUP!r}",
            hint="reinstall habmon: pip install -e .",
        )
    return found


def format_of(path: Path) -> MicrodataFormat | None:
    return microdata_formats().get(path.suffix.lower())
