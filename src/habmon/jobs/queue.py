"""The job table as a queue: request, claim, renew, finish — safe across processes and hosts.

* **Request.** At most one job of a kind waits at a time (a partial unique index on ``kind`` where
  ``state = 'queued'``): a request made while one waits joins it — it counts one more request and
  takes the newest requester — so a burst of publications makes one more monitoring run, not ten.
* **Claim.** One statement moves the oldest claimable job to ``running`` with a lease: a queued job
  of a kind that has no running job with a live lease, or a running job whose lease has passed (its
  worker died). On PostgreSQL the candidate row is locked ``FOR UPDATE SKIP LOCKED``, so workers on
  several hosts never claim the same job; SQLite serialises writers (one host, the same table).
* **Renew / finish.** The worker renews its lease while it works; ``finish`` and ``fail`` succeed
  only for the worker that holds the job, so a worker that lost its lease cannot overwrite the
  outcome of the one that took over.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from habmon.store import tables as t
from habmon.store.store import Store

DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3  # a job whose worker died (or lost the database) this often is given up (failed), not claimed forever
TRY_AGAIN = object()  # what one claim attempt answers when it gave a job up or lost a race: look again


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    state: JobState
    requested_by: str
    requested_at: datetime
    attempts: int
    requests: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_until: datetime | None = None
    worker: str | None = None
    result: Mapping[str, Any] | None = None
    error: str | None = None

    @classmethod
    def of(cls, row: Any) -> Job:
        m = row._mapping
        return cls(
            id=int(m["id"]),
            kind=str(m["kind"]),
            state=JobState(m["state"]),
            requested_by=str(m["requested_by"]),
            requested_at=_aware(m["requested_at"]),
            attempts=int(m["attempts"]),
            requests=int(m["requests"]),
            started_at=_aware(m["started_at"]),
            finished_at=_aware(m["finished_at"]),
            lease_until=_aware(m["lease_until"]),
            worker=m["worker"],
            result=m["result"],
            error=m["error"],
        )


def _aware(value: datetime | None) -> Any:
    """SQLite returns naive datetimes for what was stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _claimable(job: Any, now: datetime, kinds: tuple[str, ...] | None) -> Any:
    """Queued with no live run of its kind, or running with a lease that has passed (its worker died)."""
    other = t.job.alias("other")
    live_run_of_same_kind = exists().where(
        other.c.kind == job.c.kind,
        other.c.state == JobState.RUNNING,
        other.c.lease_until > now,
        other.c.id != job.c.id,
    )
    condition = or_(
        and_(job.c.state == JobState.QUEUED, ~live_run_of_same_kind),
        and_(job.c.state == JobState.RUNNING, job.c.lease_until <= now),
    )
    return condition if kinds is None else and_(condition, job.c.kind.in_(kinds))


