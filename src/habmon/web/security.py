"""Security headers on every response: a strict Content-Security-Policy and its companions.

The pages load nothing but their own stylesheet and, as charts arrive, their own scripts from
``/static``: no CDN, no inline script, no inline style. So the policy is ``'self'`` throughout,
images may also be ``data:`` URLs (the favicon), and no site may frame habmon
(``frame-ancestors 'none'`` and the older ``X-Frame-Options: DENY``). HSTS is sent only when the
app is told it runs behind HTTPS (``--secure-cookies``): sent over plain HTTP it would lock a
browser out of a deployment that has no certificate yet.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from habmon.web.app import Site

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(*, https: bool) -> Mapping[str, str]:
    """The headers every response carries (HSTS only behind HTTPS)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """ASGI middleware: adds :func:`security_headers` to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def register(site: Site) -> None:
    site.app.add_middleware(SecurityHeaders, headers=security_headers(https=site.services.settings.secure_cookies))
