"""Initial schema: plan versions, indicator registry, geography, engagements, observations, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from habmon.store import append_only
from habmon.store.columns import observation_values

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("observation", "audit_event")


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Integer(), primary_key=True)


def _stamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "plan_version",
        _id(),
        sa.Column("plan_id", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        _stamp("loaded_at"),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("plan_id", "content_sha256", name="uq_plan_version_plan_id"),
    )
    op.create_table(
        "plan_element",
        _id(),
        sa.Column("plan_version_id", sa.Integer(), sa.ForeignKey("plan_version.id"), nullable=False),
        sa.Column("element_id", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20)),
        sa.Column("parent_id", sa.String(50)),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.UniqueConstraint("plan_version_id", "element_id", name="uq_plan_element_plan_version_id"),
    )
    op.create_table(
        "registry_version",
        _id(),
        sa.Column("plan_version_id", sa.Integer(), sa.ForeignKey("plan_version.id"), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        _stamp("loaded_at"),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("plan_version_id", "content_sha256", name="uq_registry_version_plan_version_id"),
    )
    op.create_table(
        "indicator",
        _id(),
        sa.Column("registry_version_id", sa.Integer(), sa.ForeignKey("registry_version.id"), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.UniqueConstraint("registry_version_id", "code", name="uq_indicator_registry_version_id"),
    )
    op.create_table(
        "geography_version",
        _id(),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        _stamp("loaded_at"),
        sa.UniqueConstraint("content_sha256", name="uq_geography_version_content_sha256"),
    )
    op.create_table(
        "geo_unit",
        _id(),
        sa.Column("geography_version_id", sa.Integer(), sa.ForeignKey("geography_version.id"), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("m49", sa.String(10)),
        sa.Column("iso2", sa.String(2)),
        sa.Column("iso3", sa.String(3)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("population", sa.Float()),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
        sa.Column("note", sa.Text()),
        sa.UniqueConstraint("geography_version_id", "code", name="uq_geo_unit_geography_version_id"),
    )
    op.create_table(
        "geo_membership",
        _id(),
        sa.Column("geography_version_id", sa.Integer(), sa.ForeignKey("geography_version.id"), nullable=False),
        sa.Column("parent_code", sa.String(40), nullable=False),
        sa.Column("child_code", sa.String(40), nullable=False),
        sa.Column("hierarchy", sa.String(20), nullable=False),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
    )
    op.create_index("ix_geo_membership_child", "geo_membership", ["geography_version_id", "child_code"])
    op.create_table(
        "geo_alias",
        _id(),
        sa.Column("geography_version_id", sa.Integer(), sa.ForeignKey("geography_version.id"), nullable=False),
        sa.Column("scheme", sa.String(20), nullable=False),
        sa.Column("value", sa.String(60), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
    )
    op.create_table(
        "engagement_list",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        _stamp("loaded_at"),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("content_sha256", name="uq_engagement_list_content_sha256"),
    )
    op.create_table(
        "engagement",
        _id(),
        sa.Column("engagement_list_id", sa.Integer(), sa.ForeignKey("engagement_list.id"), nullable=False),
        sa.Column("geo_code", sa.String(40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date()),
        sa.Column("note", sa.Text()),
    )
    op.create_table(
        "batch",
        _id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_file", sa.Text()),
        sa.Column("content_sha256", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("organization", sa.String(200)),
        _stamp("loaded_at"),
        sa.Column("note", sa.Text()),
    )
    op.create_table(
        "observation",
        _id(),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batch.id"), nullable=False),
        *observation_values(),
        sa.Column("revision", sa.Integer(), nullable=False),
        _stamp("recorded_at"),
        sa.UniqueConstraint(
            "series", "geo_code", "period", "disaggregation_key", "revision", name="uq_observation_key"
        ),
    )
    op.create_index("ix_observation_batch", "observation", ["batch_id"])
    op.create_table(
        "audit_event",
        _id(),
        _stamp("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    append_only.create_function(op)
    append_only.create_triggers(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.drop_triggers(op, APPEND_ONLY)
    append_only.drop_function(op)
    for table in (
        "audit_event",
        "observation",
        "batch",
        "engagement",
        "engagement_list",
        "geo_alias",
        "geo_membership",
        "geo_unit",
        "geography_version",
        "indicator",
        "registry_version",
        "plan_element",
        "plan_version",
    ):
        op.drop_table(table)
