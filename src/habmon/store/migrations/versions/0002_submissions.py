"""Submissions: the submission, its original file and its staged rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from habmon.store import append_only
from habmon.store.columns import observation_values

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("submission_row", "submission_file")


def upgrade() -> None:
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("submitter", sa.String(200), nullable=False),
        sa.Column("organization", sa.String(200), nullable=False),
        sa.Column("organization_type", sa.String(20), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("method_note", sa.Text()),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batch.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_submission_sha", "submission", ["content_sha256"])
    op.create_table(
        "submission_file",
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "submission_row",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=False),
        *observation_values(),
        sa.Column("source_row", sa.Integer(), nullable=False),
    )
    op.create_index("ix_submission_row_submission", "submission_row", ["submission_id"])
    append_only.create_triggers(op, APPEND_ONLY)


def downgrade() -> None:
    append_only.drop_triggers(op, APPEND_ONLY)
    op.drop_table("submission_row")
    op.drop_table("submission_file")
    op.drop_table("submission")
