"""Recipes: how an indicator is computed from survey microdata, declared as data (YAML).

A recipe names the design variables, the unit (households, or population: members × weight),
the domain (urban: hv025 = 1), the disaggregations and the components. A component classifies
each household as adequate, deprived or missing from code lists (each citing its source), from a
crowding rule (persons per room) or from several parts that must all be adequate (durable housing:
floor, wall and roof). ``counts`` says what the indicator counts: households deprived in at least
one component (SDG 11.1.1) or adequate in all (1.4.1, 7.1.1). Per-survey overrides replace a
component's variable or code lists for a questionnaire that codes differently.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from habmon.problems import NotFound

RECIPES_DIR = Path(__file__).resolve().parent.parent / "data" / "surveys" / "recipes"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Counts(StrEnum):
    DEPRIVED_ANY = "deprived_any"
    ADEQUATE_ALL = "adequate_all"


class CodeList(_Frozen):
    """A variable whose answer codes are classified; ``at_most``: numbers up to it are adequate, above it deprived."""

    variable: str
    name: str = ""
    source: str
    adequate: dict[int, str] = Field(default_factory=dict)
    deprived: dict[int, str] = Field(default_factory=dict)
    missing: dict[int, str] = Field(default_factory=dict)
    at_most: float | None = None

    @model_validator(mode="after")
    def _disjoint(self) -> CodeList:
        seen: dict[int, str] = {}
        for kind in ("adequate", "deprived", "missing"):
            for code in getattr(self, kind):
                if code in seen:
                    raise ValueError(f"{self.variable}: code {code} is in both {seen[code]} and {kind}")
                seen[code] = kind
        return self

    def labels(self) -> dict[int, str]:
        return {**self.adequate, **self.deprived, **self.missing}


class Crowding(_Frozen):
    persons: str
    rooms: str
    more_than: float


class Component(_Frozen):
    id: str
    name: str
    source: str = ""
    optional: bool = False  # skipped (and said so) when the survey lacks its variables
    variable: str | None = None
    adequate: dict[int, str] = Field(default_factory=dict)
    deprived: dict[int, str] = Field(default_factory=dict)
    missing: dict[int, str] = Field(default_factory=dict)
    at_most: float | None = None
    crowding: Crowding | None = None
    missing_rooms: list[int] = Field(default_factory=list)
    all_of: list[CodeList] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> Component:
        kinds = [self.variable is not None, self.crowding is not None, bool(self.all_of)]
        if sum(kinds) != 1:
            raise ValueError(f"component {self.id}: give exactly one of variable, crowding, all_of")
        if (self.variable is not None or self.crowding is not None) and not self.source:
            raise ValueError(f"component {self.id}: cite the source of its classification (source)")
        return self

    def parts(self) -> list[CodeList]:
        """The code lists this component reads (one, several, or none for crowding)."""
        if self.variable is not None:
            return [
                CodeList(
                    variable=self.variable,
                    name=self.name,
                    source=self.source,
                    adequate=self.adequate,
                    deprived=self.deprived,
                    missing=self.missing,
                    at_most=self.at_most,
                )
            ]
        return list(self.all_of)

    def variables(self) -> list[str]:
        if self.crowding is not None:
            return [self.crowding.persons, self.crowding.rooms]
        return [p.variable for p in self.parts()]


class Unit(_Frozen):
    kind: str = "population"  # population | households
    members: str | None = None


class RecipeDesign(_Frozen):
    weight: str
    weight_divisor: float = 1.0
    psu: str | None = None
    strata: str | None = None
    fpc: str | None = None


class Domain(_Frozen):
    variable: str
    codes: list[int]
    label: str


class Recipe(_Frozen):
    indicator: str
    name: str
    survey_type: str
    unit: Unit
    design: RecipeDesign
    domain: Domain | None = None
    counts: Counts
    disaggregations: dict[str, str] = Field(default_factory=dict)
    components: list[Component]
    overrides: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)

    def for_survey(self, survey: str) -> Recipe:
        """The recipe with the survey's overrides applied (each replaces fields of a component)."""
        changes = self.overrides.get(survey)
        if not changes:
            return self
        components = [
            Component.model_validate({**c.model_dump(), **changes[c.id]}) if c.id in changes else c
            for c in self.components
        ]
        return self.model_copy(update={"components": components})


def load_recipe(indicator: str, directory: Path = RECIPES_DIR) -> Recipe:
    path = directory / f"{indicator}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in directory.glob("*.yaml"))
        raise NotFound(f"no survey recipe for indicator {indicator}", expected=", ".join(known), found=indicator)
    return Recipe.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def recipe_indicators(directory: Path = RECIPES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))
