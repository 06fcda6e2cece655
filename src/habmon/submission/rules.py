"""Each series' validation rules, gathered from the indicator registry (indicators and auxiliary series).

What the checks of :mod:`habmon.submission.validate` and :mod:`habmon.submission.consistency` read per series:
unit, range, periods, ratio tolerance and multiplier, outlier factor, aggregation, allowed disaggregations and
cross-indicator rules — data of the registry, not code branches per indicator.
"""

from __future__ import annotations

from dataclasses import dataclass

from habmon.indicators.model import AggregationMethod, RuleKind, Unit, ValidationRules
from habmon.indicators.registry import Registry


@dataclass(frozen=True)
class SeriesRules:
    unit: str
    minimum: float | None
    maximum: float | None
    first_period: int
    last_period: int
    ratio_tolerance: float
    multiplier: float | None
    outlier_factor: float
    aggregation: AggregationMethod
    disaggregations: frozenset[str] | None  # None: any dimension allowed (auxiliary series)
    rules: tuple[tuple[RuleKind, str], ...]


def series_rules(registry: Registry) -> dict[str, SeriesRules]:
    out: dict[str, SeriesRules] = {}
    for ind in registry.indicators:
        out[ind.code] = _rules(
            ind.unit,
            ind.validation,
            ind.ratio.multiplier if ind.ratio else None,
            ind.aggregation.method,
            frozenset(ind.disaggregations),
        )
    for aux in registry.codelists.auxiliary_series:
        out[aux.code] = _rules(aux.unit, aux.validation, None, aux.aggregation.method, None)
    return out


def _rules(
    unit: Unit,
    rules: ValidationRules,
    multiplier: float | None,
    aggregation: AggregationMethod,
    dims: frozenset[str] | None,
) -> SeriesRules:
    minimum = rules.minimum if rules.minimum is not None else (None if unit == Unit.SCORE else 0.0)
    maximum = rules.maximum if rules.maximum is not None else (100.0 if unit == Unit.PERCENT else None)
    return SeriesRules(
        unit=str(unit),
        minimum=minimum,
        maximum=maximum,
        first_period=rules.first_period,
        last_period=rules.last_period,
        ratio_tolerance=rules.ratio_tolerance,
        multiplier=multiplier,
        outlier_factor=rules.outlier_factor,
        aggregation=aggregation,
        disaggregations=dims,
        rules=tuple((r.kind, r.other) for r in rules.rules),
    )
