"""Access through the web app and the API, on every backend: a role × route × own/other-object matrix
generated from the app's route table, CSRF, cookie flags, token revocation, the login rate limit,
upload limits, and that a refused write leaves the stored data unchanged.

The expected statuses are written out by hand from docs/access.md (who may do what) and from how
the web layer answers a refusal: 403 for a signed-in user (404 for a submission they may not read, as
if it did not exist); for the public 401, except a page view (GET of an HTML page), which is sent to
the sign-in page (303).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from habmon.access.model import Principal, Role
from habmon.access.passwords import Passwords
from habmon.access.service import Access
from habmon.engine.run import compute
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.store.store import Store
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType
from habmon.surveys.design import Design, LonelyPSU
from habmon.surveys.service import Registration, Surveys
from habmon.surveys.synthetic import synthetic_dhs
from habmon.web import create_app
from habmon.web.auth import CSRF_COOKIE, SESSION_COOKIE
from habmon.web.context import WebServices
from habmon.web.settings import WebSettings
from tests.conftest import BACKENDS, _database_url

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # fast hashes: the tests log in often
PASSWORD = "a test password of the matrix"
HEADER = "indicator,geo,period,value,source\n"
COLUMNS = ("admin", "officer", "fp_own", "fp_other", "partner_own", "partner_other", "public")
# who acts in each column (None: the public)
ACTOR: dict[str, str | None] = {
    "admin": "t.admin",
    "officer": "t.officer",
    "fp_own": "t.kenya",
    "fp_other": "t.kenya",
    "partner_own": "t.partner",
    "partner_other": "t.partner",
    "public": None,
}
USERS: dict[str, dict[str, Any]] = {
    "t.admin": {"role": Role.ADMIN},
    "t.officer": {"role": Role.OFFICER, "organization": "UN-Habitat"},
    "t.kenya": {"role": Role.FOCAL_POINT, "organization": "KNBS (test)", "geo_scope": ["404"]},
    "t.uganda": {"role": Role.FOCAL_POINT, "organization": "UBOS (test)", "geo_scope": ["800"]},
    "t.partner": {"role": Role.PARTNER, "organization": "Partner A (test)"},
    "t.partner2": {"role": Role.PARTNER, "organization": "Partner B (test)"},
}
# the submission each column acts on: the focal point's own country or another, the partner's own
# organization or another; administrators, officers and the public act on the Kenyan one
SUBMISSION_OF = {
    "admin": "kenya",
    "officer": "kenya",
    "fp_own": "kenya",
    "fp_other": "uganda",
    "partner_own": "partner",
    "partner_other": "partner2",
    "public": "kenya",
}
# the user (and that user's token) each column acts on: its own, or someone else's
USER_OF = {
    "admin": "t.kenya",
    "officer": "t.kenya",
    "fp_own": "t.kenya",
    "fp_other": "t.officer",
    "partner_own": "t.partner",
    "partner_other": "t.kenya",
    "public": "t.kenya",
}
REVIEWERS = frozenset({"admin", "officer"})
SURVEY = "SYN-MATRIX"


def csv_for(geo: str, n: int) -> bytes:
    return (HEADER + f"11.1.1,{geo},2024,{20 + n / 100:.2f},case {n}\n").encode()


@dataclass
class World:
    app: FastAPI
    store: Store
    access: Access
    directory: Path
    web: dict[str, TestClient] = field(default_factory=dict)  # by username; "public": no cookies
    tokens: dict[str, str] = field(default_factory=dict)  # an API token per username
    submissions: dict[str, int] = field(default_factory=dict)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    survey_file: Path | None = None  # a SYNTHETIC household file, registered as survey SURVEY

    def principal(self, username: str) -> Principal:
        return self.access.principal(username)

    def client(self) -> TestClient:
        return TestClient(self.app)

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        client.get("/login")
        response = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": client.cookies[CSRF_COOKIE]},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    def submit(self, username: str, geo: str, organization: str, kind: OrganizationType) -> int:
        n = next(self.numbers)
        path = self.directory / f"case-{n}.csv"
        path.write_bytes(csv_for(geo, n))
        subs = Submissions(Monitor(self.store, principal=self.principal(username)))
        outcome = subs.submit(path, organization=organization, organization_type=kind)
        assert outcome.submission_id is not None, outcome.report
        return outcome.submission_id

    def fresh_submission(self, state: str = "validated") -> int:
        sid = self.submit("t.kenya", "KEN", "KNBS (test)", OrganizationType.MEMBER_STATE)
        reviewer = Submissions(Monitor(self.store, principal=self.principal("t.officer")))
        if state in ("approved", "published"):
            reviewer.approve(sid)
        if state == "published":
            reviewer.publish(sid)
        return sid

    def survey(self) -> Path:
        """The SYNTHETIC household file of survey ``SYN-MATRIX`` (registered on first use, by the officer)."""
        if self.survey_file is None:
            path = self.directory / "syn-matrix.csv"
            synthetic_dhs(300, seed=5).to_csv(path, index=False)
            design = Design(weight="hv005", psu="hv001", strata="hv022", weight_divisor=1e6)
            registration = Registration(
                SURVEY, "KEN", (2025, 2025), "household", design, "SYNTHETIC (habmon generator)", "synthetic"
            )
            self.surveys().register(path, registration)
            self.survey_file = path
        return self.survey_file

    def surveys(self) -> Surveys:
        return Surveys(Monitor(self.store, principal=self.principal("t.officer")))

    def fresh_computation(self) -> int:
        found = self.surveys().compute(SURVEY, self.survey(), "7.1.1", lonely_psu=LonelyPSU.ADJUST)
        return int(found["computation"])

    def fresh_user(self, role: Role = Role.FOCAL_POINT) -> str:
        name = f"fresh.{next(self.numbers)}"
        specs: dict[Role, dict[str, Any]] = {
            Role.FOCAL_POINT: {"geo_scope": ["404"]},
            Role.PARTNER: {"organization": "Partner A (test)"},
        }
        spec = specs.get(role, {})
        self.access.create_user(Principal.system(), name, role=role, password=PASSWORD, **spec)
        return name

    def fresh_token(self, username: str) -> int:
        _plaintext, info = self.access.create_token(self.principal(username), "fresh")
        return info.id

    def token_id(self, username: str) -> int:
        return next(t.id for t in self.access.tokens(Principal.system(), username) if t.name == "matrix")


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp(f"web-access-{request.param}")
    store = Store(_database_url(request.param, request, directory))
    operator = Monitor(store)
    operator.init()
    operator.load_shipped()  # published values and a monitoring run for the public pages and the read API
    compute(operator)
    settings = WebSettings()
    app = create_app(settings, services=WebServices(settings, store))
    access = Access(store, passwords=Passwords(CHEAP))
    app.state.access = access
    w = World(app, store, access, directory)
    for name, spec in USERS.items():
        access.create_user(Principal.system(), name, password=PASSWORD, **spec)
        w.tokens[name], _ = access.create_token(access.principal(name), "matrix")
    w.submissions = {
        "kenya": w.submit("t.kenya", "KEN", "KNBS (test)", OrganizationType.MEMBER_STATE),
        "uganda": w.submit("t.uganda", "UGA", "UBOS (test)", OrganizationType.MEMBER_STATE),
        "partner": w.submit("t.partner", "TZA", "Partner A (test)", OrganizationType.PARTNER),
        "partner2": w.submit("t.partner2", "TZA", "Partner B (test)", OrganizationType.PARTNER),
    }
    w.web = {name: w.login(name) for name in {a for a in ACTOR.values() if a}}
    w.web["public"] = w.client()
    yield w
    store.dispose()


# -- how a request is made in a column --------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    url: str
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    json: Any = None
    client: TestClient | None = None  # a client of its own (sign-in, sign-out, password change)


Build = Callable[[World, str], Call]


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the route's path as the app declares it
    expect: tuple[int, int, int, int, int, int, int]  # in the order of COLUMNS
    build: Build
    api: bool = False  # bearer token instead of the session cookie


def sid(column: str) -> Callable[[World], int]:
    return lambda w: w.submissions[SUBMISSION_OF[column]]


def submission_url(suffix: str = "", fresh_state: str | None = None) -> Build:
    """The column's submission; reviewers (whose step succeeds) get a fresh one in ``fresh_state``."""

    def build(w: World, column: str) -> Call:
        number = w.fresh_submission(fresh_state) if fresh_state and column in REVIEWERS else sid(column)(w)
        return Call(f"/submissions/{number}{suffix}")

    return build


