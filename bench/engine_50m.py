"""Benchmark: the monitoring run over 50,004,000 observations (issue #4, performance).

Deterministic generator of a synthetic world: the 250 countries of habmon's shipped geography in their
real SDG regions and sub-regions, 5,556 cities (each country has at least one), 100 indicators, 32
target years (1994–2025) of which each city × indicator series reports 30, 3 sexes (total, F, M):
5,556 × 100 × 30 × 3 = 50,004,000 rows, written in chunks to Parquet. A population weight series
per city and year (1 % missing), an engagement list (places where UN-Habitat works) and the
membership of cities in countries, sub-regions, regions and the world.

The monitoring run — aggregation of every indicator × level × group × year × sex with coverage and
gap filling, progress (baseline, latest, CAGR, UNSD and Statistics Canada statuses) for every series,
and the supported-vs-others split per indicator — three ways, each in its own child process (so
that its peak memory is its own max RSS, read from ``resource.getrusage(RUSAGE_CHILDREN)`` … see
``measure``):

* habmon: ``habmon.engine.panel`` on DuckDB (threads=2), the engine ``habmon compute`` uses;
* pandas: a straightforward pandas implementation of the same run;
* SQL: the same run hand-written in DuckDB SQL (threads=2).

It checks that the three agree (max abs difference of every figure) and prints time, peak memory and
the ratios.

Usage: .venv/bin/python bench/engine_50m.py [--scale 1.0] [--workdir DIR] [--ways habmon,pandas,sql]
       SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python bench/engine_50m.py --engine spark --scale 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from habmon.geo.model import UnitKind
from habmon.ingest.geography import build_geography

SEED = 20260
CITIES, INDICATORS = 5_556, 100
FIRST_YEAR, LAST_YEAR, REPORTED_YEARS = 1994, 2025, 30
SEXES = ("", "sex=F", "sex=M")  # habmon disaggregation keys: '' is the total
WEIGHT = "POP"
BASELINE_YEAR = 2015
CHUNK_CITIES = 100
SPARK_SUBMIT_ARGS = "--driver-memory 4g --conf spark.sql.execution.arrow.pyspark.enabled=true pyspark-shell"


@dataclass(frozen=True, slots=True)
class World:
    directory: Path
    rows: int
    cities: int
    indicators: int

    @property
    def observations(self) -> Path:
        return self.directory / "observations.parquet"

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.parquet"


def countries() -> list[tuple[str, str, str]]:
    """(country, sub-region, region) for each of the 250 countries of the shipped geography."""
    geography, _ = build_geography()
    rows = []
    units = sorted((u for u in geography.units.values() if u.kind == UnitKind.COUNTRY), key=lambda u: u.code)
    for unit in units:
        when = unit.validity.valid_to or geography.as_of
        chain = {a.kind: a.code for a in geography.ancestors(unit.code, at=when)}
        rows.append((unit.code, chain[UnitKind.SUBREGION], chain[UnitKind.REGION]))
    return rows


def indicator_specs(count: int) -> list[dict[str, object]]:
    """Every 10th indicator is a sum (no weight); the others population-weighted means of percentages."""
    specs = []
    for i in range(count):
        is_sum = i % 10 == 9
        specs.append(
            {
                "indicator": f"SYN.{i + 1:03d}",
                "method": "sum" if is_sum else "weighted_mean",
                "weight": None if is_sum else WEIGHT,
                "max_gap_years": (2, 1, 0, 3)[i % 4],
                "min_coverage": (0.5, 0.8)[i % 2],
                "direction": ("decrease", "increase")[i % 2],
                "people": not is_sum,
            }
        )
    return specs


def generate(directory: Path, scale: float = 1.0, on_chunk: Callable[[int, int], object] | None = None) -> World:
    """Write the synthetic world to ``directory``; the same arguments always give the same files."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    world = countries()
    n_cities = max(len(world), round(CITIES * scale))
    size = rng.lognormal(0.0, 1.0, len(world))
    per_country = rng.multinomial(n_cities - len(world), size / size.sum()) + 1
    city_country = np.repeat(np.arange(len(world)), per_country)
    cities = np.array([f"{world[c][0]}_{k:03d}" for c in range(len(world)) for k in range(per_country[c])])
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1, dtype=np.int32)
    specs = indicator_specs(INDICATORS)
    codes = np.array([str(s["indicator"]) for s in specs])
    is_sum = np.array([s["method"] == "sum" for s in specs])
    sexes = np.array(SEXES)
    sex_factor = np.array([1.0, 0.96, 1.04])
    schema = pa.schema(
        [
            ("indicator", pa.string()),
            ("geo", pa.string()),
            ("period", pa.int32()),
            ("disaggregation", pa.string()),
            ("value", pa.float64()),
        ]
    )
    rows = 0
    with pq.ParquetWriter(directory / "observations.parquet", schema, compression="snappy") as writer:
        for start in range(0, n_cities, CHUNK_CITIES):
            chunk = np.arange(start, min(start + CHUNK_CITIES, n_cities))
            shape = (len(chunk), INDICATORS, REPORTED_YEARS, len(SEXES))
            # each city × indicator series reports 30 of the 32 years (the same years for every sex)
            order = np.argsort(rng.random((len(chunk), INDICATORS, len(years))), axis=2)
            reported = years[np.sort(order[:, :, len(years) - REPORTED_YEARS :], axis=2)]
            level = np.where(is_sum[None, :, None], 1000.0, 1.0) * rng.uniform(5, 80, (len(chunk), INDICATORS, 1))
            trend = rng.normal(-0.01, 0.02, (len(chunk), INDICATORS, 1))
            base = level * (1 + trend) ** (reported - 2010)
            values = base[..., None] * sex_factor * (1 + rng.normal(0, 0.02, shape))
            values[rng.random(shape) < 0.0005] = 0.0  # a few zeros: CAGR falls back to absolute change
            table = pa.table(
                {
                    "indicator": _repeat(codes, np.arange(INDICATORS)[None, :, None, None], shape),
                    "geo": _repeat(cities[chunk], np.arange(len(chunk))[:, None, None, None], shape),
                    "period": np.broadcast_to(reported[..., None], shape).ravel(),
                    "disaggregation": _repeat(sexes, np.arange(len(SEXES)), shape),
                    "value": np.round(values.ravel(), 6),
                },
                schema=schema,
            )
            writer.write_table(table)
            rows += table.num_rows
            if on_chunk:
                on_chunk(chunk[-1] + 1, n_cities)
    _weights(directory, rng, cities, years)
    _membership(directory, world, cities, city_country)
    _engagements(directory, rng, cities)
    (directory / "indicators.json").write_text(json.dumps(specs, indent=1))
    return World(directory, rows, n_cities, INDICATORS)


