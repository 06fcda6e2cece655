"""Vintages: the release of its source that each batch and each submission declares.

Existing rows are dated as habmon dates a batch that declares none: the shipped datasets by their release
(as ``habmon.ingest.shipped`` declares it), everything else by the month it was loaded or submitted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"  # after 0011 (engine_result coverage columns), merged in the same release
branch_labels = None
depends_on = None

# the shipped datasets and their vintages when this migration was written (frozen: see ingest/shipped.py)
SHIPPED = {
    "WUP 2018 urban and rural population": "2018",
    "WUP 2018 urban agglomerations, 2020": "2018",
    "SDG 11.1.1 slum share by country": "2022",
    "SDG 11.2.1 / 11.3.1 / 11.7.1 by city": "2022",
}


def _month(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"substr({column}, 1, 7)"


def upgrade() -> None:
    op.add_column("batch", sa.Column("vintage", sa.String(7)))
    op.add_column("submission", sa.Column("vintage", sa.String(7)))
    batch = sa.table("batch", sa.column("kind", sa.String), sa.column("name", sa.String), sa.column("vintage"))
    for name, vintage in SHIPPED.items():
        op.execute(batch.update().where(batch.c.kind == "shipped", batch.c.name == name).values(vintage=vintage))
    op.execute(f"UPDATE batch SET vintage = {_month('loaded_at')} WHERE vintage IS NULL")
    op.execute(f"UPDATE submission SET vintage = {_month('created_at')} WHERE vintage IS NULL")


def downgrade() -> None:
    for table in ("submission", "batch"):
        with op.batch_alter_table(table) as alter:
            alter.drop_column("vintage")
