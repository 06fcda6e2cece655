"""Stored submissions as the monitor's principal may see them: look-up, authorization, reading back.

The base of :class:`~habmon.submission.service.Submissions`: which submissions a principal may read or act on
(docs/access.md; a submission it may not read is "not found", word for word as one that does not exist), the
rows outside a focal point's scope, the list and the reviewers' queue, each submission's staged rows and their
changes against the stored values, and the stored values validation compares against.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Text, cast, select

from habmon.access import model as access
from habmon.access.policy import SCOPE_HINT, Rule, covers, rule_for
from habmon.ingest.formats import registry
from habmon.ingest.formats.registry import Formats
from habmon.problems import HabmonError, NotFound, Problem
from habmon.store import bulk
from habmon.store import tables as t
from habmon.submission.context import Context
from habmon.submission.table import ROW, SHEET, SubmissionTable
from habmon.submission.workflow import State


class SubmissionError(HabmonError):
    """A submission cannot be found or used."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def missing(submission_id: int) -> NotFound:
    return NotFound(f"no submission {submission_id}", hint="`habmon submissions list` shows them")


class SubmissionRecords:
    """The stored submissions for the monitor's principal (every read authorized for it)."""

    def __init__(self, monitor: Context, formats: Formats | None = None) -> None:
        """``monitor``: who acts, on which store and reference data (``habmon.services.Monitor`` is one);
        ``formats``: the formats files may be in (default: every one installed, :func:`registry.installed`)."""
        self.monitor = monitor
        self.store = monitor.store
        self.principal = monitor.principal
        self.formats = registry.installed() if formats is None else formats

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
        frame = bulk.query_frame(conn, query, [*bulk.FRAME_COLUMNS, "source_row", *bulk.UNCERTAINTY_COLUMNS])
        codes, texts = pd.factorize(frame["disaggregation"])  # each distinct disaggregation written once
        frame["disaggregation"] = pd.Series(
            np.array([*(_json_text(x) for x in texts), None], dtype=object)[codes], index=frame.index, dtype=object
        )
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
            raise missing(submission_id)
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
            raise missing(submission_id)
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


def _json_text(value: Any) -> str:
    return json.dumps(dict(sorted(value.items())), ensure_ascii=False) if isinstance(value, dict) else str(value)
