"""What the panel engine knows of its inputs: the indicators' aggregation rules (:class:`IndicatorSpec`, from the
registry), the series key, and the long tables of dated membership and engagements it reads
(:mod:`habmon.engine.panel`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from habmon.engine.aggregate import Level, NotAggregable, members
from habmon.geo.model import Geography
from habmon.indicators.model import AggregationMethod, Direction, GapFilling, Indicator, Unit

MASK_BITS = 62  # years per int64 mask word (bit 63 is the sign)
NO_WEIGHT = ""  # weight key of an indicator without a weight series: every member weighs 1
KEY = ("indicator", "geo", "disaggregation")


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """What the engine needs to know of an indicator (from its registry entry)."""

    indicator: str
    method: AggregationMethod
    weight: str | None = None
    gap_filling: bool = True  # registry aggregation.gap_filling: nearest (or regional_mean, which starts with it)
    max_gap_years: int = 2
    min_coverage: float = 0.5
    direction: Direction = Direction.INCREASE
    people: bool = False  # a percentage aggregated as a weighted mean: people = value / 100 × Σw
    regional: bool = False  # registry gap_filling: regional_mean — then the region's mean (Panel.regional_level)

    def __post_init__(self) -> None:
        if self.method not in (AggregationMethod.WEIGHTED_MEAN, AggregationMethod.SUM):
            raise NotAggregable(
                f"indicator {self.indicator} aggregates by {self.method}",
                expected="weighted_mean or sum",
                found=str(self.method),
                hint="organizational indicators are not aggregated over the geography",
            )
        if self.regional and self.method != AggregationMethod.WEIGHTED_MEAN:
            raise NotAggregable(
                f"indicator {self.indicator}: a regional mean fills gaps of weighted means only",
                expected="weighted_mean",
                found=str(self.method),
                hint="use gap_filling nearest or none for sums",
            )

    @classmethod
    def of(cls, indicator: Indicator) -> IndicatorSpec:
        rule = indicator.aggregation
        return cls(
            indicator=indicator.code,
            method=rule.method,
            weight=rule.weight,
            gap_filling=rule.gap_filling != GapFilling.NONE,
            max_gap_years=rule.max_gap_years,
            min_coverage=rule.min_coverage,
            direction=indicator.direction,
            people=indicator.unit == Unit.PERCENT and rule.method == AggregationMethod.WEIGHTED_MEAN,
            regional=rule.gap_filling == GapFilling.REGIONAL_MEAN,
        )

    @property
    def aggregation_gap(self) -> int:
        return self.max_gap_years if self.gap_filling else 0


def spec_frame(specs: Iterable[IndicatorSpec]) -> pd.DataFrame:
    rows = [
        {
            "indicator": s.indicator,
            "weighted": s.method == AggregationMethod.WEIGHTED_MEAN,
            "weight_key": s.weight or NO_WEIGHT,
            "aggregation_gap": s.aggregation_gap,
            "comparison_gap": s.max_gap_years,
            "min_coverage": float(s.min_coverage),
            "sign": 1.0 if s.direction == Direction.INCREASE else -1.0,
            "people": s.people,
            "regional": s.regional,
        }
        for s in specs
    ]
    columns = ["indicator", "weighted", "weight_key", "aggregation_gap", "comparison_gap", "min_coverage", "sign"]
    return pd.DataFrame(rows, columns=[*columns, "people", "regional"]).astype(
        {"weighted": bool, "aggregation_gap": "int64", "comparison_gap": "int64", "people": bool, "regional": bool}
    )


def membership_frame(
    geography: Geography, years: Iterable[int], levels: Sequence[Level] = tuple(Level)
) -> pd.DataFrame:
    """The dated membership of countries in each level's groups, resolved per year (``members``) and
    kept as runs of consecutive years: level, group, geo, first_period, last_period."""
    rows: list[tuple[str, str, str, int]] = []
    for year in sorted(set(years)):
        for level in levels:
            rows += [(str(level), g, geo, year) for g, geo in members(geography, level, year).itertuples(index=False)]
    frame = pd.DataFrame(rows, columns=["level", "group", "geo", "period"]).sort_values(
        ["level", "group", "geo", "period"]
    )
    keys = ["level", "group", "geo"]
    breaks = (frame[keys] != frame[keys].shift()).any(axis=1) | (frame["period"].diff() != 1)
    frame["run"] = breaks.cumsum()
    runs = frame.groupby("run", sort=False).agg(
        level=("level", "first"), group=("group", "first"), geo=("geo", "first"),
        first_period=("period", "min"), last_period=("period", "max"),
    )  # fmt: skip
    return runs.reset_index(drop=True).astype({"first_period": "int64", "last_period": "int64"})


def engagement_frame(engagements: Iterable[tuple[str, date, date | None]]) -> pd.DataFrame:
    """geo, start_year, end_year from (code, start, end); the last entry of a code wins, as in ``compare``."""
    latest = {code: (start.year, None if end is None else end.year) for code, start, end in engagements}
    return pd.DataFrame(
        {
            "geo": pd.Series(list(latest), dtype=object),
            "start_year": pd.Series([start for start, _ in latest.values()], dtype="int64"),
            # Python ints and None: a pandas Int64 column arrives all-null on Spark (ibis 12, PySpark 4, pandas 3)
            "end_year": pd.Series([end for _, end in latest.values()], dtype=object),
        }
    )
