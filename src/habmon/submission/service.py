"""Submissions as a service: read → validate → store as submitted → approve → publish.

Used by the CLI (``habmon submit``, ``habmon submissions …``) and the web app. Every
write is one transaction; every transition is audited; the original file is kept.

This module holds the submit use case (read, check, stage); :class:`Submissions` takes the reviewers' workflow
from :mod:`habmon.submission.review` and the reading back and authorization of stored submissions from
:mod:`habmon.submission.records`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert

from habmon.access import model as access
from habmon.access.model import Role
from habmon.access.policy import Forbidden, Rule, rule_for
from habmon.ingest.formats import registry
from habmon.ingest.formats.registry import Formats, ReadOptions
from habmon.problems import Report
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.database import insert_id
from habmon.submission.records import SubmissionError, utc_now
from habmon.submission.review import Review
from habmon.submission.table import ROW, SubmissionTable
from habmon.submission.validate import Validated, validate
from habmon.submission.workflow import DEFAULT_NATURE, Action, OrganizationType, State
from habmon.vintage import month_of, parse_vintage

# the organization types a role may submit as (a role not listed: any)
ORGANIZATION_TYPES: dict[Role, frozenset[OrganizationType]] = {Role.PARTNER: frozenset({OrganizationType.PARTNER})}
MAX_BYTES = 200_000_000


def detect_format(path: Path, formats: Formats | None = None) -> str:
    """The name of the format that reads a file (:meth:`Formats.detect`: every installed format is asked)."""
    return (registry.installed() if formats is None else formats).detect(path).name


@dataclass(frozen=True)
class SubmissionOutcome:
    submission_id: int | None
    created: bool
    state: State | None
    format: str
    rows: int
    encoding: str | None
    report: Report
    changes: Mapping[str, int]
    vintage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission": self.submission_id,
            "created": self.created,
            "state": None if self.state is None else str(self.state),
            "format": self.format,
            "rows": self.rows,
            "encoding": self.encoding,
            "changes": dict(self.changes),
            "vintage": self.vintage,
            "report": self.report.to_dict(),
        }


class Submissions(Review):
    """Submissions for the monitor's principal: every operation is authorized for it (docs/access.md).

    A focal point submits and reads only for places within its scope (rows outside it are reported as
    problems of type ``scope``), a partner only for its organization; only officers and administrators
    approve, return and publish.
    """

    # -- reading and validating ------------------------------------------------------

    def read(
        self,
        path: Path,
        *,
        fmt: str | None = None,
        geo: str | None = None,
        indicator: str | None = None,
        source_name: str | None = None,
        max_bytes: int = MAX_BYTES,
    ) -> SubmissionTable:
        if not fmt:
            reader = self.formats.detect(path)
        elif fmt in self.formats:
            reader = self.formats.get(fmt)
        else:
            raise SubmissionError("unknown submission format", expected=", ".join(self.formats.names), found=fmt)
        options = ReadOptions(
            registry=self.monitor.registry(),
            source_name=source_name or path.name,
            max_bytes=max_bytes,
            geo=geo,
            indicator=indicator,
        )
        return reader.read(path, options)

    def check(
        self,
        table: SubmissionTable,
        *,
        organization_type: OrganizationType = OrganizationType.MEMBER_STATE,
        source: str | None = None,
    ) -> Validated:
        return validate(
            table,
            registry=self.monitor.registry(),
            geography=self.monitor.geography(),
            history=self._history,
            default_nature=DEFAULT_NATURE[organization_type],
            default_source=source,
        )

    # -- submitting ------------------------------------------------------------------

    def submit(
        self,
        path: Path,
        *,
        organization: str,
        organization_type: OrganizationType,
        source: str | None = None,
        method_note: str | None = None,
        fmt: str | None = None,
        geo: str | None = None,
        indicator: str | None = None,
        source_name: str | None = None,
        uncertainty: pd.DataFrame | None = None,
        vintage: str | None = None,
    ) -> SubmissionOutcome:
        """Validate a file and, if it has no errors, store it as a submission (state validated).

        With errors nothing is stored. The same file sent again changes nothing. ``uncertainty``
        (survey estimates): SE, CI, n and design effect per observation key, staged with the rows.
        ``vintage``: the release of the source (:mod:`habmon.vintage`); none declared: the month it is submitted.
        """
        declared = parse_vintage(vintage)
        scoped = rule_for(self.principal, access.Action.SUBMIT) == Rule.OWN_SCOPE
        if not scoped:  # the public is refused here, a partner unless it submits for its own organization
            self.monitor.authorize(access.Action.SUBMIT, organization=organization)
        types = ORGANIZATION_TYPES.get(self.principal.role)
        if types is not None and organization_type not in types:
            raise Forbidden(
                f"{self.principal.label} submits as {' or '.join(sorted(types))}",
                action=access.Action.SUBMIT,
                expected=" or ".join(sorted(types)),
                found=str(organization_type),
            )
        content = path.read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        name = source_name or path.name
        existing = self._by_sha(sha)
        if existing is not None:
            return SubmissionOutcome(
                existing["id"],
                False,
                State(existing["state"]),
                existing["format"],
                existing["rows"],
                None,
                Report(),
                {"new": 0, "revised": 0, "unchanged": existing["rows"], "older": 0},
                existing["vintage"],
            )
        table = self.read(path, fmt=fmt, geo=geo, indicator=indicator, source_name=name)
        checked = self.check(table, organization_type=organization_type, source=source)
        report = checked.report
        if scoped:
            report = Report.of([*report.problems, *self.outside_scope(table)])
        if not report.valid:
            return SubmissionOutcome(None, False, None, table.format, table.rows, table.encoding, report, {})
        frame = observation_frame(checked)
        if uncertainty is not None:
            frame = frame.merge(uncertainty[[*bulk.KEY, *bulk.UNCERTAINTY_COLUMNS]], on=bulk.KEY, how="left")
        else:
            frame = frame.assign(**{c: None for c in bulk.UNCERTAINTY_COLUMNS})
        frame["n"] = frame["n"].astype("Int64")
        # the decision itself, on the places actually stored (the report above says which rows are outside)
        self.monitor.authorize(access.Action.SUBMIT, geo_codes=sorted(frame["geo"].unique()), organization=organization)
        with self.store.transaction() as conn:
            now = utc_now()
            dated = declared or month_of(now)
            current = self._current(conn, sorted(frame["series"].unique()))
            changes = bulk.counts(bulk.compare_stored(conn, frame, dated, current))
            sid = insert_id(
                conn,
                insert(t.submission).values(
                    state=str(State.SUBMITTED),
                    format=table.format,
                    file_name=name,
                    content_sha256=sha,
                    submitter=self.monitor.actor,
                    organization=organization,
                    organization_type=str(organization_type),
                    source=source,
                    method_note=method_note,
                    rows=len(frame),
                    report=checked.report.to_dict(),
                    created_at=now,
                    updated_at=now,
                    vintage=dated,
                ),
            )
            conn.execute(insert(t.submission_file).values(submission_id=sid, content=content))
            staged = frame.rename(columns={"geo": "geo_code"})
            bulk.insert_frame(conn, t.submission_row, staged, STAGED_COLUMNS, {"submission_id": sid})
            self.store.audit(
                conn,
                self.monitor.actor,
                "submission.submit",
                "submission",
                str(sid),
                {
                    "file": name,
                    "sha256": sha,
                    "rows": len(frame),
                    "organization": organization,
                    "vintage": dated,
                    "declared_vintage": declared is not None,
                    "warnings": len(checked.report.warnings),
                    **changes,
                },
            )
            self._transition(conn, sid, State.SUBMITTED, Action.VALIDATE, None)
        return SubmissionOutcome(
            sid, True, State.VALIDATED, table.format, table.rows, table.encoding, checked.report, changes, dated
        )


STAGED_COLUMNS = ["submission_id", *bulk.STORED_COLUMNS, "source_row", *bulk.UNCERTAINTY_COLUMNS]


def observation_frame(checked: Validated) -> pd.DataFrame:
    """The validated rows as an observation frame (see :mod:`habmon.store.bulk`), with their source row."""
    v = checked.frame
    return pd.DataFrame(
        {
            "series": v["series"].astype(object),
            "geo": v["geo"].astype(object),
            "period": v["period"].astype("int64"),
            "disaggregation_key": v["disaggregation_key"].astype(object),
            "disaggregation": v["disaggregation"].astype(object),
            "value": v["value"].astype("float64"),
            "numerator": v["numerator"].astype("float64"),
            "denominator": v["denominator"].astype("float64"),
            "unit": v["unit"].astype(object),
            "nature": v["nature"].astype(object),
            "source": v["source"].astype(object),
            "note": v["note"].astype(object).where(v["note"].notna(), None),
            "source_row": v[ROW].astype("int64"),
        }
    )
