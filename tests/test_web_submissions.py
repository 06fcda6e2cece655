"""Submissions through the web app and the API, on every backend: the validation report (every problem with
row, column, expected and found), resubmission after a return, the reviewers' diff, the original file, the
template, the audit browser, users and tokens — with answers written out by hand."""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from habmon.access.model import Principal, Role
from habmon.access.passwords import Passwords
from habmon.access.service import Access
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.store.store import Store
from habmon.web import create_app
from habmon.web.auth import CSRF_COOKIE
from habmon.web.context import WebServices
from habmon.web.pages.entry import MAX_LINES
from habmon.web.settings import WebSettings
from tests.conftest import BACKENDS, _database_url

PASSWORD = "a password for these tests"
HEADER = "indicator,geo,period,value,sex,source\n"
JSON = {"Accept": "application/json"}


@dataclass
class Site:
    app: FastAPI
    store: Store
    access: Access
    clients: dict[str, TestClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(2000))

    def post(self, who: str, url: str, **kw: Any) -> Any:
        client = self.clients[who]
        data = {**kw.pop("data", {}), "csrf_token": client.cookies[CSRF_COOKIE]}
        return client.post(url, data=data, follow_redirects=False, **kw)

    def api(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def year(self) -> int:
        """A year no other test uses, so each test's values are new."""
        return next(self.numbers)

    def submissions(self) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.submission)).scalar_one())


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    store = Store(_database_url(request.param, request, tmp_path_factory.mktemp(f"web-subs-{request.param}")))
    Monitor(store).init()
    settings = WebSettings()
    app = create_app(settings, services=WebServices(settings, store))
    access = Access(store, passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)))
    app.state.access = access
    s = Site(app, store, access)
    users: dict[str, dict[str, Any]] = {
        "w.admin": {"role": Role.ADMIN},
        "w.officer": {"role": Role.OFFICER},
        "w.kenya": {"role": Role.FOCAL_POINT, "organization": "KNBS (test)", "geo_scope": ["KEN"]},
    }
    for name, spec in users.items():
        access.create_user(Principal.system(), name, password=PASSWORD, **spec)
        s.tokens[name], _ = access.create_token(access.principal(name), "tests")
        client = TestClient(app)
        client.get("/login")
        client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]})
        s.clients[name] = client
    yield s
    store.dispose()


def upload(s: Site, who: str, name: str, text: str, **kw: Any) -> Any:
    return s.post(who, "/submissions", files={"file": (name, text.encode(), "text/csv")}, **kw)


def number_of(response: Any) -> int:
    found = re.fullmatch(r"/submissions/(\d+)\?created=1", response.headers["location"])
    assert found, response.headers.get("location")
    return int(found.group(1))


def test_the_report_lists_every_problem_and_nothing_is_stored(site: Site) -> None:
    year = site.year()
    bad = (
        HEADER
        + f"11.1.1,KEN,{year},abc,,KNBS\n"  # row 2: not a number
        + f"11.1.1,UGA,{year},37.0,F,KNBS\n"  # row 3: outside the focal point's scope
        + f"11.1.1,KEN,{year},135.0,M,KNBS\n"  # row 4: a percentage above 100
    )
    before = site.submissions()
    page = upload(site, "w.kenya", "bad.csv", bad)
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    rows = re.findall(r'<tr class="severity-error">(.*?)</tr>', page.text, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows]
    found = sorted((c[1].strip(), c[2].strip()) for c in cells)
    assert found == [("2", "value"), ("3", "geo"), ("4", "value")]
    assert "Nothing was stored." in page.text and 'action="/submissions"' in page.text  # and it can be sent again
    as_json = upload(site, "w.kenya", "bad.csv", bad, headers=JSON)
    assert as_json.status_code == 422
    problems = as_json.json()["error"]["details"]["problems"]["problems"]
    assert sorted((p["row"], p["column"], p["type"]) for p in problems) == [
        (2, "value", "type"),
        (3, "geo", "scope"),
        (4, "value", "range"),
    ]
    assert next(p for p in problems if p["row"] == 2)["found"] == "abc"
    assert next(p for p in problems if p["row"] == 3)["found"] == "UGA (Uganda)"
    assert site.submissions() == before


