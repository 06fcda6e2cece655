"""Column groups that more than one table shares, used by ``tables.py`` and by the migrations that create them.

FROZEN: migrations call these functions, so changing one would change what an old migration creates. A new or
different group is a new function (and the migration that needs it), never an edit of one below.
"""

from __future__ import annotations

import sqlalchemy as sa


def observation_values() -> list[sa.Column]:  # type: ignore[type-arg]
    """The key and value of one observation, in this order: ``observation`` (migration 0001) and
    ``submission_row`` (migration 0002) both hold them. New Column objects on every call (a column belongs to
    one table)."""
    return [
        sa.Column("series", sa.String(40), nullable=False),
        sa.Column("geo_code", sa.String(40), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("disaggregation_key", sa.String(300), nullable=False),
        sa.Column("disaggregation", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("numerator", sa.Float()),
        sa.Column("denominator", sa.Float()),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("nature", sa.String(4), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
    ]
