"""The store: SQLite (embedded default) or PostgreSQL, behind one small API.

Every write that belongs together is one transaction: a plan version with its
elements, a geography with its units, a batch of observations. Observations are
append-only: a value that differs from the stored one becomes a new revision.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

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
from habmon.indicators.registry import Registry
from habmon.observation import Nature, Observation, ObservationKey
from habmon.plan.model import Plan
from habmon.problems import HabmonError
from habmon.store import bulk
from habmon.store import tables as t

DEFAULT_HOME = "var"


class StoreError(HabmonError):
    """The store cannot be opened or used."""


class DatabaseUnavailable(StoreError):
    """The database does not answer (down, restarting, out of reach): worth trying again shortly."""

    retry_after = 5  # seconds: about what a PostgreSQL restart takes


def default_url() -> str:
    """``HABMON_DATABASE_URL`` if set, else SQLite at ``$HABMON_HOME/habmon.sqlite3`` (HABMON_HOME: ./var)."""
    url = os.environ.get("HABMON_DATABASE_URL")
    if url:
        return url
    home = Path(os.environ.get("HABMON_HOME", DEFAULT_HOME))
    return f"sqlite:///{home / 'habmon.sqlite3'}"


MIGRATIONS = Path(__file__).parent / "migrations"


@functools.cache
def schema_head() -> str:
    """The newest migration revision shipped with this habmon."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # pragma: no cover - habmon always ships migrations
        raise StoreError("no migrations found", found=str(MIGRATIONS))
    return str(head)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Batch:
    """Where a batch of observations comes from: recorded with every value (provenance)."""

    kind: str  # shipped | submission | …
    name: str
    actor: str
    source_file: str | None = None
    content_sha256: str | None = None
    organization: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionSummary:
    batch_id: int | None
    new: int
    revised: int
    unchanged: int

    @property
    def stored(self) -> int:
        return self.new + self.revised


@dataclass(frozen=True, slots=True)
class StoredObservation:
    observation: Observation
    revision: int
    batch_id: int
    batch_name: str
    batch_file: str | None
    actor: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        o = self.observation
        return {
            "indicator": o.series,
            "geo": o.geo,
            "period": o.period,
            "disaggregation": dict(o.disaggregation),
            "value": o.value,
            "numerator": o.numerator,
            "denominator": o.denominator,
            "unit": o.unit,
            "nature": str(o.nature),
            "source": o.source,
            "note": o.note,
            "revision": self.revision,
            "provenance": {
                "batch": self.batch_id,
                "batch_name": self.batch_name,
                "file": self.batch_file,
                "recorded_by": self.actor,
                "recorded_at": self.recorded_at.isoformat(),
            },
        }


