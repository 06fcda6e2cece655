"""The store: SQLite (embedded default) or PostgreSQL, behind one small API.

Every write that belongs together is one transaction: a plan version with its
elements, a geography with its units, a batch of observations. Observations are
append-only: a value that differs from the stored one becomes a new revision.

:class:`Store` is composed of one part per concept, each a module of its own, over
:class:`~habmon.store.database.Database` (engine, schema, transactions — ``database.py``):
the audit log (``audit.py``), plan and registry versions (``plans.py``), geography and
engagement lists (``places.py``), observations and their revisions (``observations.py``).
"""

from __future__ import annotations

from habmon.store.observations import ObservationRecords
from habmon.store.places import PlaceRecords
from habmon.store.plans import PlanRecords


class Store(PlanRecords, PlaceRecords, ObservationRecords):
    """The habmon database: every part of the store on one connection pool."""
