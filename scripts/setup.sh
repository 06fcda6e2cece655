#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install habmon into it: `scripts/setup.sh` for users,
# `scripts/setup.sh dev` with the test and lint tools and the Spark engine.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extras=""
[ "${1:-}" = "dev" ] && extras="[dev,spark]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
# the example format plugin the tests submit through (tests/test_format_plugins.py)
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e tests/plugins/habmon-jsonl
fi
