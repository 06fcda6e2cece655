"""SDG 11.1.1 with design-based SEs by region × urban/rural from a 10,000,000-household Parquet file
(issue #12), beside the PyPI package ``svy`` and R's survey package on the same data.

    .venv/bin/python bench/survey_10m.py [--households 10000000] [--reference 1000000] [--skip-r] [--skip-svy]

The SYNTHETIC file (habmon.surveys.synthetic, 20 variables) is generated once into $TMPDIR, in row
groups of 131,072 rows. Each contender runs in its own process so its peak memory (VmHWM) is its
own. habmon's figure is the DuckDB fast path (habmon.surveys.fast: the recipe as SQL, one parallel
GROUP BY stratum, PSU, domain straight from the file, then the variance from the cells) — reading
included; what reading alone costs is measured apart (a DuckDB scan decoding the same 12 columns).
The reference run is habmon's numpy path (pyarrow → pandas, classify and estimate per record) on
the same file; both must give the same estimates and SEs. svy and R get the classified indicator
and the person weight precomputed, so their time is estimation only (plus their own reading,
reported apart). Estimates and SEs are compared on the reference file (``--reference``
households; 10M takes R too long).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BY = ("region", "urban")
RULE = "adjust"
ROW_GROUP = 131_072  # rows per Parquet row group, as analytic writers make them (DuckDB: 122,880)


def _data(households: int) -> Path:
    folder = Path(tempfile.gettempdir()) / "habmon-bench-surveys"
    folder.mkdir(exist_ok=True)
    path = folder / f"synthetic_hr_{households}.parquet"
    if not path.exists():
        from habmon.surveys.synthetic import synthetic_dhs

        frame = synthetic_dhs(households, seed=12, regions=10, lonely=0)
        frame["hv002"] = frame.groupby("hv001").cumcount().astype("int16") + 1  # household number
        frame["hv012"] = frame["hv009"]  # de jure members
        frame["hv023"] = frame["hv022"]  # sample domain
        frame.to_parquet(path, index=False, row_group_size=ROW_GROUP)
    return path


def _maxrss_mib() -> float:
    """This process's peak resident memory: VmHWM, which (unlike ru_maxrss) starts afresh at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


COLUMNS = ("hv001", "hv005", "hv009", "hv022", "hv024", "hv025", "hv201", "hv205", "hv213", "hv214", "hv215", "hv216")


def _rows(result: Any) -> list[list[object]]:
    return [[r.groups.get("region"), r.groups.get("urban"), r.value, r.se] for r in result.rows if r.groups]


def run_habmon(path: str) -> dict[str, object]:
    """The DuckDB fast path, as compute_file runs it (connect, read the schema, one pass, estimate)."""
    import duckdb

    from habmon.surveys.compute import Computation
    from habmon.surveys.design import LonelyPSU
    from habmon.surveys.fast import compute_fast
    from habmon.surveys.recipe import load_recipe
    from habmon.surveys.scan import open_source

    recipe = load_recipe("11.1.1")
    c0, t0 = time.process_time(), time.perf_counter()
    with duckdb.connect() as con:
        result = compute_fast(con, open_source(con, Path(path), "parquet"), recipe, by=BY, lonely_psu=LonelyPSU(RULE))
    c1, t1 = time.process_time(), time.perf_counter()
    assert isinstance(result, Computation) and result.ok, result  # not declined: the fast path estimated
    peak = _maxrss_mib()
    with duckdb.connect() as con:  # reading alone: decode the 12 columns the query reads, nothing else
        decode = ", ".join(f"sum({c})" for c in COLUMNS)  # sum: not answered from the footer's statistics
        c2, t2 = time.process_time(), time.perf_counter()
        con.sql(f"SELECT {decode} FROM read_parquet('{path}')").fetchall()
        c3, t3 = time.process_time(), time.perf_counter()
    return {
        "total_s": t1 - t0,
        "cpu_s": c1 - c0,
        "read_s": t3 - t2,
        "read_cpu_s": c3 - c2,
        "maxrss_mib": peak,
        "rows": _rows(result),
    }


