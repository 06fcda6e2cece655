"""Excel's "Unicode Text" export (UTF-16 with a BOM, tab-separated) and tab-separated UTF-8 are read like CSV:
the same rows, the same validation, each problem on its line and column."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest

from habmon.services import Monitor
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType

ROWS = [
    ["indicator", "geo", "period", "value", "sex", "nature", "source"],
    ["11.1.1", "KEN", "2024", "40.5", "", "C", "KNBS, household survey"],  # a comma inside a field
    ["11.1.1", "UGA", "2024", "23.1", "", "C", "UBOS 住户调查"],
]


def submit(monitor: Monitor, path: Path) -> tuple[int, str | None, list[tuple[int | None, str | None]], list[Any]]:
    subs = Submissions(monitor)
    outcome = subs.submit(
        path, organization="Kenya National Bureau of Statistics", organization_type=OrganizationType.MEMBER_STATE
    )
    staged = [] if outcome.submission_id is None else subs.changes(outcome.submission_id)
    values = sorted((c["geo"], c["period"], c["new"], c["source_row"]) for c in staged)
    return outcome.rows, outcome.encoding, [(p.row, p.column) for p in outcome.report.errors], values


@pytest.mark.parametrize(
    ("name", "data", "encoding"),
    [
        (
            "unicode-text.txt",
            codecs.BOM_UTF16_LE + "\r\n".join("\t".join(r) for r in ROWS).encode("utf-16-le"),
            "utf-16",
        ),
        ("big-endian.txt", codecs.BOM_UTF16_BE + "\n".join("\t".join(r) for r in ROWS).encode("utf-16-be"), "utf-16"),
        ("tabs.tsv", "\n".join("\t".join(r) for r in ROWS).encode("utf-8"), "utf-8"),
    ],
)
def test_tab_separated_and_utf16_files_are_read_like_csv(
    monitor: Monitor, tmp_path: Path, name: str, data: bytes, encoding: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    rows, found_encoding, errors, staged = submit(monitor, path)
    assert (rows, found_encoding, errors) == (2, encoding, [])
    assert staged == [("404", 2024, 40.5, 2), ("800", 2024, 23.1, 3)]  # Kenya and Uganda, on their lines


def test_a_problem_in_a_utf16_file_names_its_line_and_column(monitor: Monitor, tmp_path: Path) -> None:
    bad = [*ROWS[:2], ["11.1.1", "XXX", "2024", "abc", "", "C", "UBOS"]]
    path = tmp_path / "unicode-text.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "\r\n".join("\t".join(r) for r in bad).encode("utf-16-le"))
    _, encoding, errors, _ = submit(monitor, path)
    assert encoding == "utf-16"
    assert set(errors) == {(3, "geo"), (3, "value")}


def test_a_broken_utf16_file_is_refused_with_the_byte_offset(monitor: Monitor, tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "indicator\tgeo".encode("utf-16-le") + b"\x00\xd8")  # a lone surrogate
    outcome = Submissions(monitor).submit(path, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE)
    problem = outcome.report.errors[0]
    assert problem.type == "file-unreadable" and problem.found.startswith("bytes that are not valid UTF-16")
    assert outcome.submission_id is None
