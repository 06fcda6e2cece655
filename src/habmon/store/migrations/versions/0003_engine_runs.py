"""Engine runs and their results, with the input snapshot and parameters of each run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from habmon.store import append_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("engine", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("snapshot_observation_id", sa.Integer(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
    )
    op.create_table(
        "engine_result",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("engine_run.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("geo_code", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20)),
        sa.Column("period", sa.Integer()),
        sa.Column("value", sa.Float()),
        sa.Column("people", sa.Float()),
        sa.Column("coverage", sa.Float()),
        sa.Column("units_reported", sa.Integer()),
        sa.Column("units_total", sa.Integer()),
        sa.Column("imputed_units", sa.Integer()),
        sa.Column("published", sa.Boolean()),
        sa.Column("method", sa.String(20)),
        sa.Column("status", sa.String(30)),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_engine_result_run", "engine_result", ["run_id", "indicator"])
    append_only.create_triggers(op, ["engine_result"])


def downgrade() -> None:
    append_only.drop_triggers(op, ["engine_result"])
    op.drop_table("engine_result")
    op.drop_table("engine_run")