def run_numpy(path: str) -> dict[str, object]:
    """The reference: habmon's numpy path (pyarrow → pandas, classify and estimate per record)."""
    import pyarrow.parquet as pq

    from habmon.surveys.compute import compute
    from habmon.surveys.design import LonelyPSU
    from habmon.surveys.recipe import load_recipe

    recipe = load_recipe("11.1.1")
    c0, t0 = time.process_time(), time.perf_counter()
    frame = pq.read_table(path, columns=list(COLUMNS)).to_pandas()
    c1, t1 = time.process_time(), time.perf_counter()
    result = compute(frame, recipe, by=BY, lonely_psu=LonelyPSU(RULE))
    c2, t2 = time.process_time(), time.perf_counter()
    assert result.ok, result.report
    return {
        "read_s": t1 - t0,
        "compute_s": t2 - t1,
        "total_s": t2 - t0,
        "cpu_s": c2 - c0,
        "read_cpu_s": c1 - c0,
        "maxrss_mib": _maxrss_mib(),
        "rows": _rows(result),
    }


def prepare_reference(path: Path, households: int) -> tuple[Path, Path]:
    """The reference file with the classified indicator (slum, NaN excluded) and person weight."""
    import pandas as pd

    from habmon.surveys.classify import classify
    from habmon.surveys.recipe import load_recipe

    out = path.with_name(f"reference_{households}.parquet")
    csv = out.with_suffix(".csv")
    if out.exists() and csv.exists():
        return out, csv
    frame = pd.read_parquet(path).iloc[:households]
    frame = frame[frame["hv001"] <= frame["hv001"].iloc[-1] - 1]  # whole clusters only
    pw = frame["hv005"].to_numpy(float) / 1e6 * frame["hv009"].to_numpy(float)
    classified = classify(frame, load_recipe("11.1.1"), pw, {}, path.name)
    small = pd.DataFrame(
        {
            "hv001": frame["hv001"],
            "hv022": frame["hv022"],
            "hv024": frame["hv024"],
            "hv025": frame["hv025"],
            "pw": pw,
            "slum": classified.y,
        }
    )
    small.to_parquet(out, index=False, row_group_size=ROW_GROUP)
    small.to_csv(csv, index=False, na_rep="NA")
    full = frame.copy()
    full.to_parquet(out.with_name(f"reference_full_{households}.parquet"), index=False, row_group_size=ROW_GROUP)
    return out, csv


def run_svy(path: str) -> dict[str, object]:
    import polars as pl
    import svy

    t0 = time.perf_counter()
    data = pl.read_parquet(path)
    c1, t1 = time.process_time(), time.perf_counter()
    sample = svy.Sample(data, svy.Design(stratum="hv022", psu="hv001", wgt="pw", singleton="center"))
    est = sample.estimation.mean("slum", by=("hv024", "hv025"), drop_nulls=True)
    c2, t2 = time.process_time(), time.perf_counter()
    table = est.to_polars()
    rows = [[str(r["hv024"]), str(r["hv025"]), r["est"], r["se"]] for r in table.iter_rows(named=True)]
    return {"read_s": t1 - t0, "compute_s": t2 - t1, "cpu_s": c2 - c1, "maxrss_mib": _maxrss_mib(), "rows": rows}


R_SCRIPT = r"""
suppressMessages({library(survey); library(data.table); library(jsonlite)})
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
h <- as.data.frame(fread(args[[1]]))
t1 <- proc.time()[["elapsed"]]
des <- svydesign(id = ~hv001, strata = ~hv022, weights = ~pw, data = h, nest = TRUE)
by <- svyby(~slum, ~hv024 + hv025, subset(des, !is.na(slum)), svymean)
t2 <- proc.time()[["elapsed"]]
rows <- lapply(seq_len(nrow(by)), function(i) list(as.character(by$hv024[i]), as.character(by$hv025[i]),
               unname(coef(by)[i]), unname(SE(by)[i])))
cat(toJSON(list(read_s = t1 - t0, compute_s = t2 - t1, rows = rows), auto_unbox = TRUE, digits = NA))
"""


def run_r(csv: Path) -> dict[str, object]:
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as handle:
        handle.write(R_SCRIPT)
    t0 = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "Rscript", handle.name, str(csv)], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - t0
    Path(handle.name).unlink()
    found: dict[str, object] = json.loads(done.stdout)
    found["maxrss_mib"] = int(done.stderr.strip().splitlines()[-1]) / 1024
    found["wall_s"] = wall
    return found


