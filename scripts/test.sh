#!/usr/bin/env bash
# Set up and run everything CI runs: lint, types, and the whole test suite on SQLite and
# PostgreSQL (a real server the tests start themselves). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh
scripts/setup.sh dev
export SPARK_LOCAL_IP=127.0.0.1  # Spark (local mode in the engine conformance suite) stays on loopback
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy
# two workers (the machine's two cores), whole files to a worker so module fixtures are built once
.venv/bin/pytest -n 2 --dist loadfile "$@"
