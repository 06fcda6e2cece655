"""Classify each household of a survey file by a recipe: adequate, deprived or missing per component.

Every answer code must be in one of the recipe's lists (or, for ``at_most`` variables, be a
number); a code that no list classifies is a ``survey-code`` problem naming the variable, the code,
its value label in the file, how many records carry it and their weight — never silently counted
as deprived. A value label in the file that contradicts the recipe's label for the same code (for
example "unprotected well" where the recipe classifies "protected well") is a ``survey-label``
problem. Deprived wins over missing: a household lacking one component is a slum household even if
another answer is missing; a household is excluded (and counted) only when a missing answer could
change its classification.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from habmon.problems import Problem
from habmon.surveys.recipe import CodeList, Component, Counts, Recipe

ADEQUATE, DEPRIVED, MISSING, UNCLASSIFIED = 1, 0, -1, -2
State = npt.NDArray[np.int8]
Labels = Mapping[str, Mapping[int, str]]  # variable → code → value label, as read from the file

_NEGATIONS = frozenset({"no", "not", "without", "unprotected", "unimproved", "non", "none"})
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Classified:
    y: npt.NDArray[np.float64]  # 1 counted, 0 not counted, NaN excluded (a missing answer that matters)
    components: dict[str, State]
    skipped: tuple[str, ...]  # optional components the file lacks
    problems: tuple[Problem, ...]

    @property
    def excluded(self) -> int:
        return int(np.isnan(self.y).sum())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 or w == "no"}


def contradicts(recipe_label: str, file_label: str) -> bool:
    """Labels contradict when one negates what the other does not, or they share no word."""
    a, b = _words(recipe_label), _words(file_label)
    if not a or not b:
        return False
    return bool((a & _NEGATIONS) ^ (b & _NEGATIONS)) or not (a & b)


def _code_list(
    frame: pd.DataFrame, part: CodeList, weights: npt.NDArray[np.float64], labels: Labels, file: str
) -> tuple[State, list[Problem]]:
    column = frame[part.variable]
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    lists = ((ADEQUATE, part.adequate), (DEPRIVED, part.deprived), (MISSING, part.missing))
    state = _lookup(column, lists)
    if state is None:
        state = np.full(values.shape[0], UNCLASSIFIED, dtype=np.int8)
        state[np.isnan(values)] = MISSING
        for kind, codes in lists:
            if codes:
                state[np.isin(values, np.fromiter(codes, dtype=np.float64))] = kind
    if part.at_most is not None:
        numeric = (state == UNCLASSIFIED) & (values >= 0)
        state[numeric & (values <= part.at_most)] = ADEQUATE
        state[numeric & (values > part.at_most)] = DEPRIVED
    problems: list[Problem] = []
    file_labels = labels.get(part.variable, {})
    bad = state == UNCLASSIFIED
    if bad.any():
        found, counts = np.unique(values[bad], return_counts=True)
        expected = "a code of " + ", ".join(str(c) for c in sorted(part.labels())) + f" ({part.source[:80]}…)"
        for code, count in zip(found, counts, strict=True):
            label = file_labels.get(int(code), "no label")
            weight = float(weights[bad & (values == code)].sum())
            problems.append(
                Problem(
                    "survey-code",
                    expected=expected,
                    found=f"{int(code)} ({label}) in {int(count)} records, weight {weight:.6g}",
                    file=file,
                    column=part.variable,
                    hint="add the code to a list of the recipe, or to an override for this survey",
                )
            )
    for code, label in part.labels().items():
        if code in file_labels and contradicts(label, file_labels[code]):
            count = int((values == code).sum())
            problems.append(
                Problem(
                    "survey-label",
                    expected=f"code {code} = {label!r}",
                    found=f"code {code} = {file_labels[code]!r} in the file ({count} records)",
                    file=file,
                    column=part.variable,
                    hint="the questionnaire codes differently: declare an override for this survey in the recipe",
                )
            )
    return state, problems


def _lookup(column: pd.Series, lists: tuple[tuple[int, dict[int, str]], ...]) -> State | None:
    """States through a table indexed by code, for integer columns with small non-negative codes."""
    if not pd.api.types.is_integer_dtype(column.dtype) or len(column) == 0:
        return None
    codes = column.to_numpy()
    low, high = int(codes.min()), int(codes.max())
    if low < 0 or high > 100_000:
        return None
    table = np.full(max(high, *(max(c, default=0) for _, c in lists)) + 1, UNCLASSIFIED, dtype=np.int8)
    for kind, listed in lists:
        if listed:
            table[np.fromiter(listed, dtype=np.int64)] = kind
    return np.asarray(table[codes], dtype=np.int8)


def _all_of(states: list[State]) -> State:
    stack = np.vstack(states)
    out = np.full(stack.shape[1], ADEQUATE, dtype=np.int8)
    out[(stack == MISSING).any(axis=0)] = MISSING
    out[(stack == DEPRIVED).any(axis=0)] = DEPRIVED
    out[(stack == UNCLASSIFIED).any(axis=0)] = UNCLASSIFIED
    return out


def _crowding(frame: pd.DataFrame, component: Component) -> State:
    assert component.crowding is not None
    rule = component.crowding
    persons = pd.to_numeric(frame[rule.persons], errors="coerce").to_numpy(dtype=np.float64)
    rooms = pd.to_numeric(frame[rule.rooms], errors="coerce").to_numpy(dtype=np.float64)
    state = np.where(persons > rule.more_than * rooms, DEPRIVED, ADEQUATE).astype(np.int8)
    state[np.isnan(persons) | np.isnan(rooms) | np.isin(rooms, component.missing_rooms)] = MISSING
    return state


def classify(
    frame: pd.DataFrame, recipe: Recipe, weights: npt.NDArray[np.float64], labels: Labels, file: str
) -> Classified:
    problems: list[Problem] = []
    states: dict[str, State] = {}
    skipped: list[str] = []
    for component in recipe.components:
        absent = [v for v in component.variables() if v not in frame.columns]
        if absent and component.optional:
            skipped.append(component.id)
            continue
        if absent:
            problems.extend(
                Problem("survey-variable", expected=f"variable {v} ({component.name})", file=file, column=v)
                for v in absent
            )
            continue
        if component.crowding is not None:
            states[component.id] = _crowding(frame, component)
            continue
        part_states = []
        for part in component.parts():
            state, found = _code_list(frame, part, weights, labels, file)
            part_states.append(state)
            problems.extend(found)
        states[component.id] = _all_of(part_states)
    y = np.full(len(frame), np.nan)
    if states:
        stack = np.vstack(list(states.values()))
        any_deprived = (stack == DEPRIVED).any(axis=0)
        any_missing = (stack == MISSING).any(axis=0)
        if recipe.counts == Counts.DEPRIVED_ANY:
            y = np.where(any_deprived, 1.0, np.where(any_missing, np.nan, 0.0))
        else:
            y = np.where(any_deprived, 0.0, np.where(any_missing, np.nan, 1.0))
    return Classified(y, states, tuple(skipped), tuple(problems))
