"""An indicator's published values as a file: long CSV, SDMX-CSV 1.0 or Open SDG (the ``habmon.publish`` writers).

Published values only (shipped public data and published submissions). The writers of ``habmon.publish``
write files; here they write into a temporary directory and the bytes are returned.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from habmon.indicators.registry import Registry
from habmon.observation import Observation
from habmon.problems import HabmonError, NotFound
from habmon.publish.opensdg import write_opensdg
from habmon.publish.sdmx import number_text, write_sdmx_csv
from habmon.services import Monitor

Writer = Callable[[Sequence[Observation], Registry], bytes]


@dataclass(frozen=True, slots=True)
class Export:
    format: str
    media_type: str
    suffix: str
    write: Writer


def long_csv(observations: Sequence[Observation], registry: Registry) -> bytes:
    """One value per row: indicator, geo, period, one column per disaggregation dimension used (blank = total),
    value, numerator, denominator, unit, nature, source — the columns habmon's long CSV submissions use."""
    known = [d.id for d in registry.codelists.dimensions]
    used = {dim for o in observations for dim in o.disaggregation}
    dimensions = [d for d in known if d in used] + sorted(used - set(known))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["indicator", "geo", "period", *dimensions, "value", "numerator", "denominator", "unit", "nature", "source"]
    )
    for o in observations:
        writer.writerow(
            [
                o.series,
                o.geo,
                o.period,
                *(o.disaggregation.get(d, "") for d in dimensions),
                number_text(o.value),
                "" if o.numerator is None else number_text(o.numerator),
                "" if o.denominator is None else number_text(o.denominator),
                o.unit,
                str(o.nature),
                o.source,
            ]
        )
    return out.getvalue().encode("utf-8")


def sdmx_csv(observations: Sequence[Observation], registry: Registry) -> bytes:
    with tempfile.TemporaryDirectory(prefix="habmon-export-") as directory:
        path = Path(directory) / "data.csv"
        write_sdmx_csv(observations, path, registry=registry)
        return path.read_bytes()


def opensdg(observations: Sequence[Observation], registry: Registry) -> bytes:
    with tempfile.TemporaryDirectory(prefix="habmon-export-") as directory:
        (path,) = write_opensdg(observations, Path(directory), registry=registry)
        return path.read_bytes()


EXPORTS: dict[str, Export] = {
    e.format: e
    for e in (
        Export("csv", "text/csv; charset=utf-8", ".csv", long_csv),
        Export("sdmx-csv", "text/csv; charset=utf-8", ".sdmx.csv", sdmx_csv),
        Export("opensdg", "text/csv; charset=utf-8", ".opensdg.csv", opensdg),
    )
}


def published_observations(monitor: Monitor, code: str) -> list[Observation]:
    """Every published value of an indicator, by place, period and disaggregation."""
    indicator = monitor.registry().get(code)
    return [
        stored.observation
        for geo in monitor.store.geos_with(indicator.code)
        for stored in monitor.store.series(indicator.code, geo, public=True)
    ]


def export(monitor: Monitor, code: str, format: str) -> tuple[bytes, str, str]:
    """The file's bytes, its name and media type."""
    chosen = EXPORTS.get(format)
    if chosen is None:
        raise HabmonError("unknown download format", expected=", ".join(EXPORTS), found=format)
    indicator = monitor.registry().get(code)
    observations = published_observations(monitor, indicator.code)
    if not observations:
        raise NotFound(
            f"no published values of {indicator.code} to download",
            expected="at least one published value",
            found="none",
        )
    name = f"habmon_{indicator.code}{chosen.suffix}"
    return chosen.write(observations, monitor.registry()), name, chosen.media_type
