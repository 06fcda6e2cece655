"""A recipe's classification as SQL: one ``CASE … IN`` per code list, the states of classify.py.

Each code list (and crowding rule) becomes a column of states — 1 adequate, 0 deprived, −1 missing,
−2 unclassified — with classify.py's rules: a value that is no number (NULL, NaN, text) is missing;
a listed code takes its list's state; ``at_most`` classifies the other numbers ≥ 0; anything else
is unclassified. Crowding: missing when persons or rooms are missing or rooms is a missing code,
deprived when persons > more_than × rooms.

In SQL a state is its rank (adequate 0, missing 1, deprived 2, unclassified 3), and an integer
column with small codes is classified through one lookup list instead of ``IN`` chains, as
classify.py's lookup table does. The household's code ``yc`` follows from its worst state,
``greatest(…)`` of the ranks: −2 when any is unclassified (the file then has ``survey-code``
problems), otherwise counted (1) or not (0) when any is deprived, −1 (excluded) when any is
missing, else adequate everywhere. Grouping the states by component does not
change this: a component is deprived when one of its parts is, and missing only when none is
deprived, so "some component deprived" is "some part deprived", and "some component missing,
none deprived" is "some part missing, none deprived".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from habmon.surveys.classify import ADEQUATE, DEPRIVED, MISSING, UNCLASSIFIED, Labels, contradicts
from habmon.surveys.recipe import CodeList, Component, Counts, Recipe
from habmon.surveys.scan import Column, Source

COUNTED, NOT_COUNTED, EXCLUDED = 1, 0, -1  # values of yc (and UNCLASSIFIED)
# in SQL a state is its rank, so that a household's worst state is greatest(...) of them
RANK = {ADEQUATE: 0, MISSING: 1, DEPRIVED: 2, UNCLASSIFIED: 3}
LOOKUP_LIMIT = 10_000  # integer codes up to this are classified through a lookup list (as classify._lookup)


def _listed(part: CodeList) -> dict[int, int]:
    return {code: RANK[state] for state, codes in ((ADEQUATE, part.adequate), (DEPRIVED, part.deprived),
            (MISSING, part.missing)) for code in codes}  # fmt: skip


def _at_most(part: CodeList, code: int) -> int:
    """The rank of an unlisted code ≥ 0."""
    if part.at_most is None:
        return RANK[UNCLASSIFIED]
    return RANK[ADEQUATE] if code <= part.at_most else RANK[DEPRIVED]


def code_list_state(part: CodeList, column: Column) -> str:
    """The rank of each record's state: an integer column with small codes through one list lookup,
    any other as ``CASE … IN``."""
    listed = _listed(part)
    v = column.number
    if column.kind == "integer" and listed and min(listed) >= 0 and max(listed) <= LOOKUP_LIMIT:
        top = max(listed)
        table = ", ".join(str(listed.get(code, _at_most(part, code))) for code in range(top + 1))
        beyond = (
            f"CASE WHEN {v} <= {float(part.at_most)!r}::DOUBLE THEN {RANK[ADEQUATE]} ELSE {RANK[DEPRIVED]} END"
            if part.at_most is not None
            else str(RANK[UNCLASSIFIED])
        )
        return (
            f"CASE WHEN {v} IS NULL THEN {RANK[MISSING]} WHEN {v} < 0 THEN {RANK[UNCLASSIFIED]} "
            f"WHEN {v} <= {top} THEN list_extract([{table}]::TINYINT[], {v} + 1) ELSE {beyond} END"
        )
    whens = [f"WHEN {column.not_a_number} THEN {RANK[MISSING]}"]
    for state, codes in ((ADEQUATE, part.adequate), (DEPRIVED, part.deprived), (MISSING, part.missing)):
        if codes:
            whens.append(f"WHEN {v} IN ({column.codes(sorted(codes))}) THEN {RANK[state]}")
    if part.at_most is not None:
        most = f"{float(part.at_most)!r}::DOUBLE"
        whens.append(f"WHEN {v} >= 0 AND {v} <= {most} THEN {RANK[ADEQUATE]}")
        whens.append(f"WHEN {v} > {most} THEN {RANK[DEPRIVED]}")
    return f"CASE {' '.join(whens)} ELSE {RANK[UNCLASSIFIED]} END"


def crowding_state(component: Component, persons: Column, rooms: Column) -> str:
    assert component.crowding is not None
    missing = [persons.not_a_number, rooms.not_a_number]
    if component.missing_rooms:
        missing.append(f"{rooms.number} IN ({rooms.codes(sorted(component.missing_rooms))})")
    more = f"{float(component.crowding.more_than)!r}::DOUBLE"
    return (
        f"CASE WHEN {' OR '.join(missing)} THEN {RANK[MISSING]} "
        f"WHEN {persons.number} > {more} * {rooms.number} THEN {RANK[DEPRIVED]} ELSE {RANK[ADEQUATE]} END"
    )


@dataclass(frozen=True)
class Classification:
    relation: str  # the file with a column _hm_yc: the household's code
    yc: str  # that column
    skipped: tuple[str, ...]  # optional components the file lacks


def absent_variables(recipe: Recipe, source: Source) -> list[str]:
    """Variables of required components that the file lacks (classify.py reports them)."""
    return [v for c in recipe.components if not c.optional for v in c.variables() if v not in source]


def label_conflicts(recipe: Recipe, labels: Labels, source: Source) -> bool:
    """Whether a value label of the file contradicts the recipe's label for a code (a ``survey-label``)."""
    for component in recipe.components:
        if any(v not in source for v in component.variables()):
            continue
        for part in component.parts():
            given = labels.get(part.variable, {})
            if any(code in given and contradicts(label, given[code]) for code, label in part.labels().items()):
                return True
    return False


