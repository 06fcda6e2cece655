"""Access on every backend: the policy table (role × action × own/other object) decided by the policy AND enforced
by the services, passwords, login rate limits, API tokens, web sessions, the users CLI and the demo accounts."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import false, func, select
from typer.testing import CliRunner

from habmon.access.model import Action, Principal, Role
from habmon.access.passwords import Passwords, Verified, WeakPassword, check_policy
from habmon.access.policy import CHECKS, POLICY, ROLES, Forbidden, Rule, allowed, authorize, markdown_table
from habmon.access.service import (
    DEMO_ACCOUNTS,
    Access,
    AccessError,
    AuthenticationFailed,
    CsrfMismatch,
    LoginThrottled,
)
from habmon.cli.main import app
from habmon.geo.model import Geography
from habmon.indicators.registry import Registry
from habmon.observation import Nature, Observation
from habmon.problems import NotFound
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.store.counts import submission_counts
from habmon.store.store import Store
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType
from habmon.surveys.design import Design
from habmon.surveys.service import Registration, Surveys
from habmon.surveys.synthetic import synthetic_dhs
from tests.conftest import BACKENDS, _database_url

DOCS = Path(__file__).resolve().parents[1] / "docs" / "access.md"
PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # fast hashes for setting up tests
HEADER = "indicator,geo,period,value,numerator,denominator,sex,unit,nature,source\n"

# The policy as decided for habmon (docs/access.md), written out by hand: columns admin, officer,
# focal point, partner, public. The service matrix below is parametrized from this table.
EXPECTED: dict[Action, tuple[str, str, str, str, str]] = {
    Action.READ_PUBLISHED: ("always", "always", "always", "always", "always"),
    Action.READ_UNPUBLISHED: ("always", "always", "own scope", "never", "never"),
    Action.LOAD_DATA: ("always", "never", "never", "never", "never"),
    Action.SUBMIT: ("always", "always", "own scope", "own organization", "never"),
    Action.READ_SUBMISSION: ("always", "always", "own scope", "own organization", "never"),
    Action.APPROVE: ("always", "someone else's object", "never", "never", "never"),
    Action.RETURN: ("always", "always", "never", "never", "never"),
    Action.PUBLISH: ("always", "always", "never", "never", "never"),
    Action.READ_AUDIT: ("always", "always", "never", "never", "never"),
    Action.RUN_ENGINE: ("always", "always", "never", "never", "never"),
    Action.READ_METRICS: ("always", "always", "never", "never", "never"),
    Action.MANAGE_USERS: ("always", "never", "never", "never", "never"),
    Action.MANAGE_OWN_TOKENS: ("always", "own object", "own object", "own object", "never"),
    Action.CHANGE_OWN_PASSWORD: ("always", "own object", "own object", "own object", "never"),
    Action.LOAD_SURVEY: ("always", "always", "never", "never", "never"),
    Action.COMPUTE_SURVEY: ("always", "always", "never", "never", "never"),
}
ROLE_ORDER = (Role.ADMIN, Role.OFFICER, Role.FOCAL_POINT, Role.PARTNER, Role.PUBLIC)
CASES = [
    (
        role,
        action,
        relation,
        rules[i] == "always"
        or (rules[i].startswith("own") and relation == "own")
        or (rules[i] == "someone else's object" and relation == "other"),
    )
    for action, rules in EXPECTED.items()
    for i, role in enumerate(ROLE_ORDER)
    for relation in ("own", "other")
]
WRITES = {
    Action.LOAD_DATA,
    Action.SUBMIT,
    Action.APPROVE,
    Action.RETURN,
    Action.PUBLISH,
    Action.MANAGE_USERS,
    Action.MANAGE_OWN_TOKENS,
    Action.CHANGE_OWN_PASSWORD,
    Action.LOAD_SURVEY,
    Action.COMPUTE_SURVEY,
}


def case_id(case: tuple[Role, Action, str, bool]) -> str:
    role, action, relation, permitted = case
    return f"{role}-{action}-{relation}-{'permit' if permitted else 'refuse'}"


# -- the table itself ---------------------------------------------------------------------------


def test_the_policy_is_the_table_decided_for_habmon() -> None:
    assert ROLES == ROLE_ORDER
    assert {a: tuple(str(POLICY[a][r]) for r in ROLES) for a in POLICY} == EXPECTED
    assert set(POLICY) == set(Action)
    assert set(CHECKS) == set(Rule)


def test_docs_show_the_policy_table_and_the_demo_accounts() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert markdown_table() in text
    for account in DEMO_ACCOUNTS:
        assert f"| `{account.username}` | `{account.password}` | " in text


# The SDG chain above a few places, written out by hand (what Geography.ancestors gives).
ANCESTORS = {
    "ke_nairobi": ["404", "014", "202", "001"],
    "404": ["014", "202", "001"],
    "ug_kampala": ["800", "014", "202", "001"],
    "800": ["014", "202", "001"],
}
PRINCIPALS = {
    Role.ADMIN: Principal("a.admin", Role.ADMIN),
    Role.OFFICER: Principal("an.officer", Role.OFFICER, organization="UN-Habitat"),
    Role.FOCAL_POINT: Principal("kenya.fp", Role.FOCAL_POINT, frozenset({"404"}), "KNBS"),
    Role.PARTNER: Principal("a.partner", Role.PARTNER, organization="Partner A"),
    Role.PUBLIC: Principal.public(),
}


@pytest.mark.parametrize(("role", "action", "relation", "permitted"), CASES, ids=map(case_id, CASES))
def test_the_policy_decides_every_role_action_and_object(
    role: Role, action: Action, relation: str, permitted: bool
) -> None:
    p = PRINCIPALS[role]
    context: dict[str, Any] = (
        {"geo_codes": ["ke_nairobi", "404"], "organization": p.organization, "owner": p.username}
        if relation == "own"
        else {"geo_codes": ["ke_nairobi", "800"], "organization": "UBOS (Uganda)", "owner": "someone.else"}
    )
    assert allowed(p, action, ancestors=ANCESTORS.__getitem__, **context) is permitted
    if permitted:
        authorize(p, action, ancestors=ANCESTORS.__getitem__, **context)
    else:
        with pytest.raises(Forbidden) as info:
            authorize(p, action, ancestors=ANCESTORS.__getitem__, **context)
        assert info.value.action == action and info.value.expected and info.value.found


def test_a_scope_covers_places_below_it_and_never_above() -> None:
    city = Principal("nairobi.fp", Role.FOCAL_POINT, frozenset({"ke_nairobi"}))
    up = ANCESTORS.__getitem__
    assert allowed(city, Action.SUBMIT, geo_codes=["ke_nairobi"], ancestors=up)
    assert not allowed(city, Action.SUBMIT, geo_codes=["404"], ancestors=up)
    with pytest.raises(Forbidden) as info:
        authorize(PRINCIPALS[Role.FOCAL_POINT], Action.SUBMIT, geo_codes=["404", "800", "ug_kampala"], ancestors=up)
    assert (info.value.expected, info.value.found) == ("places within 404", "800, ug_kampala")
    assert "users scope" in info.value.hint
    # without places there is nothing to be within; without an organization nothing is one's own
    assert not allowed(PRINCIPALS[Role.FOCAL_POINT], Action.SUBMIT, geo_codes=[], ancestors=up)
    assert not allowed(Principal("p", Role.PARTNER), Action.SUBMIT, organization=None)


# -- the services, on a shared store per backend -----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    store: Store
    access: Access
    registry: Registry
    geography: Geography
    directory: Path
    principals: dict[Role, Principal]
    numbers: Iterator[int]

    def monitor(self, principal: Principal) -> Monitor:
        return Monitor(self.store, principal=principal, registry=self.registry, geography=self.geography)

    def submissions(self, principal: Principal) -> Submissions:
        return Submissions(self.monitor(principal))

    def file(self, geo: str) -> Path:
        n = next(self.numbers)
        path = self.directory / f"case-{n}.csv"
        path.write_text(HEADER + f"11.1.1,{geo},2024,{20 + n / 100:.2f},,,,,C,case {n}\n", encoding="utf-8")
        return path

    def submission(self, principal: Principal, relation: str, *, approve: bool = False) -> int:
        """A validated (or approved) submission that is ``principal``'s own, or someone else's elsewhere."""
        geo, org, owner = (
            ("KEN", principal.organization or "KNBS", principal.username)
            if relation == "own"
            else ("UGA", "UBOS (Uganda)", "someone.else")
        )
        subs = self.submissions(Principal.system(owner))
        sid = subs.submit(self.file(geo), organization=org, organization_type=OrganizationType.MEMBER_STATE)
        assert sid.submission_id is not None
        if approve:
            subs.approve(sid.submission_id)
        return sid.submission_id


SNAPSHOT_TABLES = (
    t.observation,
    t.batch,
    t.submission,
    t.submission_row,
    t.audit_event,
    t.user_account,
    t.user_scope,
    t.api_token,
    t.web_session,
    t.login_attempt,
    t.survey,
    t.survey_computation,
)


def snapshot(store: Store) -> dict[str, Any]:
    with store.engine.connect() as conn:
        counts = {tbl.name: conn.execute(select(func.count()).select_from(tbl)).scalar_one() for tbl in SNAPSHOT_TABLES}
        states = conn.execute(select(t.submission.c.id, t.submission.c.state).order_by(t.submission.c.id)).all()
        users = conn.execute(
            select(t.user_account.c.username, t.user_account.c.active, t.user_account.c.password_hash).order_by(
                t.user_account.c.id
            )
        ).all()
        tokens = conn.execute(select(t.api_token.c.id, t.api_token.c.revoked_at).order_by(t.api_token.c.id)).all()
    return {"counts": counts, "states": states, "users": users, "tokens": tokens}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp(f"access-{request.param}")
    store = Store(_database_url(request.param, request, directory))
    setup = Monitor(store, actor="setup")
    setup.init()
    published = [
        Observation("11.1.1", "404", 2020, 30.0, "percent", Nature.G, "UN-Habitat"),
        Observation("11.1.1", "800", 2020, 40.0, "percent", Nature.G, "UN-Habitat"),
    ]
    setup.record(published, kind="shipped", name="published values")
    unpublished = directory / "unpublished.csv"
    unpublished.write_text(HEADER + "11.1.1,KEN,2023,41,,,,,C,NSO\n11.1.1,UGA,2023,51,,,,,C,NSO\n", encoding="utf-8")
    subs = Submissions(setup)
    sid = subs.submit(unpublished, organization="NSOs", organization_type=OrganizationType.MEMBER_STATE).submission_id
    subs.approve(sid or 0)  # approved, not published

    access = Access(store, passwords=Passwords(CHEAP))
    admin = Principal.system("setup")
    users = {
        Role.ADMIN: access.create_user(admin, "t.admin", role=Role.ADMIN, password=PASSWORD),
        Role.OFFICER: access.create_user(admin, "t.officer", role=Role.OFFICER, password=PASSWORD),
        Role.FOCAL_POINT: access.create_user(
            admin, "t.kenya", role=Role.FOCAL_POINT, password=PASSWORD, organization="KNBS", geo_scope=["KEN"]
        ),
        Role.PARTNER: access.create_user(
            admin, "t.partner", role=Role.PARTNER, password=PASSWORD, organization="Partner A"
        ),
    }
    access.create_user(admin, "someone.else", role=Role.OFFICER, password=PASSWORD)
    principals = {role: info.principal for role, info in users.items()} | {Role.PUBLIC: Principal.public()}
    yield World(store, access, setup.registry(), setup.geography(), directory, principals, itertools.count())
    store.dispose()


def values(world: World, p: Principal, geo: str, *, public: bool) -> set[tuple[int, float]]:
    series = world.monitor(p).series("11.1.1", geo, public=public)
    return {(o.observation.period, o.observation.value) for o in series.observations}


Probe = Callable[[World, Principal, str], Callable[[], bool]]


def probe_read_published(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    geo, value = ("KEN", 30.0) if relation == "own" else ("UGA", 40.0)
    return lambda: (2020, value) in values(world, p, geo, public=True)


def probe_read_unpublished(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    geo, value = ("KEN", 41.0) if relation == "own" else ("UGA", 51.0)

    def act() -> bool:
        seen = values(world, p, geo, public=False)
        assert (2020, 30.0 if geo == "KEN" else 40.0) in seen  # published values are there either way
        return (2023, value) in seen

    return act


def probe_load(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    n = next(world.numbers)
    geo = "404" if relation == "own" else "800"
    obs = Observation("11.1.1", geo, 2019, 20 + n / 100, "percent", Nature.G, f"load {n}")

    def act() -> bool:
        summary = world.monitor(p).record([obs], kind="shipped", name=f"load {n}")
        return summary.stored == 1

    return act


def probe_submit(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    path = world.file("KEN" if relation == "own" else "UGA")
    org = (p.organization or "KNBS") if relation == "own" else "UBOS (Uganda)"
    kind = OrganizationType.PARTNER if p.role == Role.PARTNER else OrganizationType.MEMBER_STATE

    def act() -> bool:
        outcome = world.submissions(p).submit(path, organization=org, organization_type=kind)
        if outcome.submission_id is None:  # refused row by row: every problem is a scope problem of that row
            assert [(x.type, x.row, x.column) for x in outcome.report.errors] == [("scope", 2, "geo")]
            return False
        return outcome.created

    return act


def probe_read_submission(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    sid = world.submission(p, relation)

    def act() -> bool:
        subs = world.submissions(p)
        listed = sid in {e["id"] for e in subs.entries()}
        try:
            subs.get(sid)
        except Forbidden:
            assert not listed
            raise
        except NotFound as hidden:  # another's submission: word for word as one that does not exist
            missing = sid + 10**6
            with pytest.raises(NotFound) as info:
                subs.get(missing)
            assert not listed and str(hidden) == str(info.value).replace(str(missing), str(sid))
            for read in (subs.changes, subs.original):
                with pytest.raises(NotFound):
                    read(sid)
            return False
        assert listed
        return len(subs.changes(sid)) == 1 and subs.original(sid)[1].startswith(b"indicator")

    return act


def probe_approve(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    sid = world.submission(p, relation)
    return lambda: world.submissions(p).approve(sid).stored == 1


def probe_return(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    sid = world.submission(p, relation)

    def act() -> bool:
        world.submissions(p).return_(sid, "please check the source")
        return True

    return act


def probe_publish(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    sid = world.submission(p, relation, approve=True)

    def act() -> bool:
        world.submissions(p).publish(sid)
        return True

    return act


def probe_audit(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    return lambda: len(world.monitor(p).audit_events(limit=3)) == 3


def probe_engine(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    def act() -> bool:
        world.monitor(p).authorize(Action.RUN_ENGINE)
        return True

    return act


def probe_users(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    name = f"new.user{next(world.numbers)}"
    return lambda: world.access.create_user(p, name, role=Role.OFFICER).username == name


def probe_tokens(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    owner = p if relation == "own" else world.access.principal("someone.else")

    def act() -> bool:
        plaintext, info = world.access.create_token(owner, "matrix", by=p)
        return info.username == owner.username and world.access.principal_for_token(plaintext) == owner

    return act


def probe_password(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    owner = p.username if relation == "own" else "someone.else"

    def act() -> bool:  # the same password again: a new hash (new salt), the same secret
        world.access.set_password(p, owner, PASSWORD, current=PASSWORD)
        return True

    return act


def _survey_file(world: World) -> tuple[str, Path]:
    n = next(world.numbers)
    path = world.directory / f"survey-{n}.csv"
    synthetic_dhs(300, seed=n, lonely=0).to_csv(path, index=False)
    return f"SYN-{n}", path


def _registration(name: str) -> Registration:
    design = Design(weight="hv005", psu="hv001", strata="hv022", weight_divisor=1e6)
    return Registration(name, "KEN", (2025, 2025), "household", design, "SYNTHETIC", "open")


def probe_load_survey(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    name, path = _survey_file(world)
    return lambda: Surveys(world.monitor(p)).register(path, _registration(name))["records"] == 300


def probe_compute_survey(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    name, path = _survey_file(world)
    Surveys(world.monitor(Principal.system("someone.else"))).register(path, _registration(name))
    return lambda: len(Surveys(world.monitor(p)).compute(name, path, "7.1.1")["estimates"]) == 1


def probe_metrics(world: World, p: Principal, relation: str) -> Callable[[], bool]:
    def act() -> bool:  # what /metrics does before it reads the counts
        world.monitor(p).authorize(Action.READ_METRICS)
        return isinstance(submission_counts(world.store), dict)

    return act


PROBES: dict[Action, Probe] = {
    Action.READ_PUBLISHED: probe_read_published,
    Action.READ_UNPUBLISHED: probe_read_unpublished,
    Action.LOAD_DATA: probe_load,
    Action.SUBMIT: probe_submit,
    Action.READ_SUBMISSION: probe_read_submission,
    Action.APPROVE: probe_approve,
    Action.RETURN: probe_return,
    Action.PUBLISH: probe_publish,
    Action.READ_AUDIT: probe_audit,
    Action.RUN_ENGINE: probe_engine,
    Action.READ_METRICS: probe_metrics,
    Action.MANAGE_USERS: probe_users,
    Action.MANAGE_OWN_TOKENS: probe_tokens,
    Action.CHANGE_OWN_PASSWORD: probe_password,
    Action.LOAD_SURVEY: probe_load_survey,
    Action.COMPUTE_SURVEY: probe_compute_survey,
}


def test_every_action_has_a_service_probe() -> None:
    assert set(PROBES) == set(Action)


@pytest.mark.parametrize(("role", "action", "relation", "permitted"), CASES, ids=map(case_id, CASES))
def test_the_services_enforce_every_role_action_and_object(
    world: World, role: Role, action: Action, relation: str, permitted: bool
) -> None:
    p = world.principals[role]
    act = PROBES[action](world, p, relation)
    before = snapshot(world.store)
    try:
        done = act()
    except Forbidden as exc:
        assert exc.action == action and exc.expected and exc.found
        done = False
    after = snapshot(world.store)
    assert done is permitted
    if not permitted:
        assert after == before  # a refusal changes nothing, not even the audit log
    else:
        assert (after != before) == (action in WRITES)


def test_a_focal_point_for_kenya_sending_a_row_for_uganda_gets_that_row_reported_and_nothing_is_stored(
    world: World,
) -> None:
    path = world.directory / "kenya-and-uganda.csv"
    path.write_text(
        HEADER
        + "11.1.1,KEN,2025,35.5,,,,,C,KNBS\n"  # row 2: Kenya
        + "11.1.1,ke_nairobi,2025,33.0,,,,,C,KNBS\n"  # row 3: a city in Kenya
        + "11.1.1,UGA,2025,44.0,,,,,C,KNBS\n"  # row 4: Uganda
        + "11.1.1,ZZZ,2025,44.0,,,,,C,KNBS\n",  # row 5: unknown (a code problem, not a scope one)
        encoding="utf-8",
    )
    fp = world.principals[Role.FOCAL_POINT]
    before = snapshot(world.store)
    outcome = world.submissions(fp).submit(path, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE)
    assert outcome.submission_id is None and not outcome.created
    assert [(p.type, p.row, p.column) for p in outcome.report.errors] == [("code", 5, "geo"), ("scope", 4, "geo")]
    scope = outcome.report.errors[1]
    assert (scope.file, scope.found) == ("kenya-and-uganda.csv", "UGA (Uganda)")
    assert scope.expected == "a place within the scope of t.kenya: Kenya (404) (or a city in it)"
    assert snapshot(world.store) == before


def test_a_partner_submits_only_as_a_partner(world: World) -> None:
    partner = world.principals[Role.PARTNER]
    path = world.file("KEN")
    before = snapshot(world.store)
    with pytest.raises(Forbidden) as info:
        world.submissions(partner).submit(
            path, organization="Partner A", organization_type=OrganizationType.SECRETARIAT
        )
    assert (info.value.expected, info.value.found) == ("partner", "secretariat")
    assert snapshot(world.store) == before


def test_a_diff_shows_old_values_only_as_far_as_the_reader_may_see_them(world: World) -> None:
    """UGA 2023 holds an approved, unpublished 51: the partner's own diff must not show it."""
    partner = world.principals[Role.PARTNER]
    path = world.directory / "partner-uganda.csv"
    path.write_text(HEADER + "11.1.1,UGA,2023,52,,,,,E,Partner A survey\n", encoding="utf-8")
    outcome = world.submissions(partner).submit(
        path, organization="Partner A", organization_type=OrganizationType.PARTNER
    )
    sid = outcome.submission_id or 0
    assert outcome.changes == {"new": 1, "revised": 0, "unchanged": 0, "older": 0}
    (seen,) = world.submissions(partner).changes(sid)
    assert (seen["status"], seen["old"]) == ("new", None)
    (officer_view,) = world.submissions(world.principals[Role.OFFICER]).changes(sid)
    assert (officer_view["status"], officer_view["old"], officer_view["new"]) == ("revised", 51.0, 52.0)


