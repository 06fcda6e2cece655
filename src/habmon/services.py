"""Services: the operations the CLI and the web app call. No printing, no argument parsing.

A :class:`Monitor` wraps one store. ``init`` loads the plan, the indicator registry,
the geography and the engagement list; ``load_shipped`` adds the real public data
shipped with habmon. Every load is idempotent: the same content twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from habmon.access.model import Action, Principal
from habmon.access.policy import allowed, authorize
from habmon.geo.model import Engagement, Geography, GeoUnit
from habmon.indicators.model import Indicator
from habmon.indicators.registry import Registry
from habmon.ingest.files import (
    check_registry_dir,
    data_dir,
    default_plan_file,
    default_registry_dir,
    load_plan,
    load_registry,
    sha256_file,
)
from habmon.ingest.geography import build_geography, read_engagements
from habmon.ingest.shipped import iter_shipped
from habmon.observation import Observation
from habmon.plan.model import Plan
from habmon.plan.validate import parse_plan
from habmon.problems import InvalidDocument, Report
from habmon.store.store import Batch, RevisionSummary, Store, StoredObservation

ILLUSTRATIVE_ENGAGEMENTS = "engagements-illustrative.csv"
ILLUSTRATIVE_LABEL = "ILLUSTRATIVE list of places where UN-Habitat works (demo data, not UN-Habitat's portfolio)"


@dataclass(frozen=True, slots=True)
class LoadStep:
    name: str
    created: bool
    detail: str
    report: Report = field(default_factory=Report)


@dataclass(frozen=True, slots=True)
class Series:
    """A series for one place, ready to show: the unit, the indicator and the stored values."""

    indicator: Indicator
    unit: GeoUnit
    observations: tuple[StoredObservation, ...]

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "indicator": {
                "code": self.indicator.code,
                "name": self.indicator.name.get(lang),
                "unit": str(self.indicator.unit),
            },
            "geo": {
                "code": self.unit.code,
                "m49": self.unit.m49,
                "iso3": self.unit.iso3,
                "name": self.unit.name(lang),
                "kind": str(self.unit.kind),
            },
            "observations": [o.to_dict() for o in self.observations],
        }


ProgressCallback = Callable[[str, int, int], None]


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def registry_digest(directory: Path) -> str:
    return _digest(*(p.name.encode() + p.read_bytes() for p in sorted(directory.glob("*.yaml"))))


def geography_digest(geography: Geography) -> str:
    units = sorted(
        (u.code, str(u.kind), json.dumps(dict(u.names), sort_keys=True), str(u.validity))
        for u in geography.units.values()
    )
    members = sorted((m.parent, m.child, str(m.hierarchy), str(m.validity)) for m in geography.memberships)
    return _digest(json.dumps([geography.version, units, members]).encode())


class Monitor:
    def __init__(
        self,
        store: Store,
        actor: str = "habmon",
        *,
        registry: Registry | None = None,
        principal: Principal | None = None,
        geography: Geography | None = None,
    ) -> None:
        """``registry``, ``geography``: already loaded reference data to share (the web app reads them once per
        process). ``principal``: who is acting — every operation is authorized for it (docs/access.md); the
        default is the local operator ``actor`` (:meth:`Principal.system`, an administrator), so the CLI and
        scripts act as before. The audit log records the principal's username."""
        self.store = store
        self.principal = principal or Principal.system(actor)
        self.actor = self.principal.username
        self._registry: Registry | None = registry
        self._geography: Geography | None = geography

    # -- authorization -----------------------------------------------------------

    def ancestors(self, code: str) -> list[str]:
        """The codes above a place in the SDG hierarchy (Nairobi → Kenya → … → World), for scope decisions."""
        return [u.code for u in self.geography().ancestors(code)]

    def authorize(
        self,
        action: Action,
        *,
        geo_codes: Iterable[str] | None = None,
        organization: str | None = None,
        owner: str | None = None,
    ) -> None:
        """Raise :class:`~habmon.access.policy.Forbidden` unless this monitor's principal may do ``action``."""
        authorize(
            self.principal,
            action,
            geo_codes=geo_codes,
            organization=organization,
            owner=owner,
            ancestors=self.ancestors,
        )

    def allowed(
        self,
        action: Action,
        *,
        geo_codes: Iterable[str] | None = None,
        organization: str | None = None,
        owner: str | None = None,
    ) -> bool:
        return allowed(
            self.principal,
            action,
            geo_codes=geo_codes,
            organization=organization,
            owner=owner,
            ancestors=self.ancestors,
        )

    # -- setting up ------------------------------------------------------------

    def init(self, plan_file: Path | None = None, registry_dir: Path | None = None) -> list[LoadStep]:
        """Create/migrate the schema and load plan, registry, geography and the illustrative engagement list."""
        self.authorize(Action.LOAD_DATA)
        steps: list[LoadStep] = []
        self._registry = None
        self._geography = None
        self.store.upgrade()
        plan_path = plan_file or default_plan_file()
        plan = load_plan(plan_path)
        plan_version, created = self.store.save_plan(
            plan, source=str(plan_path), sha256=sha256_file(plan_path), actor=self.actor
        )
        steps.append(LoadStep("plan", created, f"{plan.plan.id} {plan.plan.version} (version #{plan_version})"))

        directory = registry_dir or default_registry_dir()
        registry, report = check_registry_dir(plan, directory)
        if registry is None:
            raise InvalidDocument(str(directory), report)
        _, created = self.store.save_registry(
            registry, plan_version_id=plan_version, sha256=registry_digest(directory), actor=self.actor
        )
        steps.append(LoadStep("indicators", created, f"{len(registry.indicators)} indicators", report))

        geography, report = build_geography()
        _, created = self.store.save_geography(geography, sha256=geography_digest(geography), actor=self.actor)
        steps.append(LoadStep("geography", created, f"{len(geography.units)} units ({geography.version})", report))

        path = data_dir() / "geography" / ILLUSTRATIVE_ENGAGEMENTS
        engagements, report = read_engagements(path, geography, illustrative=True)
        if not report.valid:
            raise InvalidDocument(str(path), report)
        _, created = self.store.save_engagements(
            ILLUSTRATIVE_LABEL,
            engagements,
            illustrative=True,
            source=str(path),
            sha256=sha256_file(path),
            actor=self.actor,
        )
        steps.append(LoadStep("engagements", created, f"{len(engagements)} places (illustrative)", report))
        return steps

    def import_engagements(self, path: Path, name: str, *, illustrative: bool = False) -> LoadStep:
        self.authorize(Action.LOAD_DATA)
        geography = self.store.geography()
        engagements, report = read_engagements(path, geography, illustrative=illustrative)
        if not report.valid:
            raise InvalidDocument(str(path), report)
        _, created = self.store.save_engagements(
            name, engagements, illustrative=illustrative, source=str(path), sha256=sha256_file(path), actor=self.actor
        )
        return LoadStep("engagements", created, f"{len(engagements)} places", report)

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
                observations, kind="shipped", name=dataset.name, source_file=f"data/sources/{dataset.file}"
            )
            steps.append(
                LoadStep(
                    dataset.name,
                    summary.stored > 0,
                    f"{summary.new} new, {summary.revised} revised, {summary.unchanged} unchanged",
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
    ) -> RevisionSummary:
        self.authorize(Action.LOAD_DATA)
        batch = Batch(kind, name, self.actor, source_file, sha256, organization, note)
        return self.store.record_observations(observations, batch)

    # -- reading ---------------------------------------------------------------

    def plan(self, version_id: int | None = None) -> Plan:
        return parse_plan(self.store.plan_document(version_id), file=f"stored plan version {version_id or 'latest'}")

    def registry(self) -> Registry:
        """The registry files of this installation, validated against the stored plan (read once per Monitor)."""
        if self._registry is None:
            self._registry = load_registry(self.plan())
        return self._registry

    def geography(self) -> Geography:
        """The stored geography (read once per Monitor; ``init`` reads it again)."""
        if self._geography is None:
            self._geography = self.store.geography()
        return self._geography

    def series(self, indicator_code: str, geo_code: str, *, history: bool = False, public: bool = False) -> Series:
        """Stored values of an indicator for a place. Only published values (``public``) unless the principal may
        read unpublished values of this place; the public, partners and focal points outside their scope always
        get the published ones."""
        registry = self.registry()
        indicator = registry.get(indicator_code)
        unit = self.geography().resolve(geo_code)
        public = public or not self.allowed(Action.READ_UNPUBLISHED, geo_codes=[unit.code])
        observations = self.store.series(indicator.code, unit.code, history=history, public=public)
        return Series(indicator, unit, tuple(observations))

    def engagements(self) -> tuple[list[Engagement], dict[str, Any] | None]:
        return self.store.engagements()

    def audit_events(self, object_type: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest audit events first (officers and administrators)."""
        self.authorize(Action.READ_AUDIT)
        return self.store.audit_events(object_type, limit)

    def works_in(self, code: str, when: date | None = None) -> Engagement | None:
        engagements, _ = self.store.engagements()
        for engagement in engagements:
            if engagement.code == code and (when is None or engagement.active(when)):
                return engagement
        return None
