#!/usr/bin/env bash
# Set up habmon on the embedded default (SQLite + DuckDB), load the plan and the real shipped data,
# run the monitoring run and serve the web app: http://127.0.0.1:8000/ (Ctrl+C stops it).
# Extra arguments go to `habmon serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/habmon demo
.venv/bin/habmon compute
exec .venv/bin/habmon serve "$@"
