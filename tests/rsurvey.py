"""Running R's survey package (the reference for habmon.surveys) from tests: never skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

R_DIR = Path(__file__).parent / "r"
INSTALL_HINT = (
    "R's survey package is the reference these tests compare with; scripts/install-system-deps.sh "
    "installs it (Debian r-base-core and r-cran-survey)"
)


def rscript(script: str, *args: str) -> None:
    """Run tests/r/<script> with Rscript; fail (never skip) when R or its survey package is missing."""
    exe = shutil.which("Rscript")
    if exe is None:
        pytest.fail(f"Rscript not found. {INSTALL_HINT}")
    check = subprocess.run([exe, "-e", "library(survey); library(jsonlite)"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.fail(f"R cannot load survey/jsonlite: {check.stderr.strip()[-300:]}. {INSTALL_HINT}")
    done = subprocess.run([exe, str(R_DIR / script), *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{script} failed: {done.stderr[-2000:]}")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def close(found: float, expected: float, rel: float = 1e-8, zero: float = 1e-12) -> bool:
    """Equal to a relative ``rel``; values both within ``zero`` of 0 (rounding noise of an exact 0) are equal."""
    if abs(expected) <= zero:
        return abs(found) <= zero
    return abs(found - expected) <= rel * abs(expected)