def api_submission_url(suffix: str = "", fresh_state: str | None = None, body: Any = None) -> Build:
    def build(w: World, column: str) -> Call:
        number = w.fresh_submission(fresh_state) if fresh_state and column in REVIEWERS else sid(column)(w)
        return Call(f"/api/v1/submissions/{number}{suffix}", json=body)

    return build


def fixed(url: str, **kw: Any) -> Build:
    return lambda w, column: Call(url, **kw)


def upload(api: bool) -> Build:
    """A one-row file: the focal point's own country or another; the partner's own organization or another."""

    def build(w: World, column: str) -> Call:
        n = next(w.numbers)
        geo = "UGA" if column == "fp_other" else "TZA" if column.startswith("partner") else "KEN"
        data: dict[str, Any] = {}
        if column == "partner_other":
            data["organization"] = "Partner B (test)"
        url = "/api/v1/submissions" if api else "/submissions"
        return Call(url, data=data, files={"file": (f"case-{n}.csv", csv_for(geo, n), "text/csv")})

    return build


def entry(w: World, column: str) -> Call:
    """One value typed into the online grid: the focal point's own country or another; the partner's own
    organization or another (as for an uploaded file)."""
    n = next(w.numbers)
    geo = "UGA" if column == "fp_other" else "TZA" if column.startswith("partner") else "KEN"
    data: dict[str, Any] = {"indicator": "11.1.1", "geo": [geo], "period": ["2024"], "value": [f"{20 + n / 100:.2f}"]}
    data["source"] = f"entry {n}"
    if column == "partner_other":
        data["organization"] = "Partner B (test)"
    return Call("/submissions/entry", data=data)


