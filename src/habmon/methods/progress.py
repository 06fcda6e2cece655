"""Progress against targets: the UNSD progress-chart method and the Statistics Canada method (Open SDG).

Pure functions over (year, value) pairs. Both use the compound annual growth rate between a
baseline (year b, value v_b) and the latest value (year t, value v_t)::

    CAGR = (v_t / v_b) ** (1 / (t − b)) − 1

**UNSD** (SDG Progress Chart technical note). With a numeric target x at year T::

    projected = v_t × (1 + CAGR) ** (T − t)
    P = (projected − v_b) / (x − v_b)
    P ≥ 0.95 on track · 0.10 ≤ P < 0.95 fair progress, acceleration needed ·
    0 ≤ P < 0.10 stagnation · P < 0 regression

Without a numeric target, the CAGR itself (sign flipped when the desired direction is a
decrease): ≥ 2 % on track · 0.5–2 % fair · 0–0.5 % stagnation · < 0 regression.

**Statistics Canada / Open SDG**. With a target::

    required CAGR = (x / v_b) ** (1 / (T − b)) − 1
    ratio = CAGR / required CAGR
    ratio ≥ 0.95 on track · 0.60–0.95 acceleration needed · 0–0.60 limited progress · < 0 deterioration

Without a target, the CAGR (sign by direction) against 1 % / 0.1 % / 0.

Both methods report **met** when the latest value already meets the target in the desired
direction. Exceptions for values of 0 (and targets of 0 or 100 that a rate can only approach):
when v_b or v_t is 0 the CAGR is undefined and the average absolute annual change is used
instead (projected = v_t + change × (T − t)); this is reported in ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from habmon.indicators.model import Direction
from habmon.problems import HabmonError


class Method(StrEnum):
    UNSD = "unsd"
    STATCAN = "statcan"


class Status(StrEnum):
    """Stable status codes, shared by both methods where the meaning is the same."""

    MET = "met"
    ON_TRACK = "on_track"
    FAIR = "fair_progress"  # UNSD: fair progress, acceleration needed
    ACCELERATION_NEEDED = "acceleration_needed"  # Statistics Canada
    STAGNATION = "stagnation"  # UNSD
    LIMITED = "limited_progress"  # Statistics Canada
    REGRESSION = "regression"  # UNSD
    DETERIORATION = "deterioration"  # Statistics Canada
    INSUFFICIENT_DATA = "insufficient_data"


EPSILON = 1e-9  # relative: a value equal to its target up to rounding meets it
UNSD_TARGET_THRESHOLDS = (0.95, 0.10, 0.0)
UNSD_RATE_THRESHOLDS = (0.02, 0.005, 0.0)
STATCAN_TARGET_THRESHOLDS = (0.95, 0.60, 0.0)
STATCAN_RATE_THRESHOLDS = (0.01, 0.001, 0.0)

LADDERS: dict[Method, tuple[Status, Status, Status, Status]] = {
    Method.UNSD: (Status.ON_TRACK, Status.FAIR, Status.STAGNATION, Status.REGRESSION),
    Method.STATCAN: (Status.ON_TRACK, Status.ACCELERATION_NEEDED, Status.LIMITED, Status.DETERIORATION),
}


class ProgressError(HabmonError):
    """Progress cannot be computed from these inputs."""


@dataclass(frozen=True, slots=True, order=True)
class Point:
    year: int
    value: float


@dataclass(frozen=True, slots=True)
class Progress:
    method: Method
    status: Status
    baseline: Point | None
    latest: Point | None
    target: Point | None
    cagr: float | None  # or the average absolute annual change when a value is 0 (see note)
    score: float | None  # UNSD: P; Statistics Canada: ratio; without target: the signed rate
    projected: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "method": str(self.method),
            "status": str(self.status),
            "baseline": _point(self.baseline),
            "latest": _point(self.latest),
            "target": _point(self.target),
            "cagr": self.cagr,
            "score": self.score,
            "projected": self.projected,
            "note": self.note,
        }


def milestones(
    series: Sequence[tuple[int, float]],
    *,
    direction: Direction,
    targets: Sequence[Point],
    method: Method = Method.UNSD,
    baseline_year: int | None = None,
) -> tuple[Progress, ...]:
    """The same trend judged against each of several targets, earliest first — the plan's yearly targets
    2026–2029 ask "is 2026 on track?", not only the last one (:func:`milestone`)."""
    return tuple(
        milestone(series, direction=direction, method=method, baseline_year=baseline_year, target=target)
        for target in sorted(targets)
    )


def milestone(
    series: Sequence[tuple[int, float]],
    *,
    direction: Direction,
    target: Point,
    method: Method = Method.UNSD,
    baseline_year: int | None = None,
) -> Progress:
    """One yearly target judged on the value the trend projects for its year (both methods project alike)::

        projected = v_t × (1 + CAGR) ** (T − t)        (v_t + change × (T − t) where a value is 0)
        meets     ⇔ projected ≥ x (increase wanted) · projected ≤ x (decrease wanted)

    ``met`` when the latest value and the projection both meet it, ``on_track`` when the projection does;
    otherwise never either: where the baseline already met the target the trend moves away from it (the method's
    lowest status: ``regression`` / ``deterioration``), else the method's score decides, capped one below
    ``on_track`` (UNSD's P ≥ 0.95 is on track for the final target, not for a yearly one the projection misses).
    """
    trend = assess(series, direction=direction, method=method, baseline_year=baseline_year)
    ladder = LADDERS[method]
    base, last, rate = trend.baseline, trend.latest, trend.cagr
    if base is None or last is None or rate is None:
        return replace(trend, target=target)
    linear = base.value <= 0 or last.value <= 0
    horizon = max(target.year - last.year, 0)
    projected = last.value + rate * horizon if linear else last.value * (1 + rate) ** horizon
    if _met(projected, target.value, direction):
        status = Status.MET if _met(last.value, target.value, direction) else ladder[0]
        return Progress(method, status, base, last, target, rate, None, projected, trend.note)
    if _met(base.value, target.value, direction) or target.year <= last.year:
        note = "the projection moves away from a target the baseline already met"
        return Progress(method, ladder[3], base, last, target, rate, None, projected, trend.note or note)
    judged = assess(series, direction=direction, method=method, baseline_year=baseline_year, target=target)
    status = ladder[1] if judged.status in (ladder[0], Status.MET) else judged.status
    return Progress(method, status, base, last, target, judged.cagr, judged.score, projected, judged.note)


def milestone_dict(progress: Progress) -> dict[str, object]:
    """A target year's judgement: the target, the value projected for that year, the status and score."""
    target = progress.target
    return {
        "year": None if target is None else target.year,
        "target": None if target is None else target.value,
        "projected": progress.projected,
        "status": str(progress.status),
        "score": progress.score,
    }


def _point(p: Point | None) -> dict[str, float] | None:
    return None if p is None else {"year": p.year, "value": p.value}


def _classify(score: float, thresholds: tuple[float, float, float], ladder: Sequence[Status]) -> Status:
    high, middle, low = thresholds
    if score >= high:
        return ladder[0]
    if score >= middle:
        return ladder[1]
    if score >= low:
        return ladder[2]
    return ladder[3]


def _met(value: float, target: float, direction: Direction) -> bool:
    """Whether ``value`` meets ``target`` in the wanted direction (equal, to rounding, meets it)."""
    slack = EPSILON * max(abs(target), 1.0)
    return value >= target - slack if direction == Direction.INCREASE else value <= target + slack


def assess(
    series: Sequence[tuple[int, float]],
    *,
    direction: Direction,
    method: Method = Method.UNSD,
    baseline_year: int | None = None,
    target: Point | None = None,
) -> Progress:
    """Progress of a series (year, value) from its baseline (default: first year) to its latest value."""
    points = sorted(Point(int(y), float(v)) for y, v in series)
    if baseline_year is not None:
        points = [p for p in points if p.year >= baseline_year]
    if len(points) < 2 or points[0].year == points[-1].year:
        return Progress(
            method,
            Status.INSUFFICIENT_DATA,
            points[0] if points else None,
            points[-1] if points else None,
            target,
            None,
            None,
            None,
            "at least two years of data after the baseline are needed",
        )
    base, last = points[0], points[-1]
    years = last.year - base.year
    linear = base.value <= 0 or last.value <= 0
    rate = (last.value - base.value) / years if linear else (last.value / base.value) ** (1 / years) - 1
    note = "a value is 0: average absolute annual change used instead of the CAGR" if linear else None
    sign = 1.0 if direction == Direction.INCREASE else -1.0
    ladder = LADDERS[method]

    if target is None:
        thresholds = UNSD_RATE_THRESHOLDS if method == Method.UNSD else STATCAN_RATE_THRESHOLDS
        signed = sign * (rate / max(abs(base.value), 1e-12) if linear else rate)
        return Progress(method, _classify(signed, thresholds, ladder), base, last, None, rate, signed, None, note)

    if _met(last.value, target.value, direction):
        return Progress(method, Status.MET, base, last, target, rate, None, None, note)
    if _met(base.value, target.value, direction):  # the baseline met it, the latest value no longer does
        away = note or "the latest value moved away from a target the baseline already met"
        return Progress(method, ladder[3], base, last, target, rate, None, None, away)
    if target.year <= last.year:
        raise ProgressError(
            "the target year must be after the latest value", expected=f"> {last.year}", found=str(target.year)
        )
    if target.value == base.value:
        raise ProgressError("the target equals the baseline: no change is asked for", found=str(target.value))

    if method == Method.UNSD:
        horizon = target.year - last.year
        projected = last.value + rate * horizon if linear else last.value * (1 + rate) ** horizon
        score = (projected - base.value) / (target.value - base.value)
        return Progress(
            method, _classify(score, UNSD_TARGET_THRESHOLDS, ladder), base, last, target, rate, score, projected, note
        )

    span = target.year - base.year
    if linear or target.value <= 0:
        required = (target.value - base.value) / span
        observed = (last.value - base.value) / years
        note = note or "a target of 0: absolute annual changes compared instead of CAGRs"
    else:
        required = (target.value / base.value) ** (1 / span) - 1
        observed = rate
    score = observed / required
    return Progress(
        method, _classify(score, STATCAN_TARGET_THRESHOLDS, ladder), base, last, target, observed, score, None, note
    )
