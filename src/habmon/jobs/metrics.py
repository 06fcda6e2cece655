"""Job metrics (prometheus-client): each job's duration and each failure, by kind — recorded by any worker,
the web app's or ``habmon worker``'s, and exposed by the web app's ``/metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from habmon.jobs.queue import Job

JOB_METRICS = CollectorRegistry()
JOB_SECONDS = Histogram(
    "habmon_job_duration_seconds",
    "Time a job took from claim to end, by kind.",
    ("kind",),
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=JOB_METRICS,
)
JOB_FAILURES = Counter(
    "habmon_job_failures_total", "Jobs that ended in failure, by kind.", ("kind",), registry=JOB_METRICS
)


def observe_job(job: Job, seconds: float, failed: bool) -> None:
    """A worker's observer (:class:`habmon.jobs.Worker`): the job's duration, and its failure if it failed."""
    JOB_SECONDS.labels(job.kind).observe(seconds)
    if failed:
        JOB_FAILURES.labels(job.kind).inc()
