"""JSON Lines submissions: one JSON object per line, keys as habmon's canonical columns or their aliases.

    {"indicator": "11.1.1", "geo": "KEN", "period": 2024, "value": 40.5, "sex": "F", "nature": "C"}

An example of a habmon format plugin living outside habmon (see docs/architecture.md): it imports only
habmon's public format API and registers through the ``habmon.formats`` entry point in its pyproject.toml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from habmon.ingest.formats.registry import ReadOptions, suffix
from habmon.problems import Problem
from habmon.submission.table import REQUIRED_COLUMNS, ROW, SubmissionTable, canonical_column, dimension_aliases

NAME = "jsonl"


def _cell(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else json.dumps(value)


def _empty(source: str, problems: list[Problem]) -> SubmissionTable:
    return SubmissionTable(source, NAME, pd.DataFrame({ROW: pd.Series(dtype="int64")}), {}, "utf-8", tuple(problems))


class JsonLines:
    name = NAME

    def detect(self, filename: str, head: bytes) -> float:
        if suffix(filename) in {".jsonl", ".ndjson"}:
            return 1.0
        return 0.7 if head.lstrip().startswith(b"{") else 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        source = options.source_name
        size = path.stat().st_size
        if size > options.max_bytes:
            found = f"{size:,} bytes"
            return _empty(
                source, [Problem("too-large", expected=f"{options.max_bytes:,} bytes", found=found, file=source)]
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            found = f"a byte that is not UTF-8 at offset {exc.start}"
            return _empty(source, [Problem("file-unreadable", expected="UTF-8 text", found=found, file=source)])
        aliases = dimension_aliases(options.registry.codelists)
        problems: list[Problem] = []
        records: list[dict[str, Any]] = []
        labels: dict[str, str] = {}
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem("syntax", expected="a JSON object", found=exc.msg, file=source, row=line_number)
                )
                continue
            if not isinstance(item, dict):
                found = type(item).__name__
                problems.append(Problem("syntax", expected="a JSON object", found=found, file=source, row=line_number))
                continue
            record: dict[str, Any] = {ROW: line_number}
            for key, value in item.items():
                column = canonical_column(str(key), aliases)
                if column is None:
                    expected = "a habmon column (indicator, geo, period, value, … or a dimension id)"
                    problems.append(
                        Problem("unknown-field", expected=expected, found=repr(key), file=source, row=line_number)
                    )
                    continue
                labels.setdefault(column, str(key))
                record[column] = _cell(value)
            records.append(record)
        missing = [c for c in REQUIRED_COLUMNS if c not in labels]
        problems.extend(Problem("missing", expected=f"a key '{c}'", file=source, column=c) for c in missing)
        if missing or not records:
            return _empty(source, problems)
        frame = pd.DataFrame.from_records(records).astype(object)
        frame = frame.where(frame.notna(), None)
        frame[ROW] = frame[ROW].astype("int64")
        return SubmissionTable(source, NAME, frame, labels, "utf-8", tuple(problems))


PLUGIN = JsonLines()