def test_a_returned_submission_is_corrected_and_sent_again(site: Site) -> None:
    year = site.year()
    first = upload(site, "w.kenya", "first.csv", HEADER + f"11.1.1,KEN,{year},40.0,,KNBS\n")
    number = number_of(first)
    returned = site.post("w.officer", f"/submissions/{number}/return", data={"comment": "the 2025 census gives 39.5"})
    assert returned.status_code == 303
    shown = site.clients["w.kenya"].get(f"/submissions/{number}.json").json()
    assert (shown["submission"]["state"], shown["submission"]["comment"]) == ("returned", "the 2025 census gives 39.5")
    assert shown["can_resubmit"] is True and shown["steps"] == []
    form = site.clients["w.kenya"].get(f"/submissions/new.json?resubmit={number}").json()
    assert form["resubmit"]["comment"] == "the 2025 census gives 39.5"
    assert form["form"]["values"]["organization"] == "KNBS (test)"
    again = upload(site, "w.kenya", "second.csv", HEADER + f"11.1.1,KEN,{year},39.5,,KNBS\n")
    assert site.clients["w.kenya"].get(f"/submissions/{number_of(again)}.json").json()["submission"]["state"] == (
        "validated"
    )
    # the workflow refuses a step the state does not allow: 409, with what it expected
    late = site.post("w.officer", f"/submissions/{number}/approve", headers=JSON)
    assert late.status_code == 409
    assert late.json()["error"]["details"]["expected"] == "a submission that is validated"


def kenya(year: int, total: float) -> str:
    """Total, women and men: the total lies between the parts, as validation wants."""
    return HEADER + f"11.1.1,KEN,{year},{total},,KNBS\n11.1.1,KEN,{year},37.0,F,KNBS\n11.1.1,KEN,{year},35.0,M,KNBS\n"


def test_reviewers_see_each_value_against_the_stored_one(site: Site) -> None:
    year = site.year()
    api = TestClient(site.app)
    sent = api.post(
        "/api/v1/submissions", files={"file": ("a.csv", kenya(year, 36.0).encode())}, headers=site.api("w.kenya")
    )
    assert sent.status_code == 201, sent.text
    first = sent.json()["submission"]
    assert sent.headers["location"] == f"/api/v1/submissions/{first}"
    runs = []
    for step, state in (("approve", "approved"), ("publish", "published")):
        done = api.post(f"/api/v1/submissions/{first}/{step}", json={}, headers=site.api("w.officer"))
        assert (done.status_code, done.json()["state"]) == (200, state)
        latest = api.get("/api/v1/runs/latest")  # TestClient has run the background tasks by now
        runs.append(latest.json()["id"] if latest.status_code == 200 else 0)
    # approving changes no public figure; publishing queued a monitoring run, run as the officer
    assert runs[1] > runs[0]
    (event,) = [e for e in site.store.audit_events("engine_run") if e["object_id"] == str(runs[1])]
    assert event["actor"] == "w.officer"
    published = api.get(f"/api/v1/indicators/11.1.1/series/KEN?period_from={year}&period_to={year}").json()
    assert sorted(o["value"] for o in published["observations"]) == [35.0, 36.0, 37.0]
    second = number_of(upload(site, "w.kenya", "b.csv", kenya(year, 36.5)))
    queue = site.clients["w.officer"].get("/review.json").json()
    assert second in [s["id"] for s in queue["to_approve"]]
    changes = site.clients["w.officer"].get(f"/submissions/{second}.json").json()["changes"]
    assert [(c["status"], c["old"], c["new"], c["old_revision"], c["disaggregation"]) for c in changes] == [
        ("revised", 36.0, 36.5, 1, {}),
        ("unchanged", 37.0, 37.0, 1, {"sex": "F"}),
        ("unchanged", 35.0, 35.0, 1, {"sex": "M"}),
    ]
    html = site.clients["w.officer"].get(f"/submissions/{second}").text
    assert "0 new, 1 revised, 2 unchanged" in html
    assert f'action="/submissions/{second}/approve"' in html
    through_api = api.get(f"/api/v1/submissions/{second}/changes?limit=1", headers=site.api("w.officer")).json()
    assert [c["status"] for c in through_api["items"]] == ["revised"] and through_api["page"]["next"]


def test_the_original_file_comes_back_byte_for_byte(site: Site) -> None:
    year = site.year()
    content = ("\ufeff" + HEADER + f"11.1.1,KEN,{year},33.3,,KNBS – 统计局\r\n").encode("utf-8")
    number = number_of(site.post("w.kenya", "/submissions", files={"file": ("orig.csv", content, "text/csv")}))
    page = site.clients["w.officer"].get(f"/submissions/{number}/original")
    api = TestClient(site.app).get(f"/api/v1/submissions/{number}/original", headers=site.api("w.kenya"))
    for response in (page, api):
        assert response.status_code == 200 and response.content == content
        assert response.headers["content-disposition"] == f'attachment; filename="{number}-orig.csv"'
    sha = site.clients["w.officer"].get(f"/submissions/{number}.json").json()["submission"]["content_sha256"]
    assert sha == hashlib.sha256(content).hexdigest()


