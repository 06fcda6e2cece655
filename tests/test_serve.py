"""``habmon serve`` prints the URL and, when the store has them, the demo accounts that can sign in."""

from __future__ import annotations

from habmon.access.model import Principal
from habmon.access.service import DEMO_ACCOUNTS, Access
from habmon.cli.web import banner, demo_accounts
from habmon.services import Monitor


def test_serve_lists_the_demo_accounts_the_store_has(monitor: Monitor) -> None:
    access = Access(monitor.store)
    assert demo_accounts(access) == []
    url = "http://127.0.0.1:8000/"
    lines = banner(url, [])
    assert url in lines[0] and f"{url}api)" in lines[0]
    assert "no demo accounts" in lines[1]

    access.ensure_demo_users()
    assert [a.username for a in demo_accounts(access)] == [a.username for a in DEMO_ACCOUNTS]
    text = "\n".join(banner(url, demo_accounts(access)))
    assert f"{url}login" in text and "DEMO ONLY" in text
    for account in DEMO_ACCOUNTS:
        assert f"  {account.username:<13} {account.password:<23} {account.role:<12}" in text
    assert "scope 404" in text  # the Kenyan focal point's scope

    access.set_active(Principal.system(), "demo.partner", False)  # a disabled account cannot sign in
    assert "demo.partner" not in [a.username for a in demo_accounts(access)]
