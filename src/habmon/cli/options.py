"""Options and small renderings the command groups share."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from habmon.cli.output import EXIT_INVALID, console

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout (see docs/cli-json.md).")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of texts: zh or en.")]


def checked_lang(lang: str) -> str:
    """``--lang`` checked: zh or en, else a clear error and exit code 2."""
    if lang not in ("zh", "en"):
        console.print(f"[red]error:[/] --lang must be zh or en, found {lang!r}")
        raise typer.Exit(EXIT_INVALID)
    return lang


def bar(value: float, top: float, width: int = 24) -> str:
    """A horizontal bar proportional to ``value`` (0 … ``top``), for trends in a terminal."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def short(value: Any, limit: int = 70) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