def classification(recipe: Recipe, source: Source) -> Classification:
    """The states of the components the file has; the caller has checked required ones are there."""
    states: list[str] = []
    skipped: list[str] = []
    for component in recipe.components:
        if any(v not in source for v in component.variables()):
            skipped.append(component.id)
            continue
        if component.crowding is not None:
            rule = component.crowding
            states.append(crowding_state(component, source[rule.persons], source[rule.rooms]))
            continue
        states += [code_list_state(part, source[part.variable]) for part in component.parts()]
    names = [f"_hm_state_{i}" for i in range(len(states))]
    if not names:  # nothing to classify by: every household excluded, as classify.py does
        return Classification(f"(SELECT *, {EXCLUDED} AS _hm_yc FROM {source.sql})", "_hm_yc", tuple(skipped))
    deprived = COUNTED if recipe.counts == Counts.DEPRIVED_ANY else NOT_COUNTED
    adequate = NOT_COUNTED if recipe.counts == Counts.DEPRIVED_ANY else COUNTED
    codes = {ADEQUATE: adequate, MISSING: EXCLUDED, DEPRIVED: deprived, UNCLASSIFIED: UNCLASSIFIED}
    by_rank = ", ".join(str(codes[state]) for state, _ in sorted(RANK.items(), key=lambda item: item[1]))
    worst = f"greatest({', '.join(names)})"
    yc = f"list_extract([{by_rank}]::TINYINT[], {worst} + 1)"
    with_states = ", ".join(f"{s} AS {n}" for s, n in zip(states, names, strict=True))
    relation = f"(SELECT *, {yc} AS _hm_yc FROM (SELECT *, {with_states} FROM {source.sql}))"
    return Classification(relation, "_hm_yc", tuple(skipped))


def domain_flag(codes: Sequence[int], column: Column) -> str:
    """Records whose ``column`` is one of ``codes`` (pandas ``isin`` on a numeric column)."""
    return f"coalesce({column.ref} IN ({column.codes(codes)}), false)" if codes else "false"
