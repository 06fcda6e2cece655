"""Validation reports the submitter can act on: annotated CSV (the annotated Excel lives with the Excel reader)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from habmon.problems import Report
from habmon.submission.table import ROW, SubmissionTable


def problems_by_row(report: Report) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = defaultdict(list)
    for problem in report:
        if problem.row is not None:
            where = f"[{problem.column}] " if problem.column else ""
            rows[problem.row].append(f"{problem.severity}: {where}{problem.message}")
    return rows


def write_annotated_csv(path: Path, table: SubmissionTable, report: Report) -> None:
    """The submitted rows in canonical columns, each followed by its problems; UTF-8 with BOM (opens in Excel)."""
    notes = problems_by_row(report)
    columns = [c for c in table.frame.columns if not c.startswith("_")]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", *columns, "problems"])
        for record in table.frame.to_dict("records"):
            row = int(record[ROW])
            cells = ["" if record[c] is None or record[c] != record[c] else record[c] for c in columns]
            writer.writerow([row, *cells, " | ".join(notes.get(row, []))])
        for problem in report:
            if problem.row is None:
                writer.writerow(["", *([""] * len(columns)), f"{problem.severity}: {problem}"])
