"""The indicator registry as immutable data.

Each indicator measures elements of the plan's results chain (paras 52–53, 93–95),
is appraised against the selection criteria of para 98 (a–f), and carries its
baseline, targets, sources and means of verification (para 99).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from habmon.plan.model import ResultsLevel
from habmon.schema import Frozen, Text

SDG_CODE = r"\d{1,2}\.[0-9a-z]{1,2}\.\d{1,2}"
INDICATOR_CODE = rf"^({SDG_CODE}|UH(\.[A-Z0-9]+)+)$"
SERIES_CODE = r"^[A-Z][A-Z0-9_.]*$"


class IndicatorStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"


class Unit(StrEnum):
    PERCENT = "percent"
    RATIO = "ratio"
    NUMBER = "number"
    PERSONS = "persons"
    USD = "usd"
    SCORE = "score"
    MICROGRAMS_PER_M3 = "micrograms_per_m3"


class Scope(StrEnum):
    """What the indicator is measured over."""

    CITY = "city"
    COUNTRY = "country"
    ORGANIZATION = "organization"  # UN-Habitat itself (outputs, resources)


class Framework(StrEnum):
    SDG = "SDG"  # global indicator framework (A/RES/71/313)
    UMF = "UMF"  # Urban Monitoring Framework (UN Statistical Commission, 2022)
    NUA = "NUA"  # New Urban Agenda monitoring
    SP2020 = "SP2020"  # UN-Habitat strategic plan 2020–2025 results framework
    NEW = "NEW"  # proposed by habmon where no framework has one


class Frequency(StrEnum):
    ANNUAL = "annual"
    BIENNIAL = "biennial"
    TRIENNIAL = "triennial"
    QUINQUENNIAL = "quinquennial"


class Supplier(StrEnum):
    """Who supplies the data (para 92 b–c)."""

    MEMBER_STATE = "member_state"
    SECRETARIAT = "secretariat"
    PARTNER = "partner"


class Rating(StrEnum):
    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"


class AggregationMethod(StrEnum):
    WEIGHTED_MEAN = "weighted_mean"  # Σ wᵢvᵢ / Σ wᵢ
    RATIO_OF_SUMS = "ratio_of_sums"  # Σ numeratorᵢ / Σ denominatorᵢ
    SUM = "sum"  # counts
    NONE = "none"  # not aggregable (e.g. organizational indicators)


class Reference(Frozen):
    framework: Framework
    code: str | None = None
    note: str | None = None


class Ratio(Frozen):
    numerator: Text
    denominator: Text
    multiplier: float = 100.0


class Baseline(Frozen):
    value: float | None
    year: int | None
    geo: str = Field(default="001", description="M49 code of the geography the baseline is for")
    source: str
    note: Text | None = None

    @model_validator(mode="after")
    def _explained_when_missing(self) -> Baseline:
        if self.value is None and self.note is None:
            raise ValueError("a baseline without a value needs a note saying when and how it will be set")
        if self.value is not None and self.year is None:
            raise ValueError("a baseline value needs its year")
        return self


class TargetBasis(StrEnum):
    ABSOLUTE = "absolute"  # the value itself
    CHANGE = "change"  # change from the baseline value, in the indicator's unit


class Target(Frozen):
    year: int
    value: float
    basis: TargetBasis = TargetBasis.ABSOLUTE
    geo: str = "001"


class Targets(Frozen):
    rationale: Text
    values: tuple[Target, ...] = Field(min_length=1)


class Collection(Frozen):
    pathway: Text
    frequency: Frequency
    custodian: str
    suppliers: tuple[Supplier, ...] = Field(min_length=1)


class CriterionAppraisal(Frozen):
    rating: Rating
    rationale: Text


class Appraisal(Frozen):
    """Appraisal against the selection criteria of para 98 (a)–(f)."""

    a: CriterionAppraisal  # SMART
    b: CriterionAppraisal  # manageable scope and coverage in the plan period
    c: CriterionAppraisal  # reasonable attribution to UN-Habitat
    d: CriterionAppraisal  # data availability, pathway, reliability, quality assurance
    e: CriterionAppraisal  # cost within capacity
    f: CriterionAppraisal  # verifiable, observable evidence

    def items(self) -> tuple[tuple[str, CriterionAppraisal], ...]:
        return (("a", self.a), ("b", self.b), ("c", self.c), ("d", self.d), ("e", self.e), ("f", self.f))


class GapFilling(StrEnum):
    NONE = "none"
    NEAREST = "nearest"  # the value of the nearest year within max_gap_years (the earlier on a tie)
    # nearest as above, then a country still without a value takes its SDG sub-region's weighted mean of that
    # year (weighted means only); such values are imputed (nature E) and do not count in the coverage
    REGIONAL_MEAN = "regional_mean"


class Aggregation(Frozen):
    method: AggregationMethod
    weight: str | None = Field(default=None, description="series code of the weight, for weighted_mean")
    min_coverage: float = Field(default=0.5, ge=0, le=1)
    gap_filling: GapFilling = GapFilling.NEAREST
    max_gap_years: int = Field(default=2, ge=0, le=10)
    like_for_like_tolerance: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="progress of an aggregate: the constant panel at the baseline must cover at least the latest "
        "coverage minus this (see docs/engine.md)",
    )

    @model_validator(mode="after")
    def _weight_for_weighted_mean(self) -> Aggregation:
        if self.method == AggregationMethod.WEIGHTED_MEAN and not self.weight:
            raise ValueError("weighted_mean needs a weight series")
        if self.gap_filling == GapFilling.REGIONAL_MEAN and self.method != AggregationMethod.WEIGHTED_MEAN:
            raise ValueError(
                f"gap_filling regional_mean needs method weighted_mean, not {self.method} "
                "(a missing count or sum is not estimated by a regional average)"
            )
        return self

    @property
    def nearest_years(self) -> int:
        """How far (in years) a missing year looks for a value of the same place: 0 without gap filling."""
        return 0 if self.gap_filling == GapFilling.NONE else self.max_gap_years

    def gap_filling_text(self) -> str:
        """How gaps are filled, as aggregates report it: none, nearest (±N years), … then sub-region mean."""
        if self.gap_filling == GapFilling.NONE:
            return "none"
        nearest = f"nearest (±{self.max_gap_years} years)"
        return f"{nearest}, then sub-region mean" if self.gap_filling == GapFilling.REGIONAL_MEAN else nearest


class RuleKind(StrEnum):
    NOT_GREATER_THAN = "not_greater_than"  # value ≤ the other series' value (same place, period, group)
    NOT_LESS_THAN = "not_less_than"


class CrossRule(Frozen):
    """A rule between this indicator and another series, checked on submissions (e.g. slum population ≤ urban
    population)."""

    kind: RuleKind
    other: str = Field(description="indicator or auxiliary series code")
    note: Text | None = None


DEFAULT_FIRST_PERIOD = 1990
DEFAULT_LAST_PERIOD = 2030


class ValidationRules(Frozen):
    """Checks applied to submitted values; anything unset follows from the unit."""

    minimum: float | None = None  # default: 0 for every unit but score
    maximum: float | None = None  # default: 100 for percent
    first_period: int = DEFAULT_FIRST_PERIOD
    last_period: int = DEFAULT_LAST_PERIOD
    ratio_tolerance: float = Field(default=0.5, ge=0, description="|value − numerator/denominator × multiplier|")
    outlier_factor: float = Field(default=3.0, gt=0, description="warn when a change exceeds this many MADs")
    rules: tuple[CrossRule, ...] = ()


class Indicator(Frozen):
    code: str = Field(pattern=INDICATOR_CODE)
    status: IndicatorStatus
    name: Text
    definition: Text
    level: ResultsLevel
    measures: tuple[str, ...] = Field(min_length=1, description="ids of the plan elements measured")
    scope: Scope
    unit: Unit
    direction: Direction
    ratio: Ratio | None = None
    disaggregations: tuple[str, ...] = ()
    references: tuple[Reference, ...] = Field(min_length=1)
    series: tuple[str, ...] = Field(default=(), description="SDG Global Database series codes")
    baseline: Baseline
    targets: Targets
    data_sources: tuple[Text, ...] = Field(min_length=1)
    means_of_verification: tuple[Text, ...] = Field(min_length=1)
    collection: Collection
    appraisal: Appraisal
    aggregation: Aggregation
    validation: ValidationRules = ValidationRules()

    @property
    def is_sdg(self) -> bool:
        return any(r.framework == Framework.SDG for r in self.references)


class AuxiliarySeries(Frozen):
    """A series that is not a plan indicator but is needed to compute or weight one (e.g. urban population)."""

    code: str = Field(pattern=SERIES_CODE)
    name: Text
    unit: Unit
    source: str
    aggregation: Aggregation
    validation: ValidationRules = ValidationRules(first_period=1950, last_period=2050)


class Code(Frozen):
    id: str = Field(pattern=r"^[A-Z0-9_]+$")
    name: Text
    sdmx: str | None = Field(default=None, description="code in the SDG SDMX codelist, where one exists")


class Dimension(Frozen):
    """A disaggregation dimension and its codes; ``total`` is the code meaning 'all'."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    sdmx: str | None = None
    total: str = "_T"
    codes: tuple[Code, ...] = Field(min_length=1)
    groups: tuple[str, ...] = Field(default=(), description="para 54 groups this dimension makes visible")


class Codelists(Frozen):
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    auxiliary_series: tuple[AuxiliarySeries, ...] = ()

    def dimension(self, dim_id: str) -> Dimension:
        for dim in self.dimensions:
            if dim.id == dim_id:
                return dim
        raise KeyError(dim_id)
