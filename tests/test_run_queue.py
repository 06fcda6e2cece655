"""The web app's run queue: one monitoring run at a time, requests made meanwhile collapsed into one more run,
a failure kept for the staff and cleared by the next success — durably, in the store's job table (SQLite and
PostgreSQL), with the runs themselves replaced by functions."""

from __future__ import annotations

import threading
from collections.abc import Callable

from habmon.access.model import Principal, Role
from habmon.engine.run import RunSummary
from habmon.store.store import Store
from habmon.web.runs import RunQueue

ALICE = Principal("alice", Role.OFFICER)
BOB = Principal("bob", Role.OFFICER)
CAROL = Principal("carol", Role.ADMIN)


PRINCIPALS = {p.username: p for p in (ALICE, BOB, CAROL)}


def summary(run_id: int) -> RunSummary:
    return RunSummary(run_id, "duckdb", 0, 0, 0, 0)


def queue_for(store: Store, run: Callable[[Principal], RunSummary]) -> RunQueue:
    return RunQueue(store, run, PRINCIPALS.__getitem__)


def test_requests_made_during_a_run_become_one_more_run_as_the_last_asker(store: Store) -> None:
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def run(who: Principal) -> RunSummary:
        ran.append(who.username)
        if len(ran) == 1:
            started.set()
            assert release.wait(10)
        return summary(len(ran))

    queue = queue_for(store, run)
    assert queue.state().running is False
    queue.request(ALICE)
    first = threading.Thread(target=queue.work)
    first.start()
    assert started.wait(10)
    assert (queue.state().running, queue.state().queued) == (True, False)
    for who in (BOB, ALICE, CAROL):  # three more publications while the first run is in progress
        state = queue.request(who)
        queue.work()  # returns at once: another thread is running
    assert (state.running, state.queued, state.requested_by) == (True, True, "carol")
    assert ran == ["alice"]
    release.set()
    first.join(10)
    assert ran == ["alice", "carol"]  # four requests, two runs; the second sees everything published before it
    end = queue.state()
    assert (end.running, end.queued, end.requested_by, end.last_run, end.last_error) == (False, False, None, 2, None)
    assert end.last_finished_at is not None


def test_a_failed_run_is_kept_until_a_run_succeeds_and_does_not_stop_the_queue(store: Store) -> None:
    outcomes = iter([RuntimeError("database is locked"), summary(7)])

    def run(who: Principal) -> RunSummary:
        found = next(outcomes)
        if isinstance(found, Exception):
            raise found
        return found

    queue = queue_for(store, run)
    queue.request(ALICE)
    queue.work()
    failed = queue.state()
    assert (failed.running, failed.last_run, failed.last_error) == (False, None, "RuntimeError: database is locked")
    queue.request(BOB)
    queue.work()
    assert (queue.state().last_run, queue.state().last_error) == (7, None)


def test_work_without_a_request_runs_nothing(store: Store) -> None:
    ran: list[str] = []

    def run(who: Principal) -> RunSummary:
        ran.append(who.username)
        return summary(1)

    queue = queue_for(store, run)
    queue.work()
    assert ran == [] and queue.state().running is False
