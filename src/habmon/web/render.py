"""One renderer for every page: the same data as HTML (a Jinja template) or as its JSON twin.

A page handler builds a :class:`Page` — the template and the data — and never HTML. The JSON twin is
the same URL with ``.json`` (or ``Accept: application/json``) and returns ``page.data`` unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from habmon.web.i18n import LANG_COOKIE, Translator, negotiate
from habmon.web.settings import LANGUAGES, WebSettings

JSON_SUFFIX = ".json"
JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    data: Mapping[str, Any]
    title: str = ""
    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, bytes):  # e.g. the body of a request that was not valid, quoted in an error
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(data: Any) -> bytes:
    return json.dumps(data, default=_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def wants_json(request: Request) -> bool:
    if request.url.path.endswith(JSON_SUFFIX):
        return True
    accept = request.headers.get("accept", "")
    return JSON_TYPE in accept and "text/html" not in accept


def language(request: Request, settings: WebSettings) -> str:
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        settings.default_language,
    )


def json_response(
    request: Request, data: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """JSON with a strong ETag; ``If-None-Match`` with the same tag gets 304."""
    body = to_json(data)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    all_headers = {"ETag": etag, "Vary": "Accept, Cookie", **(headers or {})}
    if status_code == 200 and etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=all_headers)
    return Response(body, status_code=status_code, media_type=JSON_TYPE, headers=all_headers)


class Renderer:
    def __init__(self, settings: WebSettings, extra_template_dirs: tuple[Path, ...] = ()) -> None:
        self.settings = settings
        self.env = Environment(
            loader=PackageLoader("habmon.web", "templates"),
            autoescape=select_autoescape(["html", "svg", "xml"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.globals: dict[str, Any] = {}

    def add_global(self, name: str, value: Any) -> None:
        self.env.globals[name] = value

    def add_filter(self, name: str, function: Callable[..., Any]) -> None:
        self.env.filters[name] = function

    def html(self, request: Request, template: str, data: Mapping[str, Any], *, status_code: int = 200) -> Response:
        lang = language(request, self.settings)
        translator = Translator(lang)
        context = {
            "request": request,
            "data": data,
            "lang": lang,
            "languages": LANGUAGES,
            "_": translator.gettext,
            "gettext": translator.gettext,
            "ngettext": translator.ngettext,
            "json_url": _json_url(request),
            **getattr(request.state, "template_context", {}),
        }
        body = self.env.get_template(template).render(context)
        response = HTMLResponse(body, status_code=status_code)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="lax",
                secure=self.settings.secure_cookies,
            )  # fmt: skip
        return response

    def respond(self, request: Request, page: Page) -> Response:
        if wants_json(request):
            return json_response(request, page.data, status_code=page.status_code, headers=page.headers)
        response = self.html(request, page.template, {**page.data, "title": page.title}, status_code=page.status_code)
        response.headers.update(page.headers)
        return response


def _json_url(request: Request) -> str:
    path = request.url.path.rstrip("/") or "/index"
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{path}{JSON_SUFFIX}{query}"


def page_route(router: APIRouter, path: str, *, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a page handler at ``path`` and its JSON twin at ``path + '.json'`` (``/`` → ``/index.json``)."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        twin = "/index.json" if path == "/" else path + JSON_SUFFIX
        router.add_api_route(twin, handler, methods=["GET"], name=f"{name}.json", include_in_schema=False)
        router.add_api_route(path, handler, methods=["GET"], name=name, include_in_schema=False)
        return handler

    return register
