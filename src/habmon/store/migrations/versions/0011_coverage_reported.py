"""Aggregates of a run: coverage by values reported for the year, and the share of the weight that is filled.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable, no default: rows of earlier runs keep what they were computed with (coverage including filled)
    op.add_column("engine_result", sa.Column("coverage_reported", sa.Float()))
    op.add_column("engine_result", sa.Column("filled_share", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("engine_result") as batch:
        batch.drop_column("filled_share")
        batch.drop_column("coverage_reported")
