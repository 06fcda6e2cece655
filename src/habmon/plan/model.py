"""The Strategic Plan as immutable data.

Vocabulary follows the plan itself: a *strategic focus* (paras 2, 27–33) drives an
expected *global impact* (paras 4, 34) across three *impact areas* (para 3, section V),
reached through five *means of implementation* (para 5, section VI), each with one
*outcome*; *outputs* are defined per annual work programme year (paras 6, 85–87).
Results are read on three *results levels*: impact, outcome, output (paras 52, 93).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from habmon.schema import Cited, Frozen, Text


class ResultsLevel(StrEnum):
    IMPACT = "impact"
    OUTCOME = "outcome"
    OUTPUT = "output"


class MeansKind(StrEnum):
    SUBSTANTIVE = "substantive"
    ENABLING = "enabling"


class ElementStatus(StrEnum):
    ADOPTED = "adopted"  # stated in the plan document
    PROPOSED = "proposed"  # proposed by the monitoring team, not (yet) in the plan


class PlanInfo(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(min_length=1)
    title: Text
    period_start: int = Field(ge=2000, le=2100)
    period_end: int = Field(ge=2000, le=2100)
    document: str = Field(min_length=1, description="symbol or title of the source document")
    source_language: str = Field(pattern=r"^(zh|en|fr|es|ru|ar)$")
    paragraph_count: int = Field(ge=1, description="number of paragraphs in the plan annex")
    note: Text | None = None


class StrategicFocus(Cited):
    id: str
    statement: Text


class GlobalImpact(Cited):
    id: str
    statement: Text


class ImpactArea(Cited):
    id: str
    section: str
    name: Text
    description: Text


class Outcome(Cited):
    id: str
    statement: Text


class AccountableOffice(Cited):
    name: Text
    role: Text


class MeansOfImplementation(Cited):
    id: str
    section: str
    kind: MeansKind
    name: Text
    description: Text
    outcome: Outcome
    accountable_office: AccountableOffice


class ResultsLevelDefinition(Cited):
    level: ResultsLevel
    name: Text
    definition: Text
    influence: Text


class Output(Cited):
    id: str
    outcome: str = Field(description="id of the outcome this output contributes to")
    statement: Text
    status: ElementStatus = ElementStatus.PROPOSED


class OutputSet(Frozen):
    year: int
    status: ElementStatus
    note: Text
    outputs: tuple[Output, ...] = Field(min_length=1)


class Group(Cited):
    """A group to leave no one behind (para 54)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Text


class HousingAspect(Frozen):
    """One of the seven aspects of adequate housing (figure II; CESCR General Comment 4, para 8)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Text
    description: Text
    reference: str


class Source(Frozen):
    footnote: int | None = Field(default=None, ge=1)
    citation: str = Field(min_length=1)


class GlobalChallengeFigure(Cited):
    """A figure from the global challenges (paras 13–19) with its footnoted source."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    statement: Text
    value: float
    unit: Text
    year: int | None = None
    sources: tuple[Source, ...] = Field(min_length=1)


class SelectionCriterion(Cited):
    """A criterion for selecting indicators (para 98 a–f)."""

    id: str = Field(pattern=r"^[a-f]$")
    text: Text


class MonitoringConsideration(Cited):
    """An aspect to consider when developing the monitoring framework (para 92 a–f)."""

    id: str = Field(pattern=r"^[a-z]$")
    text: Text


class Plan(Frozen):
    plan: PlanInfo
    strategic_focus: StrategicFocus
    global_impact: GlobalImpact
    impact_areas: tuple[ImpactArea, ...] = Field(min_length=1)
    means_of_implementation: tuple[MeansOfImplementation, ...] = Field(min_length=1)
    results_levels: tuple[ResultsLevelDefinition, ...] = Field(min_length=1)
    output_sets: tuple[OutputSet, ...] = ()
    leave_no_one_behind: tuple[Group, ...] = Field(min_length=1)
    adequate_housing_aspects: tuple[HousingAspect, ...] = ()
    global_challenges: tuple[GlobalChallengeFigure, ...] = ()
    indicator_selection_criteria: tuple[SelectionCriterion, ...] = ()
    monitoring_considerations: tuple[MonitoringConsideration, ...] = ()

    # -- navigation -------------------------------------------------------------

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        return tuple(m.outcome for m in self.means_of_implementation)

    @property
    def outputs(self) -> tuple[Output, ...]:
        return tuple(o for s in self.output_sets for o in s.outputs)

    def element_ids(self) -> dict[str, ResultsLevel | None]:
        """Every addressable element id → the results level it sits on (None if none)."""
        ids: dict[str, ResultsLevel | None] = {
            self.strategic_focus.id: None,
            self.global_impact.id: ResultsLevel.IMPACT,
        }
        ids.update({a.id: ResultsLevel.IMPACT for a in self.impact_areas})
        ids.update({m.id: None for m in self.means_of_implementation})
        ids.update({o.id: ResultsLevel.OUTCOME for o in self.outcomes})
        ids.update({o.id: ResultsLevel.OUTPUT for o in self.outputs})
        return ids

    def means_for_outcome(self, outcome_id: str) -> MeansOfImplementation:
        for means in self.means_of_implementation:
            if means.outcome.id == outcome_id:
                return means
        raise KeyError(outcome_id)
