"""The durable job queue on SQLite and PostgreSQL: collapsed requests, one claim per job, one running job per
kind, leases that pass to another worker, jobs given up after repeated deaths, failures kept."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from habmon.jobs import Job, JobQueue, JobState, Worker
from habmon.store.store import Store


def test_requests_while_one_waits_join_it_as_the_newest_requester(store: Store) -> None:
    queue = JobQueue(store)
    first = queue.request("monitoring_run", "alice")
    for who in ("bob", "carol"):
        joined = queue.request("monitoring_run", who)
        assert joined.id == first.id
    waiting = queue.get(first.id)
    assert (waiting.state, waiting.requests, waiting.requested_by, waiting.attempts) == (JobState.QUEUED, 3, "carol", 0)
    other = queue.request("report", "dave")  # another kind waits beside it
    assert other.id != first.id
    assert queue.counts() == {"queued": 2, "running": 0, "done": 0, "failed": 0}


def test_one_running_job_per_kind_and_requests_meanwhile_make_one_more(store: Store) -> None:
    queue = JobQueue(store)
    queue.request("monitoring_run", "alice")
    running = queue.claim("w1")
    assert running is not None
    assert (running.state, running.worker, running.attempts) == (JobState.RUNNING, "w1", 1)
    assert queue.claim("w2") is None  # nothing else to do
    after = queue.request("monitoring_run", "bob")
    queue.request("monitoring_run", "carol")
    assert after.id != running.id
    assert queue.claim("w2") is None  # a run is in progress: the next waits for its end
    assert queue.finish(running, "w1", {"run_id": 1})
    second = queue.claim("w2")
    assert second is not None and (second.id, second.requested_by, second.requests) == (after.id, "carol", 2)
    assert queue.get(running.id).result == {"run_id": 1}


def test_a_job_whose_worker_died_is_taken_over_when_its_lease_passes(store: Store) -> None:
    dying = JobQueue(store, lease=timedelta(seconds=-1))  # a lease that has passed at once: the worker "died"
    dying.request("monitoring_run", "alice")
    lost = dying.claim("dead-worker")
    assert lost is not None
    healthy = JobQueue(store)
    taken = healthy.claim("w2")
    assert taken is not None and (taken.id, taken.worker, taken.attempts) == (lost.id, "w2", 2)
    assert not healthy.finish(lost, "dead-worker", {"run_id": 9})  # the dead worker cannot end it any more
    assert not healthy.renew(lost, "dead-worker")
    assert healthy.finish(taken, "w2", {"run_id": 10})
    assert healthy.get(lost.id).result == {"run_id": 10}


def test_a_job_whose_workers_keep_dying_is_given_up(store: Store) -> None:
    dying = JobQueue(store, lease=timedelta(seconds=-1), max_attempts=3)
    job = dying.request("monitoring_run", "alice")
    for attempt in (1, 2, 3):
        claimed = dying.claim(f"w{attempt}")
        assert claimed is not None and claimed.attempts == attempt
    assert dying.claim("w4") is None
    given_up = dying.get(job.id)
    assert given_up.state == JobState.FAILED
    assert (
        given_up.error == "given up after 3 attempts that did not finish (their workers stopped or lost the database)"
    )


def test_concurrent_workers_claim_each_job_exactly_once(store: Store) -> None:
    queue = JobQueue(store)
    kinds = [f"kind{i}" for i in range(12)]
    for kind in kinds:
        queue.request(kind, "alice")
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(name: str) -> None:
        start.wait()
        while (job := JobQueue(store).claim(name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == sorted(j.id for j in queue.jobs(limit=100))
    assert len(claimed) == len(set(claimed)) == 12


def test_a_worker_runs_handlers_keeps_failures_and_records_each_job(store: Store) -> None:
    queue = JobQueue(store)
    seen: list[tuple[str, bool]] = []

    def run(job: Job) -> dict[str, Any]:
        return {"run_id": job.id * 10}

    def broken(job: Job) -> dict[str, Any]:
        raise RuntimeError("database is locked")

    worker = Worker(
        queue, {"monitoring_run": run, "report": broken}, name="w", observe=lambda j, s, f: seen.append((j.kind, f))
    )
    ok = queue.request("monitoring_run", "alice")
    bad = queue.request("report", "bob")
    queue.request("unknown-kind", "carol")  # no handler: this worker leaves it for one that has
    assert worker.run_until_idle() == 2
    assert queue.get(ok.id).state == JobState.DONE and queue.get(ok.id).result == {"run_id": ok.id * 10}
    failed = queue.get(bad.id)
    assert (failed.state, failed.error) == (JobState.FAILED, "RuntimeError: database is locked")
    assert sorted(seen) == [("monitoring_run", False), ("report", True)]
    assert queue.counts()["queued"] == 1


@pytest.mark.parametrize("lease_seconds", [0.3])
def test_a_long_job_keeps_its_lease_while_it_runs(store: Store, lease_seconds: float) -> None:
    queue = JobQueue(store, lease=timedelta(seconds=lease_seconds))
    other = JobQueue(store)
    stolen: list[Job | None] = []

    def slow(job: Job) -> dict[str, Any]:
        for _ in range(4):  # four lease lengths: without renewal another worker would take it over
            threading.Event().wait(lease_seconds)
            stolen.append(other.claim("thief"))
        return {"run_id": 1}

    queue.request("monitoring_run", "alice")
    Worker(queue, {"monitoring_run": slow}, name="w").run_once()
    assert stolen == [None, None, None, None]
    assert queue.counts()["done"] == 1


def _connection_lost() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("terminating connection due to administrator command"))


def test_a_job_that_lost_the_database_is_tried_again_not_failed(store: Store) -> None:
    queue = JobQueue(store)
    calls: list[int] = []

    def run(job: Job) -> dict[str, Any]:
        calls.append(job.attempts)
        if len(calls) == 1:
            raise _connection_lost()
        return {"run_id": 7}

    job = queue.request("monitoring_run", "alice")
    seen: list[bool] = []
    worker = Worker(queue, {"monitoring_run": run}, name="w", observe=lambda j, s, f: seen.append(f))
    assert worker.run_until_idle() == 2
    done = queue.get(job.id)
    assert (done.state, done.attempts, done.result, calls, seen) == (
        JobState.DONE,
        2,
        {"run_id": 7},
        [1, 2],
        [True, False],
    )


def test_a_job_that_keeps_losing_the_database_is_given_up_after_max_attempts(store: Store) -> None:
    queue = JobQueue(store, max_attempts=3)

    def run(job: Job) -> dict[str, Any]:
        raise _connection_lost()

    job = queue.request("monitoring_run", "alice")
    assert Worker(queue, {"monitoring_run": run}, name="w").run_until_idle() == 3
    given_up = queue.get(job.id)
    assert (given_up.state, given_up.attempts) == (JobState.FAILED, 3)
    assert (
        given_up.error == "given up after 3 attempts that did not finish (their workers stopped or lost the database)"
    )
