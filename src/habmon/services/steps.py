"""What a load reports: one :class:`LoadStep` per thing loaded; progress callbacks of long loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from habmon.problems import Report


@dataclass(frozen=True, slots=True)
class LoadStep:
    name: str
    created: bool
    detail: str
    report: Report = field(default_factory=Report)


ProgressCallback = Callable[[str, int, int], None]