class Store:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(
                "not a database URL", expected="sqlite:///PATH or postgresql+psycopg://…", found=self.url
            ) from exc
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            self.engine: Engine = create_engine(parsed, future=True)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise StoreError(
                f"the database driver for {parsed.get_backend_name()} is not installed",
                hint="pip install 'habmon[postgresql]'",
            ) from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    # -- schema ----------------------------------------------------------------

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest version (Alembic)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            self._ready = True
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot open the database {self.display_url()}", found=str(exc.orig)) from exc

    def require_schema(self) -> None:
        """Raise a clear error when the database has no habmon schema yet."""
        if self._ready:
            return
        try:
            revision = self.schema_revision()
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot open the database {self.display_url()}", found=str(exc.orig)) from exc
        if revision is None:
            raise StoreError(
                f"the database {self.display_url()} has no habmon data yet", hint="run `habmon init` or `habmon demo`"
            )
        head = schema_head()
        if revision != head:
            raise StoreError(
                f"the database {self.display_url()} has an older schema",
                expected=f"schema revision {head}",
                found=f"revision {revision}",
                hint="run `habmon init` to migrate it (nothing is lost)",
            )
        self._ready = True

    def schema_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    # -- audit -----------------------------------------------------------------

    def audit(
        self,
        conn: Connection,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        conn.execute(
            insert(t.audit_event).values(
                at=_now(),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details=dict(details or {}),
            )
        )

    def audit_events(self, object_type: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        self.require_schema()
        query = select(t.audit_event).order_by(t.audit_event.c.id.desc()).limit(limit)
        if object_type:
            query = query.where(t.audit_event.c.object_type == object_type)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- plan and registry -----------------------------------------------------

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
                    loaded_at=_now(),
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
                    plan_version_id=plan_version_id, content_sha256=sha256, loaded_at=_now(), loaded_by=actor
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

    # -- geography -------------------------------------------------------------

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
                    version=geography.version, as_of=geography.as_of, content_sha256=sha256, loaded_at=_now()
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
                    loaded_at=_now(),
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

    # -- observations ----------------------------------------------------------

    def record_observations(
        self, observations: Iterable[Observation], batch: Batch, conn: Connection | None = None
    ) -> RevisionSummary:
        """Store a batch atomically: new keys get revision 1, changed values a new revision, equal values nothing."""
        return self.record_frame(bulk.frame_from_observations(observations), batch, conn)

    def record_frame(self, frame: pd.DataFrame, batch: Batch, conn: Connection | None = None) -> RevisionSummary:
        """:meth:`record_observations` for an observation frame (see :mod:`habmon.store.bulk`).

        With ``conn`` the batch joins the caller's transaction (e.g. approving a submission).
        """
        if conn is None:
            with self.transaction() as own:
                return self.record_frame(frame, batch, own)
        duplicated = frame.duplicated(subset=bulk.KEY)
        if duplicated.any():
            first = frame[duplicated].iloc[0]
            raise StoreError(
                "the batch holds the same observation twice",
                found=str(
                    ObservationKey(first["series"], first["geo"], int(first["period"]), first["disaggregation_key"])
                ),
                hint="validate the batch first; duplicates are reported there",
            )
        compared = bulk.compare(frame, bulk.current_frame(conn, sorted(frame["series"].unique())))
        found = bulk.counts(compared)
        changed = compared[compared["status"] != "unchanged"].copy()
        if changed.empty:
            return RevisionSummary(None, 0, 0, found["unchanged"])
        now = _now()
        batch_id = insert_id(conn, insert(t.batch).values(loaded_at=now, **asdict(batch)))
        changed["revision"] = changed["old_revision"].fillna(0).astype("int64") + 1
        changed = changed.rename(columns={"geo": "geo_code"})
        uncertainty = [c for c in bulk.UNCERTAINTY_COLUMNS if c in changed.columns]
        columns = ["batch_id", *bulk.STORED_COLUMNS, *uncertainty, "revision", "recorded_at"]
        constants = {"batch_id": batch_id, "recorded_at": bulk.stamp(conn, now)}
        bulk.insert_frame(conn, t.observation, changed, columns, constants)
        self.audit(
            conn,
            batch.actor,
            "observations.record",
            "batch",
            str(batch_id),
            {"name": batch.name, **found, "file": batch.source_file},
        )
        return RevisionSummary(batch_id, found["new"], found["revised"], found["unchanged"])

    def series(self, series: str, geo: str, *, history: bool = False, public: bool = False) -> list[StoredObservation]:
        """Observations of one series for one place, newest revision only unless ``history``.

        ``public``: only values that are published — shipped public data, and values of published
        submissions; an approved but unpublished revision leaves the published one in view.
        """
        self.require_schema()
        o = t.observation.c
        query = (
            select(t.observation, t.batch.c.name.label("batch_name"), t.batch.c.source_file, t.batch.c.actor)
            .join(t.batch, t.batch.c.id == o.batch_id)
            .where(o.series == series, o.geo_code == geo)
            .order_by(o.period, o.disaggregation_key, o.revision)
        )
        if public:
            query = query.where(t.batch.c.id.in_(bulk.public_batches()))
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        result = [
            StoredObservation(
                _observation(r), r.revision, r.batch_id, r.batch_name, r.source_file, r.actor, r.recorded_at
            )
            for r in rows
        ]
        if history:
            return result
        newest: dict[ObservationKey, StoredObservation] = {}
        for item in result:
            newest[item.observation.key] = item
        return list(newest.values())

    def current_frame(self, series: Sequence[str], *, public: bool = False, as_of: int | None = None) -> pd.DataFrame:
        """Newest revision of every stored value of these series (see :func:`habmon.store.bulk.current_frame`)."""
        self.require_schema()
        with self.engine.connect() as conn:
            return bulk.current_frame(conn, series, public=public, as_of=as_of)

    def geos_with(self, series: str) -> list[str]:
        """Places that have values of a series."""
        self.require_schema()
        o = t.observation.c
        with self.engine.connect() as conn:
            return list(
                conn.execute(select(o.geo_code).where(o.series == series).distinct().order_by(o.geo_code)).scalars()
            )

    def observation_count(self, *, current_only: bool = True) -> int:
        self.require_schema()
        o = t.observation.c
        with self.engine.connect() as conn:
            if not current_only:
                return int(conn.execute(select(func.count()).select_from(t.observation)).scalar_one())
            keys = select(o.series, o.geo_code, o.period, o.disaggregation_key).distinct().subquery()
            return int(conn.execute(select(func.count()).select_from(keys)).scalar_one())

    def series_summary(self) -> list[dict[str, Any]]:
        self.require_schema()
        o = t.observation.c
        query = (
            select(
                o.series,
                func.count(func.distinct(o.geo_code)).label("places"),
                func.min(o.period).label("first"),
                func.max(o.period).label("last"),
                func.count().label("rows"),
            )
            .group_by(o.series)
            .order_by(o.series)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


def insert_id(conn: Connection, statement: Any) -> int:
    key = conn.execute(statement).inserted_primary_key
    if key is None:  # pragma: no cover - every habmon table has an integer primary key
        raise StoreError("the database did not return the new row's id")
    return int(key[0])


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(
        "PRAGMA synchronous=NORMAL"
    )  # with WAL: no corruption on crash; the last commit may be lost on power loss
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache for large batches
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _observation(row: Any) -> Observation:
    return Observation(
        series=row.series,
        geo=row.geo_code,
        period=row.period,
        value=row.value,
        unit=row.unit,
        nature=Nature(row.nature),
        source=row.source,
        disaggregation=dict(row.disaggregation or {}),
        numerator=row.numerator,
        denominator=row.denominator,
        note=row.note,
    )


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
