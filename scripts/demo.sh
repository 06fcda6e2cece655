#!/usr/bin/env bash
# Set up habmon on the embedded default (SQLite + DuckDB), load the plan and the real shipped data,
# run the monitoring run and serve the web app: http://127.0.0.1:8000/ (Ctrl+C stops it).
# Extra arguments go to `habmon serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/habmon demo
.venv/bin/habmon compute
# survey microdata (issue #12): a SYNTHETIC DHS-like household file, registered and computed once
mkdir -p var
if ! .venv/bin/habmon surveys show SYNTHETIC-DHS-DEMO >/dev/null 2>&1; then
  .venv/bin/habmon surveys synthetic var/synthetic_hr.dta --households 5000
  .venv/bin/habmon surveys add var/synthetic_hr.dta --name SYNTHETIC-DHS-DEMO --country KEN --fieldwork 2025 \
    --source "SYNTHETIC data from habmon's seeded generator (not a real survey)" --access "synthetic; open"
fi
.venv/bin/habmon surveys compute SYNTHETIC-DHS-DEMO --file var/synthetic_hr.dta --indicator 11.1.1 --by region \
  --lonely-psu adjust
exec .venv/bin/habmon serve "$@"
