"""The well-known demo accounts (DEMO ONLY: their passwords are published in docs/access.md)."""

from __future__ import annotations

from dataclasses import dataclass

from habmon.access.model import Principal, Role
from habmon.access.users import Users


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    display_name: str
    organization: str | None = None
    geo_scope: tuple[str, ...] = ()


# Well-known accounts for the demo database ONLY: their passwords are published in docs/access.md.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo.admin", "demo-only-admin-2026", Role.ADMIN, "Demo administrator"),
    DemoAccount("demo.officer", "demo-only-officer-2026", Role.OFFICER, "Demo monitoring officer", "UN-Habitat"),
    DemoAccount(
        "demo.kenya",
        "demo-only-kenya-2026",
        Role.FOCAL_POINT,
        "Demo focal point, Kenya",
        "Kenya National Bureau of Statistics (demo)",
        ("404",),
    ),
    DemoAccount(
        "demo.nairobi",
        "demo-only-nairobi-2026",
        Role.FOCAL_POINT,
        "Demo focal point, Nairobi",
        "Nairobi City County (demo)",
        ("ke_nairobi",),
    ),
    DemoAccount("demo.partner", "demo-only-partner-2026", Role.PARTNER, "Demo partner", "Demo Partner Organization"),
)


class DemoUsers(Users):
    """Creating the well-known demo accounts."""

    def ensure_demo_users(self, actor: Principal | None = None) -> list[tuple[DemoAccount, bool]]:
        """Create the well-known demo accounts that do not exist yet (DEMO ONLY: their passwords are public).

        Returns each account and whether it was created now; existing accounts are left as they are."""
        by = actor or Principal.system()
        out: list[tuple[DemoAccount, bool]] = []
        self.store.require_schema()
        for account in DEMO_ACCOUNTS:
            with self.store.engine.connect() as conn:
                exists = self._user_row(conn, account.username) is not None
            if not exists:
                self.create_user(
                    by,
                    account.username,
                    role=account.role,
                    password=account.password,
                    display_name=account.display_name,
                    organization=account.organization,
                    geo_scope=account.geo_scope,
                )
            out.append((account, not exists))
        return out
