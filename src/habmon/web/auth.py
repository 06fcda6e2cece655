"""Who is asking: the request's :class:`Principal`, sign-in and sign-out, CSRF on every form.

* A browser holds a server-side session (:meth:`Access.open_session`) in the ``habmon_session`` cookie
  (HttpOnly, SameSite=Lax, Secure when ``settings.secure_cookies``). The session's CSRF token travels
  in the ``habmon_csrf`` cookie so that every page can put it into its forms; a form is accepted only
  when the token it carries is the one stored (hashed) for its session.
* The sign-in form, sent before a session exists, uses the same cookie as a double-submit token.
* API clients send ``Authorization: Bearer hm_…``; such requests carry no cookies' authority and need
  no CSRF token. A token that is unknown or revoked gets 401 on any path.
* Nobody of the above: the public.

The decision what a principal may do is never made here: handlers call the services with the
principal (``Monitor(principal=…)``, ``Access``) and the services decide. A refusal addressed to the
public becomes 401 (sign in first) instead of 403.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from habmon.access.model import Action, Principal, Role
from habmon.access.policy import Forbidden, Rule, authorize, rule_for
from habmon.access.service import (
    SESSION_LIFETIME,
    Access,
    AccessError,
    AuthenticationFailed,
    CsrfMismatch,
    LoginThrottled,
)
from habmon.services import Monitor
from habmon.web.app import Site
from habmon.web.errors import error_body, habmon_error_body, register_status
from habmon.web.render import Page, json_response, page_route, to_json, wants_json
from habmon.web.settings import WebSettings

SESSION_COOKIE = "habmon_session"
CSRF_COOKIE = "habmon_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BEARER = "bearer "

register_status(Forbidden, 403)
register_status(CsrfMismatch, 403)
register_status(AuthenticationFailed, 401)
register_status(LoginThrottled, 429)
register_status(AccessError, 400)


@dataclass(frozen=True, slots=True)
class Identity:
    """How a request is authenticated. ``via``: ``public``, ``session`` or ``token``."""

    principal: Principal
    via: str = "public"
    session: str | None = None  # the session token (cookie), to check CSRF and to sign out
    csrf: str | None = None  # the CSRF token from its cookie, to put into forms
    clear_session_cookie: bool = False  # the cookie named a session that has ended

    @property
    def signed_in(self) -> bool:
        return self.via != "public"


PUBLIC = Identity(Principal.public())


def _(message: str) -> str:
    """Marks an interface string for extraction (scripts/i18n.sh); the template translates it."""
    return message


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: _("administrator"),
    Role.OFFICER: _("monitoring officer"),
    Role.FOCAL_POINT: _("focal point"),
    Role.PARTNER: _("partner"),
    Role.PUBLIC: _("the public"),
}


# what the sign-in page may say (messages of habmon.access.service), for the catalogue
LOGIN_MESSAGES = (
    _("wrong username or password"),
    _("too many failed logins for this username"),
    _("too many failed logins for this address"),
)


@dataclass(frozen=True, slots=True)
class NavLink:
    href: str
    label: str  # an English msgid: the template translates it
    action: Action


# The links of the user area, each shown when the principal's role may ever do its action.
# The pages decide again, per object, in the services.
NAV: tuple[NavLink, ...] = (
    NavLink("/submissions", _("Submissions"), Action.READ_SUBMISSION),
    NavLink("/review", _("Review queue"), Action.APPROVE),
    NavLink("/surveys", _("Surveys"), Action.LOAD_SURVEY),
    NavLink("/runs", _("Monitoring runs"), Action.RUN_ENGINE),
    NavLink("/audit", _("Audit log"), Action.READ_AUDIT),
    NavLink("/admin/users", _("Users"), Action.MANAGE_USERS),
    NavLink("/account", _("My account"), Action.MANAGE_OWN_TOKENS),
)


def nav_links(principal: Principal) -> list[dict[str, str]]:
    return [{"href": n.href, "label": n.label} for n in NAV if rule_for(principal, n.action) != Rule.NEVER]


def user_context(identity: Identity) -> dict[str, Any]:
    """What base.html needs: the user, their role, the CSRF token and the links they can use."""
    p = identity.principal
    return {
        "user": None
        if not identity.signed_in
        else {"username": p.username, "display_name": p.display_name or p.username, "role": str(p.role)},
        "role": str(p.role),
        "role_text": ROLE_LABELS[p.role],
        CSRF_FIELD: identity.csrf or "",
        "nav_links": nav_links(p),
    }


def access_of(site: Site) -> Access:
    access: Access = site.app.state.access
    return access


def _cookie_header(name: str, value: str, settings: WebSettings, max_age: int | None) -> str:
    response = Response()
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
    )
    return response.headers["set-cookie"]


class Authenticate:
    """ASGI middleware: puts the request's :class:`Identity` and the template's user context on ``request.state``."""

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    def resolve(self, request: Request) -> Identity | None:
        """The identity of a request; None when it sent a bearer token that is not valid."""
        access = access_of(self.site)
        authorization = request.headers.get("authorization", "")
        if authorization[: len(BEARER)].lower() == BEARER:
            principal = access.principal_for_token(authorization[len(BEARER) :].strip())
            return None if principal is None else Identity(principal, "token")
        csrf = request.cookies.get(CSRF_COOKIE)
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            principal = access.principal_for_session(session)
            if principal is not None:
                return Identity(principal, "session", session, csrf)
            return Identity(PUBLIC.principal, csrf=csrf, clear_session_cookie=True)
        return Identity(PUBLIC.principal, csrf=csrf)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        needs_store = request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE)
        identity = await run_in_threadpool(self.resolve, request) if needs_store else self.resolve_public(request)
        if identity is None:
            await self.unauthorized(scope, receive, send)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["identity"] = identity
        state["template_context"] = user_context(identity)
        if not identity.signed_in and not identity.clear_session_cookie:
            await self.app(scope, receive, send)
            return
        expired = _cookie_header(SESSION_COOKIE, "", self.site.services.settings, 0)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if identity.signed_in and "cache-control" not in headers:
                    headers["Cache-Control"] = "private, no-store"  # a user's own pages stay out of shared caches
                if identity.clear_session_cookie:
                    headers.append("set-cookie", expired)
            await send(message)

        await self.app(scope, receive, send_marked)

    @staticmethod
    def resolve_public(request: Request) -> Identity:
        return Identity(PUBLIC.principal, csrf=request.cookies.get(CSRF_COOKIE))

    async def unauthorized(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = error_body(
            "unauthorized",
            "the API token is not valid",
            {
                "expected": "a token created with `habmon tokens create` or on the account page, not revoked",
                "found": "an unknown or revoked token",
            },
        )
        response = Response(
            to_json(body),
            status_code=401,
            media_type="application/json",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
        await response(scope, receive, send)


def identity(request: Request) -> Identity:
    found: Identity = getattr(request.state, "identity", PUBLIC)
    return found


def principal(request: Request) -> Principal:
    return identity(request).principal


CurrentIdentity = Annotated[Identity, Depends(identity)]
CurrentPrincipal = Annotated[Principal, Depends(principal)]


def monitor_for(site: Site, who: Principal) -> Monitor:
    """A Monitor acting as ``who``, sharing the app's cached registry and geography."""
    services = site.services
    return Monitor(services.store, registry=services.registry(), geography=services.geography(), principal=who)


