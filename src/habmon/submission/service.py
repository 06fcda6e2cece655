"""Submissions as a service: read → validate → store as submitted → approve → publish.

Used by the CLI (``habmon submit``, ``habmon submissions …``) and the web app. Every
write is one transaction; every transition is audited; the original file is kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Text, cast, insert, select, update

from habmon.access import model as access
from habmon.access.model import Role
from habmon.access.policy import SCOPE_HINT, Forbidden, Rule, covers, rule_for
from habmon.ingest.formats import registry
from habmon.ingest.formats.registry import Formats, ReadOptions
from habmon.problems import HabmonError, NotFound, Problem, Report
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.database import insert_id
from habmon.store.observations import Batch, RevisionSummary
from habmon.submission.context import Context
from habmon.submission.table import ROW, SHEET, SubmissionTable
from habmon.submission.validate import Validated, validate
from habmon.submission.workflow import DEFAULT_NATURE, Action, OrganizationType, State, next_state
from habmon.vintage import month_of, parse_vintage

CHUNK = 50_000
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


class SubmissionError(HabmonError):
    """A submission cannot be found or used."""


class OlderVintage(SubmissionError):
    """Approving would store values of an older vintage than the current ones: it needs an explicit decision."""


def _now() -> datetime:
    return datetime.now(UTC)


def _missing(submission_id: int) -> NotFound:
    return NotFound(f"no submission {submission_id}", hint="`habmon submissions list` shows them")


class Submissions:
    """Submissions for the monitor's principal: every operation is authorized for it (docs/access.md).

    A focal point submits and reads only for places within its scope (rows outside it are reported as
    problems of type ``scope``), a partner only for its organization; only officers and administrators
    approve, return and publish.
    """

    def __init__(self, monitor: Context, formats: Formats | None = None) -> None:
        """``monitor``: who acts, on which store and reference data (``habmon.services.Monitor`` is one);
        ``formats``: the formats files may be in (default: every one installed, :func:`registry.installed`)."""
        self.monitor = monitor
        self.store = monitor.store
        self.principal = monitor.principal
        self.formats = registry.installed() if formats is None else formats

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
            now = _now()
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
            bulk.bulk_insert(
                conn,
                t.submission_row,
                STAGED_COLUMNS,
                bulk.rows_of(frame.rename(columns={"geo": "geo_code"}), STAGED_COLUMNS, {"submission_id": sid}),
            )
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

    # -- workflow ------------------------------------------------------------------------

    def approve(
        self, submission_id: int, comment: str | None = None, *, accept_older_vintage: bool = False
    ) -> RevisionSummary:
        """Record the submission's values as new revisions (locked until a new submission revises them).

        Values of an older vintage than the current ones are kept in the history without becoming current; a
        submission with such values is approved only with ``accept_older_vintage`` (:class:`OlderVintage`)."""
        with self.store.transaction() as conn:
            row = self._require(conn, submission_id, access.Action.APPROVE)
            state = next_state(State(row["state"]), Action.APPROVE)
            staged = self.staged_frame(conn, submission_id)
            if not accept_older_vintage:
                self._refuse_older(conn, staged, row)
            batch = Batch(
                kind="submission",
                name=f"submission {submission_id}: {row['file_name']}",
                actor=self.monitor.actor,
                source_file=row["file_name"],
                content_sha256=row["content_sha256"],
                organization=row["organization"],
                note=row["method_note"],
                vintage=row["vintage"],
            )
            summary = self.store.record_frame(staged, batch, conn)
            conn.execute(
                update(t.submission)
                .where(t.submission.c.id == submission_id)
                .values(batch_id=summary.batch_id, state=str(state), updated_at=_now(), comment=comment)
            )
            self.store.audit(
                conn,
                self.monitor.actor,
                "submission.approve",
                "submission",
                str(submission_id),
                {
                    "from": row["state"],
                    "to": str(state),
                    "batch": summary.batch_id,
                    "new": summary.new,
                    "revised": summary.revised,
                    "unchanged": summary.unchanged,
                    "older": summary.older,
                    "accepted_older_vintage": accept_older_vintage and summary.older > 0,
                    "comment": comment,
                },
            )
            return summary

    def _refuse_older(self, conn: Connection, staged: pd.DataFrame, row: Mapping[str, Any]) -> None:
        current = bulk.current_frame(conn, sorted(staged["series"].unique()))
        compared = bulk.compare_stored(conn, staged, row["vintage"], current)
        older = compared[compared["status"] == "older"]
        if older.empty:
            return
        newer = ", ".join(sorted(older["old_vintage"].astype(str).unique()))
        raise OlderVintage(
            f"submission {row['id']} holds {len(older)} value(s) of vintage {row['vintage']}, older than the "
            f"stored ones of vintage {newer}: approved, they stay in the history and do not become current",
            expected="an explicit decision to approve values of an older vintage",
            found=f"{len(older)} value(s) of vintage {row['vintage']} against vintage {newer}",
            hint="approve with --accept-older-vintage (API: accept_older_vintage=true), or return the submission",
        )

    def publish(self, submission_id: int, comment: str | None = None) -> None:
        with self.store.transaction() as conn:
            row = self._require(conn, submission_id, access.Action.PUBLISH)
            self._transition(conn, submission_id, State(row["state"]), Action.PUBLISH, comment)

    def return_(self, submission_id: int, comment: str) -> None:
        with self.store.transaction() as conn:
            row = self._require(conn, submission_id, access.Action.RETURN)
            if not comment.strip():
                raise SubmissionError("a returned submission needs a comment for the submitter", expected="a comment")
            self._transition(conn, submission_id, State(row["state"]), Action.RETURN, comment)

    def _transition(
        self, conn: Connection, submission_id: int, current: State, action: Action, comment: str | None
    ) -> State:
        target = next_state(current, action)
        values: dict[str, Any] = {"state": str(target), "updated_at": _now()}
        if comment is not None:
            values["comment"] = comment
        conn.execute(update(t.submission).where(t.submission.c.id == submission_id).values(**values))
        self.store.audit(
            conn,
            self.monitor.actor,
            f"submission.{action}",
            "submission",
            str(submission_id),
            {"from": str(current), "to": str(target), "comment": comment},
        )
        return target

    # -- reading back -----------------------------------------------------------------------

    def entries(self, state: str | None = None) -> list[dict[str, Any]]:
        """The submissions the principal may read, oldest first (a role that never may is refused)."""
        if rule_for(self.principal, access.Action.READ_SUBMISSION) == Rule.NEVER:
            self.monitor.authorize(access.Action.READ_SUBMISSION)
        s = t.submission.c
        query = select(
            s.id,
            s.state,
            s.format,
            s.file_name,
            s.submitter,
            s.organization,
            s.organization_type,
            s.rows,
            s.created_at,
            s.updated_at,
            s.comment,
        ).order_by(s.id)
        if state:
            query = query.where(s.state == state)
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            return self._readable(conn, rows)

    def queue(self) -> list[dict[str, Any]]:
        """The reviewers' queue (officers and administrators): validated submissions to approve or return,
        approved ones to publish, oldest first."""
        if rule_for(self.principal, access.Action.APPROVE) == Rule.NEVER:  # who may approve some submissions
            self.monitor.authorize(access.Action.APPROVE)
        waiting = {str(State.VALIDATED), str(State.APPROVED)}
        return [row for row in self.entries() if row["state"] in waiting]

    def get(self, submission_id: int) -> dict[str, Any]:
        with self.store.engine.connect() as conn:
            return self._require(conn, submission_id, access.Action.READ_SUBMISSION)

    def changes(self, submission_id: int, limit: int | None = 1000) -> list[dict[str, Any]]:
        """Each staged value against the stored one: new, revised (old → new), unchanged, or older (of an older
        vintage than the current value: kept in the history, not current); older first, then revised."""
        with self.store.engine.connect() as conn:
            vintage, compared = self._compared(conn, submission_id)
        order = compared["status"].map({"older": 0, "revised": 1, "new": 2, "unchanged": 3})
        compared = compared.assign(_order=order).sort_values(["_order", "source_row"], kind="stable")
        if limit is not None:
            compared = compared.head(limit)
        return [
            {
                "indicator": r.series,
                "geo": r.geo,
                "period": int(r.period),
                "disaggregation": json.loads(r.disaggregation),
                "status": r.status,
                "old": None if pd.isna(r.old_value) else float(r.old_value),
                "old_revision": None if pd.isna(r.old_revision) else int(r.old_revision),
                "old_vintage": None if pd.isna(r.old_vintage) else str(r.old_vintage),
                "new": float(r.value),
                "vintage": vintage,
                "source_row": int(r.source_row),
            }
            for r in compared.itertuples(index=False)
        ]

    def change_counts(self, submission_id: int) -> dict[str, int]:
        """How many staged values are new, revised, unchanged and of an older vintage (see :meth:`changes`)."""
        with self.store.engine.connect() as conn:
            return bulk.counts(self._compared(conn, submission_id)[1])

    def _compared(self, conn: Connection, submission_id: int) -> tuple[str | None, pd.DataFrame]:
        vintage = self._require(conn, submission_id, access.Action.READ_SUBMISSION)["vintage"]
        staged = self.staged_frame(conn, submission_id)
        current = self._current(conn, sorted(staged["series"].unique()))
        return vintage, bulk.compare_stored(conn, staged, vintage, current)

    def staged_frame(self, conn: Connection, submission_id: int) -> pd.DataFrame:
        """The submission's staged rows as an observation frame (plus ``source_row``)."""
        self._require(conn, submission_id, access.Action.READ_SUBMISSION)
        r = t.submission_row.c
        query = (
            select(
                r.series,
                r.geo_code,
                r.period,
                r.disaggregation_key,
                cast(r.disaggregation, Text),
                r.value,
                r.numerator,
                r.denominator,
                r.unit,
                r.nature,
                r.source,
                r.note,
                r.source_row,
                r.se,
                r.ci_low,
                r.ci_high,
                r.n,
                r.deff,
            )
            .where(r.submission_id == submission_id)
            .order_by(r.id)
        )
        frame = bulk.records_frame(
            conn.execute(query).all(), [*bulk.FRAME_COLUMNS, "source_row", *bulk.UNCERTAINTY_COLUMNS]
        )
        frame["disaggregation"] = frame["disaggregation"].map(_json_text)
        frame["n"] = frame["n"].astype("Int64")
        return frame

    def original(self, submission_id: int) -> tuple[str, bytes]:
        with self.store.engine.connect() as conn:
            row = self._require(conn, submission_id, access.Action.READ_SUBMISSION)
            content = conn.execute(
                select(t.submission_file.c.content).where(t.submission_file.c.submission_id == submission_id)
            ).scalar_one()
        return str(row["file_name"]), bytes(content)

    def _get(self, conn: Connection, submission_id: int) -> dict[str, Any]:
        self.store.require_schema()
        row = conn.execute(select(t.submission).where(t.submission.c.id == submission_id)).first()
        if row is None:
            raise _missing(submission_id)
        return dict(row._mapping)

    def _by_sha(self, sha: str) -> dict[str, Any] | None:
        """The newest submission of this content that the principal may read (others stay invisible)."""
        self.store.require_schema()
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(t.submission).where(t.submission.c.content_sha256 == sha).order_by(t.submission.c.id.desc())
            )
            readable = self._readable(conn, [dict(r._mapping) for r in rows])
        return readable[0] if readable else None

    # -- authorization ------------------------------------------------------------------------

    def _require(self, conn: Connection, submission_id: int, action: access.Action) -> dict[str, Any]:
        """The submission, if the principal may do ``action`` to it. A role that never may is refused first,
        without saying whether the submission exists; a submission the principal may not read is "not found",
        word for word as one that does not exist (a focal point learns nothing of another country's)."""
        if rule_for(self.principal, action) == Rule.NEVER:
            self.monitor.authorize(action)
        row = self._get(conn, submission_id)
        read = access.Action.READ_SUBMISSION
        needs_geos = self._needs_geos(action) or self._needs_geos(read)
        geos = self._geos(conn, [submission_id]).get(submission_id, set()) if needs_geos else None
        about = {"geo_codes": geos, "organization": row["organization"], "owner": row["submitter"]}
        if not self.monitor.allowed(read, **about):
            raise _missing(submission_id)
        self.monitor.authorize(action, **about)
        return row

    def _readable(self, conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        action = access.Action.READ_SUBMISSION
        if rule_for(self.principal, action) == Rule.ALWAYS:
            return rows
        geos = self._geos(conn, [r["id"] for r in rows]) if self._needs_geos(action) else {}
        return [
            r
            for r in rows
            if self.monitor.allowed(
                action,
                geo_codes=geos.get(r["id"], set()),
                organization=r["organization"],
                owner=r["submitter"],
            )
        ]

    def _needs_geos(self, action: access.Action) -> bool:
        return rule_for(self.principal, action) == Rule.OWN_SCOPE

    def _geos(self, conn: Connection, ids: list[int]) -> dict[int, set[str]]:
        """The places each submission concerns (from its staged rows)."""
        r = t.submission_row.c
        out: dict[int, set[str]] = {i: set() for i in ids}
        if ids:
            query = select(r.submission_id, r.geo_code).where(r.submission_id.in_(ids)).distinct()
            for sid, geo in conn.execute(query):
                out[sid].add(geo)
        return out

    def outside_scope(self, table: SubmissionTable) -> list[Problem]:
        """One ``scope`` problem per row whose place lies outside the principal's scope (row and column named).

        Places that do not resolve are left to validation, which reports them as unknown codes."""
        geography = self.monitor.geography()
        places: dict[str, str] = {}
        for raw in table.frame["geo"].dropna().unique():
            try:
                places[str(raw)] = geography.resolve(str(raw)).code
            except NotFound:
                continue
        outside = {
            raw: code for raw, code in places.items() if not covers(self.principal, code, self.monitor.ancestors)
        }
        if not outside:
            return []
        scope = ", ".join(
            f"{geography.units[c].name()} ({c})" if c in geography.units else c
            for c in sorted(self.principal.geo_scope)
        )
        frame = table.frame[table.frame["geo"].isin(list(outside))]
        sheets = frame[SHEET].tolist() if SHEET in frame else [None] * len(frame)
        return [
            Problem(
                "scope",
                expected=f"a place within the scope of {self.principal.username}: {scope or 'none'} (or a city in it)",
                found=f"{raw} ({geography.units[outside[raw]].name()})",
                file=table.source,
                sheet=None if sheet is None else str(sheet),
                row=int(row),
                column=table.label("geo"),
                hint=SCOPE_HINT,
            )
            for raw, row, sheet in zip(frame["geo"].astype(str), frame[ROW], sheets, strict=True)
        ]

    def _history(self, series: Sequence[str]) -> pd.DataFrame:
        """Stored values that validation compares against, as far as the principal may see them."""
        with self.store.engine.connect() as conn:
            return self._current(conn, series)

    def _current(self, conn: Connection, series: Sequence[str]) -> pd.DataFrame:
        """The newest stored revisions — unpublished ones only for places whose unpublished values the principal
        may read, the published ones elsewhere (so outlier warnings and diffs reveal nothing more)."""
        full = bulk.current_frame(conn, series)
        if rule_for(self.principal, access.Action.READ_UNPUBLISHED) == Rule.ALWAYS:
            return full
        mine = [g for g in full["geo"].unique() if self.monitor.allowed(access.Action.READ_UNPUBLISHED, geo_codes=[g])]
        published = bulk.current_frame(conn, series, public=True)
        parts = [full[full["geo"].isin(mine)], published[~published["geo"].isin(mine)]]
        return pd.concat([p for p in parts if not p.empty] or [full.head(0)], ignore_index=True)


STAGED_COLUMNS = ["submission_id", *bulk.STORED_COLUMNS, "source_row", *bulk.UNCERTAINTY_COLUMNS]


def _json_text(value: Any) -> str:
    return json.dumps(dict(sorted(value.items())), ensure_ascii=False) if isinstance(value, dict) else str(value)


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
