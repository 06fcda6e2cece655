"""What the public pages and the read API show: the latest monitoring run's figures and published values.

Aggregates and progress statuses are computed by the monitoring run (``habmon compute``) and stored; the web
reads the *latest stored run* and never recomputes a world series per request. A run's results never change
(they are append-only), so they are read once per run id and kept; only "which run is the latest" is asked
per request. Values of places come from the store, published values only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd

from habmon.access.model import Principal
from habmon.engine.aggregate import ESTIMATE
from habmon.engine.run import latest_run, run_results
from habmon.geo.model import Geography
from habmon.services import Monitor
from habmon.web.app import Site
from habmon.web.context import WebServices

RUN_CACHE_SIZE = 4
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    engine: str
    started_at: datetime
    finished_at: datetime
    snapshot_observation_id: int
    indicators: tuple[str, ...]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> RunInfo:
        parameters = row.get("parameters") or {}
        return cls(
            id=int(row["id"]),
            engine=str(row["engine"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            snapshot_observation_id=int(row["snapshot_observation_id"]),
            indicators=tuple(parameters.get("indicators", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "engine": self.engine,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "date": self.finished_at.date().isoformat(),
            "snapshot_observation_id": self.snapshot_observation_id,
        }


def aggregate_row(row: Mapping[str, Any]) -> dict[str, Any]:
    details = row.get("details") or {}
    return {
        "indicator": row["indicator"],
        "geo": row["geo_code"],
        "level": row["level"],
        "period": row["period"],
        "value": row["value"],
        "people": row["people"],
        "coverage": row["coverage"],
        "units_reported": row["units_reported"],
        "units_total": row["units_total"],
        "imputed_units": row["imputed_units"],
        "meets_publication_rule": bool(row["published"]),
        "gap_filling": details.get("gap_filling", "none"),
        "coverage_reported": row.get("coverage_reported"),
        "filled_share": row.get("filled_share"),
        # an aggregate with a value below the publication rule is an estimate: shown as such, never a headline
        "nature": None if row["published"] or row["value"] is None else ESTIMATE,
    }


def progress_row(row: Mapping[str, Any]) -> dict[str, Any]:
    details = dict(row.get("details") or {})
    return {
        "indicator": row["indicator"],
        "geo": row["geo_code"],
        "level": row["level"],
        "method": row["method"],
        "status": row["status"],
        "score": row["value"],
        "baseline": details.pop("baseline", None),
        "latest": details.pop("latest", None),
        "target": details.pop("target", None),
        "cagr": details.pop("cagr", None),
        "projected": details.pop("projected", None),
        "note": details.pop("note", None),
        "milestones": details.pop("milestones", None) or [],
        "details": {k: v for k, v in details.items() if k not in ("method", "status", "score")},
    }


@dataclass(frozen=True)
class RunFigures:
    """One stored run's aggregates and progress statuses, by indicator (rows in the API's shape)."""

    run: RunInfo
    aggregates: Mapping[str, tuple[dict[str, Any], ...]]
    progress: Mapping[str, tuple[dict[str, Any], ...]]

    @classmethod
    def of(cls, run: RunInfo, rows: Sequence[Mapping[str, Any]]) -> RunFigures:
        aggregates: dict[str, list[dict[str, Any]]] = {}
        progress: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row["kind"] == "aggregate":
                aggregates.setdefault(row["indicator"], []).append(aggregate_row(row))
            elif row["kind"] == "progress":
                progress.setdefault(row["indicator"], []).append(progress_row(row))
        return cls(
            run,
            {code: tuple(sorted(r, key=_aggregate_order)) for code, r in aggregates.items()},
            {code: tuple(r) for code, r in progress.items()},
        )

    def all_aggregates(self) -> list[dict[str, Any]]:
        return [row for code in sorted(self.aggregates) for row in self.aggregates[code]]

    def all_progress(self) -> list[dict[str, Any]]:
        return [row for code in sorted(self.progress) for row in self.progress[code]]

    def series(self, code: str, geo: str) -> list[dict[str, Any]]:
        """The aggregates of one indicator for one world/region code that meet the publication rule, by year."""
        return [
            r
            for r in self.aggregates.get(code, ())
            if r["geo"] == geo and r["meets_publication_rule"] and r["value"] is not None
        ]

    def published_geos(self, code: str, level: str) -> list[str]:
        """Codes of a level with at least one aggregate that meets the publication rule, in code order."""
        return sorted(
            {
                r["geo"]
                for r in self.aggregates.get(code, ())
                if r["level"] == level and r["meets_publication_rule"] and r["value"] is not None
            }
        )

    def progress_of(self, code: str, geo: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.progress.get(code, ()) if geo is None or r["geo"] == geo]


def _aggregate_order(row: Mapping[str, Any]) -> tuple[str, str, int]:
    return (str(row["level"]), str(row["geo"]), int(row["period"] or 0))


@dataclass
class Figures:
    """Per app: the latest run's figures (read once per run id) and published values (read fresh)."""

    services: WebServices
    _runs: dict[int, RunFigures] = field(default_factory=dict)
    _derived: dict[tuple[int, str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def monitor(self) -> Monitor:
        """A Monitor for the public (published values only) sharing the app's registry and geography."""
        return Monitor(
            self.services.store,
            registry=self.services.registry(),
            geography=self.services.geography(),
            principal=Principal.public(),
        )

    def latest(self) -> RunFigures | None:
        """The latest stored monitoring run's figures, or None when no run has been stored yet."""
        monitor = self.monitor()
        row = latest_run(monitor)
        if row is None:
            return None
        run = RunInfo.of(row)
        with self._lock:
            cached = self._runs.get(run.id)
        if cached is not None:
            return cached
        figures = RunFigures.of(run, run_results(monitor, run.id))
        with self._lock:
            if len(self._runs) >= RUN_CACHE_SIZE:
                self._runs.pop(min(self._runs))
            self._runs[run.id] = figures
        return figures

    def derived(self, run: RunInfo, what: str, code: str, build: Callable[[], T]) -> T:
        """A figure derived from a run's input snapshot (e.g. a world leave-no-one-behind view): built once per
        run, indicator and kind, then kept — it cannot change, as the snapshot cannot."""
        key = (run.id, what, code)
        with self._lock:
            if key in self._derived:
                found: T = self._derived[key]
                return found
        value = build()
        with self._lock:
            stale = [k for k in self._derived if k[0] < run.id]
            for k in stale:
                del self._derived[k]
            self._derived[key] = value
        return value

    def published_frame(self, code: str) -> pd.DataFrame:
        """The newest published revision of every value of a series (columns of the store's current frame)."""
        return self.services.store.current_frame([code], public=True)

    def geography(self) -> Geography:
        return self.services.geography()


def figures_of(site: Site) -> Figures:
    """The one :class:`Figures` of an app (made by the first feature that asks, at start-up)."""
    found: Figures | None = getattr(site.app.state, "figures", None)
    if found is None:
        found = Figures(site.services)
        site.app.state.figures = found
    return found
