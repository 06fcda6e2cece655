"""The vintage of a source: the release its values come from, written ``YYYY`` or ``YYYY-MM``.

Vintages order as their text does: ``2020`` < ``2023-12`` < ``2024`` < ``2024-03``. A year alone is the release of
that year with its month left open and comes before every month of that year. The current value of an observation is
the one of its latest vintage (the latest arrival only among values of the same vintage): see docs/submissions.md.
"""

from __future__ import annotations

import re
from datetime import datetime

from habmon.problems import HabmonError

PATTERN = re.compile(r"\d{4}(-(0[1-9]|1[0-2]))?")
FORMAT = "a release written YYYY or YYYY-MM (e.g. 2024 or 2024-03)"


class InvalidVintage(HabmonError):
    """A vintage that is not written YYYY or YYYY-MM."""


def parse_vintage(text: str | None, *, field: str = "vintage") -> str | None:
    """The vintage in its stored form (surrounding blanks removed), None when none is given."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if PATTERN.fullmatch(value) is None:
        raise InvalidVintage(f"{field}: not a vintage", expected=FORMAT, found=repr(text))
    return value


def month_of(moment: datetime) -> str:
    """The vintage of a batch that declares none: the month it arrived (UTC)."""
    return f"{moment.year:04d}-{moment.month:02d}"


def is_older(vintage: str, than: str) -> bool:
    return vintage < than
