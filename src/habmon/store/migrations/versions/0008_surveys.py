"""Survey microdata: registered surveys, computations; uncertainty on observations and staged rows.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None

UNCERTAINTY = (
    ("se", sa.Float()),
    ("ci_low", sa.Float()),
    ("ci_high", sa.Float()),
    ("n", sa.Integer()),
    ("deff", sa.Float()),
)


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(40), nullable=False),
        sa.Column("fieldwork_start", sa.Integer(), nullable=False),
        sa.Column("fieldwork_end", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("access_conditions", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_survey_name"),
    )
    op.create_table(
        "survey_computation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id"), nullable=False),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("by", sa.JSON(), nullable=False),
        sa.Column("lonely_psu", sa.String(10), nullable=False),
        sa.Column("recipe_sha256", sa.String(64), nullable=False),
        sa.Column("estimates", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id")),
        sa.Column("computed_by", sa.String(200), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_survey_computation_survey", "survey_computation", ["survey_id"])
    for table in ("observation", "submission_row"):
        for name, type_ in UNCERTAINTY:
            op.add_column(table, sa.Column(name, type_))


def downgrade() -> None:
    for table in ("submission_row", "observation"):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(UNCERTAINTY):
                batch.drop_column(name)
    op.drop_index("ix_survey_computation_survey", table_name="survey_computation")
    op.drop_table("survey_computation")
    op.drop_table("survey")
