"""A request id for every request, and one structured log line (JSON) for each.

The id is the client's ``X-Request-ID`` when it is a short token (a reverse proxy may set one),
otherwise a new one; it is answered in the ``X-Request-ID`` header and in every error body
(``error.request_id``) and error page, so a person reporting a problem can quote it and an operator
finds the log line. Log lines go to the ``habmon.request`` logger as JSON objects:
``{"event": "request", "request_id", "method", "path", "route", "status", "ms", "user"}``.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # the app imports the error handlers, which import this module
    from habmon.web.app import Site

logger = logging.getLogger("habmon.request")
# the id of the request this code is answering: error bodies made anywhere (a middleware, a route) carry it
CURRENT_REQUEST: ContextVar[str | None] = ContextVar("habmon_request_id", default=None)

HEADER = "X-Request-ID"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{8,64}")


UNMATCHED = "(unmatched)"


def route_of(scope: Scope) -> str:
    """The template of the route that answered (``/indicators/{code}``), or ``(unmatched)``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state") or {}
    found = state.get("request_id")
    return found if isinstance(found, str) else None


class JsonLines(logging.Formatter):
    """A formatter for operators' log shippers: the record's ``fields`` (or message) as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", None) or {"message": record.getMessage()}
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname, **fields}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestLog:
    """ASGI middleware: assigns the request id, answers it in a header, logs the request when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(HEADER.lower().encode(), b"").decode("latin-1")
        request_id = incoming if _ACCEPTABLE.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = CURRENT_REQUEST.set(request_id)
        started = time.perf_counter()
        status = 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            CURRENT_REQUEST.reset(token)
            identity = (scope.get("state") or {}).get("identity")
            user = getattr(getattr(identity, "principal", None), "username", None)
            fields = {
                "event": "request",
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "route": route_of(scope),
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user,
            }
            logger.info("%s %s %s", fields["method"], fields["path"], status, extra={"fields": fields})


def register(site: Site) -> None:
    site.app.add_middleware(RequestLog)
