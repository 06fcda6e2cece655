"""Reading documents from disk, with problems reported as data (never a bare exception)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from habmon.indicators.registry import Registry, validate_registry
from habmon.plan.model import Plan
from habmon.plan.validate import validate_plan
from habmon.problems import InvalidDocument, Problem, Report

CODELISTS_FILE = "_codelists.yaml"


def data_dir() -> Path:
    """The data shipped inside the package (plan, registry, geography, public sources)."""
    return Path(str(resources.files("habmon") / "data"))


def default_plan_file() -> Path:
    return data_dir() / "plans" / "unhabitat-2026-2029.yaml"


def default_registry_dir() -> Path:
    return data_dir() / "indicators"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that refuses duplicate mapping keys (a silent overwrite otherwise)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Parse a YAML file; problems name the file and the line."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("file-unreadable", expected="a readable UTF-8 file", found=str(exc), file=name)]
    try:
        return yaml.load(text, Loader=_StrictLoader), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Problem("syntax", expected="YAML", found=str(problem), file=name, row=row)]


def load_plan(path: Path | None = None) -> Plan:
    plan, report = check_plan_file(path or default_plan_file())
    if plan is None:
        raise InvalidDocument(str(path or default_plan_file()), report)
    return plan


def check_plan_file(path: Path) -> tuple[Plan | None, Report]:
    data, problems = read_yaml(path)
    if problems:
        return None, Report.of(problems)
    return validate_plan(data, file=str(path))


def load_registry(plan: Plan, directory: Path | None = None) -> Registry:
    registry, report = check_registry_dir(plan, directory or default_registry_dir())
    if registry is None:
        raise InvalidDocument(str(directory or default_registry_dir()), report)
    return registry


def check_registry_dir(plan: Plan, directory: Path) -> tuple[Registry | None, Report]:
    problems: list[Problem] = []
    codelists_path = directory / CODELISTS_FILE
    codelists, found = read_yaml(codelists_path)
    problems.extend(found)
    documents: dict[str, Any] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == CODELISTS_FILE:
            continue
        data, found = read_yaml(path)
        problems.extend(found)
        if not found:
            documents[str(path)] = data
    if problems:
        return None, Report.of(problems)
    registry, report = validate_registry(documents, codelists, plan, codelists_file=str(codelists_path))
    return registry, report


def read_csv_rows(path: Path, encoding: str = "utf-8-sig") -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with their line number in the file (header is line 1)."""
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, row
