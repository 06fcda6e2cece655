"""Recording observations: batches of data, and the real public data shipped in ``data/sources``."""

from __future__ import annotations

from collections.abc import Iterable

from habmon.access.model import Action
from habmon.ingest.shipped import iter_shipped
from habmon.observation import Observation
from habmon.services.authorization import Authorization
from habmon.services.steps import LoadStep, ProgressCallback
from habmon.store.observations import Batch, RevisionSummary
from habmon.vintage import parse_vintage


class ShippedData(Authorization):
    """Observations recorded as batches; the shipped datasets loaded as such batches."""

    def load_shipped(self, progress: ProgressCallback | None = None) -> list[LoadStep]:
        """Load the real public data shipped in ``data/sources`` (see its PROVENANCE.md)."""
        self.authorize(Action.LOAD_DATA)
        geography = self.store.geography()
        steps: list[LoadStep] = []
        datasets = list(iter_shipped(geography))
        for number, (dataset, observations, report) in enumerate(datasets, start=1):
            if progress:
                progress(dataset.name, number - 1, len(datasets))
            summary = self.record(
                observations,
                kind="shipped",
                name=dataset.name,
                source_file=f"data/sources/{dataset.file}",
                vintage=dataset.vintage,
            )
            older = f", {summary.older} of an older vintage than stored (kept in the history)" if summary.older else ""
            steps.append(
                LoadStep(
                    dataset.name,
                    summary.stored > 0,
                    f"{summary.new} new, {summary.revised} revised, {summary.unchanged} unchanged{older}",
                    report,
                )
            )
        if progress:
            progress("done", len(datasets), len(datasets))
        return steps

    def record(
        self,
        observations: Iterable[Observation],
        *,
        kind: str,
        name: str,
        source_file: str | None = None,
        sha256: str | None = None,
        organization: str | None = None,
        note: str | None = None,
        vintage: str | None = None,
    ) -> RevisionSummary:
        """Record a batch of ``vintage`` (the release of its source; None: the month it is recorded)."""
        self.authorize(Action.LOAD_DATA)
        batch = Batch(kind, name, self.actor, source_file, sha256, organization, note, parse_vintage(vintage))
        return self.store.record_observations(observations, batch)
