"""Published values that carry design-based uncertainty (survey estimates, issue #12), as the indicator page
shows them: a chart of each place's (and group's) series with its 95 % interval as a rule per year and a band
between years, and the table beside it with value, interval, SE, unweighted n and design effect.

The values are the newest published revisions (those the map and the API show); their uncertainty is that of
exactly the revision shown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from habmon.geo.model import Geography
from habmon.indicators.registry import Registry
from habmon.services import Monitor
from habmon.web.charts import ChartInput, Line, line_chart

MAX_LINES = 8  # the chart's palette; the table lists every value


def parse_key(key: str) -> dict[str, str]:
    """``urbanisation=U;sex=F`` → ``{"urbanisation": "U", "sex": "F"}`` ('' is the total)."""
    return dict(part.split("=", 1) for part in key.split(";") if "=" in part)


def group_names(registry: Registry, lang: str) -> dict[tuple[str, str], str]:
    return {(d.id, c.id): c.name.get(lang) for d in registry.codelists.dimensions for c in d.codes}


def estimate_rows(
    monitor: Monitor, frame: pd.DataFrame, code: str, geography: Geography, registry: Registry, lang: str
) -> list[dict[str, Any]]:
    """Every published value of the indicator with an interval, by place, group and year."""
    if frame.empty:
        return []
    uncertainty = monitor.uncertainty(code)
    if not uncertainty:
        return []
    names = group_names(registry, lang)
    rows = []
    for r in frame.itertuples(index=False):
        found = uncertainty.get((r.geo, int(r.period), r.disaggregation_key, int(r.revision)))
        if found is None:
            continue
        unit = geography.units.get(r.geo)
        groups = parse_key(r.disaggregation_key)
        rows.append(
            {
                "geo": r.geo,
                "geo_name": unit.name(lang) if unit else r.geo,
                "year": int(r.period),
                "disaggregation": groups,
                "group_names": [names.get((d, c), f"{d}={c}") for d, c in sorted(groups.items())],
                "value": float(r.value),
                **found,
                "nature": r.nature,
                "source": r.source,
            }
        )
    return sorted(rows, key=lambda e: (e["geo_name"], sorted(e["disaggregation"].items()), e["year"]))


def series_key(row: dict[str, Any]) -> tuple[str, str]:
    return row["geo"], ";".join(f"{d}={c}" for d, c in sorted(row["disaggregation"].items()))


def estimates_chart(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One line per place and group (the first :data:`MAX_LINES`), each year's interval as a rule."""
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        series.setdefault(series_key(row), []).append(row)
    lines = []
    for (geo, key), items in list(series.items())[:MAX_LINES]:
        first = items[0]
        label = first["geo_name"] + (f" · {', '.join(first['group_names'])}" if first["group_names"] else "")
        intervals = {
            e["year"]: (e["ci_low"], e["ci_high"])
            for e in items
            if e["ci_low"] is not None and e["ci_high"] is not None
        }
        points = [(e["year"], e["value"]) for e in items]
        lines.append(Line(f"{geo}:{key}", label, points, "estimate", intervals))
    return line_chart(ChartInput(lines, zero_based=True)) if lines else None


def estimates_section(
    monitor: Monitor, frame: pd.DataFrame, code: str, geography: Geography, registry: Registry, lang: str
) -> dict[str, Any]:
    """The rows, their chart, and how many series there are (the chart draws at most :data:`MAX_LINES`)."""
    rows = estimate_rows(monitor, frame, code, geography, registry, lang)
    return {"rows": rows, "chart": estimates_chart(rows), "series": len({series_key(r) for r in rows})}