def _child(kind: str, path: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, path], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _compare(a: list[list[object]], b: list[list[object]]) -> tuple[float, float]:
    left = {(str(r[0]), str(r[1])): (float(r[2]), float(r[3])) for r in a}  # type: ignore[arg-type]
    right = {(str(r[0]), str(r[1])): (float(r[2]), float(r[3])) for r in b}  # type: ignore[arg-type]
    assert left.keys() == right.keys(), (sorted(left), sorted(right))
    est = max(abs(left[k][0] - right[k][0]) / abs(right[k][0]) for k in left)
    se = max(abs(left[k][1] - right[k][1]) / abs(right[k][1]) for k in left)
    return est, se


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=10_000_000)
    parser.add_argument("--reference", type=int, default=1_000_000)
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--skip-svy", action="store_true")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        runner = {"habmon": run_habmon, "numpy": run_numpy, "svy": run_svy}[kind]
        print(json.dumps(runner(path)))
        return
    path = _data(args.households)
    size = path.stat().st_size / 2**20
    print(f"file: {path} ({args.households:,} households × 20 variables, {size:.0f} MiB Parquet)")
    load = os.getloadavg()[0]
    big = _child("habmon", str(path))
    print(
        f"habmon (DuckDB) {args.households:,}: {big['total_s']:.2f} s wall, {big['cpu_s']:.2f} s CPU, "
        f"peak {big['maxrss_mib']:.0f} MiB; of which reading alone (decoding the 12 columns) "
        f"{big['read_s']:.2f} s wall, {big['read_cpu_s']:.2f} s CPU; load average {load:.1f} on {os.cpu_count()} cores"
    )
    ref_big = _child("numpy", str(path))
    est, se = _compare(big["rows"], ref_big["rows"])  # type: ignore[arg-type]
    print(
        f"reference: habmon numpy path {args.households:,}: read {ref_big['read_s']:.2f} s + compute "
        f"{ref_big['compute_s']:.2f} s = {ref_big['total_s']:.2f} s wall, {ref_big['cpu_s']:.2f} s CPU, "
        f"peak {ref_big['maxrss_mib']:.0f} MiB; DuckDB path "
        f"{float(ref_big['total_s']) / float(big['total_s']):.1f}× faster; "  # type: ignore[arg-type]
        f"max relative difference: estimate {est:.1e}, SE {se:.1e}"
    )
    ref, csv = prepare_reference(path, args.reference)
    full_ref = ref.with_name(f"reference_full_{args.reference}.parquet")
    small = _child("habmon", str(full_ref))
    n = args.reference
    print(
        f"habmon (DuckDB) {n:,}: {small['total_s']:.2f} s wall, {small['cpu_s']:.2f} s CPU "
        f"(reading alone {small['read_s']:.2f} s), "
        f"peak {small['maxrss_mib']:.0f} MiB"
    )
    if not args.skip_svy:
        s = _child("svy", str(ref))
        est, se = _compare(small["rows"], s["rows"])  # type: ignore[arg-type]
        print(
            f"svy {n:,} (estimation only): read {s['read_s']:.2f} s, compute {s['compute_s']:.2f} s, "
            f"peak {s['maxrss_mib']:.0f} MiB; habmon (read+classify+estimate) is "
            f"{float(s['compute_s']) / float(small['total_s']):.1f}× faster in wall time, "  # type: ignore[arg-type]
            f"{float(s['cpu_s']) / float(small['cpu_s']):.1f}× in CPU time ({s['cpu_s']:.2f} s vs "  # type: ignore[arg-type]
            f"{small['cpu_s']:.2f} s); max relative difference: estimate {est:.1e}, SE {se:.1e}"
        )
    if not args.skip_r and shutil.which("Rscript"):
        r = run_r(csv)
        est, se = _compare(small["rows"], r["rows"])  # type: ignore[arg-type]
        print(
            f"R survey {n:,} (estimation only): read {r['read_s']:.2f} s, compute {r['compute_s']:.2f} s, "
            f"peak {r['maxrss_mib']:.0f} MiB; habmon is {float(r['compute_s']) / float(small['total_s']):.1f}× "  # type: ignore[arg-type]
            f"faster; max relative difference: estimate {est:.1e}, SE {se:.1e}"
        )
    print(f"goal at {args.households:,}: ≤ 3 s and ≤ 2048 MiB — {big['total_s']:.2f} s, {big['maxrss_mib']:.0f} MiB")
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
