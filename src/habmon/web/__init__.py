"""The web app and REST API: a thin layer over the same services the CLI calls.

Every HTML page is a renderer over the data its JSON twin returns (the same URL + ``.json``,
or ``Accept: application/json``); the REST API lives under ``/api/v1``.
"""

from habmon.web.app import create_app

__all__ = ["create_app"]
