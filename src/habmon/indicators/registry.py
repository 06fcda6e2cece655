"""The indicator registry: every indicator document validated together against the plan.

Pure: takes parsed documents (``{source name: data}``) and returns a :class:`Registry`
or a report listing every problem across every file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from habmon.indicators.model import (
    AggregationMethod,
    Codelists,
    Indicator,
    TargetBasis,
    Unit,
)
from habmon.plan.model import Plan, ResultsLevel
from habmon.problems import InvalidDocument, NotFound, Problem, Report
from habmon.schema import validate_document


@dataclass(frozen=True)
class Registry:
    indicators: tuple[Indicator, ...]
    codelists: Codelists

    def get(self, code: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.code == code:
                return indicator
        raise NotFound(
            f"no indicator {code!r} in the registry",
            expected="an indicator code such as 11.1.1 or UH.OC.E.1",
            found=code,
            hint="`habmon indicators list` shows every code",
        )

    def by_level(self, level: ResultsLevel) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.level == level)

    def measuring(self, element_id: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if element_id in i.measures)

    @property
    def series_codes(self) -> frozenset[str]:
        """Codes an observation may carry: indicator codes and auxiliary series codes."""
        return frozenset(i.code for i in self.indicators) | {s.code for s in self.codelists.auxiliary_series}


def _check_against_plan(plan: Plan, codelists: Codelists) -> Any:
    elements = plan.element_ids()
    years = range(plan.plan.period_start, plan.plan.period_end + 1)
    dimensions = {d.id for d in codelists.dimensions}
    weights = {s.code for s in codelists.auxiliary_series}

    def check(ind: Indicator) -> Iterator[Problem]:
        for k, element in enumerate(ind.measures):
            if element not in elements:
                yield Problem(
                    "unknown-reference",
                    expected="an element id of the plan",
                    found=element,
                    path=f"measures[{k}]",
                    hint=f"plan {plan.plan.id} {plan.plan.version} has: {', '.join(sorted(elements))}",
                )
            elif elements[element] is not None and elements[element] != ind.level:
                yield Problem(
                    "inconsistent",
                    expected=f"an element on the {ind.level} level",
                    found=f"{element} ({elements[element]} level)",
                    path=f"measures[{k}]",
                )
        for k, dim in enumerate(ind.disaggregations):
            if dim not in dimensions:
                yield Problem(
                    "code",
                    expected=f"a dimension of the codelists ({', '.join(sorted(dimensions))})",
                    found=dim,
                    path=f"disaggregations[{k}]",
                )
        for k, target in enumerate(ind.targets.values):
            if target.year not in years:
                yield Problem(
                    "period",
                    expected=f"{years.start}–{years.stop - 1}",
                    found=str(target.year),
                    path=f"targets.values[{k}].year",
                )
            if ind.unit == Unit.PERCENT and target.basis == TargetBasis.ABSOLUTE and not 0 <= target.value <= 100:
                yield Problem(
                    "value",
                    expected="a percentage from 0 to 100",
                    found=str(target.value),
                    path=f"targets.values[{k}].value",
                )
        if ind.baseline.year is not None and ind.baseline.year > years.start:
            yield Problem(
                "period",
                expected=f"a baseline year not after {years.start}",
                found=str(ind.baseline.year),
                path="baseline.year",
            )
        if ind.unit == Unit.PERCENT and ind.baseline.value is not None and not 0 <= ind.baseline.value <= 100:
            yield Problem(
                "value", expected="a percentage from 0 to 100", found=str(ind.baseline.value), path="baseline.value"
            )
        agg = ind.aggregation
        if agg.method == AggregationMethod.WEIGHTED_MEAN and agg.weight not in weights:
            yield Problem(
                "unknown-reference",
                expected=f"an auxiliary series ({', '.join(sorted(weights))})",
                found=str(agg.weight),
                path="aggregation.weight",
            )
        if agg.method == AggregationMethod.RATIO_OF_SUMS and ind.ratio is None:
            yield Problem(
                "missing",
                expected="field 'ratio' (numerator and denominator) for ratio_of_sums aggregation",
                path="ratio",
            )

    return check


def validate_registry(
    documents: Mapping[str, Any],
    codelists_data: Any,
    plan: Plan,
    *,
    codelists_file: str | None = None,
) -> tuple[Registry | None, Report]:
    """Validate every indicator document and the codelists; all problems in one report.

    ``documents`` maps a source name (file path) to parsed data; the file stem must equal the code.
    """
    codelists, problems = validate_document(Codelists, codelists_data, file=codelists_file)
    if codelists is None:
        return None, Report.of(problems)
    check = _check_against_plan(plan, codelists)
    indicators: list[Indicator] = []
    seen: dict[str, str] = {}
    for source, data in documents.items():
        indicator, found = validate_document(Indicator, data, file=source, checks=(check,))
        problems.extend(found)
        if indicator is None:
            continue
        stem = _stem(source)
        if stem is not None and stem != indicator.code:
            problems.append(
                Problem(
                    "inconsistent",
                    expected=f"code equal to the file name ({stem})",
                    found=indicator.code,
                    file=source,
                    path="code",
                )
            )
        if indicator.code in seen:
            problems.append(
                Problem(
                    "duplicate-id",
                    expected="each code in one file only",
                    found=f"{indicator.code} (also in {seen[indicator.code]})",
                    file=source,
                    path="code",
                )
            )
        seen[indicator.code] = source
        indicators.append(indicator)
    report = Report.of(problems)
    if not report.valid:
        return None, report
    ordered = tuple(sorted(indicators, key=lambda i: (list(ResultsLevel).index(i.level), _sort_key(i.code))))
    return Registry(ordered, codelists), report


def parse_registry(documents: Mapping[str, Any], codelists_data: Any, plan: Plan) -> Registry:
    registry, report = validate_registry(documents, codelists_data, plan)
    if registry is None:
        raise InvalidDocument("indicator registry", report)
    return registry


def _stem(source: str) -> str | None:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    return name.removesuffix(".yaml") if name.endswith(".yaml") else None


def _sort_key(code: str) -> tuple[int, tuple[tuple[int, str], ...]]:
    """SDG codes first in numeric order (1.4.1 < 11.1.1 < 11.a.1), then UH codes."""
    parts = code.split(".")
    return (1 if parts[0] == "UH" else 0, tuple((int(p), "") if p.isdigit() else (999, p) for p in parts))
