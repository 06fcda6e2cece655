"""Users and roles (administrators), one's own account and API tokens, and the audit-log browser.

Pages (each with its JSON twin): ``/admin/users``, ``/admin/users/{username}``, ``/account``, ``/audit``.
Forms post to the same areas and answer with a redirect (303), except those that create an API token:
they show the token on the page — the only time it is ever shown.

Every decision is the service's: :class:`~habmon.access.service.Access` authorizes user management and
tokens, :meth:`Monitor.audit_events` the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from habmon.access.model import Principal, Role
from habmon.access.service import Access, TokenInfo, UserInfo
from habmon.problems import NotFound
from habmon.web.app import Site
from habmon.web.auth import ROLE_LABELS, CsrfChecked, CurrentIdentity, CurrentPrincipal, access_of, monitor_for
from habmon.web.render import Page, language, page_route, wants_json

ASSIGNABLE_ROLES = (Role.ADMIN, Role.OFFICER, Role.FOCAL_POINT, Role.PARTNER)
AUDIT_PAGE = 100
AUDIT_MAX = 1000
AUDIT_TYPES = (
    "submission",
    "batch",
    "user",
    "api_token",
    "web_session",
    "engine_run",
    "plan_version",
    "registry_version",
    "geography_version",
    "engagement_list",
)


def codes(text: str) -> list[str]:
    """Place codes typed into one field, separated by spaces or commas."""
    return [c for c in text.replace(",", " ").split() if c]


def user_data(site: Site, user: UserInfo, lang: str = "en") -> dict[str, Any]:
    geography = site.services.geography()
    data = user.to_dict()
    data["scope"] = [
        {"code": c, "name": geography.units[c].name(lang) if c in geography.units else c} for c in user.geo_scope
    ]
    return data


def tokens_data(tokens: list[TokenInfo]) -> list[dict[str, Any]]:
    return [t.to_dict() for t in tokens]


def find_user(access: Access, actor: Principal, username: str) -> UserInfo:
    """A user, for someone who may manage users (the service decides: listing users is authorized)."""
    wanted = username.strip().casefold()
    for user in access.users(actor):
        if user.username == wanted:
            return user
    raise NotFound(f"no user {username}", expected="a stored username", found=username)


def register(site: Site) -> None:
    router = APIRouter()
    services = site.services

    def lang_of(request: Request) -> str:
        return language(request, services.settings)

    def redirect(request: Request, target: str, data: dict[str, Any]) -> Response:
        if wants_json(request):
            return site.renderer.respond(request, Page("", data))
        return RedirectResponse(target, status_code=303)

    # -- users (administrators) --------------------------------------------------------------

    def users_page(request: Request, who: Principal, status: int = 200, error: Any = None) -> Response:
        access = access_of(site)
        data = {
            "users": [user_data(site, u, lang_of(request)) for u in access.users(who)],
            "roles": [str(r) for r in ASSIGNABLE_ROLES],
            "role_labels": {str(r): ROLE_LABELS[r] for r in ASSIGNABLE_ROLES},
        }
        return site.renderer.respond(request, Page("admin/users.html", data, title="Users", status_code=status))

    @page_route(router, "/admin/users", name="admin.users")
    def admin_users(request: Request, who: CurrentPrincipal) -> Response:
        return users_page(request, who)

    @router.post("/admin/users", name="admin.users.create", include_in_schema=False, dependencies=[CsrfChecked])
    def admin_users_create(
        request: Request,
        who: CurrentPrincipal,
        username: Annotated[str, Form(max_length=64)],
        role: Annotated[Role, Form()],
        display_name: Annotated[str, Form(max_length=200)] = "",
        organization: Annotated[str, Form(max_length=200)] = "",
        geo_scope: Annotated[str, Form(max_length=2000)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
    ) -> Response:
        user = access_of(site).create_user(
            who,
            username,
            role=role,
            password=password or None,
            display_name=display_name.strip() or None,
            organization=organization,
            geo_scope=codes(geo_scope),
        )
        return redirect(request, f"/admin/users/{user.username}", user_data(site, user))

    def user_page(request: Request, who: Principal, username: str, new_token: str | None = None) -> Response:
        access = access_of(site)
        user = find_user(access, who, username)
        data = {
            "account": user_data(site, user, lang_of(request)),
            "tokens": tokens_data(access.tokens(who, user.username)),
            "new_token": new_token,
            "role_labels": {str(r): ROLE_LABELS[r] for r in Role},
        }
        return site.renderer.respond(request, Page("admin/user.html", data, title=user.username))

    @page_route(router, "/admin/users/{username}", name="admin.user")
    def admin_user(request: Request, who: CurrentPrincipal, username: str) -> Response:
        return user_page(request, who, username)

    @router.post(
        "/admin/users/{username}/active", name="admin.user.active", include_in_schema=False, dependencies=[CsrfChecked]
    )
    def admin_user_active(
        request: Request, who: CurrentPrincipal, username: str, active: Annotated[bool, Form()]
    ) -> Response:
        user = access_of(site).set_active(who, username, active)
        return redirect(request, f"/admin/users/{user.username}", user_data(site, user))

    @router.post(
        "/admin/users/{username}/scope", name="admin.user.scope", include_in_schema=False, dependencies=[CsrfChecked]
    )
    def admin_user_scope(
        request: Request, who: CurrentPrincipal, username: str, geo_scope: Annotated[str, Form(max_length=2000)]
    ) -> Response:
        user = access_of(site).set_scope(who, username, codes(geo_scope))
        return redirect(request, f"/admin/users/{user.username}", user_data(site, user))

    @router.post(
        "/admin/users/{username}/password",
        name="admin.user.password",
        include_in_schema=False,
        dependencies=[CsrfChecked],
    )
    def admin_user_password(
        request: Request, who: CurrentPrincipal, username: str, password: Annotated[str, Form(max_length=1024)]
    ) -> Response:
        access = access_of(site)
        access.set_password(who, username, password)
        return redirect(request, f"/admin/users/{username}", user_data(site, find_user(access, who, username)))

    @router.post(
        "/admin/users/{username}/tokens", name="admin.user.tokens", include_in_schema=False, dependencies=[CsrfChecked]
    )
    def admin_user_token(
        request: Request, who: CurrentPrincipal, username: str, name: Annotated[str, Form(max_length=200)]
    ) -> Response:
        access = access_of(site)
        user = find_user(access, who, username)
        plaintext, _info = access.create_token(user.principal, name, by=who)
        return user_page(request, who, user.username, new_token=plaintext)

    @router.post(
        "/admin/tokens/{token_id}/revoke",
        name="admin.token.revoke",
        include_in_schema=False,
        dependencies=[CsrfChecked],
    )
    def admin_token_revoke(request: Request, who: CurrentPrincipal, token_id: int) -> Response:
        token = access_of(site).revoke_token(who, token_id)
        return redirect(request, f"/admin/users/{token.username}", token.to_dict())

    # -- one's own account ----------------------------------------------------------------------

    def account_page(request: Request, who: Principal, new_token: str | None = None, status: int = 200) -> Response:
        access = access_of(site)
        tokens = access.tokens(who, who.username)
        data = {
            "account": user_data(site, access.user(who.username), lang_of(request)),
            "tokens": tokens_data(tokens),
            "new_token": new_token,
        }
        return site.renderer.respond(request, Page("account.html", data, title="My account", status_code=status))

    @page_route(router, "/account", name="account")
    def account(request: Request, who: CurrentPrincipal) -> Response:
        return account_page(request, who)

    @router.post("/account/tokens", name="account.tokens", include_in_schema=False, dependencies=[CsrfChecked])
    def account_token(request: Request, who: CurrentPrincipal, name: Annotated[str, Form(max_length=200)]) -> Response:
        plaintext, _info = access_of(site).create_token(who, name)
        return account_page(request, who, new_token=plaintext, status=201)

    @router.post(
        "/account/tokens/{token_id}/revoke",
        name="account.token.revoke",
        include_in_schema=False,
        dependencies=[CsrfChecked],
    )
    def account_token_revoke(request: Request, who: CurrentPrincipal, token_id: int) -> Response:
        token = access_of(site).revoke_token(who, token_id)
        return redirect(request, "/account", token.to_dict())

    @router.post("/account/password", name="account.password", include_in_schema=False, dependencies=[CsrfChecked])
    async def account_password(
        request: Request,
        who: CurrentIdentity,
        current: Annotated[str, Form(max_length=1024)],
        password: Annotated[str, Form(max_length=1024)],
    ) -> Response:
        access = access_of(site)
        await run_in_threadpool(access.set_password, who.principal, who.principal.username, password, current=current)
        # every session of the user has ended, this one too: sign in again with the new password
        return redirect(request, "/login?next=/account", {"username": who.principal.username, "password": "changed"})

    # -- the audit log ---------------------------------------------------------------------------

    @page_route(router, "/audit", name="audit")
    def audit(
        request: Request,
        who: CurrentPrincipal,
        type: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=AUDIT_MAX)] = AUDIT_PAGE,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> Response:
        events = monitor_for(site, who).audit_events(type or None, limit=offset + limit + 1)
        shown = events[offset : offset + limit]
        data = {
            "type": type or None,
            "types": list(AUDIT_TYPES),
            "limit": limit,
            "offset": offset,
            "events": shown,
            "previous": max(0, offset - limit) if offset else None,
            "next": offset + limit if len(events) > offset + limit else None,
        }
        return site.renderer.respond(request, Page("audit.html", data, title="Audit log"))

    site.app.include_router(router)
