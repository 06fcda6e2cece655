"""Uploads: at most ``settings.max_upload_bytes`` per file, refused early when the request says it is larger.

A request whose ``Content-Length`` exceeds the limit (plus room for the form's other fields) is answered
413 before its body is read; a chunked upload is measured after parsing. Either way the error names the
limit and the size found. The file is then saved under a temporary directory with a harmless name that
keeps its extension (the readers detect the format by it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import Request, UploadFile
from starlette.types import ASGIApp, Receive, Scope, Send

from habmon.problems import HabmonError
from habmon.web.app import Site
from habmon.web.errors import habmon_error_body, register_status
from habmon.web.render import json_response, wants_json

FORM_OVERHEAD = 64 * 1024  # the other fields of a submission form and the multipart boundaries
UPLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UploadTooLarge(HabmonError):
    """A file (or a whole request) larger than the upload limit."""


register_status(UploadTooLarge, 413)


def _mb(size: int) -> str:
    return f"{size:,} bytes ({size / 1_000_000:.1f} MB)"


def too_large(limit: int, size: int, what: str = "the file") -> UploadTooLarge:
    return UploadTooLarge(
        f"{what} is larger than the upload limit",
        expected=f"at most {_mb(limit)}",
        found=_mb(size),
        hint="split the data into several submissions, or ask an administrator to raise max_upload_bytes",
    )


class UploadLimit:
    """ASGI middleware: 413 for any request that announces a body larger than the limit allows."""

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UPLOAD_METHODS:
            limit = self.site.services.settings.max_upload_bytes
            request = Request(scope)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
                error = too_large(limit, int(declared), "the request")
                body = habmon_error_body(error)
                if request.url.path.startswith("/api/") or wants_json(request):
                    response = json_response(request, body, status_code=413, headers={"Connection": "close"})
                else:
                    response = self.site.renderer.html(
                        request, "error.html", {**body, "status": 413, "title": "413"}, status_code=413
                    )
                    response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def safe_name(filename: str | None) -> str:
    """The last part of a client's file name (either slash), without control characters; ``upload`` if none."""
    raw = filename or ""
    last = PureWindowsPath(PurePosixPath(raw).name).name
    cleaned = "".join(ch for ch in last if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return cleaned[:200] or "upload"


@contextmanager
def saved(upload: UploadFile, limit: int) -> Iterator[Path]:
    """The uploaded file on disk (deleted afterwards); :class:`UploadTooLarge` when it exceeds ``limit``."""
    size = upload.size
    if size is None:
        upload.file.seek(0, 2)
        size = upload.file.tell()
    if size > limit:
        raise too_large(limit, size)
    upload.file.seek(0)
    with tempfile.TemporaryDirectory(prefix="habmon-upload-") as directory:
        path = Path(directory) / safe_name(upload.filename)
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        yield path


def register(site: Site) -> None:
    site.app.add_middleware(UploadLimit, site=site)