def survey_url(w: World, column: str) -> Call:
    w.survey()
    return Call(f"/surveys/{SURVEY}")


def computation_url(suffix: str = "") -> Build:
    """A fresh computation of the survey (one can be sent once)."""
    return lambda w, column: Call(f"/surveys/{SURVEY}/computations/{w.fresh_computation()}{suffix}")


def new_survey(w: World, column: str) -> Call:
    """Register the SYNTHETIC file under a new name, with the DHS design."""
    data = {
        "name": f"SYN-M-{next(w.numbers)}",
        "country": "KEN",
        "fieldwork_start": "2025",
        "source": "SYNTHETIC (habmon generator)",
        "access_conditions": "synthetic",
        "weight": "hv005",
        "weight_divisor": "1000000",
        "psu": "hv001",
        "strata": "hv022",
    }
    return Call("/surveys", data=data, files={"file": ("syn.csv", w.survey().read_bytes(), "text/csv")})


def survey_computation(w: World, column: str) -> Call:
    data = {"indicator": "7.1.1", "lonely_psu": "adjust"}
    files = {"file": ("syn-matrix.csv", w.survey().read_bytes(), "text/csv")}
    return Call(f"/surveys/{SURVEY}/computations", data=data, files=files)


def user_url(suffix: str = "", fresh: Role | None = None) -> Build:
    """The column's user; the administrator (whose change succeeds) acts on a fresh user of role ``fresh``."""

    def build(w: World, column: str) -> Call:
        name = w.fresh_user(fresh) if fresh is not None and column == "admin" else USER_OF[column]
        return Call(f"/admin/users/{name}{suffix}")

    return build


def with_data(build: Build, data: dict[str, Any]) -> Build:
    return lambda w, column: Call(build(w, column).url, data=data)


def token_url(prefix: str, suffix: str = "") -> Build:
    """A token of the column's user: a fresh one where revoking it succeeds, else the shared one."""
    revokers = {"admin", "fp_own", "partner_own"}

    def build(w: World, column: str) -> Call:
        owner = USER_OF[column]
        number = w.fresh_token(owner) if column in revokers else w.token_id(owner)
        return Call(f"{prefix}/{number}{suffix}")

    return build


def new_user(w: World, column: str) -> Call:
    return Call(
        "/admin/users",
        data={"username": f"created.{next(w.numbers)}", "role": "officer", "password": PASSWORD + " x"},
    )


def login_call(w: World, column: str) -> Call:
    """Each column signs in as itself on a client of its own; the public tries a wrong password."""
    client = w.client()
    client.get("/login")
    name, password = (ACTOR[column], PASSWORD) if ACTOR[column] else ("t.kenya", "not the password at all")
    data = {"username": name, "password": password, "csrf_token": client.cookies[CSRF_COOKIE]}
    return Call("/login", data=data, client=client)


def logout_call(w: World, column: str) -> Call:
    actor = ACTOR[column]
    return Call("/logout", client=w.login(actor) if actor else w.client())


def own_password_call(w: World, column: str) -> Call:
    """A fresh user of the column's role changes its own password (that ends its sessions, so not the shared one)."""
    actor = ACTOR[column]
    if actor is None:
        return Call("/account/password", data={"current": PASSWORD, "password": PASSWORD + " new"})
    name = w.fresh_user(w.principal(actor).role)
    return Call("/account/password", data={"current": PASSWORD, "password": PASSWORD + " new"}, client=w.login(name))


ALL_200 = (200, 200, 200, 200, 200, 200, 200)
SIGNED_IN_200 = (200, 200, 200, 200, 200, 200, 303)
READ_SUBMISSION = (200, 200, 200, 404, 200, 404, 303)  # another's submission is not found: nothing leaks
REVIEWERS_ONLY = (200, 200, 403, 403, 403, 403, 303)
ADMIN_ONLY = (200, 403, 403, 403, 403, 403, 303)
STEP = (303, 303, 403, 403, 403, 403, 401)
API_STEP = (200, 200, 403, 403, 403, 403, 401)
ADMIN_WRITE = (303, 403, 403, 403, 403, 403, 401)
REVOKE = (303, 403, 303, 403, 303, 403, 401)