def _repeat(labels: np.ndarray, index: np.ndarray, shape: tuple[int, ...]) -> pa.Array:
    codes = np.broadcast_to(index, shape).ravel().astype(np.int32)
    return pa.DictionaryArray.from_arrays(codes, labels).cast(pa.string())


def _weights(directory: Path, rng: np.random.Generator, cities: np.ndarray, years: np.ndarray) -> None:
    population = rng.lognormal(12.5, 1.2, len(cities))[:, None] * 1.02 ** (years[None, :] - 2010)
    present = rng.random(population.shape) >= 0.01
    geo, year = np.nonzero(present)
    table = pa.table(
        {
            "series": pa.array([WEIGHT] * len(geo)),
            "geo": pa.array(cities[geo]),
            "period": pa.array(years[year], pa.int32()),
            "weight": pa.array(np.round(population[present], 0)),
        }
    )
    pq.write_table(table, directory / "weights.parquet")


def _membership(directory: Path, world: list[tuple[str, str, str]], cities: np.ndarray, of: np.ndarray) -> None:
    rows: list[tuple[str, str, str]] = []
    for city, c in zip(cities, of, strict=True):
        country, subregion, region = world[c]
        rows += [("country", country, city), ("subregion", subregion, city), ("region", region, city)]
        rows.append(("world", "001", city))
    level, group, geo = zip(*rows, strict=True)
    table = pa.table(
        {
            "level": pa.array(level),
            "group": pa.array(group),
            "geo": pa.array(geo),
            "first_period": pa.nulls(len(rows), pa.int32()),
            "last_period": pa.nulls(len(rows), pa.int32()),
        }
    )
    pq.write_table(table, directory / "membership.parquet")


def _engagements(directory: Path, rng: np.random.Generator, cities: np.ndarray) -> None:
    chosen = np.flatnonzero(rng.random(len(cities)) < 0.2)
    start = rng.integers(2000, 2025, len(chosen))
    ends = rng.random(len(chosen)) < 0.3
    end = np.where(ends, start + rng.integers(2, 10, len(chosen)), -1)
    table = pa.table(
        {
            "geo": pa.array(cities[chosen]),
            "start_year": pa.array(start, pa.int32()),
            "end_year": pa.array([int(e) if e >= 0 else None for e in end], pa.int32()),
        }
    )
    pq.write_table(table, directory / "engagements.parquet")


# -- the three ways ------------------------------------------------------------------------------------------------

AGG_KEYS = ["level", "group", "indicator", "disaggregation", "period"]
AGG_FIELDS = ["value", "people", "coverage", "units_reported", "units_total", "imputed_units", "published"]
PROGRESS_KEYS = ["indicator", "geo", "disaggregation"]
PROGRESS_FIELDS = [
    "baseline_period", "baseline_value", "latest_period", "latest_value", "points", "rate", "unsd", "statcan",
]  # fmt: skip
SPLIT_KEYS = ["indicator"]
SPLIT_FIELDS = [
    "latest_year", "supported_places", "supported_change", "others_places", "others_change", "excluded", "difference",
]  # fmt: skip
OUTPUTS = {
    "aggregates": (AGG_KEYS, AGG_FIELDS),
    "progress": (PROGRESS_KEYS, PROGRESS_FIELDS),
    "split": (SPLIT_KEYS, SPLIT_FIELDS),
}
UNSD_RATE = (0.02, 0.005, 0.0)  # habmon.methods.progress: UNSD_RATE_THRESHOLDS / STATCAN_RATE_THRESHOLDS
STATCAN_RATE = (0.01, 0.001, 0.0)
UNSD_LADDER = ("on_track", "fair_progress", "stagnation", "regression")
STATCAN_LADDER = ("on_track", "acceleration_needed", "limited_progress", "deterioration")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def specs_of(directory: Path) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((directory / "indicators.json").read_text())
    return loaded


