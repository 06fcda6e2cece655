"""The layering of docs/architecture.md, checked over the import graph: nothing imports upward.

Outermost first: cli | web (independent of each other) ; services ; the middle layer (store, ingest, engine, …,
which may use one another) ; the domain (pure data and validation: it imports no other habmon layer and no
database, web or engine library). Every ``import`` counts, also those inside functions and under TYPE_CHECKING.
A new top-level package of habmon must be given its layer in ``LAYERS`` (the test says so).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# (rank, name): a module may import its own layer and lower ranks only
OUTER, SERVICES, MIDDLE, DOMAIN = 3, 2, 1, 0
LAYERS: dict[str, int] = {
    "__main__": OUTER,
    "cli": OUTER,
    "web": OUTER,
    "services": SERVICES,
    **dict.fromkeys(
        (
            "access",
            "engine",
            "implementation",
            "ingest",
            "jobs",
            "methods",
            "publish",
            "reports",
            "store",
            "stories",
            "submission",
            "surveys",
        ),
        MIDDLE,
    ),
    **dict.fromkeys(("", "geo", "indicators", "observation", "plan", "problems", "schema", "vintage"), DOMAIN),
}
INDEPENDENT = {frozenset({"cli", "web"})}  # same layer, but neither imports the other
# libraries of I/O the domain must not import (pandas and pathlib are not policed: see docs/architecture.md)
DOMAIN_FORBIDDEN = frozenset(
    {
        "alembic",
        "duckdb",
        "fastapi",
        "httpx",
        "ibis",
        "jinja2",
        "openpyxl",
        "psycopg",
        "pyspark",
        "requests",
        "rich",
        "sdmx",
        "sqlalchemy",
        "starlette",
        "typer",
        "uvicorn",
    }
)
# Imports that break the rules and are left for now, each with its reason: (importing module, imported module).
IGNORED: dict[tuple[str, str], str] = {
    ("habmon.cli.web", "habmon.web.asgi"): "`habmon serve` starts the web app (its ASGI factory, in N workers): "
    "the CLI is the process's entry point",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. habmon.submission.service
    target: str  # what it imports, e.g. habmon.services or sqlalchemy.orm
    line: int

    @property
    def where(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[Import]:
    return parse_imports(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def parse_imports(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(Import(module, target, node.lineno))
    return found


def all_imports() -> list[Import]:
    return [i for path in sorted((SRC / "habmon").rglob("*.py")) for i in imports_of(path)]


def top(module: str) -> str:
    """The top-level package under habmon ('' for habmon itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def breaks_layering(i: Import) -> str | None:
    """Why an import breaks the layering, or None."""
    if not (i.target == "habmon" or i.target.startswith("habmon.")):
        root = i.target.split(".")[0]
        if LAYERS[top(i.module)] == DOMAIN and root in DOMAIN_FORBIDDEN:
            return f"the domain imports the I/O library {root}"
        return None
    source, target = top(i.module), top(i.target)
    if source == target:
        return None
    if LAYERS[target] > LAYERS[source]:
        return f"layer {source} imports the higher layer {target}"
    if frozenset({source, target}) in INDEPENDENT:
        return f"{source} and {target} are independent of each other"
    return None


def test_every_package_has_a_layer() -> None:
    packages = {top(module_name(p)) for p in (SRC / "habmon").rglob("*.py")}
    unplaced = sorted(packages - LAYERS.keys())
    assert not unplaced, f"give these habmon packages a layer in tests/test_layers.py LAYERS: {unplaced}"


def test_nothing_imports_upward() -> None:
    broken = [
        f"{i.where}: {why}"
        for i in all_imports()
        if (why := breaks_layering(i)) and (i.module, i.target) not in IGNORED
    ]
    assert not broken, "imports against docs/architecture.md's layers:\n" + "\n".join(broken)


def test_the_ignore_list_holds_only_imports_that_exist() -> None:
    present = {(i.module, i.target) for i in all_imports() if breaks_layering(i)}
    assert set(IGNORED) <= present, f"no longer needed, remove from IGNORED: {sorted(set(IGNORED) - present)}"


@pytest.mark.parametrize(
    ("module", "target", "broken"),
    [
        ("habmon.submission.service", "habmon.services", True),  # what issue #9 removed
        ("habmon.geo.model", "habmon.store.tables", True),
        ("habmon.plan.model", "sqlalchemy.orm", True),
        ("habmon.web.api.v1", "habmon.cli.output", True),
        ("habmon.engine.run", "habmon.store.bulk", False),  # within the middle layer
        ("habmon.services", "habmon.ingest.files", False),
        ("habmon.cli.main", "habmon.services", False),
        ("habmon.store.store", "sqlalchemy", False),
        ("habmon.web.app", "habmon", False),
    ],
)
def test_the_rule_itself(module: str, target: str, broken: bool) -> None:
    assert (breaks_layering(Import(module, target, 1)) is not None) is broken


def test_imports_inside_functions_and_relative_ones_count() -> None:
    source = (
        "from . import table\n"
        "from ..store.store import Store\n"
        "def read() -> None:\n"
        "    import habmon.services\n"
        "    from habmon.web import create_app\n"
    )
    found = sorted((i.target, i.line) for i in parse_imports(source, "habmon.submission.service"))
    # `from . import table` imports from the package habmon.submission: the same layer either way
    assert found == [("habmon.services", 4), ("habmon.store.store", 2), ("habmon.submission", 1), ("habmon.web", 5)]
    assert [breaks_layering(i) is not None for i in parse_imports(source, "habmon.submission.service")].count(True) == 2
    assert module_name(SRC / "habmon" / "ingest" / "formats" / "__init__.py") == "habmon.ingest.formats"
