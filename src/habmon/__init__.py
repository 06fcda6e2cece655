"""Habitat Monitor: results-based monitoring of UN-Habitat's Strategic Plan 2026–2029."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("habmon")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
