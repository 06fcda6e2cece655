"""Appraisal of indicators against the selection criteria of para 98 (a)–(f).

An indicator is *weak* when it fails any criterion outright, or meets fewer than
four of the six in full: such indicators need a better data pathway, a narrower
scope or replacement before the set is confirmed (para 99).

At impact level the plan itself says UN-Habitat has only indirect influence
(para 52 a) and handles attribution by comparing places where it works with the
others (para 92 e); there, criterion (c) rated *partly* is the most an indicator
can achieve and counts as met for the weakness rule (the score is unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

from habmon.indicators.model import Indicator, Rating
from habmon.plan.model import ResultsLevel

CRITERIA = ("a", "b", "c", "d", "e", "f")
SCORES = {Rating.MET: 2, Rating.PARTLY: 1, Rating.NOT_MET: 0}
MIN_FULLY_MET = 4


@dataclass(frozen=True, slots=True)
class AppraisalRow:
    code: str
    level: str
    ratings: tuple[Rating, ...]  # in the order of CRITERIA
    score: int  # 0–12
    weak: bool
    reasons: tuple[str, ...]


def appraise(indicator: Indicator) -> AppraisalRow:
    items = indicator.appraisal.items()
    ratings = tuple(a.rating for _, a in items)
    reasons = [f"criterion ({c}) not met: {a.rationale.en}" for c, a in items if a.rating == Rating.NOT_MET]
    fully_met = sum(
        1
        for c, a in items
        if a.rating == Rating.MET or (c == "c" and a.rating == Rating.PARTLY and indicator.level == ResultsLevel.IMPACT)
    )
    if fully_met < MIN_FULLY_MET:
        reasons.append(f"only {fully_met} of 6 criteria met in full (at least {MIN_FULLY_MET} expected)")
    return AppraisalRow(
        code=indicator.code,
        level=str(indicator.level),
        ratings=ratings,
        score=sum(SCORES[r] for r in ratings),
        weak=bool(reasons),
        reasons=tuple(reasons),
    )
