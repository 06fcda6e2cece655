"""A world choropleth as data: country outlines from the shipped TopoJSON, projected once per process.

The boundaries are world-atlas' ``countries-110m.json`` (Natural Earth via world-atlas, ISC; see
``data/sources/PROVENANCE.md``): a TopoJSON topology whose feature ids are ISO 3166-1 numeric codes, which
are the M49 codes of countries and areas. Arcs are quantised and delta-encoded; a polygon ring lists arc
indices, ``~i`` (= −i − 1) meaning arc i reversed. Outlines are projected with the Equal Earth projection
(Šavrič, Patterson & Jenny 2018) — equal-area, so a country's share of the map is its share of the land::

    θ = asin(√3/2 · sin φ)
    x = 2√3 λ cos θ / (3 (9 A4 θ⁸ + 7 A3 θ⁶ + 3 A2 θ² + A1))
    y = A4 θ⁹ + A3 θ⁷ + A2 θ³ + A1 θ

and turned into SVG path data in a ``VIEW_WIDTH``-wide view box. Antarctica is left out. Nothing here
renders markup: templates draw the paths; no tile server, no external request.

Values are classed into quantile classes (:func:`classify`): the class breaks are the 20th, 40th, 60th and
80th percentiles of the mapped values (linear interpolation between order statistics), and a value falls in
the first class whose upper break it does not exceed.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from habmon.ingest.files import data_dir

BOUNDARIES = Path("sources") / "boundaries" / "countries-110m.json"
VIEW_WIDTH = 960.0
LEFT_OUT = frozenset({"010"})  # Antarctica: no indicator is reported for it, and it takes a fifth of the map
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")  # sequential blues, light = low
NO_DATA = "#e3e3e3"
A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
SQRT3 = math.sqrt(3.0)
MIN_RING_AREA = 1e-9  # square degrees × 2: pieces left on the clip line alone


@dataclass(frozen=True, slots=True)
class Shape:
    """One country or area: its M49 code (None where the boundary file has no code) and its SVG path data."""

    m49: str | None
    name: str  # the boundary file's English name (only shown where habmon's geography has no name)
    d: str


@dataclass(frozen=True, slots=True)
class WorldOutline:
    width: float
    height: float
    shapes: tuple[Shape, ...]


def equal_earth(longitude: float, latitude: float) -> tuple[float, float]:
    """Equal Earth projection of degrees, in units of the Earth's radius (y grows to the north)."""
    lam, phi = math.radians(longitude), math.radians(latitude)
    theta = math.asin(SQRT3 / 2 * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = 2 * SQRT3 * lam * math.cos(theta) / (3 * (9 * A4 * t6 * t2 + 7 * A3 * t6 + 3 * A2 * t2 + A1))
    y = theta * (A1 + A2 * t2 + t6 * (A3 + A4 * t2))
    return x, y


def decode_arcs(topology: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    """Every arc as (longitude, latitude) points: quantised deltas summed and scaled by the transform."""
    transform = topology.get("transform")
    (sx, sy), (tx, ty) = (transform["scale"], transform["translate"]) if transform else ((1, 1), (0, 0))
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for position in arc:
            if transform:
                x, y = x + position[0], y + position[1]
            else:
                x, y = position[0], position[1]
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(ring: Sequence[int], arcs: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """A ring's points: its arcs in order (``~i`` reversed), the shared point between two arcs kept once."""
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = list(arcs[index]) if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc[1:] if points else arc)
    return points


def unwrap(ring: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ring's longitudes made continuous: a step of more than 180° crosses the antimeridian instead."""
    out: list[tuple[float, float]] = []
    offset = 0.0
    for k, (lon, lat) in enumerate(ring):
        if k:
            step = lon - ring[k - 1][0]
            offset += -360.0 if step > 180.0 else 360.0 if step < -180.0 else 0.0
        out.append((lon + offset, lat))
    return out


def clip(ring: Sequence[tuple[float, float]], x: float, *, keep_below: bool) -> list[tuple[float, float]]:
    """Sutherland–Hodgman: the part of a ring on one side of the meridian line ``lon = x``."""

    def inside(point: tuple[float, float]) -> bool:
        return point[0] <= x if keep_below else point[0] >= x

    out: list[tuple[float, float]] = []
    for k, current in enumerate(ring):
        previous = ring[k - 1]
        if inside(current) != inside(previous):
            t = (x - previous[0]) / (current[0] - previous[0])
            out.append((x, previous[1] + t * (current[1] - previous[1])))
        if inside(current):
            out.append(current)
    return out


def area(ring: Sequence[tuple[float, float]]) -> float:
    """Twice the signed area of a ring (shoelace formula)."""
    return sum(ring[k - 1][0] * y - x * ring[k - 1][1] for k, (x, y) in enumerate(ring))


def split_antimeridian(ring: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring cut at the antimeridian into the pieces that lie within −180°…180°.

    world-atlas' rings cross the antimeridian (Fiji, Chukotka): they are unwrapped into continuous
    longitudes, then each copy shifted by −360°, 0° or 360° is clipped to −180°…180°.
    """
    unwrapped = unwrap(ring)
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        moved = [(lon + shift, lat) for lon, lat in unwrapped]
        piece = clip(clip(moved, -180.0, keep_below=False), 180.0, keep_below=True)
        if len(piece) >= 3 and abs(area(piece)) > MIN_RING_AREA:
            pieces.append(piece)
    return pieces


def polygons_of(geometry: Mapping[str, Any]) -> list[list[list[int]]]:
    """A Polygon's or MultiPolygon's polygons (each a list of rings of arc indices); other types have none."""
    kinds: dict[str, Any] = {"Polygon": lambda arcs: [arcs], "MultiPolygon": lambda arcs: arcs}
    build = kinds.get(str(geometry.get("type")))
    return [] if build is None else list(build(geometry["arcs"]))


def _path(rings: Iterable[Sequence[tuple[float, float]]]) -> str:
    parts = []
    for ring in rings:
        previous = None
        coords = []
        for x, y in ring:
            point = f"{x:.1f},{y:.1f}"
            if point != previous:
                coords.append(point)
                previous = point
        if len(coords) >= 3:
            parts.append("M" + "L".join(coords) + "Z")
    return "".join(parts)


@cache
def world_outline(path: Path | None = None) -> WorldOutline:
    """The projected outlines of every country and area (read, decoded and projected once per process)."""
    source = path or data_dir() / BOUNDARIES
    topology = json.loads(source.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    features = [g for g in topology["objects"]["countries"]["geometries"] if g.get("id") not in LEFT_OUT]
    projected: list[tuple[str | None, str, list[list[tuple[float, float]]]]] = []
    for feature in features:
        rings = [
            [equal_earth(lon, lat) for lon, lat in piece]
            for polygon in polygons_of(feature)
            for ring in polygon
            for piece in split_antimeridian(ring_points(ring, arcs))
        ]
        projected.append((feature.get("id"), str(feature.get("properties", {}).get("name", "")), rings))
    xs = [x for _, _, rings in projected for ring in rings for x, _ in ring]
    ys = [y for _, _, rings in projected for ring in rings for _, y in ring]
    left, top = min(xs), max(ys)
    scale = VIEW_WIDTH / (max(xs) - left)
    shapes = tuple(
        Shape(code, name, _path([[((x - left) * scale, (top - y) * scale) for x, y in ring] for ring in rings]))
        for code, name, rings in projected
    )
    return WorldOutline(VIEW_WIDTH, round((top - min(ys)) * scale, 1), shapes)


@dataclass(frozen=True, slots=True)
class Classification:
    """Quantile classes: ``breaks`` are the upper bounds of every class but the last."""

    breaks: tuple[float, ...]
    minimum: float
    maximum: float

    def class_of(self, value: float) -> int:
        return bisect.bisect_left(self.breaks, value)

    def colour(self, value: float | None) -> str:
        return NO_DATA if value is None else PALETTE[self.class_of(value)]

    def legend(self) -> list[dict[str, Any]]:
        bounds = [self.minimum, *self.breaks, self.maximum]
        return [
            {"class": k, "from": bounds[k], "to": bounds[k + 1], "colour": PALETTE[k]}
            for k in range(len(self.breaks) + 1)
        ]


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating linearly between order statistics."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def classify(values: Iterable[float], classes: int = len(PALETTE)) -> Classification | None:
    """Quantile classes of the values (None without values); equal breaks collapse into one class."""
    ordered = sorted(values)
    if not ordered:
        return None
    breaks = sorted({quantile(ordered, k / classes) for k in range(1, classes)})
    return Classification(tuple(breaks), ordered[0], ordered[-1])