# -- passwords -----------------------------------------------------------------------------------------


def test_passwords_are_argon2id_and_verified() -> None:
    passwords = Passwords(CHEAP)
    stored = passwords.hash(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert passwords.hash(PASSWORD) != stored  # salted
    assert passwords.verify(stored, PASSWORD).ok
    assert not passwords.verify(stored, PASSWORD + "!").ok
    assert not passwords.verify(None, PASSWORD).ok
    assert not passwords.verify("not a hash", PASSWORD).ok
    assert passwords.verify(stored, PASSWORD).new_hash is None


def test_a_hash_with_old_parameters_is_replaced_on_verification() -> None:
    old = Passwords(CHEAP).hash(PASSWORD)
    result = Passwords().verify(old, PASSWORD)  # argon2-cffi's defaults: m=65536, t=3, p=4
    assert result.ok and result.new_hash is not None
    assert "$m=8,t=1,p=1$" in old and "$m=65536,t=3,p=4$" in result.new_hash
    assert Passwords().verify(result.new_hash, PASSWORD).new_hash is None


@pytest.mark.parametrize(
    ("password", "expected", "found"),
    [
        ("short one", "at least 12 characters", "9 characters"),
        ("abababababababab", "at least 4 different characters", "2 different characters"),
        ("my name is Kenya.FP!", "a password without the username", "the username"),
        ("x" * 1025, "at most 1024 characters", "1025"),
    ],
)
def test_the_password_policy_names_the_rule(password: str, expected: str, found: str) -> None:
    with pytest.raises(WeakPassword) as info:
        check_policy(password, "kenya.fp")
    assert (info.value.expected, info.value.found) == (expected, found)
    check_policy("four unrelated words", "kenya.fp")


# -- logins, rate limits, tokens and sessions (each on a fresh store) -------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def access(store: Store, clock: FakeClock) -> Access:
    a = Access(store, passwords=Passwords(CHEAP), clock=clock)
    admin = Principal.system("admin")
    a.create_user(admin, "alice", role=Role.OFFICER, password=PASSWORD, display_name="Alice")
    a.create_user(admin, "bob", role=Role.PARTNER, password=PASSWORD, organization="Partner B")
    return a


def test_login_and_rehash_on_login(access: Access, store: Store) -> None:
    default = Access(store)  # another process, with argon2-cffi's default parameters
    principal = default.authenticate(" Alice ", PASSWORD, "10.0.0.1")
    assert principal == Principal("alice", Role.OFFICER, frozenset(), None, "Alice")
    with store.engine.connect() as conn:
        stored = conn.execute(select(t.user_account.c.password_hash).where(t.user_account.c.username == "alice"))
        assert "$m=65536,t=3,p=4$" in stored.scalar_one()
    assert default.authenticate("alice", PASSWORD, "10.0.0.1") == principal
    with pytest.raises(AuthenticationFailed, match="wrong username or password"):
        access.authenticate("alice", "wrong password!", "10.0.0.1")
    with pytest.raises(AuthenticationFailed, match="wrong username or password"):
        access.authenticate("nobody", PASSWORD, "10.0.0.1")
    access.set_active(Principal.system("admin"), "alice", False)
    with pytest.raises(AuthenticationFailed):
        access.authenticate("alice", PASSWORD, "10.0.0.1")


def test_five_failures_pause_logins_for_the_rest_of_fifteen_minutes(
    access: Access, store: Store, clock: FakeClock
) -> None:
    for _ in range(5):  # at 0, 10, 20, 30, 40 seconds
        with pytest.raises(AuthenticationFailed):
            access.authenticate("alice", "not the password", "10.0.0.1")
        clock.advance(seconds=10)
    clock.advance(seconds=10)  # 60 s after the first failure
    restarted = Access(Store(store.url), passwords=Passwords(CHEAP), clock=clock)  # another worker, same database
    with pytest.raises(LoginThrottled) as info:
        restarted.authenticate("alice", PASSWORD, "10.0.0.2")  # even the right password, from elsewhere
    assert info.value.retry_after == 15 * 60 - 60
    assert info.value.found == "5 failed"
    clock.advance(seconds=info.value.retry_after - 1)
    with pytest.raises(LoginThrottled) as info:
        access.authenticate("alice", PASSWORD, "10.0.0.2")
    assert info.value.retry_after == 1
    clock.advance(seconds=1)  # the first failure has left the window: 4 remain
    assert access.authenticate("alice", PASSWORD, "10.0.0.2").username == "alice"
    with store.engine.connect() as conn:
        attempts = conn.execute(select(t.login_attempt.c.success).order_by(t.login_attempt.c.id)).scalars().all()
    assert attempts == [False] * 5 + [True]  # throttled attempts are not recorded


def test_two_workers_checking_at_once_let_no_extra_attempt_through(
    access: Access, store: Store, clock: FakeClock
) -> None:
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            access.authenticate("alice", "not the password", "10.0.0.1")
    checking, release = threading.Event(), threading.Event()

    class SlowPasswords(Passwords):  # worker A is checking the 5th attempt's password when worker B asks
        def verify(self, stored: str | None, password: str) -> Verified:
            checking.set()
            assert release.wait(10)
            return super().verify(stored, password)

    worker_a = Access(Store(store.url), passwords=SlowPasswords(CHEAP), clock=clock)
    worker_b = Access(Store(store.url), passwords=Passwords(CHEAP), clock=clock)
    outcomes: dict[str, BaseException] = {}

    def attempt(name: str, worker: Access) -> None:
        try:
            worker.authenticate("alice", "still not the password", "10.0.0.9")
        except (AuthenticationFailed, LoginThrottled) as error:
            outcomes[name] = error

    a = threading.Thread(target=attempt, args=("a", worker_a))
    a.start()
    assert checking.wait(10)
    attempt("b", worker_b)  # the 6th attempt, while the 5th is being checked
    release.set()
    a.join(10)
    assert isinstance(outcomes["a"], AuthenticationFailed) and isinstance(outcomes["b"], LoginThrottled)
    with store.engine.connect() as conn:
        failures = conn.execute(
            select(func.count()).select_from(t.login_attempt).where(t.login_attempt.c.success == false())
        ).scalar_one()
    assert failures == 5  # the limit, not one more


def test_one_address_failing_for_many_usernames_is_paused(access: Access, clock: FakeClock) -> None:
    for name in ("carol", "dave", "erin", "frank", "grace"):
        with pytest.raises(AuthenticationFailed):
            access.authenticate(name, PASSWORD, "192.0.2.7")
    with pytest.raises(LoginThrottled, match="for this address"):
        access.authenticate("alice", PASSWORD, "192.0.2.7")
    assert access.authenticate("alice", PASSWORD, "192.0.2.8").username == "alice"


def test_a_successful_login_resets_the_count_for_its_username(access: Access, clock: FakeClock) -> None:
    for attempt in range(4):
        clock.advance(seconds=1)
        with pytest.raises(AuthenticationFailed):
            access.authenticate("alice", "not the password", f"10.0.1.{attempt}")
    clock.advance(seconds=1)
    access.authenticate("alice", PASSWORD, "10.0.1.9")
    for attempt in range(4):
        clock.advance(seconds=1)
        with pytest.raises(AuthenticationFailed):
            access.authenticate("alice", "not the password", f"10.0.2.{attempt}")
    clock.advance(seconds=1)
    assert access.authenticate("alice", PASSWORD, "10.0.2.9").username == "alice"  # 8 failures, 4 since success
    for attempt in range(5):
        clock.advance(seconds=1)
        with pytest.raises(AuthenticationFailed):
            access.authenticate("alice", "not the password", f"10.0.3.{attempt}")
    with pytest.raises(LoginThrottled):  # 5 failures since the last success, all within 15 minutes
        access.authenticate("alice", PASSWORD, "10.0.4.1")


def test_api_tokens_are_stored_hashed_and_revocable(access: Access, store: Store, clock: FakeClock) -> None:
    alice = access.principal("alice")
    plaintext, info = access.create_token(alice, "upload script")
    assert plaintext.startswith("hm_") and len(plaintext) == 3 + 43
    assert (info.username, info.name, info.prefix, info.last_used_at) == (
        "alice",
        "upload script",
        plaintext[:11],
        None,
    )
    with store.engine.connect() as conn:
        row = conn.execute(select(t.api_token)).one()
    assert row.token_sha256 == hashlib.sha256(plaintext.encode()).hexdigest()
    assert all(plaintext not in str(v) for v in row)

    clock.advance(minutes=5)
    assert access.principal_for_token(plaintext) == alice
    (listed,) = access.tokens(alice)
    assert listed.last_used_at == clock.now
    used = clock.now
    clock.advance(seconds=59)  # within the minute: the last use is not written again
    assert access.principal_for_token(plaintext) == alice
    assert access.tokens(alice)[0].last_used_at == used
    clock.advance(seconds=1)
    assert access.principal_for_token(plaintext) == alice
    assert access.tokens(alice)[0].last_used_at == clock.now
    assert access.principal_for_token(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert access.principal_for_token("not a token") is None

    bob = access.principal("bob")
    with pytest.raises(Forbidden):
        access.revoke_token(bob, info.id)
    with pytest.raises(Forbidden):
        access.tokens(bob, "alice")
    revoked = access.revoke_token(alice, info.id)
    assert revoked.revoked_at == clock.now and not revoked.active
    assert access.principal_for_token(plaintext) is None

    second, _ = access.create_token(alice, "laptop")
    access.set_active(Principal.system("admin"), "alice", False)
    assert access.principal_for_token(second) is None  # a disabled user's tokens stop working
    assert [e["action"] for e in store.audit_events("api_token")][::-1] == [
        "token.create",
        "token.revoke",
        "token.create",
    ]


def test_web_sessions_are_stored_hashed_and_expire(access: Access, store: Store, clock: FakeClock) -> None:
    alice = access.principal("alice")
    session, csrf = access.open_session(alice)
    with store.engine.connect() as conn:
        row = conn.execute(select(t.web_session)).one()
    assert row.token_sha256 == hashlib.sha256(session.encode()).hexdigest()
    assert row.csrf_sha256 == hashlib.sha256(csrf.encode()).hexdigest()
    assert all(session not in str(v) and csrf not in str(v) for v in row)

    access.check_csrf(session, csrf)
    with pytest.raises(CsrfMismatch):
        access.check_csrf(session, csrf + "x")
    with pytest.raises(CsrfMismatch):
        access.check_csrf(csrf, session)

    for _ in range(10):  # a request every 50 minutes (the last at 7 h 30 min) keeps it alive
        assert access.principal_for_session(session) == alice
        clock.advance(minutes=50)
    assert access.principal_for_session(session) is None  # at 8 h 20 min: past its 8 hours, though not idle
    idle, _ = access.open_session(alice)
    clock.advance(minutes=59)
    assert access.principal_for_session(idle) == alice
    clock.advance(minutes=60)
    assert access.principal_for_session(idle) is None  # an hour without a request

    def last_seen(session: str) -> datetime:
        with store.engine.connect() as conn:
            stored = conn.execute(
                select(t.web_session.c.last_seen_at).where(
                    t.web_session.c.token_sha256 == hashlib.sha256(session.encode()).hexdigest()
                )
            ).scalar_one()
        return stored if stored.tzinfo else stored.replace(tzinfo=UTC)

    busy, _ = access.open_session(alice)
    opened = clock.now
    for _ in range(5):  # five requests in 50 seconds: no write
        clock.advance(seconds=10)
        assert access.principal_for_session(busy) == alice
    assert last_seen(busy) == opened
    clock.advance(seconds=10)  # a minute after the last write
    assert access.principal_for_session(busy) == alice
    assert last_seen(busy) == clock.now
    access.close_session(busy)

    last, _ = access.open_session(alice)
    assert access.close_session(last) and not access.close_session(last)
    assert access.principal_for_session(last) is None
    actions = [e["action"] for e in store.audit_events("web_session")][::-1]
    assert actions == ["session.open", "session.open", "session.open", "session.close", "session.open", "session.close"]


def test_purge_deletes_ended_sessions_and_old_login_attempts(access: Access, clock: FakeClock) -> None:
    alice = access.principal("alice")
    old, _ = access.open_session(alice)
    with pytest.raises(AuthenticationFailed):
        access.authenticate("alice", "not the password", "10.0.0.1")
    clock.advance(minutes=61)
    live, _ = access.open_session(alice)
    with pytest.raises(AuthenticationFailed):
        access.authenticate("alice", "not the password", "10.0.0.1")
    assert access.purge() == {"sessions": 1, "login_attempts": 1}
    assert access.principal_for_session(live) == alice and access.principal_for_session(old) is None
    assert access.purge() == {"sessions": 0, "login_attempts": 0}


def test_setting_a_password_or_disabling_ends_sessions(access: Access) -> None:
    admin = Principal.system("admin")
    alice = access.principal("alice")
    session, _ = access.open_session(alice)
    with pytest.raises(AuthenticationFailed):
        access.set_password(alice, "alice", "a brand new secret", current="not the password")
    assert access.principal_for_session(session) == alice
    access.set_password(alice, "alice", "a brand new secret", current=PASSWORD)
    assert access.principal_for_session(session) is None
    assert access.authenticate("alice", "a brand new secret", "10.0.0.1") == alice
    session, _ = access.open_session(alice)
    access.set_active(admin, "alice", False)
    assert access.principal_for_session(session) is None
    with pytest.raises(AccessError, match="disabled"):
        access.open_session(alice)
    with pytest.raises(AccessError, match="cannot disable your own account"):
        access.set_active(admin, "admin", False)


@pytest.mark.parametrize(
    ("username", "kwargs", "expected"),
    [
        ("Bad Name", {"role": Role.OFFICER}, "2–64 lower-case letters"),
        ("fp", {"role": Role.FOCAL_POINT}, "one or more countries or cities"),
        ("pp", {"role": Role.PARTNER}, "--org NAME"),
        ("anyone", {"role": Role.PUBLIC}, "admin, officer, focal_point or partner"),
        ("alice", {"role": Role.OFFICER}, "a new username"),
        ("weak", {"role": Role.OFFICER, "password": "short"}, "at least 12 characters"),
    ],
)
def test_users_are_checked_before_anything_is_stored(
    access: Access, store: Store, username: str, kwargs: dict[str, Any], expected: str
) -> None:
    before = snapshot(store)
    with pytest.raises((AccessError, WeakPassword)) as info:
        access.create_user(Principal.system("admin"), username, **kwargs)
    assert expected in info.value.expected
    assert snapshot(store) == before


# -- scopes, demo accounts and the command line (need the geography) ------------------------------------------


def test_scopes_are_stored_as_geography_codes_and_replaced(monitor: Monitor) -> None:
    access = Access(monitor.store, passwords=Passwords(CHEAP))
    admin = Principal.system("admin")
    info = access.create_user(admin, "east.fp", role=Role.FOCAL_POINT, geo_scope=["KE", "ke_nairobi"])
    assert info.geo_scope == ("404", "ke_nairobi") and not info.has_password
    info = access.set_scope(admin, "east.fp", ["UGA", "800", "TZA"])
    assert info.geo_scope == ("800", "834")
    with pytest.raises(Exception, match="no geography unit"):
        access.set_scope(admin, "east.fp", ["Atlantis"])
    assert access.user("east.fp").geo_scope == ("800", "834")
    (event,) = [e for e in monitor.store.audit_events("user") if e["action"] == "user.scope"]
    assert event["details"] == {"from": ["404", "ke_nairobi"], "to": ["800", "834"]}


def test_demo_accounts_are_created_once_and_log_in(monitor: Monitor) -> None:
    access = Access(monitor.store, passwords=Passwords(CHEAP))
    first = access.ensure_demo_users()
    assert [(a.username, created) for a, created in first] == [(a.username, True) for a in DEMO_ACCOUNTS]
    assert all(not created for _, created in access.ensure_demo_users())
    kenya = access.authenticate("demo.kenya", "demo-only-kenya-2026", "127.0.0.1")
    assert (kenya.role, kenya.geo_scope) == (Role.FOCAL_POINT, frozenset({"404"}))
    nairobi = access.user("demo.nairobi")
    assert nairobi.geo_scope == ("ke_nairobi",) and monitor.geography().units["ke_nairobi"].name() == "Nairobi"
    assert access.user("demo.partner").organization == "Demo Partner Organization"


runner = CliRunner()


def cli(url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, "--user", "operator", *args], input=stdin)
    return result.exit_code, result.output


def test_users_and_tokens_from_the_command_line(store_url: str) -> None:
    assert cli(store_url, "init")[0] == 0
    code, output = cli(
        store_url, "users", "add", "kenya.fp", "--role", "focal_point", "--geo", "KEN", "--org", "KNBS",
        "--password-stdin", "--json", stdin="four unrelated words\n",
    )  # fmt: skip
    assert code == 0, output
    assert json.loads(output)["geo_scope"] == ["404"]
    code, output = cli(store_url, "users", "add", "x.fp", "--role", "focal_point", "--password", "secret")
    assert code == 2  # there is no option to pass a password on the command line
    code, output = cli(store_url, "users", "add", "weak", "--role", "officer", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 12 characters" in output
    assert cli(store_url, "users", "scope", "kenya.fp", "KEN", "UGA")[0] == 0
    code, output = cli(store_url, "users", "list", "--json")
    assert [(u["username"], u["geo_scope"], u["has_password"]) for u in json.loads(output)] == [
        ("kenya.fp", ["404", "800"], True)
    ]
    code, output = cli(store_url, "tokens", "create", "kenya.fp", "--name", "upload script", "--json")
    token = json.loads(output)
    access = Access(Store(store_url))  # argon2-cffi's default parameters, as the CLI uses
    assert access.principal_for_token(token["token"]) == access.principal("kenya.fp")
    code, output = cli(store_url, "tokens", "list", "--json")
    assert "token" not in json.loads(output)[0] and json.loads(output)[0]["prefix"] == token["token"][:11]
    assert cli(store_url, "tokens", "revoke", str(token["id"]))[0] == 0
    assert access.principal_for_token(token["token"]) is None
    assert cli(store_url, "users", "passwd", "kenya.fp", "--password-stdin", stdin="five unrelated words\n")[0] == 0
    assert access.authenticate("kenya.fp", "five unrelated words", "127.0.0.1").username == "kenya.fp"
    code, output = cli(store_url, "users", "disable", "kenya.fp", "--json")
    assert code == 0 and json.loads(output)["active"] is False
    events = [(e["action"], e["actor"]) for e in access.store.audit_events("user")][::-1]
    assert events[:3] == [("user.create", "operator"), ("user.scope", "operator"), ("user.password", "operator")]
    assert events[-1] == ("user.disable", "operator")
    access.store.dispose()


def test_habmon_demo_creates_and_lists_the_demo_accounts(store_url: str) -> None:
    code, output = cli(store_url, "demo")
    assert code == 0, output
    assert "DEMO ONLY" in output
    for account in DEMO_ACCOUNTS:
        assert account.username in output and account.password in output
    store = Store(store_url)
    users = Access(store).users(Principal.system())
    assert [(u.username, u.role, u.geo_scope) for u in users] == sorted(
        (a.username, a.role, a.geo_scope) for a in DEMO_ACCOUNTS
    )
    store.dispose()