def run_habmon(directory: Path, engine: str, memory_limit: str) -> dict[str, Any]:
    """habmon.engine.panel on habmon's own backend (DuckDB threads=2, or Spark local[2])."""
    from habmon.engine.backends import connect
    from habmon.engine.panel import Panel, materialized, period_range
    from habmon.engine.panel_spec import IndicatorSpec
    from habmon.indicators.model import AggregationMethod, Direction

    steps: dict[str, float] = {}
    peaks: dict[str, float] = {}
    # Spark's default 1 GB driver cannot collect 2.7M aggregate rows; Arrow makes the collection columnar
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", SPARK_SUBMIT_ARGS)
    start = time.perf_counter()
    backend = connect(engine)
    if engine == "duckdb" and memory_limit:
        backend.raw_sql(f"SET memory_limit = '{memory_limit}'")
    steps["connect"] = time.perf_counter() - start
    begin = time.perf_counter()
    observations = backend.read_parquet(str(directory / "observations.parquet"))
    weights = backend.read_parquet(str(directory / "weights.parquet"))
    membership = backend.read_parquet(str(directory / "membership.parquet"))
    engagements = backend.read_parquet(str(directory / "engagements.parquet"))
    specs = tuple(
        IndicatorSpec(
            indicator=s["indicator"],
            method=AggregationMethod(s["method"]),
            weight=s["weight"],
            max_gap_years=s["max_gap_years"],
            min_coverage=s["min_coverage"],
            direction=Direction(s["direction"]),
            people=s["people"],
        )
        for s in specs_of(directory)
    )
    first, last = period_range(backend, observations)
    panel = Panel(observations, weights, membership, specs, first, last)
    mark = time.perf_counter()
    out: dict[str, Any] = {}
    with materialized(backend, panel.series(BASELINE_YEAR)) as series:
        steps["series"] = time.perf_counter() - mark
        peaks["series"] = _maxrss_mb()
        for name, expr in (
            ("aggregates", panel.aggregates(series)),
            ("progress", panel.progress(series)),
            ("split", panel.split(series, engagements, baseline_year=BASELINE_YEAR)),
        ):
            mark = time.perf_counter()
            out[name] = backend.to_pyarrow(expr)
            steps[name] = time.perf_counter() - mark
            peaks[name] = _maxrss_mb()
    steps["total"] = time.perf_counter() - begin
    return {"steps": steps, "peaks": peaks, "outputs": out}


def _nearest(mask: str, k: str, gap: str, reach: int) -> str:
    """SQL: the offset of the reported year nearest to offset ``k`` within ``gap`` (earlier on a tie), or NULL."""
    branches = [f"WHEN ({mask} >> {k}) & 1 = 1 THEN {k}"]
    for d in range(1, reach + 1):
        branches.append(f"WHEN {gap} >= {d} AND {k} >= {d} AND ({mask} >> ({k} - {d})) & 1 = 1 THEN {k} - {d}")
        branches.append(f"WHEN {gap} >= {d} AND ({mask} >> ({k} + {d})) & 1 = 1 THEN {k} + {d}")
    return "CASE " + " ".join(branches) + " END"