def test_the_template_is_the_habmon_workbook_in_either_language(site: Site) -> None:
    client = site.clients["w.kenya"]
    workbook = client.get("/submissions/template.xlsx?indicator=11.1.1&indicator=11.2.1&geo=KEN+ke_nairobi&lang=zh")
    assert workbook.status_code == 200
    assert workbook.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheets = load_workbook(io.BytesIO(workbook.content)).sheetnames
    assert "数据" in sheets and "说明" in sheets
    english = load_workbook(io.BytesIO(client.get("/submissions/template.xlsx?indicator=11.1.1&geo=KEN").content))
    assert "Data" in english.sheetnames
    missing = client.get("/submissions/template.xlsx?indicator=99.9.9&geo=KEN", headers=JSON)
    assert missing.status_code == 404 and missing.json()["error"]["details"]["found"] == "99.9.9"


def test_the_audit_browser_pages_through_the_log_newest_first(site: Site) -> None:
    year = site.year()
    # an earlier submission of its own, so that there is an older page whatever ran before in this store
    upload(site, "w.kenya", "earlier.csv", HEADER + f"11.1.1,KEN,{year},30.0,,KNBS\n")
    number = number_of(upload(site, "w.kenya", "audit.csv", HEADER + f"11.1.1,KEN,{site.year()},31.0,,KNBS\n"))
    site.post("w.officer", f"/submissions/{number}/approve")
    browser = site.clients["w.officer"]
    events = browser.get("/audit.json?type=submission&limit=3").json()
    assert [(e["action"], e["actor"], e["object_id"]) for e in events["events"]] == [
        ("submission.approve", "w.officer", str(number)),
        ("submission.validate", "w.kenya", str(number)),
        ("submission.submit", "w.kenya", str(number)),
    ]
    assert events["previous"] is None and events["next"] == 3
    older = browser.get("/audit.json?type=submission&limit=3&offset=3").json()
    assert older["previous"] == 0
    assert all(e["id"] < events["events"][-1]["id"] for e in older["events"])
    assert f'<a href="/submissions/{number}">submission {number}</a>' in browser.get("/audit?type=submission").text


def test_an_administrator_manages_users_scopes_and_tokens(site: Site) -> None:
    name = f"new.fp{site.year()}"
    created = site.post(
        "w.admin",
        "/admin/users",
        data={"username": name, "role": "focal_point", "geo_scope": "KEN ke_nairobi", "password": PASSWORD},
    )
    assert created.status_code == 303 and created.headers["location"] == f"/admin/users/{name}"
    admin = site.clients["w.admin"]
    assert admin.get(f"/admin/users/{name}.json").json()["account"]["geo_scope"] == ["404", "ke_nairobi"]
    site.post("w.admin", f"/admin/users/{name}/scope", data={"geo_scope": "UGA"})
    assert admin.get(f"/admin/users/{name}.json").json()["account"]["geo_scope"] == ["800"]
    token_page = site.post("w.admin", f"/admin/users/{name}/tokens", data={"name": "their script"})
    token = re.search(r'<code class="token" id="new-token">([^<]+)</code>', token_page.text)
    assert token_page.status_code == 200 and token is not None
    me = TestClient(site.app).get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"}).json()
    assert (me["username"], me["geo_scope"]) == (name, ["800"])
    listed = admin.get(f"/admin/users/{name}.json").json()["tokens"]
    assert [(t["name"], t["prefix"], t["active"]) for t in listed] == [("their script", token.group(1)[:11], True)]
    assert token.group(1) not in admin.get(f"/admin/users/{name}").text  # shown once, never again
    site.post("w.admin", f"/admin/users/{name}/active", data={"active": "false"})
    assert admin.get(f"/admin/users/{name}.json").json()["account"]["active"] is False
    without_scope = site.post(
        "w.admin", "/admin/users", data={"username": "no.scope", "role": "focal_point"}, headers=JSON
    )
    assert without_scope.status_code == 400
    assert without_scope.json()["error"]["details"] == {"expected": "one or more countries or cities", "found": "none"}


