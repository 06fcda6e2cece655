"""``/api``: the REST API's operations, read from the app's own OpenAPI document.

FastAPI's Swagger UI loads its scripts from a CDN, which no page of habmon may do; this page
renders the same document server-side (its JSON twin lists the operations).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from habmon.web.app import Site
from habmon.web.render import Page, page_route

METHODS = ("get", "post", "put", "patch", "delete")


def operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append(
                {
                    "operation_id": operation.get("operationId", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "tags": operation.get("tags", []),
                    "needs_token": bool(operation.get("security")),
                    "parameters": [
                        {"name": p["name"], "in": p["in"], "required": p.get("required", False)}
                        for p in operation.get("parameters", [])
                    ],
                    "responses": sorted(operation.get("responses", {})),
                }
            )
    return found


def register(site: Site) -> None:
    router = APIRouter()

    @page_route(router, "/api", name="api_reference")
    def api_reference(request: Request) -> Response:
        document = site.app.openapi()
        data = {
            "title": document["info"]["title"],
            "version": document["info"]["version"],
            "openapi_url": site.app.openapi_url,
            "operations": operations(document),
        }
        return site.renderer.respond(request, Page("api_reference.html", data, title=data["title"]))

    site.app.include_router(router)
