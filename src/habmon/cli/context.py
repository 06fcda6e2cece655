"""What every command needs: the database URL and the acting user, set by the global options."""

from __future__ import annotations

from dataclasses import dataclass

from habmon.services import Monitor
from habmon.store.store import Store


@dataclass
class CliState:
    database: str | None = None
    user: str = "habmon"


state = CliState()


def monitor() -> Monitor:
    return Monitor(Store(state.database), actor=state.user)
