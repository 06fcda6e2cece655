"""One error shape for every error, in JSON and HTML: ``{"error": {"type", "message", "details"}}``.

The HTTP status of a service error comes from :data:`STATUS` by its class (the nearest class in its
MRO wins), so a new error type registers here instead of growing a ladder of ``isinstance`` checks.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from habmon.engine.aggregate import NotAggregable
from habmon.engine.backends import EngineUnavailable
from habmon.problems import HabmonError, InvalidDocument, NotFound
from habmon.store.database import DatabaseUnavailable
from habmon.web.render import Renderer, json_response, wants_json
from habmon.web.requestlog import CURRENT_REQUEST, request_id_of

logger = logging.getLogger(__name__)
DATABASE_RETRY_AFTER = DatabaseUnavailable.retry_after

STATUS: dict[type[Exception], int] = {
    HabmonError: 400,
    InvalidDocument: 422,
    NotFound: 404,
    NotAggregable: 422,
    EngineUnavailable: 503,
    DatabaseUnavailable: 503,
}


def register_status(error: type[Exception], status: int) -> None:
    STATUS[error] = status


def status_of(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def type_code(error: Exception) -> str:
    """``NotFound`` → ``not-found``: a stable, documented code per error class."""
    name = type(error).__name__.removesuffix("Error") or type(error).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def error_body(kind: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error shape, with the id of the request being answered (wherever the body is made)."""
    return {"error": {"type": kind, "message": message, "details": details or {}, "request_id": CURRENT_REQUEST.get()}}


def habmon_error_body(error: HabmonError) -> dict[str, Any]:
    details: dict[str, Any] = {k: v for k in ("expected", "found", "hint") if (v := getattr(error, k, ""))}
    if isinstance(error, InvalidDocument):
        details["problems"] = error.report.to_dict()
        message = f"{error.source}: {len(error.report.errors)} error(s)"
    else:
        message = error.args[0] if error.args else type(error).__name__
    return error_body(type_code(error), str(message), details)


def install(app: FastAPI, renderer: Renderer) -> None:
    def respond(request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        body["error"]["request_id"] = body["error"].get("request_id") or request_id_of(request.scope)
        if request.url.path.startswith("/api/") or wants_json(request):
            return json_response(request, body, status_code=status, headers=headers or {})
        data = {**body, "status": status, "title": str(status)}
        page = renderer.html(request, "error.html", data, status_code=status)
        page.headers.update(headers or {})
        return page

    @app.exception_handler(HabmonError)
    async def on_habmon_error(request: Request, error: HabmonError) -> Response:
        headers = {"Retry-After": str(int(retry))} if (retry := getattr(error, "retry_after", None)) else None
        return respond(request, status_of(error), habmon_error_body(error), headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "found": e.get("input")}
            for e in error.errors()
        ]
        body = error_body("invalid-request", "the request's parameters are not valid", {"problems": problems})
        return respond(request, 422, body)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def on_database_unavailable(request: Request, error: Exception) -> Response:
        """The database restarting or out of reach: 503 with Retry-After, never a traceback."""
        logger.warning("database unavailable while answering %s: %s", request.url.path, type(error).__name__)
        body = error_body("database-unavailable", "the database is not available right now; try again shortly")
        return respond(request, 503, body, {"Retry-After": str(DATABASE_RETRY_AFTER)})

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> Response:
        """A bug: logged with its traceback; the answer names only the request id to quote. (Errors raised in a
        middleware — signing in reads the store — reach only this handler: the database's are still a 503.)"""
        if isinstance(error, OperationalError | InterfaceError):
            return await on_database_unavailable(request, error)
        if isinstance(error, HabmonError):
            return await on_habmon_error(request, error)
        logger.error("unexpected error answering %s", request.url.path, exc_info=error)
        return respond(request, 500, error_body("internal-error", "an unexpected error occurred"))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> Response:
        kinds = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}
        body = error_body(kinds.get(error.status_code, f"http-{error.status_code}"), str(error.detail))
        headers = dict(error.headers or {})
        if error.status_code == 405:  # every method of the path, not only those of the first route matched
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return respond(request, error.status_code, body, headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of every route whose path matches ``path``."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        if route.methods and route.path and compile_path(route.path)[0].match(path):
            methods |= set(route.methods)
    return sorted(methods)
