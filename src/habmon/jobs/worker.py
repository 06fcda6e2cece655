"""A worker: claims jobs from the queue, runs the handler of their kind, renews the lease meanwhile.

A handler takes the job and returns a small JSON-able result (a monitoring run returns its run id).
An exception fails the job with its type and message (kept for the staff on the runs page) and the
worker goes on with the next one — except when the database went away mid-job (PostgreSQL restarted,
say): then the job is handed back to be tried again (``JobQueue.retry_later``), up to the queue's
``max_attempts``. Metrics: each job's duration and each failure, by kind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from habmon.jobs.queue import Job, JobQueue, worker_name
from habmon.store.database import DatabaseUnavailable

logger = logging.getLogger(__name__)

Handler = Callable[[Job], Mapping[str, Any]]
Observer = Callable[[Job, float, bool], None]  # (job, seconds, failed): where metrics are recorded
TRANSIENT = (OperationalError, InterfaceError, DatabaseUnavailable)  # the database went away: try the job again


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        name: str | None = None,
        observe: Observer | None = None,
    ) -> None:
        self.queue = queue
        self.handlers = dict(handlers)
        self.name = name or worker_name()
        self.observe = observe

    def run_once(self) -> Job | None:
        """Claim one job and run it to its end; None when there was nothing to do."""
        job = self.queue.claim(self.name, tuple(self.handlers))
        if job is None:
            return None
        started = time.perf_counter()
        stop_renewing = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(job, stop_renewing), daemon=True)
        renewer.start()
        failed = False
        try:
            result = self.handlers[job.kind](job)
        except TRANSIENT as error:
            failed = True
            logger.warning("job %s (%s) lost the database; it will be tried again", job.id, job.kind, exc_info=True)
            self._retry_later(job, f"{type(error).__name__}: {error}")
        except Exception as error:  # a job has no one to answer: keep the error on the job, log it, go on
            failed = True
            logger.exception("job %s (%s) requested by %s failed", job.id, job.kind, job.requested_by)
            self.queue.fail(job, self.name, f"{type(error).__name__}: {error}")
        else:
            if not self.queue.finish(job, self.name, result):
                logger.warning("job %s ended after its lease passed; another worker has taken it over", job.id)
        finally:
            stop_renewing.set()
            renewer.join()
        if self.observe is not None:
            self.observe(job, time.perf_counter() - started, failed)
        return self.queue.get(job.id)

    def run_until_idle(self) -> int:
        """Run jobs until none is claimable; the number run."""
        done = 0
        while self.run_once() is not None:
            done += 1
        return done

    def run_forever(self, stop: threading.Event, *, poll_seconds: float = 2.0) -> None:
        """Run jobs until ``stop`` is set, looking for new ones every ``poll_seconds`` when idle."""
        while not stop.is_set():
            try:
                idle = self.run_once() is None
            except Exception:  # the database restarting, say: wait and look again — never die of it
                logger.exception("worker %s could not reach the job queue; trying again", self.name)
                idle = True
            if idle:
                stop.wait(poll_seconds)

    def _retry_later(self, job: Job, error: str) -> None:
        try:
            self.queue.retry_later(job, self.name, error)
        except TRANSIENT:  # still away: the lease will pass on its own, and the job is taken over then
            logger.warning("could not hand job %s back; it is taken over when its lease passes", job.id)

    def _renew(self, job: Job, stop: threading.Event) -> None:
        interval = max(self.queue.lease.total_seconds() / 3, 0.05)
        while not stop.wait(interval):
            try:
                if not self.queue.renew(job, self.name):
                    return
            except Exception:  # a missed renewal is not fatal: the next one may go through before the lease ends
                logger.warning("could not renew the lease of job %s", job.id, exc_info=True)