PAGES: list[Row] = [
    Row("GET", "/", ALL_200, fixed("/")),
    Row("GET", "/plan/{element_id}", ALL_200, fixed("/plan/OC-A")),
    Row("GET", "/indicators", ALL_200, fixed("/indicators")),
    Row("GET", "/indicators/{code}", ALL_200, fixed("/indicators/11.1.1")),
    Row("GET", "/places/{code}", ALL_200, fixed("/places/KEN")),
    Row("GET", "/login", ALL_200, fixed("/login")),
    Row("GET", "/submissions", SIGNED_IN_200, fixed("/submissions")),
    Row("GET", "/submissions/new", ALL_200, fixed("/submissions/new")),
    Row("GET", "/submissions/entry", ALL_200, fixed("/submissions/entry?indicator=11.1.1&geo=KEN")),
    Row("GET", "/review", REVIEWERS_ONLY, fixed("/review")),
    Row("GET", "/surveys", REVIEWERS_ONLY, fixed("/surveys")),
    Row("GET", "/surveys/new", REVIEWERS_ONLY, fixed("/surveys/new")),
    Row("GET", "/surveys/{name}", REVIEWERS_ONLY, survey_url),
    Row("GET", "/surveys/{name}/computations/{computation_id}", REVIEWERS_ONLY, computation_url()),
    Row("GET", "/submissions/{submission_id}", READ_SUBMISSION, submission_url()),
    Row("GET", "/admin/users", ADMIN_ONLY, fixed("/admin/users")),
    Row("GET", "/admin/users/{username}", ADMIN_ONLY, user_url()),
    Row("GET", "/account", SIGNED_IN_200, fixed("/account")),
    Row("GET", "/audit", REVIEWERS_ONLY, fixed("/audit")),
    Row("GET", "/api", ALL_200, fixed("/api")),
    Row("GET", "/runs", ALL_200, fixed("/runs")),
]


def twin(row: Row) -> Row:
    """The page's JSON twin: the same answers, except that the public gets 401 instead of the sign-in page."""
    route = "/index.json" if row.route == "/" else row.route + ".json"

    def build(w: World, column: str) -> Call:
        call = row.build(w, column)
        path, _, query = call.url.partition("?")
        url = ("/index.json" if path == "/" else path + ".json") + (f"?{query}" if query else "")
        return Call(url, call.data, call.files, call.json, call.client)

    expect = tuple(401 if status == 303 else status for status in row.expect)
    return Row(row.method, route, expect, build)  # type: ignore[arg-type]


