"""How the CLI speaks: rich tables for people, stable JSON for programs, one error format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from habmon.problems import HabmonError, InvalidDocument, Report

console = Console()
err_console = Console(stderr=True)

EXIT_ERROR = 1
EXIT_INVALID = 2


def emit_json(data: Any) -> None:
    """JSON on stdout: UTF-8 (Chinese stays readable), 2-space indent, keys in schema order."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def emit(json_output: bool, data: Any, text: str) -> None:
    """The outcome of a command: ``data`` as JSON with ``--json``, else one line of ``text`` for a person."""
    if json_output:
        emit_json(data)
    else:
        console.print(text)


def report_table(report: Report, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("severity", "type", "where", "expected", "found", "hint"):
        table.add_column(column, overflow="fold")
    for p in report:
        style = "red" if p.severity == "error" else "yellow"
        table.add_row(f"[{style}]{p.severity}[/]", p.type, p.location, p.expected, p.found, p.hint or "")
    return table


@contextmanager
def handled(json_output: bool = False) -> Iterator[None]:
    """Turn habmon errors into a clear message (or JSON) and a non-zero exit code."""
    try:
        yield
    except InvalidDocument as exc:
        if json_output:
            emit_json({"error": {"type": "invalid-document", "source": exc.source, **exc.report.to_dict()}})
        else:
            err_console.print(report_table(exc.report, f"{exc.source}: {len(exc.report.errors)} error(s)"))
        raise typer.Exit(EXIT_INVALID) from exc
    except HabmonError as exc:
        if json_output:
            emit_json(
                {
                    "error": {
                        "type": type(exc).__name__,
                        "message": str(exc),
                        "expected": exc.expected,
                        "found": exc.found,
                        "hint": exc.hint,
                    }
                }
            )
        else:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)  # found values may hold [..]
        raise typer.Exit(EXIT_ERROR) from exc


E = TypeVar("E", bound=StrEnum)


def choice(kind: type[E], value: str, option: str) -> E:
    """An option's value as a member of ``kind``, or a clear error and exit code 2."""
    try:
        return kind(value)
    except ValueError:
        err_console.print(
            f"[bold red]error:[/] {option} must be one of {', '.join(k.value for k in kind)}, found {value!r}"
        )
        raise typer.Exit(EXIT_INVALID) from None


@contextmanager
def progress_bar(description: str, verb: str, *, hidden: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar; yields the ``(name, done, total)`` callback that services report through."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=hidden,
    ) as bar:
        task = bar.add_task(description, total=1)

        def tick(name: str, done: int, total: int) -> None:
            bar.update(task, description=f"{verb}: {name}", completed=done, total=total)

        yield tick


def table(title: str, columns: list[str], rows: list[list[Any]], caption: str | None = None) -> Table:
    result = Table(title=title, caption=caption)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*("" if v is None else str(v) for v in row))
    return result
