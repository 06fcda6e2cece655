"""schemathesis against the OpenAPI document of /api/v1: every operation, with an administrator's API token,
answers without a server error and as the document says (status codes, content types, response schemas).

Examples per operation are limited so the whole run stays within about a minute on two cores.
The store is a demo store of its own (plan, registry, geography, shipped data, two submissions),
since the write operations change it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from habmon.access.model import Principal, Role
from habmon.access.service import Access
from habmon.services import Monitor
from habmon.store.store import Store
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType
from habmon.web import create_app
from habmon.web.context import WebServices
from habmon.web.settings import WebSettings

MAX_EXAMPLES = 40
OPENAPI = "/api/v1/openapi.json"


@dataclass
class Api:
    access: Access
    admin: Principal
    token: str

    def current_token(self) -> str:
        """The administrator's token — a new one if an example revoked it (DELETE /api/v1/tokens/{id})."""
        if self.access.principal_for_token(self.token) is None:
            self.token, _ = self.access.create_token(self.admin, "schemathesis")
        return self.token

    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current_token()}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Api]]:
    directory = tmp_path_factory.mktemp("api-schema")
    store = Store(f"sqlite:///{directory / 'habmon.sqlite3'}")
    monitor = Monitor(store)
    monitor.init()
    monitor.load_shipped()
    access = Access(store)
    admin = access.create_user(Principal.system(), "schema.admin", role=Role.ADMIN).principal
    token, _ = access.create_token(admin, "schemathesis")
    for number, geo in enumerate(("KEN", "UGA"), start=1):
        path = Path(directory) / f"{geo}.csv"
        path.write_text(f"indicator,geo,period,value,source\n11.1.1,{geo},2024,{30 + number},test\n", encoding="utf-8")
        Submissions(monitor).submit(path, organization="test", organization_type=OrganizationType.MEMBER_STATE)
    settings_ = WebSettings()
    app = create_app(settings_, services=WebServices(settings_, store))
    yield app, Api(access, admin, token)
    store.dispose()


def document_app() -> Any:
    """The app only for its OpenAPI document (no database is opened to serve it); the tests call the real one."""
    settings_ = WebSettings()
    return create_app(settings_, services=WebServices(settings_, Store("sqlite://")))


# pytest 9 and schemathesis' lazy fixture loader do not agree (it reads Function._nodeid), so the document is
# loaded when the module is collected and every case is sent to the fixture's app instead
schema = schemathesis.openapi.from_asgi(OPENAPI, document_app())


# What a schema cannot say: a submission's file must be a readable CSV, Excel, SDMX or Open SDG table, and a
# multipart form has no null (schemathesis sends the text "null" for an optional field). A file the readers
# reject is answered 422 with its problems, as documented; "schema-valid data is accepted" does not hold there.
SEMANTIC_BODY = {("POST", "/api/v1/submissions")}


TOKEN_MARK = "{administrator's token}"  # replaced by the real token when the case is sent


@schema.auth(refresh_interval=None)
class AdministratorToken:
    """Marks every case for the administrator's bearer token — except the negative ones that leave it out
    on purpose (schemathesis does not call ``set`` for those). Cases may be generated before the store exists,
    so the token itself is put in when the case is sent."""

    def get(self, case: Any, context: Any) -> str:
        return TOKEN_MARK

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_conforms_to_the_openapi_document(case: Any, api: tuple[Any, Api]) -> None:
    app, state = api
    if case.headers and case.headers.get("Authorization") == f"Bearer {TOKEN_MARK}":
        case.headers["Authorization"] = f"Bearer {state.current_token()}"
    excluded = [positive_data_acceptance] if (case.method.upper(), case.path) in SEMANTIC_BODY else []
    case.call_and_validate(app=app, excluded_checks=excluded)


def test_the_document_names_every_operation_once(api: tuple[Any, Api]) -> None:
    """Stable operation ids: one per operation, none generated from a function name."""
    app, _ = api
    document = app.openapi()
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all("_" not in i and i[0].islower() for i in ids), ids
    assert {
        "listSubmissions",
        "createSubmission",
        "getSubmission",
        "getSubmissionReport",
        "getSubmissionChanges",
        "getSubmissionOriginal",
        "approveSubmission",
        "returnSubmission",
        "publishSubmission",
        "getMe",
        "listTokens",
        "createToken",
        "revokeToken",
    } <= set(ids)
    security = document["paths"]["/api/v1/submissions/{submission_id}/approve"]["post"]["security"]
    assert security == [{"HTTPBearer": []}]
    assert "413" in document["paths"]["/api/v1/submissions"]["post"]["responses"]


def test_what_schemathesis_found_stays_fixed(api: tuple[Any, Api]) -> None:
    """A file of a lone CR line end was a 500 (csv.Error); a body that is not JSON was a 500 (bytes in the
    error); a 405 named only the first route's method."""
    app, state = api
    client = TestClient(app)
    header = state.authorization()
    lone_cr = client.post("/api/v1/submissions", files={"file": ("file", b"\r0\r\n", "text/csv")}, headers=header)
    assert lone_cr.status_code == 422
    assert [p["column"] for p in lone_cr.json()["error"]["details"]["problems"]["problems"]][:4] == [
        "indicator",
        "geo",
        "period",
        "value",
    ]
    not_json = client.post("/api/v1/tokens", content=b'{"name": "0"', headers={**header, "Content-Type": "text/plain"})
    assert not_json.status_code == 422 and not_json.json()["error"]["type"] == "invalid-request"
    options = client.options("/api/v1/tokens", headers=header)
    assert (options.status_code, options.headers["allow"]) == (405, "GET, POST")