ROWS: list[Row] = [
    *PAGES,
    *(twin(row) for row in PAGES),
    Row("GET", "/submissions/template.xlsx", ALL_200, fixed("/submissions/template.xlsx?indicator=11.1.1&geo=KEN")),
    Row("GET", "/submissions/{submission_id}/original", READ_SUBMISSION, submission_url("/original")),
    Row("POST", "/submissions", (303, 303, 303, 422, 303, 403, 401), upload(api=False)),
    Row("POST", "/submissions/entry", (303, 303, 303, 422, 303, 403, 401), entry),
    Row("POST", "/submissions/{submission_id}/approve", STEP, submission_url("/approve", "validated")),
    Row(
        "POST",
        "/submissions/{submission_id}/return",
        STEP,
        lambda w, c: Call(submission_url("/return", "validated")(w, c).url, data={"comment": "fix row 2"}),
    ),
    Row("POST", "/submissions/{submission_id}/publish", STEP, submission_url("/publish", "approved")),
    Row("POST", "/runs", STEP, fixed("/runs")),
    # survey microdata: officers and administrators only (survey.load, survey.compute)
    Row("POST", "/surveys", STEP, new_survey),
    Row("POST", "/surveys/{name}/computations", STEP, survey_computation),
    Row("POST", "/surveys/{name}/computations/{computation_id}/submit", STEP, computation_url("/submit")),
    Row("POST", "/login", (303, 303, 303, 303, 303, 303, 401), login_call),
    Row("POST", "/logout", (303, 303, 303, 303, 303, 303, 303), logout_call),
    Row("POST", "/admin/users", ADMIN_WRITE, new_user),
    Row(
        "POST",
        "/admin/users/{username}/active",
        ADMIN_WRITE,
        with_data(user_url("/active", Role.OFFICER), {"active": "false"}),
    ),
    Row(
        "POST",
        "/admin/users/{username}/scope",
        ADMIN_WRITE,
        with_data(user_url("/scope", Role.FOCAL_POINT), {"geo_scope": "KEN UGA"}),
    ),
    # one's own password through the administrators' form: allowed by the policy, but without the
    # current password (401, nothing changed)
    Row(
        "POST",
        "/admin/users/{username}/password",
        (303, 403, 401, 403, 401, 403, 401),
        with_data(user_url("/password", Role.OFFICER), {"password": PASSWORD + " reset"}),
    ),
    Row(
        "POST",
        "/admin/users/{username}/tokens",
        (200, 403, 403, 403, 403, 403, 401),
        with_data(user_url("/tokens"), {"name": "for a script"}),
    ),
    Row("POST", "/admin/tokens/{token_id}/revoke", REVOKE, token_url("/admin/tokens", "/revoke")),
    Row(
        "POST", "/account/tokens", (201, 201, 201, 201, 201, 201, 401), fixed("/account/tokens", data={"name": "mine"})
    ),
    Row("POST", "/account/tokens/{token_id}/revoke", REVOKE, token_url("/account/tokens", "/revoke")),
    Row("POST", "/account/password", (303, 303, 303, 303, 303, 303, 401), own_password_call),
    # the API, with a bearer token
    Row("GET", "/api/v1/openapi.json", ALL_200, fixed("/api/v1/openapi.json"), api=True),
    # for machines, with a token: a load balancer's probes, a Prometheus scraper (plain-text 401/403, no sign-in page)
    Row("GET", "/healthz", ALL_200, fixed("/healthz"), api=True),
    Row("GET", "/readyz", ALL_200, fixed("/readyz"), api=True),
    Row("GET", "/metrics", (200, 200, 403, 403, 403, 403, 401), fixed("/metrics"), api=True),
    Row("GET", "/static", ALL_200, fixed("/static/habmon.css"), api=True),
    Row("GET", "/api/v1/indicators", ALL_200, fixed("/api/v1/indicators"), api=True),
    Row("GET", "/api/v1/indicators/{code}", ALL_200, fixed("/api/v1/indicators/11.1.1"), api=True),
    Row(
        "GET",
        "/api/v1/indicators/{code}/series/{geo}",
        ALL_200,
        fixed("/api/v1/indicators/11.1.1/series/KEN"),
        api=True,
    ),
    Row("GET", "/api/v1/me", ALL_200, fixed("/api/v1/me"), api=True),
    Row("GET", "/api/v1/observations", ALL_200, fixed("/api/v1/observations?indicator=11.1.1&geo=KEN"), api=True),
    Row("GET", "/api/v1/runs/latest", ALL_200, fixed("/api/v1/runs/latest"), api=True),
    Row("GET", "/api/v1/runs", ALL_200, fixed("/api/v1/runs"), api=True),
    Row("POST", "/api/v1/runs", (202, 202, 403, 403, 403, 403, 401), fixed("/api/v1/runs", json={}), api=True),
    Row("GET", "/api/v1/aggregates", ALL_200, fixed("/api/v1/aggregates?indicator=11.1.1&level=world"), api=True),
    Row("GET", "/api/v1/progress", ALL_200, fixed("/api/v1/progress?indicator=11.1.1"), api=True),
    Row(
        "GET", "/api/v1/indicators/{code}/comparison", ALL_200, fixed("/api/v1/indicators/11.1.1/comparison"), api=True
    ),
    Row("GET", "/api/v1/indicators/{code}/export", ALL_200, fixed("/api/v1/indicators/11.1.1/export"), api=True),
    Row("GET", "/api/v1/plan", ALL_200, fixed("/api/v1/plan"), api=True),
    Row("GET", "/api/v1/plan/elements/{element_id}", ALL_200, fixed("/api/v1/plan/elements/OC-A"), api=True),
    Row("GET", "/api/v1/places", ALL_200, fixed("/api/v1/places?kind=country"), api=True),
    Row("GET", "/api/v1/places/{code}", ALL_200, fixed("/api/v1/places/KEN"), api=True),
    Row("GET", "/api/v1/submissions", (200, 200, 200, 200, 200, 200, 401), fixed("/api/v1/submissions"), api=True),
    Row("POST", "/api/v1/submissions", (201, 201, 201, 422, 201, 403, 401), upload(api=True), api=True),
    Row(
        "GET",
        "/api/v1/submissions/{submission_id}",
        (200, 200, 200, 404, 200, 404, 401),
        api_submission_url(),
        api=True,
    ),
    Row(
        "GET",
        "/api/v1/submissions/{submission_id}/report",
        (200, 200, 200, 404, 200, 404, 401),
        api_submission_url("/report"),
        api=True,
    ),
    Row(
        "GET",
        "/api/v1/submissions/{submission_id}/changes",
        (200, 200, 200, 404, 200, 404, 401),
        api_submission_url("/changes"),
        api=True,
    ),
    Row(
        "GET",
        "/api/v1/submissions/{submission_id}/original",
        (200, 200, 200, 404, 200, 404, 401),
        api_submission_url("/original"),
        api=True,
    ),
    Row(
        "POST",
        "/api/v1/submissions/{submission_id}/approve",
        API_STEP,
        api_submission_url("/approve", "validated", {}),
        api=True,
    ),
    Row(
        "POST",
        "/api/v1/submissions/{submission_id}/return",
        API_STEP,
        api_submission_url("/return", "validated", {"comment": "fix it"}),
        api=True,
    ),
    Row(
        "POST",
        "/api/v1/submissions/{submission_id}/publish",
        API_STEP,
        api_submission_url("/publish", "approved", {}),
        api=True,
    ),
    Row("GET", "/api/v1/tokens", (200, 200, 200, 200, 200, 200, 401), fixed("/api/v1/tokens"), api=True),
    Row(
        "POST",
        "/api/v1/tokens",
        (201, 201, 201, 201, 201, 201, 401),
        fixed("/api/v1/tokens", json={"name": "mine"}),
        api=True,
    ),
    Row(
        "DELETE",
        "/api/v1/tokens/{token_id}",
        (200, 403, 200, 403, 200, 403, 401),
        token_url("/api/v1/tokens"),
        api=True,
    ),
]
CASES = [(row, i) for row in ROWS for i in range(len(COLUMNS))]


