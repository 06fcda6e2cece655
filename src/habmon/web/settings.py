"""Settings of one web app instance."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "zh")


@dataclass(frozen=True, slots=True)
class WebSettings:
    database: str | None = None  # SQLAlchemy URL; None = the embedded default (see habmon.store.database.default_url)
    default_language: str = "en"
    max_upload_bytes: int = 20_000_000
    secure_cookies: bool = False  # set True behind HTTPS
    run_after_publish: bool = True  # publishing queues a monitoring run so public figures include the values
    run_jobs: bool = True  # the web workers work the job queue too (False: only `habmon worker` processes do)
    metrics_public: bool = False  # /metrics without signing in (for a scraper on a private network)
    page_size: int = 100
    max_page_size: int = 1000
