"""Counts an operator watches (the metrics endpoint reads them at each scrape)."""

from __future__ import annotations

from sqlalchemy import func, select

from habmon.store import tables as t
from habmon.store.store import Store


def submission_counts(store: Store) -> dict[str, int]:
    """Submissions by workflow state (states with none are absent)."""
    with store.transaction() as conn:
        rows = conn.execute(select(t.submission.c.state, func.count()).group_by(t.submission.c.state)).all()
    return {str(state): int(n) for state, n in rows}
