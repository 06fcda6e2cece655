"""What the file readers share: a file read within a size limit, the text frame, the empty table, column order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from habmon.indicators.model import Codelists
from habmon.problems import Problem
from habmon.submission.table import CORE_COLUMNS, ROW, SubmissionTable


def read_limited(path: Path, name: str, max_bytes: int) -> tuple[bytes | None, list[Problem]]:
    """The bytes of a file, or None and a problem when it is unreadable or larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [too_large(name, f"{size:,} bytes", max_bytes, hint="split the submission into smaller files")]
        return path.read_bytes(), []
    except OSError as exc:
        return None, [Problem("file-unreadable", expected="a readable file", found=str(exc), file=name)]


def too_large(name: str, found: str, limit: int, *, hint: str | None = None) -> Problem:
    """The problem of a file over the size limit (``found``: its size, as the reader measured it)."""
    return Problem("too-large", expected=f"{limit:,} bytes", found=found, file=name, hint=hint)


def build_frame(rows: Sequence[Mapping[str, Any]], columns: Iterable[str]) -> pd.DataFrame:
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