def case_id(case: tuple[Row, int]) -> str:
    row, i = case
    return f"{row.method} {row.route} {COLUMNS[i]}"


def snapshot(store: Store) -> str:
    """A digest of what a write changes: submissions, observations, users, scopes, tokens, the audit log,
    monitoring runs, surveys and their computations (not when a session or token was last used — reading
    records that)."""
    s, u, a = t.submission.c, t.user_account.c, t.api_token.c
    queries = [
        select(s.id, s.state, s.comment, s.updated_at).order_by(s.id),
        select(func.count()).select_from(t.observation),
        select(func.count()).select_from(t.submission_row),
        select(u.username, u.role, u.active, u.password_hash, u.updated_at).order_by(u.id),
        select(t.user_scope.c.user_id, t.user_scope.c.geo_code).order_by(t.user_scope.c.id),
        select(a.id, a.revoked_at).order_by(a.id),
        select(func.count()).select_from(t.audit_event),
        select(func.count()).select_from(t.engine_run),
        select(func.count()).select_from(t.survey),
        select(func.count()).select_from(t.survey_computation),
    ]
    with store.engine.connect() as conn:
        rows = [[tuple(str(v) for v in r) for r in conn.execute(q)] for q in queries]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def send(w: World, row: Row, column: str) -> tuple[Any, str]:
    """Make the column's request; returns the response and the snapshot taken just before it."""
    call = row.build(w, column)
    actor = ACTOR[column]
    headers: dict[str, str] = {}
    if row.api:
        client = w.web["public"]
        if actor is not None:
            headers["Authorization"] = f"Bearer {w.tokens[actor]}"
    else:
        client = call.client or w.web[actor or "public"]
        if row.method != "GET" and actor is not None:
            call = Call(
                call.url, {**(call.data or {}), "csrf_token": client.cookies[CSRF_COOKIE]}, call.files, call.json
            )
    before = snapshot(w.store)
    response = client.request(
        row.method, call.url, data=call.data, files=call.files, json=call.json, headers=headers, follow_redirects=False
    )
    return response, before


@pytest.mark.parametrize("case", CASES, ids=map(case_id, CASES))
def test_every_role_on_every_route(world: World, case: tuple[Row, int]) -> None:
    row, i = case
    column = COLUMNS[i]
    response, before = send(world, row, column)
    assert response.status_code == row.expect[i], response.text[:600]
    if response.status_code >= 400:
        if response.headers.get("content-type", "").startswith("application/json"):
            error = response.json()["error"]
            assert set(error) == {"type", "message", "details", "request_id"}
            assert error["request_id"] == response.headers["x-request-id"]
        if row.method != "GET":
            assert snapshot(world.store) == before, "a refused write changed stored data"
    if response.status_code == 303 and column == "public" and row.method == "GET":
        assert response.headers["location"].startswith("/login?next=")


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        methods = (route.methods or {"GET"}) - {"HEAD"}
        found |= {(method, str(route.path)) for method in methods}
    return found


def test_every_route_of_the_app_is_in_the_matrix(world: World) -> None:
    """A new route fails here until the matrix says who may use it."""
    declared = {(row.method, row.route) for row in ROWS}
    assert app_routes(world.app) - declared == set(), "routes without a row in the matrix"
    assert declared - app_routes(world.app) == set(), "rows for routes the app does not have"


# -- CSRF ----------------------------------------------------------------------------------------------

UNSAFE = [row for row in ROWS if row.method != "GET" and row.route not in ("/login",)]


