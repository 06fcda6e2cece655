"""Chart geometry as data: scales, ticks, line paths and sparklines, computed in Python and drawn by templates.

A chart here is a dict of numbers and SVG path data (``M x,y L x,y …``) in a fixed view box; the template
turns it into ``<svg>`` markup (an inline, server-rendered chart: no script, no external request). Each
line keeps its points' years and values next to their positions, so the accessible table alternative
shows the very numbers the chart draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHART_WIDTH = 720.0
CHART_HEIGHT = 340.0
MARGIN = {"left": 48.0, "right": 16.0, "top": 16.0, "bottom": 32.0}
SPARK_WIDTH = 120.0
SPARK_HEIGHT = 32.0
SPARK_PAD = 3.0
INTERVAL_DODGE = 10.0  # px between the interval rules of lines that share a year, so they do not overlap


@dataclass(frozen=True, slots=True)
class Scale:
    """A linear map from a domain (data) onto a range (view box coordinates)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.hi == self.lo:
            return (self.start + self.end) / 2
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


def nice_step(span: float, count: int) -> float:
    """A tick step of 1, 2 or 5 × 10ⁿ giving about ``count`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo``…``hi`` (the first ≤ lo, the last ≥ hi)."""
    step = nice_step(hi - lo, count)
    first, last = math.floor(lo / step), math.ceil(hi / step)
    if first == last:
        last += 1
    return [round(k * step, 10) for k in range(first, last + 1)]


def year_ticks(first: int, last: int, count: int = 7) -> list[int]:
    step = max(1, int(nice_step(last - first, count)))
    return [y for y in range((first // step) * step, last + 1, step) if y >= first]


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    label: str
    points: Sequence[tuple[int, float]]
    style: str = "region"  # world · region · projection · estimate — a CSS class in the template
    # year → (low, high): a confidence interval drawn as a rule (and a band between years) where present
    intervals: Mapping[int, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Marker:
    kind: str  # baseline · target
    year: int
    value: float


@dataclass(frozen=True, slots=True)
class ChartInput:
    lines: Sequence[Line]
    markers: Sequence[Marker] = field(default_factory=tuple)
    zero_based: bool = True


def _path(points: Sequence[tuple[float, float]]) -> str:
    return "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) if points else ""


def line_chart(spec: ChartInput, *, width: float = CHART_WIDTH, height: float = CHART_HEIGHT) -> dict[str, Any] | None:
    """Scales, ticks, paths and marker positions of a year × value chart (None when there is nothing to draw)."""
    years = [y for line in spec.lines for y, _ in line.points] + [m.year for m in spec.markers]
    values = [v for line in spec.lines for _, v in line.points] + [m.value for m in spec.markers]
    values += [bound for line in spec.lines for interval in line.intervals.values() for bound in interval]
    if not years:
        return None
    low = min(0.0, min(values)) if spec.zero_based else min(values)
    y_ticks = nice_ticks(low, max(values))
    first, last = min(years), max(years)
    left, right = MARGIN["left"], width - MARGIN["right"]
    top, bottom = MARGIN["top"], height - MARGIN["bottom"]
    x = Scale(first, last, left, right)
    y = Scale(y_ticks[0], y_ticks[-1], bottom, top)
    lines = []
    with_intervals = [line.key for line in spec.lines if line.intervals]
    for line in spec.lines:
        points = sorted(line.points)
        dx = 0.0
        if line.intervals:
            dx = (with_intervals.index(line.key) - (len(with_intervals) - 1) / 2) * INTERVAL_DODGE
        placed: list[dict[str, Any]] = []
        for yr, v in points:
            p: dict[str, Any] = {"year": yr, "value": v, "x": round(x(yr) + dx, 1), "y": round(y(v), 1)}
            if yr in line.intervals:
                low, high = line.intervals[yr]
                p.update({"low": low, "high": high, "y_low": round(y(low), 1), "y_high": round(y(high), 1)})
            placed.append(p)
        drawn: dict[str, Any] = {
            "key": line.key,
            "label": line.label,
            "style": line.style,
            "d": _path([(p["x"], p["y"]) for p in placed]),
            "points": placed,
        }
        if line.intervals:
            spanned = [p for p in placed if "low" in p]
            upper = [(p["x"], p["y_high"]) for p in spanned]
            lower = [(p["x"], p["y_low"]) for p in reversed(spanned)]
            drawn["band"] = _path(upper + lower) + "Z" if len(spanned) > 1 else ""
        lines.append(drawn)
    return {
        "width": width,
        "height": height,
        "plot": {"left": left, "right": right, "top": top, "bottom": bottom},
        "x_ticks": [{"value": yr, "x": round(x(yr), 1)} for yr in year_ticks(first, last)],
        "y_ticks": [{"value": v, "y": round(y(v), 1)} for v in y_ticks],
        "lines": lines,
        "markers": [
            {"kind": m.kind, "year": m.year, "value": m.value, "x": round(x(m.year), 1), "y": round(y(m.value), 1)}
            for m in spec.markers
        ],
    }


def sparkline(points: Sequence[tuple[int, float]]) -> dict[str, Any] | None:
    """A small trend line: path data, the last point's position and the range it spans (None without points)."""
    if not points:
        return None
    ordered = sorted(points)
    years = [yr for yr, _ in ordered]
    values = [v for _, v in ordered]
    x = Scale(years[0], years[-1], SPARK_PAD, SPARK_WIDTH - SPARK_PAD)
    y = Scale(min(values), max(values), SPARK_HEIGHT - SPARK_PAD, SPARK_PAD)
    placed = [(round(x(yr), 1), round(y(v), 1)) for yr, v in ordered]
    return {
        "width": SPARK_WIDTH,
        "height": SPARK_HEIGHT,
        "d": _path(placed),
        "last": {"x": placed[-1][0], "y": placed[-1][1]},
        "first_year": years[0],
        "last_year": years[-1],
        "min": min(values),
        "max": max(values),
        "points": len(ordered),
    }
