"""Setting up: the schema, the plan, the indicator registry, the geography and engagement lists, each stored by content
hash so that loading the same content twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from habmon.access.model import Action
from habmon.geo.model import Geography
from habmon.ingest.files import (
    check_registry_dir,
    data_dir,
    default_plan_file,
    default_registry_dir,
    load_plan,
    sha256_file,
)
from habmon.ingest.geography import build_geography, read_engagements
from habmon.problems import InvalidDocument
from habmon.services.authorization import Authorization
from habmon.services.steps import LoadStep

ILLUSTRATIVE_ENGAGEMENTS = "engagements-illustrative.csv"
ILLUSTRATIVE_LABEL = "ILLUSTRATIVE list of places where UN-Habitat works (demo data, not UN-Habitat's portfolio)"


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


class ReferenceData(Authorization):
    """Loading the reference data: ``init`` and engagement lists."""

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
