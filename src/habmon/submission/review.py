"""The reviewers' workflow on a stored submission: approve (its values become revisions), publish, return.

Each step is one transaction, checked against the workflow's transitions (:mod:`habmon.submission.workflow`),
authorized for the principal and audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, update

from habmon.access import model as access
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.observations import Batch, RevisionSummary
from habmon.submission.records import SubmissionError, SubmissionRecords, utc_now
from habmon.submission.workflow import Action, State, next_state


class OlderVintage(SubmissionError):
    """Approving would store values of an older vintage than the current ones: it needs an explicit decision."""


class Review(SubmissionRecords):
    """Approve, publish and return submissions (officers and administrators; docs/access.md)."""

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
                .values(batch_id=summary.batch_id, state=str(state), updated_at=utc_now(), comment=comment)
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
        values: dict[str, Any] = {"state": str(target), "updated_at": utc_now()}
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