async def _supplied_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def require_csrf(request: Request) -> None:
    """Every state-changing request authenticated by a session cookie carries that session's CSRF token
    (form field ``csrf_token`` or header ``X-CSRF-Token``). Token-authenticated and anonymous requests
    carry no cookie authority; the service refuses anonymous writes (401)."""
    who = identity(request)
    if request.method in SAFE_METHODS or who.via != "session" or who.session is None:
        return
    supplied = await _supplied_csrf(request)
    access = access_of(request.app.state.site)
    await run_in_threadpool(access.check_csrf, who.session, supplied)


async def require_login_csrf(request: Request) -> None:
    """The sign-in form: the double-submit cookie (set when the form was shown) must equal the form's token."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    supplied = await _supplied_csrf(request)
    if not cookie or not supplied or not hmac.compare_digest(cookie, supplied):
        raise CsrfMismatch(
            "the sign-in form did not carry its CSRF token",
            expected="the token of the sign-in page the form came from (cookies enabled)",
            found="another or none",
            hint="reload the sign-in page and send the form again",
        )


CsrfChecked = Depends(require_csrf)


def refused_early(action: Action) -> Any:
    """A dependency for an API operation: a principal whose role may never do ``action`` gets the policy's
    refusal before the request's parameters are validated — 401 for the public rather than a 422 about a
    missing field. It asks :func:`authorize` exactly what the service asks first; the service decides the rest."""

    def check(request: Request) -> None:
        who = principal(request)
        if rule_for(who, action) == Rule.NEVER:
            authorize(who, action)

    return Depends(check)


def safe_next(target: str | None) -> str:
    """Only a local path: an open redirect would let another site send users anywhere after sign-in."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _respond(site: Site, request: Request, status: int, body: dict[str, Any], headers: dict[str, str]) -> Response:
    if request.url.path.startswith("/api/") or wants_json(request):
        return json_response(request, body, status_code=status, headers=headers)
    data = {**body, "status": status, "title": str(status)}
    response = site.renderer.html(request, "error.html", data, status_code=status)
    response.headers.update(headers)
    return response


