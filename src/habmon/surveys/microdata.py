"""Reading survey microdata in any registered format (:mod:`habmon.surveys.readers`: CSV, Parquet, Stata .dta and
SPSS .sav built in), keeping the value labels.

Returns the records as a frame of codes (labels are not applied), the value labels per variable
(code → label) and the file's SHA-256. An unreadable file is a ``file-unreadable`` problem.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from habmon.problems import Problem, Report
from habmon.surveys.readers import format_of, microdata_formats


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


def read_microdata(path: Path, name: str | None = None) -> Microdata | Report:
    file = name or path.name
    fmt = format_of(path)
    if fmt is None:
        return Report.of(
            [
                Problem(
                    "value",
                    expected="a " + ", ".join(sorted(microdata_formats())) + " file",
                    found=path.suffix or "no extension",
                    file=file,
                )
            ]
        )
    try:
        frame, labels = fmt.read(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        return Report.of([Problem("file-unreadable", found=str(exc)[:300], file=file)])
    frame.columns = [str(c).lower() for c in frame.columns]
    labels = {k.lower(): v for k, v in labels.items()}
    return Microdata(file, fmt.name, sha256_of(path), frame, labels)
