"""Reading survey microdata: CSV, Stata .dta and SPSS .sav, keeping the value labels.

Returns the records as a frame of codes (labels are not applied), the value labels per variable
(code → label) and the file's SHA-256. An unreadable file is a ``file-unreadable`` problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat

from habmon.problems import Problem, Report

FORMATS = {".csv": "csv", ".dta": "dta", ".sav": "sav", ".parquet": "parquet"}


@dataclass(frozen=True)
class Microdata:
    file: str
    format: str
    sha256: str
    frame: pd.DataFrame
    labels: dict[str, dict[int, str]]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _int_labels(labels: Mapping[str, Mapping[Any, Any]]) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for variable, codes in labels.items():
        kept = {
            int(float(str(c))): str(v) for c, v in codes.items() if str(c).lstrip("-").replace(".", "", 1).isdigit()
        }
        if kept:
            out[variable] = kept
    return out


def read_microdata(path: Path, name: str | None = None) -> Microdata | Report:
    file = name or path.name
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        return Report.of(
            [
                Problem(
                    "value",
                    expected="a .csv, .dta, .sav or .parquet file",
                    found=path.suffix or "no extension",
                    file=file,
                )
            ]
        )
    try:
        labels: dict[str, dict[int, str]] = {}
        if fmt == "csv":
            frame = pd.read_csv(path)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            reader = pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav
            frame, meta = reader(str(path), apply_value_formats=False)
            labels = _int_labels(meta.variable_value_labels)
    except (
        OSError,
        ValueError,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pyreadstat.ReadstatError,
        pyreadstat.PyreadstatError,
    ) as exc:
        return Report.of([Problem("file-unreadable", found=str(exc)[:300], file=file)])
    frame.columns = [str(c).lower() for c in frame.columns]
    labels = {k.lower(): v for k, v in labels.items()}
    return Microdata(file, fmt, sha256_of(path), frame, labels)