def register(site: Site) -> None:
    settings = site.services.settings
    site.app.state.access = Access(site.services.store)
    site.app.add_middleware(Authenticate, site=site)
    router = APIRouter()

    async def on_forbidden(request: Request, error: Exception) -> Response:
        """403 for a signed-in user; the public is asked to sign in (401, or the sign-in page for a page view)."""
        assert isinstance(error, Forbidden)
        if identity(request).signed_in:
            return _respond(site, request, 403, habmon_error_body(error), {})
        if request.method in SAFE_METHODS and not request.url.path.startswith("/api/") and not wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        body = habmon_error_body(error)
        body["error"]["type"] = "unauthorized"
        body["error"]["message"] = "sign in or send an API token: " + str(error.args[0] if error.args else "")
        return _respond(site, request, 401, body, {"WWW-Authenticate": 'Bearer realm="habmon"'})

    site.app.add_exception_handler(Forbidden, on_forbidden)

    def set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
        )

    @page_route(router, "/login", name="login")
    def login_page(request: Request, who: CurrentIdentity, next: str | None = None) -> Response:
        token = who.csrf or secrets.token_urlsafe(32)
        request.state.template_context = {**user_context(who), CSRF_FIELD: token}
        data = {"next": safe_next(next), "signed_in": who.signed_in, "user": user_context(who)["user"]}
        response = site.renderer.respond(request, Page("login.html", data, title="Sign in"))
        if who.csrf is None:
            set_cookie(response, CSRF_COOKIE, token, None)
        return response

    @router.post("/login", name="login.submit", include_in_schema=False, dependencies=[Depends(require_login_csrf)])
    async def login_submit(
        request: Request,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1024)],
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        access = access_of(site)
        remote = request.client.host if request.client else "unknown"
        target = safe_next(next)
        try:
            who = await run_in_threadpool(access.authenticate, username, password, remote)
        except (AuthenticationFailed, LoginThrottled) as error:
            if wants_json(request):
                raise
            status = 429 if isinstance(error, LoginThrottled) else 401
            retry = getattr(error, "retry_after", None)
            data = {"next": target, "signed_in": False, "username": username, **habmon_error_body(error)}
            page = Page(
                "login.html", data, title="Sign in", status_code=status,
                headers={"Retry-After": str(retry)} if retry else {},
            )  # fmt: skip
            return site.renderer.respond(request, page)
        session, csrf = await run_in_threadpool(access.open_session, who)
        old = identity(request).session
        if old:
            await run_in_threadpool(access.close_session, old)
        if wants_json(request):
            response: Response = json_response(
                request, {"username": who.username, "role": str(who.role), "csrf_token": csrf}
            )
        else:
            response = RedirectResponse(target, status_code=303)
        max_age = int(SESSION_LIFETIME.total_seconds())  # the server ends the session then, whatever the cookie
        set_cookie(response, SESSION_COOKIE, session, max_age)
        set_cookie(response, CSRF_COOKIE, csrf, max_age)
        return response

    @router.post("/logout", name="logout", include_in_schema=False, dependencies=[CsrfChecked])
    async def logout(request: Request, who: CurrentIdentity) -> Response:
        if who.session:
            await run_in_threadpool(access_of(site).close_session, who.session)
        response = RedirectResponse("/", status_code=303)
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies)
        return response

    site.app.include_router(router)


__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "CsrfChecked",
    "CurrentIdentity",
    "CurrentPrincipal",
    "Identity",
    "monitor_for",
    "principal",
    "register",
]
