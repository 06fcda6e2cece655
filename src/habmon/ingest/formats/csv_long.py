"""Long CSV: one observation per row, habmon's own submission format.

Encodings: UTF-8 with or without BOM; UTF-16 with its BOM (Excel's "Unicode Text" export);
GB18030 (a superset of GBK and GB2312, as a Chinese office's spreadsheet may save) is detected
and reported as a warning. A file that is none of these is refused with the byte offset of the
first undecodable byte — never decoded silently into the wrong characters.

Separators: commas, or tabs (Excel's "Unicode Text" and "Text (Tab delimited)" exports) — read
off the header line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pandas as pd

from habmon.indicators.registry import Registry
from habmon.ingest.formats.common import empty_table, too_large
from habmon.ingest.formats.registry import ReadOptions, suffix
from habmon.problems import Problem
from habmon.submission.table import (
    REQUIRED_COLUMNS,
    ROW,
    SubmissionTable,
    canonical_column,
    dimension_aliases,
)

DEFAULT_MAX_BYTES = 200_000_000
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def delimiter_of(header_line: str, candidates: str = ",\t") -> str:
    """The separator a header line uses: the candidate it holds most of (a comma when it holds none)."""
    return max(candidates, key=lambda c: (header_line.count(c), c == ","))


def decode(data: bytes, file: str) -> tuple[str | None, str | None, list[Problem]]:
    """Text, encoding name and problems; text is None when the encoding cannot be determined."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as utf16_error:
            problem = Problem(
                "file-unreadable",
                expected="UTF-16 text after its byte order mark",
                found=f"bytes that are not valid UTF-16 (at byte {utf16_error.start})",
                file=file,
                hint="save the file again as 'Unicode Text' or as 'CSV UTF-8'",
            )
            return None, None, [problem]
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig", []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as utf8_error:
        offset = utf8_error.start
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and CJK.search(text):
        note = Problem(
            "encoding",
            expected="UTF-8",
            found="GB18030/GBK-encoded (decoded as GB18030)",
            file=file,
            hint="save as 'CSV UTF-8' to avoid this warning",
        )
        return text, "gb18030", [note]
    problem = Problem(
        "file-unreadable",
        expected="text in UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK",
        found=f"bytes that are not valid UTF-8 (first at byte {offset}) nor Chinese GB18030 text",
        file=file,
        hint="save the file as 'CSV UTF-8'",
    )
    return None, None, [problem]


def read_csv_long(
    path: Path, *, registry: Registry, source_name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> SubmissionTable:
    name = source_name or path.name
    size = path.stat().st_size
    if size > max_bytes:
        return _empty(name, [too_large(name, f"{size:,} bytes", max_bytes)])
    text, encoding, problems = decode(path.read_bytes(), name)
    if text is None:
        return _empty(name, problems)
    return parse_csv_text(text, registry=registry, source_name=name, encoding=encoding, problems=problems)


def parse_csv_text(
    text: str,
    *,
    registry: Registry,
    source_name: str,
    encoding: str | None = "utf-8",
    problems: list[Problem] | None = None,
) -> SubmissionTable:
    problems = list(problems or [])
    header_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # the line ends csv and pandas know, a lone CR too
    separator = delimiter_of(header_line)
    header = next(csv.reader([header_line], delimiter=separator), [])
    aliases = dimension_aliases(registry.codelists)
    columns: list[str] = []
    labels: dict[str, str] = {}
    for index, label in enumerate(header):
        canonical = canonical_column(label, aliases)
        if canonical is None:
            problems.append(
                Problem(
                    "unknown-field",
                    expected="a habmon column (indicator, geo, period, value, … or a dimension id)",
                    found=repr(label),
                    file=source_name,
                    row=1,
                    column=label or f"column {index + 1}",
                    hint="see docs/submissions.md for the columns of the long CSV",
                )
            )
            canonical = f"_unknown_{index}"
        elif canonical in labels:
            problems.append(
                Problem(
                    "duplicate-id",
                    expected="each column once",
                    found=f"{label!r} (same as {labels[canonical]!r})",
                    file=source_name,
                    row=1,
                    column=label,
                )
            )
            canonical = f"_duplicate_{index}"
        columns.append(canonical)
        labels.setdefault(canonical, label)
    missing = [c for c in REQUIRED_COLUMNS if c not in labels]
    for column in missing:
        problems.append(Problem("missing", expected=f"a column '{column}'", file=source_name, row=1, column=column))
    if missing:
        return _empty(source_name, problems, encoding)
    try:
        frame = pd.read_csv(
            io.BytesIO(text.encode("utf-8")),  # UTF-8 bytes: a quarter of what a StringIO of the text holds
            encoding="utf-8",
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            header=0,
            names=columns,
            sep=separator,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        problems.append(
            Problem(
                "syntax", expected=f"CSV with {len(columns)} fields on every line", found=str(exc), file=source_name
            )
        )
        return _empty(source_name, problems, encoding)
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith(("_unknown_", "_duplicate_"))])
    for column in frame.columns:
        stripped = frame[column].str.strip()
        frame[column] = stripped.where(stripped != "")
    frame[ROW] = range(2, len(frame) + 2)  # line numbers as a person counts them (header is line 1)
    frame = frame[frame.drop(columns=[ROW]).notna().any(axis=1)].reset_index(drop=True)
    return SubmissionTable(source_name, "csv", frame, labels, encoding, tuple(problems))


def _empty(name: str, problems: list[Problem], encoding: str | None = None) -> SubmissionTable:
    return empty_table(name, "csv", problems, encoding)


TEXT_SUFFIXES = frozenset({".csv", ".txt", ""})


def looks_like_text(head: bytes) -> bool:
    """No NUL byte and UTF-8 or GB18030 text (a multi-byte character cut at the end of the head allowed)."""
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        for cut in range(4):
            try:
                head[: len(head) - cut].decode(encoding)
            except UnicodeDecodeError:
                continue
            return True
    return False


class LongCsv:
    """habmon's long CSV: any .csv or .txt file (its encoding is judged when it is read), and as the fallback any
    other text file that no other format claims."""

    name = "csv"

    def detect(self, filename: str, head: bytes) -> float:
        if suffix(filename) in TEXT_SUFFIXES:
            return 0.5
        return 0.1 if looks_like_text(head) else 0.0

    def read(self, path: Path, options: ReadOptions) -> SubmissionTable:
        return read_csv_long(
            path, registry=options.registry, source_name=options.source_name, max_bytes=options.max_bytes
        )


PLUGIN = LongCsv()