def test_the_same_file_twice_is_one_submission(site: Site) -> None:
    text = HEADER + f"11.1.1,KEN,{site.year()},30.5,,KNBS\n"
    api = TestClient(site.app)
    first = api.post("/api/v1/submissions", files={"file": ("x.csv", text.encode())}, headers=site.api("w.kenya"))
    again = api.post("/api/v1/submissions", files={"file": ("x.csv", text.encode())}, headers=site.api("w.kenya"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False and again.json()["submission"] == first.json()["submission"]
    page = upload(site, "w.kenya", "x.csv", text)
    assert page.headers["location"] == f"/submissions/{first.json()['submission']}?existing=1"


def test_an_officer_does_not_approve_what_they_sent_four_eyes(site: Site) -> None:
    year = site.year()
    sent = upload(site, "w.officer", "own.csv", HEADER + f"11.1.1,KEN,{year},33.0,,UN-Habitat\n")
    number = number_of(sent)
    own = site.clients["w.officer"].get(f"/submissions/{number}.json").json()
    assert own["submission"]["state"] == "validated" and "approve" not in own["steps"] and "return" in own["steps"]
    refused = site.post("w.officer", f"/submissions/{number}/approve", headers=JSON)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["expected"] == "an object sent by someone else (four eyes)"
    assert site.clients["w.officer"].get(f"/submissions/{number}.json").json()["submission"]["state"] == "validated"
    approved = site.post("w.admin", f"/submissions/{number}/approve", headers=JSON)
    assert approved.status_code == 200
    assert site.clients["w.officer"].get(f"/submissions/{number}.json").json()["submission"]["state"] == "approved"


def test_an_officer_starts_a_monitoring_run_and_everyone_sees_the_stored_runs(site: Site) -> None:
    public = TestClient(site.app)
    before = public.get("/api/v1/runs").json()["page"]["total"]
    page = site.clients["w.officer"].get("/runs").text
    assert 'action="/runs"' in page and "Run now" in page
    assert 'action="/runs"' not in public.get("/runs").text  # the public sees the runs, not the button

    started = site.post("w.officer", "/runs")  # TestClient runs the queued run before it returns
    assert (started.status_code, started.headers["location"]) == (303, "/runs")
    through_api = public.post("/api/v1/runs", json={}, headers=site.api("w.admin"))
    assert through_api.status_code == 202, through_api.text
    assert (through_api.json()["queued"], through_api.json()["requested_by"]) == (True, "w.admin")
    refused = public.post("/api/v1/runs", json={}, headers=site.api("w.kenya"))
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden"

    listed = site.clients["w.officer"].get("/api/v1/runs?limit=2").json()
    assert listed["page"]["total"] == before + 2
    newest, older = listed["items"]
    assert (newest["actor"], older["actor"]) == ("w.admin", "w.officer") and newest["id"] > older["id"]
    with site.store.engine.connect() as conn:
        assert (
            newest["snapshot_observation_id"]
            == conn.execute(select(func.coalesce(func.max(t.observation.c.id), 0))).scalar()
        )
    assert listed["queue"] == {
        "running": False,
        "queued": False,
        "requested_by": None,
        "last_run": newest["id"],
        "last_finished_at": listed["queue"]["last_finished_at"],
        "last_error": None,
    }
    anonymous = public.get("/runs.json").json()
    assert anonymous["runs"][0]["id"] == newest["id"] and anonymous["runs"][0]["actor"] is None
    assert anonymous["may_run"] is False and site.clients["w.officer"].get("/runs.json").json()["may_run"] is True
    assert "立即运行" in site.clients["w.officer"].get("/runs?lang=zh").text


def grid_form(site: Site, who: str, url: str) -> dict[str, Any]:
    """The JSON twin of the online entry page."""
    answer = site.clients[who].get(url.replace("/submissions/entry", "/submissions/entry.json"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_values_typed_into_the_online_grid_are_checked_line_by_line_and_sent_as_a_submission(site: Site) -> None:
    chooser = grid_form(site, "w.kenya", "/submissions/entry")
    assert (chooser["places"], chooser["indicator"], chooser["lines"]) == ("404", None, [])  # the scope, as M49
    scopes = {i["code"]: i["scope"] for i in chooser["indicators"]}
    assert scopes["11.1.1"] == "country" and "organization" in scopes.values()
    html = site.clients["w.kenya"].get("/submissions/entry").text
    countries, own = html.split("<optgroup")[1:3]  # what countries and cities measure first, UN-Habitat's own after
    assert 'value="11.1.1"' in countries and 'value="11.1.1"' not in own
    assert all(f'value="{c}"' in own for c, scope in scopes.items() if scope == "organization")
    year = site.year()
    url = f"/submissions/entry?indicator=11.1.1&geo=KEN%20ke_nairobi%20404&first={year}&last={year + 2}"
    grid = grid_form(site, "w.kenya", url)
    assert grid["indicator"]["unit"] == "percent"
    lines = [(line["geo"], line["period"], line["value"], line["published"]) for line in grid["lines"]]
    assert lines == [  # KEN and 404 are one place: its lines come once
        ("404", year, "", None), ("404", year + 1, "", None), ("404", year + 2, "", None),
        ("ke_nairobi", year, "", None), ("ke_nairobi", year + 1, "", None), ("ke_nairobi", year + 2, "", None),
    ]  # fmt: skip

    def send(values: list[str], **extra: Any) -> Any:
        data = {
            "indicator": "11.1.1",
            "geo": [line["geo"] for line in grid["lines"]],
            "period": [str(line["period"]) for line in grid["lines"]],
            "value": values,
            "source": "KNBS household survey",
            **extra,
        }
        return site.post("w.kenya", "/submissions/entry", data=data)

    before = site.submissions()
    empty = send([""] * 6)
    assert empty.status_code == 422 and "no value was entered" in empty.text
    wrong = send(["35.5", "", "abc", "", "120", ""])
    assert wrong.status_code == 422 and site.submissions() == before
    # the problems are shown on their lines (3: "abc"; 5: above 100 %), the others are not marked
    invalid = set(re.findall(r'aria-describedby="(value-\d+)-problem"', wrong.text))
    assert invalid == {"value-3", "value-5"}
    assert 'value="abc"' in wrong.text and 'value="35.5"' in wrong.text  # what was typed stays in the grid
    assert "2 lines have problems: nothing was stored." in wrong.text

    sent = send(["35.5", "", "36.25", "", "41", ""])
    assert sent.status_code == 303, sent.text
    number = number_of(sent)
    shown = site.clients["w.kenya"].get(f"/submissions/{number}.json").json()["submission"]
    assert (shown["rows"], shown["source"], shown["format"]) == (3, "KNBS household survey", "csv")
    assert re.fullmatch(r"entry-11\.1\.1-\d{8}T\d{6}\.csv", shown["file_name"])
    original = site.clients["w.kenya"].get(f"/submissions/{number}/original").text
    assert original == (
        "indicator,geo,period,value\n"
        f"11.1.1,404,{year},35.5\n11.1.1,404,{year + 2},36.25\n11.1.1,ke_nairobi,{year + 1},41\n"
    )
    api = TestClient(site.app)
    for step in ("approve", "publish"):
        assert (
            api.post(f"/api/v1/submissions/{number}/{step}", json={}, headers=site.api("w.officer")).status_code == 200
        )
    again = grid_form(site, "w.kenya", url)  # the grid shows what is published beside each line
    assert [line["published"] for line in again["lines"]] == [35.5, None, 36.25, None, 41.0, None]


def test_a_focal_point_typing_a_value_for_another_country_gets_it_reported_on_its_line(site: Site) -> None:
    year = site.year()
    data = {
        "indicator": "11.1.1",
        "geo": ["404", "800"],
        "period": [str(year), str(year)],
        "value": ["30", "40"],
        "source": "typed",
    }
    before = site.submissions()
    answer = site.post("w.kenya", "/submissions/entry", data=data)
    assert answer.status_code == 422 and site.submissions() == before
    assert set(re.findall(r'aria-describedby="(value-\d+)-problem"', answer.text)) == {"value-2"}
    assert "Uganda" in answer.text
    many = "/submissions/entry.json?indicator=11.1.1&geo=KEN+UGA+TZA&first=1950&last=2100"
    too_many = site.clients["w.kenya"].get(many)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["details"] == {
        "expected": "at most 300 places × years",
        "found": "3 places × 151 years = 453",
        "hint": "choose fewer places or years, or upload a file",
    }
    backwards = site.clients["w.kenya"].get("/submissions/entry.json?indicator=11.1.1&geo=KEN&first=2025&last=2020")
    assert (
        backwards.status_code == 400 and backwards.json()["error"]["details"]["expected"] == "a last year from 2025 on"
    )


def test_a_full_grid_is_read_whole_by_the_form_parser(site: Site) -> None:
    """MAX_LINES lines (3 form fields each) stay within what the form parser reads (Starlette: 1,000 fields)."""
    year = site.year()
    periods = [str(1950 + i % 150) for i in range(MAX_LINES)]
    values = ["33.3" if p == str(year) and i == periods.index(str(year)) else "" for i, p in enumerate(periods)]
    data = {
        "indicator": "11.1.1",
        "geo": ["404"] * MAX_LINES,
        "period": periods,
        "value": values,
        "source": "a full grid",
    }
    sent = site.post("w.kenya", "/submissions/entry", data=data)
    assert sent.status_code == 303, sent.text[:300]
    shown = site.clients["w.kenya"].get(f"/submissions/{number_of(sent)}.json").json()["submission"]
    assert shown["rows"] == 1
