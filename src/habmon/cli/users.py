"""``habmon users …`` and ``habmon tokens …``: accounts and API tokens, run by the local operator.

Passwords are read from a hidden prompt (typed twice) or, with ``--password-stdin``, from the first line
of standard input — never from the command line, where they would end up in the shell history and in
the process list.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from habmon.access.model import Principal, Role
from habmon.access.service import Access
from habmon.cli.context import monitor, state
from habmon.cli.output import choice, console, emit, emit_json, handled, table

users_app = typer.Typer(help="User accounts: roles, scopes, passwords.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (stored hashed; shown once when created).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]


def _access() -> tuple[Access, Principal]:
    return Access(monitor().store), Principal.system(state.user)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, officer, focal_point or partner")],
    geo: Annotated[list[str] | None, typer.Option(help="A focal point's country or city (repeat).")] = None,
    org: Annotated[str | None, typer.Option(help="Organization (required for a partner).")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password login (API tokens only, until `users passwd`).")
    ] = False,
    password_stdin: StdinOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Create a user (asks for the password)."""
    with handled(json_output):
        access, actor = _access()
        chosen = choice(Role, role, "--role")
        password = None if no_password else _password(password_stdin)
        info = access.create_user(
            actor, username, role=chosen, password=password, display_name=name, organization=org, geo_scope=geo or []
        )
        emit(
            json_output,
            info.to_dict(),
            f"created {info.username} ({info.role})" + _scope_text(info.geo_scope, info.organization),
        )


def _scope_text(scope: tuple[str, ...], organization: str | None) -> str:
    parts = ([f"scope {', '.join(scope)}"] if scope else []) + ([organization] if organization else [])
    return f": {'; '.join(parts)}" if parts else ""


@users_app.command("list")
def users_list(json_output: JsonOpt = False) -> None:
    """Every user with role, scope, organization and whether it is active."""
    with handled(json_output):
        access, actor = _access()
        users = access.users(actor)
        if json_output:
            emit_json([u.to_dict() for u in users])
            return
        console.print(
            table(
                "users",
                ["username", "role", "name", "organization", "scope", "active", "password"],
                [
                    [
                        u.username,
                        u.role,
                        u.display_name,
                        u.organization,
                        ", ".join(u.geo_scope),
                        "yes" if u.active else "[red]disabled[/]",
                        "set" if u.has_password else "none",
                    ]
                    for u in users
                ],
            )
        )


@users_app.command("disable")
def users_disable(
    username: str,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again instead.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Disable a user: their sessions end and their API tokens stop working (``--enable`` undoes it)."""
    with handled(json_output):
        access, actor = _access()
        info = access.set_active(actor, username, enable)
        emit(json_output, info.to_dict(), f"{info.username}: {'enabled' if info.active else 'disabled'}")


@users_app.command("passwd")
def users_passwd(username: str, password_stdin: StdinOpt = False) -> None:
    """Set a user's password (their web sessions end)."""
    with handled():
        access, actor = _access()
        access.set_password(actor, username, _password(password_stdin))
        console.print(f"password of {username} changed; their sessions have ended")


@users_app.command("scope")
def users_scope(
    username: str,
    geo: Annotated[list[str], typer.Argument(help="Countries or cities (M49, ISO3, ISO2 or city id).")],
    json_output: JsonOpt = False,
) -> None:
    """Replace a focal point's geographic scope (a country covers its cities)."""
    with handled(json_output):
        access, actor = _access()
        info = access.set_scope(actor, username, geo)
        emit(json_output, info.to_dict(), f"{info.username}: scope {', '.join(info.geo_scope)}")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'KNBS upload script'.")],
    json_output: JsonOpt = False,
) -> None:
    """Create an API token for a user; the token is printed once and cannot be shown again."""
    with handled(json_output):
        access, actor = _access()
        plaintext, info = access.create_token(access.principal(username), name, by=actor)
        if json_output:
            emit_json({**info.to_dict(), "token": plaintext})
            return
        console.print(f"token #{info.id} for {info.username} ({info.name}):")
        console.print(plaintext, highlight=False, soft_wrap=True)
        console.print("[yellow]store it now: only its hash is kept, it cannot be shown again[/]")


@tokens_app.command("list")
def tokens_list(
    username: Annotated[str | None, typer.Option("--owner", help="Only this user's tokens.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """API tokens (prefix, owner, last use, revoked); never the tokens themselves."""
    with handled(json_output):
        access, actor = _access()
        tokens = access.tokens(actor, username)
        if json_output:
            emit_json([tok.to_dict() for tok in tokens])
            return
        console.print(
            table(
                "API tokens",
                ["#", "user", "name", "prefix", "created", "last used", "revoked"],
                [
                    [
                        tok.id,
                        tok.username,
                        tok.name,
                        tok.prefix + "…",
                        *map(_minute, (tok.created_at, tok.last_used_at, tok.revoked_at)),
                    ]
                    for tok in tokens
                ],
            )
        )


def _minute(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, json_output: JsonOpt = False) -> None:
    """Revoke an API token: it stops working at once."""
    with handled(json_output):
        access, actor = _access()
        info = access.revoke_token(actor, token_id)
        emit(json_output, info.to_dict(), f"revoked token #{info.id} ({info.username}, {info.name})")
