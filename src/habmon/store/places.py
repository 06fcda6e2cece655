"""Geography versions (units, memberships, aliases) and engagement lists, stored by content hash."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select

from habmon.geo.model import (
    Alias,
    AliasScheme,
    Engagement,
    Geography,
    GeoUnit,
    Hierarchy,
    Membership,
    UnitKind,
    Validity,
)
from habmon.store import tables as t
from habmon.store.audit import AuditLog
from habmon.store.database import StoreError, insert_id, now


class PlaceRecords(AuditLog):
    """The geography rebuilt as a domain object, and the newest list of the places UN-Habitat engages in."""

    def save_geography(self, geography: Geography, *, sha256: str, actor: str) -> tuple[int, bool]:
        with self.transaction() as conn:
            existing = conn.execute(
                select(t.geography_version.c.id).where(t.geography_version.c.content_sha256 == sha256)
            ).scalar_one_or_none()
            if existing is not None:
                return existing, False
            vid = insert_id(
                conn,
                insert(t.geography_version).values(
                    version=geography.version, as_of=geography.as_of, content_sha256=sha256, loaded_at=now()
                ),
            )
            conn.execute(
                insert(t.geo_unit),
                [
                    {
                        "geography_version_id": vid,
                        "code": u.code,
                        "kind": str(u.kind),
                        "names": dict(u.names),
                        "m49": u.m49,
                        "iso2": u.iso2,
                        "iso3": u.iso3,
                        "latitude": u.latitude,
                        "longitude": u.longitude,
                        "population": u.population,
                        "valid_from": u.validity.valid_from,
                        "valid_to": u.validity.valid_to,
                        "note": u.note,
                    }
                    for u in geography.units.values()
                ],
            )
            conn.execute(
                insert(t.geo_membership),
                [
                    {
                        "geography_version_id": vid,
                        "parent_code": m.parent,
                        "child_code": m.child,
                        "hierarchy": str(m.hierarchy),
                        "valid_from": m.validity.valid_from,
                        "valid_to": m.validity.valid_to,
                    }
                    for m in geography.memberships
                ],
            )
            conn.execute(
                insert(t.geo_alias),
                [
                    {"geography_version_id": vid, "scheme": str(a.scheme), "value": a.value, "code": a.code}
                    for a in geography.aliases
                ],
            )
            self.audit(
                conn,
                actor,
                "geography.load",
                "geography_version",
                str(vid),
                {"version": geography.version, "units": len(geography.units), "sha256": sha256},
            )
            return vid, True

    def geography(self) -> Geography:
        """The newest stored geography, rebuilt as a domain object."""
        self.require_schema()
        with self.engine.connect() as conn:
            row = conn.execute(select(t.geography_version).order_by(t.geography_version.c.id.desc()).limit(1)).first()
            if row is None:
                raise StoreError("no geography stored", hint="run `habmon init` (or `habmon demo`) first")
            vid = row.id
            units = [
                GeoUnit(
                    u.code,
                    UnitKind(u.kind),
                    u.names,
                    u.m49,
                    u.iso2,
                    u.iso3,
                    u.latitude,
                    u.longitude,
                    u.population,
                    Validity(u.valid_from, u.valid_to),
                    u.note,
                )
                for u in conn.execute(select(t.geo_unit).where(t.geo_unit.c.geography_version_id == vid))
            ]
            memberships = [
                Membership(m.parent_code, m.child_code, Hierarchy(m.hierarchy), Validity(m.valid_from, m.valid_to))
                for m in conn.execute(
                    select(t.geo_membership)
                    .where(t.geo_membership.c.geography_version_id == vid)
                    .order_by(t.geo_membership.c.id)
                )
            ]
            aliases = [
                Alias(AliasScheme(a.scheme), a.value, a.code)
                for a in conn.execute(
                    select(t.geo_alias).where(t.geo_alias.c.geography_version_id == vid).order_by(t.geo_alias.c.id)
                )
            ]
        return Geography.build(row.version, row.as_of, units, memberships, aliases)

    def save_engagements(
        self, name: str, engagements: Iterable[Engagement], *, illustrative: bool, source: str, sha256: str, actor: str
    ) -> tuple[int, bool]:
        rows = list(engagements)
        with self.transaction() as conn:
            existing = conn.execute(
                select(t.engagement_list.c.id).where(t.engagement_list.c.content_sha256 == sha256)
            ).scalar_one_or_none()
            if existing is not None:
                return existing, False
            lid = insert_id(
                conn,
                insert(t.engagement_list).values(
                    name=name,
                    illustrative=illustrative,
                    source=source,
                    content_sha256=sha256,
                    loaded_at=now(),
                    loaded_by=actor,
                ),
            )
            if rows:
                conn.execute(
                    insert(t.engagement),
                    [
                        {
                            "engagement_list_id": lid,
                            "geo_code": e.code,
                            "start_date": e.start,
                            "end_date": e.end,
                            "note": e.note,
                        }
                        for e in rows
                    ],
                )
            self.audit(
                conn,
                actor,
                "engagements.load",
                "engagement_list",
                str(lid),
                {"name": name, "places": len(rows), "illustrative": illustrative},
            )
            return lid, True

    def engagements(self) -> tuple[list[Engagement], dict[str, Any] | None]:
        """The newest engagement list: its rows and its header (name, illustrative, source)."""
        self.require_schema()
        with self.engine.connect() as conn:
            head = conn.execute(select(t.engagement_list).order_by(t.engagement_list.c.id.desc()).limit(1)).first()
            if head is None:
                return [], None
            rows = conn.execute(
                select(t.engagement).where(t.engagement.c.engagement_list_id == head.id).order_by(t.engagement.c.id)
            )
            items = [Engagement(r.geo_code, r.start_date, r.end_date, bool(head.illustrative), r.note) for r in rows]
            return items, {
                "id": head.id,
                "name": head.name,
                "illustrative": bool(head.illustrative),
                "source": head.source,
                "loaded_at": head.loaded_at,
            }
