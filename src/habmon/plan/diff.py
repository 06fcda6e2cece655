"""Differences between two plan versions, element by element.

Lists of elements that carry an ``id`` (or ``level``/``year``) are matched on it, so
reordering is not reported as change; paths read ``means_of_implementation[MI-C].outcome.statement.en``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from habmon.plan.model import Plan

MATCH_KEYS = ("id", "level", "year")


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    path: str
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "path": self.path, "old": self.old, "new": self.new}


def diff_plans(old: Plan, new: Plan) -> list[Change]:
    return list(_diff(old.model_dump(mode="json"), new.model_dump(mode="json"), ""))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _match_key(items: list[Any]) -> str | None:
    for key in MATCH_KEYS:
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def _diff(old: Any, new: Any, path: str) -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                yield Change(ChangeKind.REMOVED, _join(path, key), old=old[key])
            elif key not in old:
                yield Change(ChangeKind.ADDED, _join(path, key), new=new[key])
            else:
                yield from _diff(old[key], new[key], _join(path, key))
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _match_key(old + new)
        if key is None:
            if old != new:
                yield Change(ChangeKind.CHANGED, path, old=old, new=new)
            return
        old_items = {str(i[key]): i for i in old}
        new_items = {str(i[key]): i for i in new}
        for ident in list(old_items) + [k for k in new_items if k not in old_items]:
            item_path = f"{path}[{ident}]"
            if ident not in new_items:
                yield Change(ChangeKind.REMOVED, item_path, old=old_items[ident])
            elif ident not in old_items:
                yield Change(ChangeKind.ADDED, item_path, new=new_items[ident])
            else:
                yield from _diff(old_items[ident], new_items[ident], item_path)
        return
    if old != new:
        yield Change(ChangeKind.CHANGED, path, old=old, new=new)