def worker_name() -> str:
    """``host:pid``: enough for an operator to find the process that holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobQueue:
    """The durable queue of one store."""

    def __init__(self, store: Store, *, lease: timedelta = DEFAULT_LEASE, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.store = store
        self.lease = lease
        self.max_attempts = max_attempts

    # -- requests ----------------------------------------------------------------------------------------

    def request(self, kind: str, requested_by: str) -> Job:
        """Queue a job of ``kind``, or join the one of that kind that is already waiting."""
        for _ in range(5):  # a waiting job may be claimed between our insert and our update: look again
            now = datetime.now(UTC)
            try:
                with self.store.transaction() as conn:
                    inserted = conn.execute(
                        insert(t.job).values(
                            kind=kind,
                            state=JobState.QUEUED,
                            requested_by=requested_by,
                            requested_at=now,
                            attempts=0,
                            requests=1,
                        )
                    ).inserted_primary_key
                    assert inserted is not None  # an INSERT always has a primary key
                    return self._get(conn, int(inserted[0]))
            except IntegrityError:
                pass  # one is waiting already: join it
            with self.store.transaction() as conn:
                joined = conn.execute(
                    update(t.job)
                    .where(t.job.c.kind == kind, t.job.c.state == JobState.QUEUED)
                    .values(requested_by=requested_by, requests=t.job.c.requests + 1)
                    .returning(t.job.c.id)
                ).scalar()
                if joined is not None:
                    return self._get(conn, int(joined))
        raise RuntimeError(f"could not queue a {kind} job: the queue changed five times in a row")  # pragma: no cover

    # -- workers -----------------------------------------------------------------------------------------

    def claim(self, worker: str, kinds: tuple[str, ...] | None = None) -> Job | None:
        """Take the oldest claimable job for ``worker`` (see the module's text), or None if there is none."""
        while True:
            outcome = self._claim_one(worker, kinds)
            if outcome is not TRY_AGAIN:
                return outcome  # type: ignore[return-value]

    def _claim_one(self, worker: str, kinds: tuple[str, ...] | None) -> Job | object | None:
        now = datetime.now(UTC)
        candidate = t.job.alias("candidate")
        pick = select(candidate.c.id).where(_claimable(candidate, now, kinds)).order_by(candidate.c.id).limit(1)
        if self.store.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True, of=candidate)
        with self.store.transaction() as conn:
            job_id = conn.execute(pick).scalar()
            if job_id is None:
                return None
            # The update asks again whether the job is claimable: SQLite reads outside the write lock, so another
            # worker may have taken it since — then no row changes and this worker looks again.
            still_claimable = and_(t.job.c.id == job_id, _claimable(t.job, now, kinds))
            given_up = conn.execute(
                update(t.job)
                .where(still_claimable, t.job.c.attempts >= self.max_attempts)
                .values(
                    state=JobState.FAILED,
                    finished_at=now,
                    lease_until=None,
                    error=f"given up after {self.max_attempts} attempts that did not finish"
                    " (their workers stopped or lost the database)",
                )
            ).rowcount
            if given_up:  # its workers kept dying: given up, loudly (the error says so on the runs page)
                return TRY_AGAIN
            taken = conn.execute(
                update(t.job)
                .where(still_claimable)
                .values(
                    state=JobState.RUNNING,
                    worker=worker,
                    started_at=now,
                    lease_until=now + self.lease,
                    attempts=t.job.c.attempts + 1,
                )
            ).rowcount
            return self._get(conn, int(job_id)) if taken else TRY_AGAIN

    def renew(self, job: Job, worker: str) -> bool:
        """Extend the lease of a job ``worker`` holds; False when it holds it no longer."""
        with self.store.transaction() as conn:
            renewed = conn.execute(
                update(t.job)
                .where(t.job.c.id == job.id, t.job.c.worker == worker, t.job.c.state == JobState.RUNNING)
                .values(lease_until=datetime.now(UTC) + self.lease)
            ).rowcount
        return bool(renewed)

    def finish(self, job: Job, worker: str, result: Mapping[str, Any]) -> bool:
        return self._end(job, worker, JobState.DONE, result=dict(result), error=None)

    def fail(self, job: Job, worker: str, error: str) -> bool:
        return self._end(job, worker, JobState.FAILED, result=None, error=error)

    def retry_later(self, job: Job, worker: str, error: str) -> bool:
        """Hand a job back after a transient failure (the database went away mid-run): its lease ends now, so the
        next claim takes it over as if its worker had died — one more attempt, given up after ``max_attempts``."""
        with self.store.transaction() as conn:
            released = conn.execute(
                update(t.job)
                .where(t.job.c.id == job.id, t.job.c.worker == worker, t.job.c.state == JobState.RUNNING)
                .values(lease_until=datetime.now(UTC), error=error)
            ).rowcount
        return bool(released)

    def _end(self, job: Job, worker: str, state: JobState, *, result: Any, error: str | None) -> bool:
        with self.store.transaction() as conn:
            ended = conn.execute(
                update(t.job)
                .where(t.job.c.id == job.id, t.job.c.worker == worker, t.job.c.state == JobState.RUNNING)
                .values(state=state, finished_at=datetime.now(UTC), lease_until=None, result=result, error=error)
            ).rowcount
        return bool(ended)

    # -- reading -----------------------------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        with self.store.transaction() as conn:
            return self._get(conn, job_id)

    def _get(self, conn: Connection, job_id: int) -> Job:
        return Job.of(conn.execute(select(t.job).where(t.job.c.id == job_id)).one())

    def jobs(self, *, kind: str | None = None, limit: int = 50) -> list[Job]:
        query = select(t.job).order_by(t.job.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(t.job.c.kind == kind)
        with self.store.transaction() as conn:
            return [Job.of(row) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """Jobs by state (every state present, zero where none)."""
        with self.store.transaction() as conn:
            rows = conn.execute(select(t.job.c.state, func.count()).group_by(t.job.c.state)).all()
        found = {str(state): int(n) for state, n in rows}
        return {str(state): found.get(str(state), 0) for state in JobState}
