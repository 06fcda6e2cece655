"""What every API endpoint shares: pagination, the error responses it documents, the site."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from habmon.web.settings import WebSettings

T = TypeVar("T")
MAX_PAGE_SIZE = 1000

# how writes authenticate in the OpenAPI document (habmon.web.auth reads the header itself: auto_error off)
bearer = HTTPBearer(auto_error=False, description="an API token: Authorization: Bearer hm_…")


class ErrorDetail(BaseModel):
    type: str
    message: str
    details: dict[str, Any]
    request_id: str | None = None  # quote it when reporting a problem: the server's log line carries it


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "The request cannot be carried out (see error.details: expected, found, hint)",
        401: "Authentication needed",
        403: "Not allowed for this user",
        404: "Not found",
        422: "Invalid parameters or document (error.details.problems lists each)",
    }.items()
}


class PageInfo(BaseModel):
    limit: int
    offset: int
    total: int
    next: str | None


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


def paging(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")] = 0,
) -> Paging:
    """The ``limit``/``offset`` of a list request (default limit from the app's settings)."""
    settings: WebSettings = request.app.state.site.services.settings
    return Paging(min(limit or settings.page_size, settings.max_page_size), offset)


PageParams = Annotated[Paging, Depends(paging)]


def paginate(request: Request, items: Sequence[T], paging: Paging) -> tuple[list[T], PageInfo]:
    chosen = list(items[paging.offset : paging.offset + paging.limit])
    following = paging.offset + paging.limit
    next_url = str(request.url.include_query_params(offset=following)) if following < len(items) else None
    return chosen, PageInfo(limit=paging.limit, offset=paging.offset, total=len(items), next=next_url)