def run_sql(directory: Path, engine: str, memory_limit: str) -> dict[str, Any]:
    """The same run hand-written in DuckDB SQL (threads=2) for this world — cities in a tree of groups, so sums
    are taken per country and rolled up — with the tricks that pay on DuckDB: bit masks of reported years, integer
    ids, one BIGINT group key."""
    import duckdb

    steps: dict[str, float] = {}
    peaks: dict[str, float] = {}
    begin = time.perf_counter()
    con = duckdb.connect(config={"threads": 2, **({"memory_limit": memory_limit} if memory_limit else {})})
    for name in ("observations", "weights", "membership", "engagements"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{directory / name}.parquet')")
    con.execute(f"CREATE TABLE spec AS SELECT * FROM read_json_auto('{directory / 'indicators.json'}')")
    first, last = con.execute("SELECT min(period), max(period) FROM observations").fetchone() or (0, 0)
    span = last - first + 1
    reach = con.execute("SELECT max(max_gap_years) FROM spec").fetchone()[0]  # type: ignore[index]
    b = BASELINE_YEAR
    mark = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE series AS
        SELECT indicator, geo, disaggregation, bit_or(1::BIGINT << (period - {first})) AS mask,
               min(period) FILTER (WHERE period >= {b}) AS baseline_period,
               arg_min(value, period) FILTER (WHERE period >= {b}) AS baseline_value,
               max(period) FILTER (WHERE period >= {b}) AS latest_period,
               arg_max(value, period) FILTER (WHERE period >= {b}) AS latest_value,
               count(*) FILTER (WHERE period >= {b}) AS points
        FROM observations GROUP BY indicator, geo, disaggregation""")
    con.execute(
        "CREATE TEMP TABLE cell AS SELECT indicator, disaggregation, bit_or(mask) AS want FROM series GROUP BY ALL"
    )
    steps["series"] = time.perf_counter() - mark
    peaks["series"] = _maxrss_mb()
    mark = time.perf_counter()
    aggregates = con.sql(f"""
        WITH lacking AS (
            SELECT s.indicator, s.geo, s.disaggregation, s.mask, c.want & ~s.mask AS lack, p.max_gap_years AS gap
            FROM series s JOIN cell c USING (indicator, disaggregation) JOIN spec p USING (indicator)
            WHERE p.max_gap_years > 0 AND c.want & ~s.mask <> 0),
        missing AS (SELECT l.*, r.k FROM lacking l CROSS JOIN range(0, {span}) r(k) WHERE (l.lack >> r.k) & 1 = 1),
        chosen AS (
            SELECT indicator, geo, disaggregation, k, {_nearest("mask", "k", "gap", reach)} AS src FROM missing),
        filled AS (
            SELECT indicator, geo, disaggregation, period, value, false AS imputed FROM observations
            UNION ALL
            SELECT c.indicator, c.geo, c.disaggregation, {first} + c.k, o.value, true
            FROM chosen c JOIN observations o ON o.indicator = c.indicator AND o.geo = c.geo
                 AND o.disaggregation = c.disaggregation AND o.period = {first} + c.src),
        -- integer ids: a country per city, a cell per indicator × disaggregation, a group per (level, group)
        groups AS (SELECT level, "group", row_number() OVER (ORDER BY level, "group") AS gid
                   FROM (SELECT DISTINCT level, "group" FROM membership)),
        city AS (SELECT m.geo, g.gid AS country FROM membership m JOIN groups g USING (level, "group")
                 WHERE m.level = 'country'),
        rollup AS (SELECT DISTINCT c.country, g.gid FROM city c JOIN membership m USING (geo)
                   JOIN groups g USING (level, "group")),
        cells AS (SELECT c.indicator, c.disaggregation, row_number() OVER () AS cell, p.weight, p.method
                  FROM cell c JOIN spec p USING (indicator)),
        rows AS (
            SELECT (c.country::BIGINT << 40) + (x.cell::BIGINT << 16) + (f.period - {first}) AS key, f.value,
                   f.imputed, CASE WHEN x.weight IS NULL THEN 1.0 ELSE coalesce(w.weight, 0.0) END AS w
            FROM filled f JOIN city c USING (geo) JOIN cells x USING (indicator, disaggregation)
            LEFT JOIN weights w ON w.series = x.weight AND w.geo = f.geo AND w.period = f.period),
        partial AS (
            SELECT key >> 40 AS country, (key >> 16) & 16777215 AS cell, (key & 65535) + {first} AS period, *
            FROM (SELECT key, sum(CASE WHEN w > 0 THEN value * w ELSE 0 END) AS wv,
                         sum(CASE WHEN w > 0 THEN w ELSE 0 END) AS wp, sum(value) AS v, sum(w) AS wr,
                         count(*) AS n, count(*) FILTER (WHERE imputed) AS imputed
                  FROM rows GROUP BY key)),
        summed_ids AS (
            SELECT r.gid, cell, period, sum(wv) AS wv, sum(wp) AS wp, sum(v) AS v, sum(wr) AS wr, sum(n) AS n,
                   sum(imputed) AS imputed
            FROM partial JOIN rollup r USING (country) GROUP BY ALL),
        summed AS (
            SELECT g.level, g."group", x.indicator, x.disaggregation, s.period, s.wv, s.wp, s.v, s.wr, s.n,
                   s.imputed
            FROM summed_ids s JOIN groups g USING (gid) JOIN cells x USING (cell)),
        years AS (
            SELECT indicator, disaggregation, {first} + r.k AS period
            FROM cell CROSS JOIN range(0, {span}) r(k) WHERE (want >> r.k) & 1 = 1),
        keys AS (SELECT DISTINCT coalesce(weight, '') AS weight_key FROM spec),
        totals AS (
            SELECT m.level, m."group", k.weight_key, t.period,
                   sum(CASE WHEN k.weight_key = '' THEN 1.0 ELSE coalesce(w.weight, 0.0) END) AS wt, count(*) AS nt
            FROM membership m CROSS JOIN (SELECT DISTINCT period FROM years) t CROSS JOIN keys k
            LEFT JOIN weights w ON w.series = k.weight_key AND w.geo = m.geo AND w.period = t.period
            GROUP BY ALL),
        grid AS (
            SELECT t.level, t."group", y.indicator, y.disaggregation, y.period, t.wt, t.nt, p.method, p.people,
                   p.min_coverage
            FROM years y JOIN spec p USING (indicator)
            JOIN totals t ON t.weight_key = coalesce(p.weight, '') AND t.period = y.period),
        final AS (
            SELECT g.*, coalesce(s.wr, 0) AS wr, coalesce(s.n, 0) AS n, coalesce(s.imputed, 0) AS imputed,
                   CASE WHEN g.method = 'weighted_mean' THEN s.wv / nullif(s.wp, 0) ELSE s.v END AS value
            FROM grid g LEFT JOIN summed s USING (level, "group", indicator, disaggregation, period))
        SELECT level, "group", indicator, disaggregation, period, value,
               CASE WHEN people AND value IS NOT NULL THEN value / 100 * wt END AS people,
               wr / nullif(wt, 0) AS coverage, n AS units_reported, nt AS units_total, imputed AS imputed_units,
               coalesce(wr / nullif(wt, 0) >= min_coverage, false) AS published
        FROM final""").to_arrow_table()
    steps["aggregates"] = time.perf_counter() - mark
    peaks["aggregates"] = _maxrss_mb()

    def ladder(thresholds: tuple[float, ...], names: tuple[str, ...]) -> str:
        high, middle, low = thresholds
        return (
            f"CASE WHEN points < 2 THEN 'insufficient_data' WHEN score >= {high} THEN '{names[0]}' "
            f"WHEN score >= {middle} THEN '{names[1]}' WHEN score >= {low} THEN '{names[2]}' ELSE '{names[3]}' END"
        )

    mark = time.perf_counter()
    progress = con.sql(f"""
        WITH rated AS (
            SELECT s.*, CASE WHEN p.direction = 'increase' THEN 1.0 ELSE -1.0 END AS sign,
                   baseline_value <= 0 OR latest_value <= 0 AS linear,
                   CASE WHEN points >= 2 THEN
                       CASE WHEN baseline_value <= 0 OR latest_value <= 0
                            THEN (latest_value - baseline_value) / (latest_period - baseline_period)
                            ELSE pow(latest_value / baseline_value, 1.0 / (latest_period - baseline_period)) - 1 END
                   END AS rate
            FROM series s JOIN spec p USING (indicator)),
        scored AS (
            SELECT *, sign * CASE WHEN linear THEN rate / greatest(abs(baseline_value), 1e-12) ELSE rate END AS score
            FROM rated)
        SELECT indicator, geo, disaggregation, baseline_period, baseline_value, latest_period, latest_value, points,
               rate, {ladder(UNSD_RATE, UNSD_LADDER)} AS unsd, {ladder(STATCAN_RATE, STATCAN_LADDER)} AS statcan
        FROM scored""").to_arrow_table()
    steps["progress"] = time.perf_counter() - mark
    peaks["progress"] = _maxrss_mb()

    mark = time.perf_counter()
    split = con.sql(f"""
        WITH ends AS (
            SELECT c.indicator, {first} + floor(log2(c.want))::INTEGER AS latest_year, p.max_gap_years AS gap
            FROM cell c JOIN spec p USING (indicator) WHERE c.disaggregation = ''),
        near AS (
            SELECT s.indicator, s.geo, e.latest_year, x.which,
                   {first} + {_nearest("s.mask", "x.k", "e.gap", reach)} AS source
            FROM series s JOIN ends e USING (indicator),
                 LATERAL (VALUES ('b', {b} - {first}), ('t', e.latest_year - {first})) x(which, k)
            WHERE s.disaggregation = ''),
        valued AS (
            SELECT n.indicator, n.geo, n.latest_year, n.which, o.value
            FROM near n JOIN observations o ON o.indicator = n.indicator AND o.geo = n.geo
                 AND o.disaggregation = '' AND o.period = n.source),
        both_ends AS (
            SELECT b.indicator, b.geo, b.latest_year, b.value AS vb, t.value AS vt
            FROM valued b JOIN valued t ON t.indicator = b.indicator AND t.geo = b.geo AND t.which = 't'
            WHERE b.which = 'b'),
        sided AS (
            SELECT x.*, vt - vb AS change,
                   CASE WHEN e.geo IS NULL THEN 'others'
                        WHEN e.start_year > {b} AND (e.end_year IS NULL OR e.end_year >= x.latest_year)
                        THEN 'supported' ELSE 'excluded' END AS side
            FROM both_ends x LEFT JOIN engagements e USING (geo)),
        per AS (
            SELECT indicator, latest_year,
                   count(*) FILTER (WHERE side = 'supported') AS supported_places,
                   avg(change) FILTER (WHERE side = 'supported') AS supported_change,
                   count(*) FILTER (WHERE side = 'others') AS others_places,
                   avg(change) FILTER (WHERE side = 'others') AS others_change,
                   count(*) FILTER (WHERE side = 'excluded') AS excluded
            FROM sided GROUP BY ALL)
        SELECT *, CASE WHEN supported_places > 0 AND others_places > 0
                       THEN supported_change - others_change END AS difference
        FROM per""").to_arrow_table()
    steps["split"] = time.perf_counter() - mark
    peaks["split"] = _maxrss_mb()
    steps["total"] = time.perf_counter() - begin
    return {"steps": steps, "peaks": peaks, "outputs": {"aggregates": aggregates, "progress": progress, "split": split}}


def run_pandas(directory: Path, engine: str, memory_limit: str) -> dict[str, Any]:
    """The same run in straightforward pandas: a wide year panel for gap filling, group-bys for the rest."""
    steps: dict[str, float] = {}
    peaks: dict[str, float] = {}
    begin = time.perf_counter()
    spec = pd.DataFrame(specs_of(directory)).set_index("indicator")
    obs = pd.read_parquet(directory / "observations.parquet")
    for column in ("indicator", "geo", "disaggregation"):
        obs[column] = obs[column].astype("category")
    weights = pd.read_parquet(directory / "weights.parquet")
    membership = pd.read_parquet(directory / "membership.parquet")
    engagements = pd.read_parquet(directory / "engagements.parquet")
    steps["read"] = time.perf_counter() - begin
    peaks["read"] = _maxrss_mb()

    mark = time.perf_counter()
    first, last = int(obs["period"].min()), int(obs["period"].max())
    years = np.arange(first, last + 1)
    wide = obs.set_index(["indicator", "disaggregation", "geo", "period"])["value"].unstack("period")
    wide = wide.reindex(columns=years)
    keys = wide.index.to_frame(index=False)
    reported = wide.to_numpy()
    gap = keys["indicator"].map(spec["max_gap_years"]).to_numpy(dtype="int64")
    filled, imputed = reported.copy(), np.zeros(reported.shape, dtype=bool)
    for d in range(1, int(spec["max_gap_years"].max()) + 1):
        for shift in (d, -d):  # the earlier year first on a tie
            candidate = np.full(reported.shape, np.nan)
            if shift > 0:
                candidate[:, shift:] = reported[:, :-shift]
            else:
                candidate[:, :shift] = reported[:, -shift:]
            take = np.isnan(filled) & ~np.isnan(candidate) & (gap >= d)[:, None]
            filled[take] = candidate[take]
            imputed |= take
    cell = keys["indicator"].astype(str) + "|" + keys["disaggregation"].astype(str)
    target = pd.DataFrame(~np.isnan(reported)).groupby(cell.to_numpy()).transform("any").to_numpy()
    steps["gap filling"] = time.perf_counter() - mark
    peaks["gap filling"] = _maxrss_mb()

    mark = time.perf_counter()
    rows, cols = np.nonzero(target & ~np.isnan(filled))
    long = pd.DataFrame(
        {
            "indicator": keys["indicator"].to_numpy()[rows],
            "disaggregation": keys["disaggregation"].to_numpy()[rows],
            "geo": keys["geo"].to_numpy()[rows],
            "period": years[cols],
            "value": filled[rows, cols],
            "imputed": imputed[rows, cols],
        }
    )
    long["weight_key"] = long["indicator"].map(spec["weight"].fillna(""))
    pop = weights.rename(columns={"series": "weight_key"})
    long = long.merge(pop, on=["weight_key", "geo", "period"], how="left")
    long["w"] = np.where(long["weight_key"] == "", 1.0, long["weight"].fillna(0.0))
    city = membership[membership["level"] == "country"].set_index("geo")["group"]
    long["country"] = long["geo"].map(city)
    positive = long["w"] > 0
    long["wv"] = np.where(positive, long["value"] * long["w"], np.nan)
    long["wp"] = np.where(positive, long["w"], np.nan)
    partial = long.groupby(["country", "indicator", "disaggregation", "period"], observed=True).agg(
        wv=("wv", "sum"), wp=("wp", "sum"), v=("value", "sum"), wr=("w", "sum"), n=("value", "size"),
        imputed=("imputed", "sum"),
    ).reset_index()  # fmt: skip
    del long
    rollup = city.reset_index().rename(columns={"group": "country"}).merge(membership, on="geo")
    rollup = rollup[["country", "level", "group"]].drop_duplicates()
    summed = (
        partial.merge(rollup, on="country")
        .groupby(["level", "group", "indicator", "disaggregation", "period"], observed=True)[
            ["wv", "wp", "v", "wr", "n", "imputed"]
        ]
        .sum()
        .reset_index()
    )
    wanted = pd.DataFrame({"cell": cell.to_numpy()[np.nonzero(target)[0]], "period": years[np.nonzero(target)[1]]})
    wanted = wanted.drop_duplicates()
    wanted[["indicator", "disaggregation"]] = wanted["cell"].str.split("|", expand=True)
    wanted["weight_key"] = wanted["indicator"].map(spec["weight"].fillna(""))
    members = membership[["level", "group", "geo"]].merge(pd.DataFrame({"period": years}), how="cross")
    members = members.merge(pd.DataFrame({"weight_key": wanted["weight_key"].unique()}), how="cross")
    members = members.merge(pop, on=["weight_key", "geo", "period"], how="left")
    members["w"] = np.where(members["weight_key"] == "", 1.0, members["weight"].fillna(0.0))
    totals = members.groupby(["level", "group", "weight_key", "period"]).agg(wt=("w", "sum"), nt=("w", "size"))
    grid = wanted.merge(totals.reset_index(), on=["weight_key", "period"])
    for column in ("indicator", "disaggregation"):
        summed[column] = summed[column].astype(str)
    out = grid.merge(summed, on=["level", "group", "indicator", "disaggregation", "period"], how="left")
    weighted = out["indicator"].map(spec["method"]).to_numpy() == "weighted_mean"
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(out["wp"] > 0, out["wv"] / out["wp"], np.nan)
        out["value"] = np.where(weighted, mean, out["v"])
        out["coverage"] = np.where(out["wt"] != 0, out["wr"].fillna(0.0) / out["wt"], np.nan)
    people = out["indicator"].map(spec["people"]).to_numpy(dtype=bool)
    out["people"] = np.where(people, out["value"] / 100 * out["wt"], np.nan)
    out["units_reported"] = out["n"].fillna(0).astype("int64")
    out["units_total"] = out["nt"].astype("int64")
    out["imputed_units"] = out["imputed"].fillna(0).astype("int64")
    out["published"] = out["coverage"] >= out["indicator"].map(spec["min_coverage"])
    aggregates = out[AGG_KEYS + AGG_FIELDS]
    steps["aggregates"] = time.perf_counter() - mark
    peaks["aggregates"] = _maxrss_mb()

    mark = time.perf_counter()
    after = obs[obs["period"] >= BASELINE_YEAR]
    grouped = after.groupby(["indicator", "geo", "disaggregation"], observed=True)["period"]
    base = after.loc[grouped.idxmin().to_numpy()].reset_index(drop=True)
    latest = after.loc[grouped.idxmax().to_numpy()].reset_index(drop=True)
    progress = base[["indicator", "geo", "disaggregation"]].astype(str)
    progress["baseline_period"], progress["baseline_value"] = base["period"], base["value"]
    progress["latest_period"], progress["latest_value"] = latest["period"], latest["value"]
    progress["points"] = grouped.size().to_numpy()
    b, t = progress["baseline_value"].to_numpy(), progress["latest_value"].to_numpy()
    span = (progress["latest_period"] - progress["baseline_period"]).to_numpy(dtype=float)
    enough = progress["points"].to_numpy() >= 2
    linear = (b <= 0) | (t <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(linear, (t - b) / span, (t / b) ** (1 / span) - 1)
        rate = np.where(enough, rate, np.nan)
        sign = np.where(progress["indicator"].map(spec["direction"]) == "increase", 1.0, -1.0)
        score = sign * np.where(linear, rate / np.maximum(np.abs(b), 1e-12), rate)
    progress["rate"] = rate
    for name, thresholds, ladder in (("unsd", UNSD_RATE, UNSD_LADDER), ("statcan", STATCAN_RATE, STATCAN_LADDER)):
        progress[name] = np.select(
            [~enough, score >= thresholds[0], score >= thresholds[1], score >= thresholds[2]],
            ["insufficient_data", *ladder[:3]],
            default=ladder[3],
        )
    steps["progress"] = time.perf_counter() - mark
    peaks["progress"] = _maxrss_mb()

    mark = time.perf_counter()
    totals_rows = (keys["disaggregation"] == "").to_numpy()
    split_rows = []
    engaged = engagements.set_index("geo")
    for indicator in spec.index:
        mine = totals_rows & (keys["indicator"] == indicator).to_numpy()
        latest_year = int(years[target[mine].any(axis=0)].max())
        vb = filled[mine, BASELINE_YEAR - first]
        vt = filled[mine, latest_year - first]
        frame = pd.DataFrame({"geo": keys["geo"].to_numpy()[mine].astype(str), "change": vt - vb}).dropna()
        start = frame["geo"].map(engaged["start_year"])
        end = frame["geo"].map(engaged["end_year"])
        supported = (start > BASELINE_YEAR) & (end.isna() | (end >= latest_year))
        side = np.where(start.isna(), "others", np.where(supported, "supported", "excluded"))
        s, o = frame["change"][side == "supported"], frame["change"][side == "others"]
        split_rows.append(
            {
                "indicator": indicator, "latest_year": latest_year, "supported_places": len(s),
                "supported_change": s.mean(), "others_places": len(o), "others_change": o.mean(),
                "excluded": int((side == "excluded").sum()),
                "difference": s.mean() - o.mean() if len(s) and len(o) else np.nan,
            }
        )  # fmt: skip
    split = pd.DataFrame(split_rows)
    steps["split"] = time.perf_counter() - mark
    peaks["split"] = _maxrss_mb()
    steps["total"] = time.perf_counter() - begin
    return {"steps": steps, "peaks": peaks, "outputs": {"aggregates": aggregates, "progress": progress, "split": split}}


# -- measuring -----------------------------------------------------------------------------------------------------

WAYS: dict[str, Callable[[Path, str, str], dict[str, Any]]] = {
    "habmon": run_habmon,
    "pandas": run_pandas,
    "sql": run_sql,
}


@dataclass
class Measurement:
    way: str
    seconds: float  # the run, from opening the files to every result in memory (no process or JVM start)
    peak_mb: float  # max RSS of the child process (wait4)
    tree_mb: float  # peak RSS of the child and its descendants (the JVM for Spark), sampled every 50 ms
    steps: dict[str, float]
    peaks: dict[str, float]  # max RSS so far, MiB, after each step
    load: float  # 1-minute load average when the way started


def child(way: str, directory: Path, engine: str, memory_limit: str) -> None:
    """Run one way in this (child) process; write its results for the agreement check; report the times."""
    result = WAYS[way](directory, engine, memory_limit)
    results = directory / "results"
    results.mkdir(exist_ok=True)
    for name, table in result["outputs"].items():
        frame = table.to_pandas() if isinstance(table, pa.Table) else table
        frame.to_parquet(results / f"{way}-{name}.parquet")
    print(json.dumps({"steps": result["steps"], "peaks": result["peaks"]}))


def _tree_rss_kb(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        rss[int(entry.name)] = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
    tree, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        for pid, parent in parents.items():
            if parent == current and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(rss.get(pid, 0) for pid in tree)


def measure(way: str, directory: Path, engine: str, memory_limit: str) -> Measurement:
    load = os.getloadavg()[0]
    log = directory / f"{way}.log"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", way, "--workdir", str(directory)]
    with log.open("w") as err, (directory / f"{way}.out").open("w") as out:
        options = ["--engine", engine, "--memory-limit", memory_limit]
        process = subprocess.Popen([*command, *options], stdout=out, stderr=err)
        peak_tree, done = [0], threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak_tree[0] = max(peak_tree[0], _tree_rss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{way} failed (exit {process.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    report = json.loads((directory / f"{way}.out").read_text().strip().splitlines()[-1])
    steps = report["steps"]
    return Measurement(way, steps["total"], usage.ru_maxrss / 1024, peak_tree[0] / 1024, steps, report["peaks"], load)


def agreement(directory: Path, ways: list[str], reference: str) -> dict[str, dict[str, str]]:
    """Per output and way: rows missing on either side, max abs difference of numbers, mismatches of the rest."""
    found: dict[str, dict[str, str]] = {}
    for name, (keys, fields) in OUTPUTS.items():
        base = pd.read_parquet(directory / "results" / f"{reference}-{name}.parquet")
        for way in ways:
            if way == reference:
                continue
            other = pd.read_parquet(directory / "results" / f"{way}-{name}.parquet")
            for frame in (base, other):
                for key in keys:
                    frame[key] = frame[key].astype(str)
            both = base[keys + fields].merge(other[keys + fields], on=keys, how="outer", indicator=True)
            unmatched = int((both["_merge"] != "both").sum())
            both = both[both["_merge"] == "both"]
            worst, relative, mismatches = 0.0, 0.0, 0
            for field in fields:
                a, b = both[f"{field}_x"], both[f"{field}_y"]
                if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) and a.dtype != bool:
                    x, y = a.astype("float64").to_numpy(), b.astype("float64").to_numpy()
                    missing = np.isnan(x) != np.isnan(y)
                    mismatches += int(missing.sum())
                    close = ~np.isnan(x) & ~np.isnan(y)
                    if close.any():
                        gap = np.abs(x[close] - y[close])
                        worst = max(worst, float(gap.max()))
                        relative = max(relative, float((gap / np.maximum(np.abs(x[close]), 1e-300)).max()))
                else:
                    mismatches += int((a.astype(str) != b.astype(str)).sum())
            found.setdefault(name, {})[way] = (
                f"{len(both):,} rows, {unmatched} unmatched, {mismatches} mismatches, "
                f"max |Δ| {worst:.2e} (relative {relative:.1e})"
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 5,556 cities (1.0 = 50M rows)")
    parser.add_argument("--workdir", type=Path, help="where the world and the results go (default: a temp dir)")
    parser.add_argument("--ways", default="habmon,pandas,sql")
    parser.add_argument("--engine", default="duckdb", help="engine of the habmon way: duckdb or spark")
    parser.add_argument(
        "--memory-limit",
        default="",
        help="DuckDB memory_limit of both DuckDB ways, e.g. 1GB (default: DuckDB's own, as habmon's connect)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="run the ways in turn this many times; report each")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    directory = args.workdir or Path(tempfile.mkdtemp(prefix="habmon-engine-"))
    if args.child:
        child(args.child, directory, args.engine, args.memory_limit)
        return
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    console = Console(width=150)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        marker = directory / "world.json"
        wanted = {"scale": args.scale, "seed": SEED}
        if marker.exists() and json.loads(marker.read_text()).get("scale") == args.scale:
            world = json.loads(marker.read_text())
        else:
            task = progress.add_task("generating the world", total=None)
            made = generate(
                directory, args.scale, on_chunk=lambda done, total: progress.update(task, completed=done, total=total)
            )
            world = {**wanted, "rows": made.rows, "cities": made.cities, "indicators": made.indicators}
            marker.write_text(json.dumps(world))
            progress.update(task, description=f"world: {made.rows:,} observations")
        measured = []
        for turn in range(args.repeat):
            for way in ways:
                engine = args.engine if way == "habmon" else "duckdb"
                label = f"{way} ({engine})" if way == "habmon" else way
                task = progress.add_task(f"{label}, run {turn + 1}/{args.repeat}", total=1)
                measured.append(measure(way, directory, engine, args.memory_limit))
                progress.update(task, completed=1)
    console.print(
        f"{world['rows']:,} observations ({world['cities']:,} cities × {world['indicators']} indicators × "
        f"{REPORTED_YEARS} of {LAST_YEAR - FIRST_YEAR + 1} years × {len(SEXES)} sexes) in {directory}"
    )
    table = Table(
        "way", "load", "time (s)", "peak RSS (MiB)", "process tree (MiB)", "time / habmon", "steps: s (max RSS so far)"
    )
    reference = measured[0]
    for m in measured:
        steps = ", ".join(
            f"{k} {v:.2f}" + (f" ({m.peaks[k]:,.0f} MiB)" if k in m.peaks else "")
            for k, v in m.steps.items()
            if k != "total"
        )
        table.add_row(m.way, f"{m.load:.2f}", f"{m.seconds:.2f}", f"{m.peak_mb:,.0f}", f"{m.tree_mb:,.0f}",
                      f"{m.seconds / reference.seconds:.2f}×", steps)  # fmt: skip
    console.print(table)
    if len(ways) > 1:
        for name, per_way in agreement(directory, ways, ways[0]).items():
            for way, text in per_way.items():
                console.print(f"agreement {name}: {ways[0]} vs {way}: {text}")
    by_way = {m.way: min((x for x in measured if x.way == m.way), key=lambda x: x.seconds) for m in measured}
    if "habmon" in by_way and args.engine == "duckdb":
        h = by_way["habmon"]  # the fastest run of each way; memory: the largest peak of any habmon run
        peak = max(m.peak_mb for m in measured if m.way == "habmon") * 2**20 / 1e9
        fast, small = h.seconds <= 8, peak <= 1.5
        console.print(f"goal ≤ 8 s: {h.seconds:.2f} s (best of {args.repeat}) → {'met' if fast else 'NOT met'}; "
                      f"goal ≤ 1.5 GB: {peak:.2f} GB (10⁹ bytes) → {'met' if small else 'NOT met'}")  # fmt: skip
        if "pandas" in by_way:
            ratio = by_way["pandas"].seconds / h.seconds
            console.print(f"goal ≥ 5× faster than pandas: {ratio:.1f}× → {'met' if ratio >= 5 else 'NOT met'}")
        if "sql" in by_way:
            ratio = h.seconds / by_way["sql"].seconds
            console.print(
                f"goal within 1.25× of hand-written SQL: {ratio:.2f}× → {'met' if ratio <= 1.25 else 'NOT met'}"
            )
    console.print(f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; nproc {os.cpu_count()}")


if __name__ == "__main__":
    main()
