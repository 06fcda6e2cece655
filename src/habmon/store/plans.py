"""Plan and indicator-registry versions, stored by content hash: the same content twice is one version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select

from habmon.indicators.registry import Registry
from habmon.plan.model import Plan
from habmon.store import tables as t
from habmon.store.audit import AuditLog
from habmon.store.database import StoreError, insert_id, now


class PlanRecords(AuditLog):
    """Plan versions with their elements, and registry versions with their indicators."""

    def save_plan(self, plan: Plan, *, source: str, sha256: str, actor: str) -> tuple[int, bool]:
        """Store a plan version; the same content twice is one version. Returns (id, created)."""
        with self.transaction() as conn:
            existing = conn.execute(
                select(t.plan_version.c.id).where(
                    t.plan_version.c.plan_id == plan.plan.id, t.plan_version.c.content_sha256 == sha256
                )
            ).scalar_one_or_none()
            if existing is not None:
                return existing, False
            version_id = insert_id(
                conn,
                insert(t.plan_version).values(
                    plan_id=plan.plan.id,
                    version=plan.plan.version,
                    content_sha256=sha256,
                    source=source,
                    document=plan.model_dump(mode="json"),
                    loaded_at=now(),
                    loaded_by=actor,
                ),
            )
            conn.execute(insert(t.plan_element), [dict(row, plan_version_id=version_id) for row in _elements(plan)])
            self.audit(
                conn,
                actor,
                "plan.load",
                "plan_version",
                str(version_id),
                {"plan": plan.plan.id, "version": plan.plan.version, "sha256": sha256, "source": source},
            )
            return version_id, True

    def plan_versions(self) -> list[dict[str, Any]]:
        self.require_schema()
        cols = t.plan_version.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cols.id, cols.plan_id, cols.version, cols.content_sha256, cols.source, cols.loaded_at).order_by(
                    cols.id
                )
            )
            return [dict(r._mapping) for r in rows]

    def plan_document(self, version_id: int | None = None) -> dict[str, Any]:
        self.require_schema()
        cols = t.plan_version.c
        query = select(cols.document).order_by(cols.id.desc()).limit(1)
        if version_id is not None:
            query = select(cols.document).where(cols.id == version_id)
        with self.engine.connect() as conn:
            document = conn.execute(query).scalar_one_or_none()
        if document is None:
            raise StoreError(
                "no plan version stored" if version_id is None else f"no plan version {version_id}",
                hint="run `habmon init` (or `habmon demo`) first",
            )
        return dict(document)

    def save_registry(self, registry: Registry, *, plan_version_id: int, sha256: str, actor: str) -> tuple[int, bool]:
        with self.transaction() as conn:
            existing = conn.execute(
                select(t.registry_version.c.id).where(
                    t.registry_version.c.plan_version_id == plan_version_id,
                    t.registry_version.c.content_sha256 == sha256,
                )
            ).scalar_one_or_none()
            if existing is not None:
                return existing, False
            version_id = insert_id(
                conn,
                insert(t.registry_version).values(
                    plan_version_id=plan_version_id, content_sha256=sha256, loaded_at=now(), loaded_by=actor
                ),
            )
            conn.execute(
                insert(t.indicator),
                [
                    {
                        "registry_version_id": version_id,
                        "code": i.code,
                        "level": str(i.level),
                        "status": str(i.status),
                        "unit": str(i.unit),
                        "name_zh": i.name.zh,
                        "name_en": i.name.en,
                        "document": i.model_dump(mode="json"),
                    }
                    for i in registry.indicators
                ],
            )
            self.audit(
                conn,
                actor,
                "registry.load",
                "registry_version",
                str(version_id),
                {"indicators": len(registry.indicators), "sha256": sha256},
            )
            return version_id, True


def _elements(plan: Plan) -> Iterator[dict[str, Any]]:
    yield {
        "element_id": plan.strategic_focus.id,
        "kind": "strategic_focus",
        "level": None,
        "parent_id": None,
        "name_zh": plan.strategic_focus.statement.zh,
        "name_en": plan.strategic_focus.statement.en,
        "paragraphs": list(plan.strategic_focus.paragraphs),
    }
    yield {
        "element_id": plan.global_impact.id,
        "kind": "global_impact",
        "level": "impact",
        "parent_id": None,
        "name_zh": plan.global_impact.statement.zh,
        "name_en": plan.global_impact.statement.en,
        "paragraphs": list(plan.global_impact.paragraphs),
    }
    for area in plan.impact_areas:
        yield {
            "element_id": area.id,
            "kind": "impact_area",
            "level": "impact",
            "parent_id": plan.global_impact.id,
            "name_zh": area.name.zh,
            "name_en": area.name.en,
            "paragraphs": list(area.paragraphs),
        }
    for means in plan.means_of_implementation:
        yield {
            "element_id": means.id,
            "kind": f"means_of_implementation.{means.kind}",
            "level": None,
            "parent_id": None,
            "name_zh": means.name.zh,
            "name_en": means.name.en,
            "paragraphs": list(means.paragraphs),
        }
        yield {
            "element_id": means.outcome.id,
            "kind": "outcome",
            "level": "outcome",
            "parent_id": means.id,
            "name_zh": means.outcome.statement.zh,
            "name_en": means.outcome.statement.en,
            "paragraphs": list(means.outcome.paragraphs),
        }
    for output_set in plan.output_sets:
        for output in output_set.outputs:
            yield {
                "element_id": output.id,
                "kind": f"output.{output_set.year}",
                "level": "output",
                "parent_id": output.outcome,
                "name_zh": output.statement.zh,
                "name_en": output.statement.en,
                "paragraphs": list(output.paragraphs),
            }