@pytest.mark.parametrize("row", UNSAFE, ids=[f"{r.method} {r.route}" for r in UNSAFE])
def test_a_session_write_without_its_csrf_token_is_refused(world: World, row: Row) -> None:
    """With the session cookie but no (or another session's) CSRF token: 403, nothing changed —
    for every form and for the API used with a cookie instead of a token."""
    call = row.build(world, "admin")
    client = call.client or world.login("t.admin")
    for token in (None, world.web["t.officer"].cookies[CSRF_COOKIE]):
        data = {**(call.data or {}), **({"csrf_token": token} if token else {})}
        before = snapshot(world.store)
        response = client.request(
            row.method, call.url, data=data or None, files=call.files, json=call.json, follow_redirects=False
        )
        assert response.status_code == 403, response.text[:400]
        assert "CSRF" in response.text
        assert snapshot(world.store) == before


def test_the_sign_in_form_needs_its_double_submit_token(world: World) -> None:
    client = world.client()
    data = {"username": "t.kenya", "password": PASSWORD}
    refused = client.post("/login", data=data, follow_redirects=False)
    assert refused.status_code == 403 and SESSION_COOKIE not in refused.cookies
    client.get("/login")
    wrong = client.post("/login", data={**data, "csrf_token": "another"}, follow_redirects=False)
    assert wrong.status_code == 403
    right = client.post("/login", data={**data, "csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False)
    assert right.status_code == 303 and right.cookies.get(SESSION_COOKIE)


def test_a_token_request_needs_no_csrf_token_and_carries_no_cookie_authority(world: World) -> None:
    """A bearer token is the authority: the session cookie sent along does not change who acts."""
    client = world.login("t.officer")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['t.kenya']}"})
    assert response.json()["username"] == "t.kenya"
    assert client.get("/api/v1/me").json()["username"] == "t.officer"


# -- cookies, sessions, tokens ------------------------------------------------------------------------------


def set_cookies(response: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookies_are_httponly_samesite_lax_and_secure_when_configured(world: World, secure: bool) -> None:
    settings = WebSettings(secure_cookies=secure)
    app = create_app(settings, services=WebServices(settings, world.store))
    app.state.access = world.access
    client = TestClient(app, base_url="https://testserver" if secure else "http://testserver")
    shown = client.get("/login")
    csrf_cookie = set_cookies(shown)[CSRF_COOKIE]
    response = client.post(
        "/login",
        data={"username": "t.kenya", "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    cookies = set_cookies(response)
    for header in (cookies[SESSION_COOKIE], cookies[CSRF_COOKIE], csrf_cookie):
        attributes = {a.strip().split("=")[0].lower(): a.strip() for a in header.split(";")[1:]}
        assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=lax"
        assert attributes["path"] == "Path=/"
        assert ("secure" in attributes) is secure
    # the session token in the cookie is not what the database keeps (its SHA-256 is)
    session = client.cookies[SESSION_COOKIE]
    with world.store.engine.connect() as conn:
        stored = set(conn.execute(select(t.web_session.c.token_sha256)).scalars())
    assert hashlib.sha256(session.encode()).hexdigest() in stored and session not in stored


def test_signing_out_ends_the_session_on_the_server(world: World) -> None:
    client = world.login("t.partner")
    session = client.cookies[SESSION_COOKIE]
    assert client.get("/account.json").status_code == 200
    out = client.post("/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False)
    assert out.status_code == 303
    replay = world.client()
    replay.cookies.set(SESSION_COOKIE, session)
    assert replay.get("/account.json").status_code == 401
    # the ended session's cookie is cleared on the next answer
    assert 'habmon_session=""' in replay.get("/").headers.get("set-cookie", "")


def test_a_revoked_token_stops_working_at_once(world: World) -> None:
    api = world.client()
    owner = {"Authorization": f"Bearer {world.tokens['t.partner']}"}
    created = api.post("/api/v1/tokens", json={"name": "to revoke"}, headers=owner)
    assert created.status_code == 201
    token, number = created.json()["token"], created.json()["info"]["id"]
    header = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=header).json()["username"] == "t.partner"
    listed = api.get("/api/v1/tokens", headers=owner).json()["items"]
    assert [t["prefix"] for t in listed if t["id"] == number] == [token[:11]]
    assert all(token not in json.dumps(t) for t in listed)  # the token is shown once, never listed
    assert api.delete(f"/api/v1/tokens/{number}", headers=header).json()["active"] is False
    for url in ("/api/v1/me", "/api/v1/submissions", "/api/v1/indicators"):
        refused = api.get(url, headers=header)
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "unauthorized"
        assert refused.headers["www-authenticate"].startswith("Bearer")


def test_a_disabled_user_loses_sessions_and_tokens(world: World) -> None:
    name = world.fresh_user(Role.PARTNER)
    client = world.login(name)
    plaintext, _ = world.access.create_token(world.principal(name), "soon gone")
    admin = world.web["t.admin"]
    done = admin.post(
        f"/admin/users/{name}/active",
        data={"active": "false", "csrf_token": admin.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/account.json").status_code == 401
    assert world.client().get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_the_login_rate_limit_answers_429_with_retry_after(world: World) -> None:
    name = world.fresh_user(Role.OFFICER)
    client = TestClient(world.app, client=("192.0.2.77", 4000))  # an address of its own (TEST-NET-1)
    client.get("/login")

    def attempt(password: str, **headers: str) -> Any:
        data = {"username": name, "password": password, "csrf_token": client.cookies[CSRF_COOKIE]}
        return client.post("/login", data=data, headers=headers, follow_redirects=False)

    for number in range(5):
        failed = attempt(f"wrong password {number}")
        assert failed.status_code == 401 and "wrong username or password" in failed.text
    throttled = attempt(PASSWORD)  # even the right password waits
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60
    assert SESSION_COOKIE not in throttled.cookies
    as_json = attempt(PASSWORD, accept="application/json")
    assert as_json.status_code == 429 and as_json.json()["error"]["type"] == "login-throttled"
    assert int(as_json.headers["retry-after"]) >= 1


# -- what each role sees -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "visible", "invisible"),
    [
        ("t.officer", {"kenya", "uganda", "partner", "partner2"}, set()),
        ("t.kenya", {"kenya"}, {"uganda", "partner", "partner2"}),
        ("t.uganda", {"uganda"}, {"kenya", "partner", "partner2"}),
        ("t.partner", {"partner"}, {"kenya", "uganda", "partner2"}),
    ],
)
def test_lists_show_only_what_the_role_may_read(
    world: World, username: str, visible: set[str], invisible: set[str]
) -> None:
    api = world.client().get(
        "/api/v1/submissions?limit=1000", headers={"Authorization": f"Bearer {world.tokens[username]}"}
    )
    client = world.web.get(username) or world.login(username)
    page = client.get("/submissions.json").json()
    for ids in ({i["id"] for i in api.json()["items"]}, {i["id"] for i in page["items"]}):
        assert {world.submissions[k] for k in visible} <= ids
        assert not ids & {world.submissions[k] for k in invisible}


@pytest.mark.parametrize(
    ("username", "shown", "hidden"),
    [
        ("t.admin", {"/submissions", "/review", "/audit", "/admin/users", "/account"}, set()),
        ("t.officer", {"/submissions", "/review", "/audit", "/account"}, {"/admin/users"}),
        ("t.kenya", {"/submissions", "/account"}, {"/review", "/audit", "/admin/users"}),
        ("public", set(), {"/submissions", "/review", "/audit", "/admin/users", "/account"}),
    ],
)
def test_the_navigation_shows_the_links_the_role_can_use(
    world: World, username: str, shown: set[str], hidden: set[str]
) -> None:
    html = world.web[username].get("/").text
    links = set(re.findall(r'<li><a href="(/[a-z/]*)">', html))
    assert shown <= links and not hidden & links
    assert ("Sign out" in html) is (username != "public") and ("Sign in" in html) is (username == "public")


# -- uploads ------------------------------------------------------------------------------------------------


def test_an_upload_above_the_limit_is_refused_with_the_limit_and_the_size(world: World) -> None:
    settings = WebSettings(max_upload_bytes=2_000)
    app = create_app(settings, services=WebServices(settings, world.store))
    app.state.access = world.access
    api = TestClient(app)
    header = {"Authorization": f"Bearer {world.tokens['t.kenya']}"}
    rows = "".join(f"11.1.1,KEN,{2000 + i % 25},{10 + i / 1000:.3f},big\n" for i in range(400))
    body = (HEADER + rows).encode()
    assert 2_000 < len(body) < 2_000 + 64 * 1024  # measured after the form is read
    before = snapshot(world.store)
    response = api.post("/api/v1/submissions", files={"file": ("big.csv", body, "text/csv")}, headers=header)
    assert response.status_code == 413
    details = response.json()["error"]["details"]
    assert details["expected"] == "at most 2,000 bytes (0.0 MB)"
    assert details["found"] == f"{len(body):,} bytes ({len(body) / 1e6:.1f} MB)"
    huge = body * 60  # announced by Content-Length: refused before the body is read
    early = api.post("/api/v1/submissions", files={"file": ("huge.csv", huge, "text/csv")}, headers=header)
    assert early.status_code == 413 and early.json()["error"]["message"].startswith("the request is larger")
    assert snapshot(world.store) == before
    page = world.login("t.kenya")
    form = TestClient(app, cookies=dict(page.cookies))
    html = form.post(
        "/submissions",
        data={"csrf_token": page.cookies[CSRF_COOKIE]},
        files={"file": ("big.csv", body, "text/csv")},
    )
    assert html.status_code == 413 and "2,000 bytes" in html.text and f"{len(body):,} bytes" in html.text
