"""Engine operations the CLI and the web app call."""

from __future__ import annotations

from datetime import date

import pandas as pd

from habmon.engine.aggregate import Aggregate, Level, aggregate
from habmon.engine.backends import connect
from habmon.geo.model import UnitKind
from habmon.indicators.model import Indicator
from habmon.services import Monitor


def aggregate_indicator(
    monitor: Monitor, code: str, year: int, level: Level, *, engine: str = "duckdb"
) -> tuple[Indicator, list[Aggregate]]:
    """Aggregates of an indicator's published country values for one year (totals, not disaggregations)."""
    indicator = monitor.registry().get(code)
    geography = monitor.geography()
    weight = indicator.aggregation.weight
    stored = monitor.store.current_frame([indicator.code, *([weight] if weight else [])], public=True)
    at = stored[(stored["period"] == year) & (stored["disaggregation_key"] == "")]
    countries = {u.code for u in geography.of_kind(UnitKind.COUNTRY, at=date(year, 12, 31))}
    values = at[(at["series"] == indicator.code) & at["geo"].isin(countries)][["geo", "value"]]
    if weight:
        weights = at[at["series"] == weight][["geo", "value"]].rename(columns={"value": "weight"})
    else:
        weights = pd.DataFrame({"geo": sorted(countries), "weight": 1.0})
    return indicator, aggregate(
        indicator, year, level, values=values, weights=weights, geography=geography, backend=connect(engine)
    )
