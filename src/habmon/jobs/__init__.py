"""Durable jobs: long work (monitoring runs, and reports, survey computations and large imports as they
arrive) as rows in the store's job table, claimed by workers in any process or host (``habmon worker``,
or the web app's own workers)."""

from habmon.jobs.queue import Job, JobQueue, JobState, worker_name
from habmon.jobs.worker import Handler, Worker

__all__ = ["Handler", "Job", "JobQueue", "JobState", "Worker", "worker_name"]
