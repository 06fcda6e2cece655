#!/usr/bin/env bash
# Set up habmon and run the demo on the embedded default (SQLite + the shipped real data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/habmon demo "$@"
