"""Shared pieces of habmon's document schemas (plan, indicator registry, codelists).

Documents are validated with pydantic; :func:`validate_document` turns *every*
pydantic error into a :class:`~habmon.problems.Problem` whose ``path`` reads like
``means_of_implementation[3].outcome.en``, so a broken document is reported in
full, not one error at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from habmon.problems import Problem

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """Immutable, closed schema: unknown fields are errors, instances cannot change."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Text(Frozen):
    """A text in the plan's two working languages: Chinese (the seed's words) and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Cited(Frozen):
    """Anything traceable to the paragraphs of the plan it comes from."""

    paragraphs: tuple[int, ...] = Field(min_length=1)

    @field_validator("paragraphs")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for number in value:
            if number < 1:
                raise ValueError(f"paragraph numbers start at 1, found {number}")
        return value


def format_path(loc: Sequence[int | str]) -> str:
    """``('a', 3, 'b')`` → ``a[3].b``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_PYDANTIC_TYPES: dict[str, str] = {
    "missing": "missing",
    "extra_forbidden": "unknown-field",
}


def _problem_from_pydantic(error: Mapping[str, Any], file: str | None) -> Problem:
    kind = str(error.get("type", ""))
    loc = tuple(p for p in error.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-")))
    path = format_path(loc)
    problem_type = _PYDANTIC_TYPES.get(kind, "type" if kind.endswith("_type") or kind.endswith("_parsing") else "value")
    found = error.get("input")
    if problem_type == "missing":
        return Problem("missing", expected=f"field '{loc[-1] if loc else path}'", file=file, path=path)
    found_text = _short(found)
    expected = str(error.get("msg", ""))
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        expected = f"one of {ctx['expected']}"
    return Problem(problem_type, expected=expected, found=found_text, file=file, path=path)


def _without_echoes(errors: list[Any]) -> list[Any]:
    """Drop the 'too short' error pydantic adds to a sequence whose items already failed."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(len(o) > len(e["loc"]) and o[: len(e["loc"])] == tuple(e["loc"]) for o in locs)
        )
    ]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_document(
    model: type[M],
    data: Any,
    *,
    file: str | None,
    checks: Iterable[Callable[[M], Iterable[Problem]]] = (),
) -> tuple[M | None, list[Problem]]:
    """Validate ``data`` against ``model`` and then run semantic ``checks``.

    Returns the model (or ``None`` if the structure is invalid) and every problem found.
    """
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        return None, [_problem_from_pydantic(e, file) for e in _without_echoes(exc.errors())]
    problems: list[Problem] = []
    for check in checks:
        problems.extend(check(document))
    if file is not None:
        problems = [p if p.file else _with_file(p, file) for p in problems]
    return document, problems


def _with_file(problem: Problem, file: str) -> Problem:
    from dataclasses import replace

    return replace(problem, file=file)


def duplicate_ids(items: Iterable[tuple[str, str]]) -> list[Problem]:
    """``items`` are (path, id) pairs; reports every id seen before."""
    seen: set[str] = set()
    problems: list[Problem] = []
    for path, ident in items:
        if ident in seen:
            problems.append(Problem("duplicate-id", expected="a unique identifier", found=ident, path=path))
        seen.add(ident)
    return problems
