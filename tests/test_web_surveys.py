"""Surveys in the web app, on every backend (issue #12): an officer registers a SYNTHETIC DHS-like file,
previews 11.1.1 by urban/rural with its intervals, sends it; another reviewer approves and publishes it; the
indicator page, the place page and the API then show the published estimate with the SE, 95 % interval, n and
design effect the survey computation produced. Bad input is a problem report with nothing stored; the pages
are for officers and administrators only, and no page shows a record of the microdata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from habmon.access.model import Principal, Role
from habmon.access.passwords import Passwords
from habmon.access.service import Access
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.store.store import Store
from habmon.surveys.compute import Computation, compute
from habmon.surveys.design import LonelyPSU
from habmon.surveys.recipe import load_recipe
from habmon.surveys.synthetic import synthetic_dhs, synthetic_labels
from habmon.web import create_app
from habmon.web.auth import CSRF_COOKIE
from habmon.web.charts import ChartInput, Line, line_chart
from habmon.web.context import WebServices
from habmon.web.settings import WebSettings
from tests.conftest import BACKENDS, _database_url

PASSWORD = "a password for the survey pages"
JSON = {"Accept": "application/json"}
HOUSEHOLDS = 1500
SEED = 41
# where a synthetic household's answer could be read back from a page: a record's own values never appear
DHS_DESIGN = {
    "weight": "hv005",
    "weight_divisor": "1000000",
    "psu": "hv001",
    "strata": "hv022",
    "lonely_psu": "adjust",
}


@dataclass
class Site:
    app: FastAPI
    store: Store
    directory: Path
    clients: dict[str, TestClient] = field(default_factory=dict)

    def post(self, who: str, url: str, **kw: Any) -> Any:
        client = self.clients[who]
        data = {**kw.pop("data", {}), "csrf_token": client.cookies[CSRF_COOKIE]}
        return client.post(url, data=data, follow_redirects=False, **kw)

    def count(self, table: Any) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def write_dta(frame: pd.DataFrame, path: Path) -> Path:
    labels = {k: v for k, v in synthetic_labels().items() if k in frame.columns}
    pyreadstat.write_dta(frame.astype("int32"), str(path), variable_value_labels=labels)
    return path


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp(f"web-surveys-{request.param}")
    store = Store(_database_url(request.param, request, directory))
    Monitor(store).init()
    settings = WebSettings(run_after_publish=False)
    app = create_app(settings, services=WebServices(settings, store))
    access = Access(store, passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)))
    app.state.access = access
    s = Site(app, store, directory)
    users: dict[str, dict[str, Any]] = {
        "s.admin": {"role": Role.ADMIN},
        "s.officer": {"role": Role.OFFICER, "organization": "UN-Habitat"},
        "s.kenya": {"role": Role.FOCAL_POINT, "organization": "KNBS (test)", "geo_scope": ["KEN"]},
    }
    for name, spec in users.items():
        access.create_user(Principal.system(), name, password=PASSWORD, **spec)
        client = TestClient(app)
        client.get("/login")
        client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]})
        s.clients[name] = client
    s.clients["public"] = TestClient(app)
    yield s
    store.dispose()


def register(site: Site, name: str, path: Path, headers: dict[str, str] | None = None, **fields: str) -> Any:
    data = {
        "name": name,
        "country": "KEN",
        "fieldwork_start": "2024",
        "fieldwork_end": "2025",
        "unit": "household",
        "source": "SYNTHETIC (habmon generator)",
        "access_conditions": "synthetic; open",
        **DHS_DESIGN,
        **fields,
    }
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    return site.post("s.officer", "/surveys", data=data, files=files, headers=headers or {})


def compute_on_web(site: Site, name: str, path: Path, indicator: str, by: list[str], rule: str, **kw: Any) -> Any:
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    data = {"indicator": indicator, "by": by, "lonely_psu": rule}
    return site.post(kw.pop("who", "s.officer"), f"/surveys/{name}/computations", data=data, files=files, **kw)


def percent(value: float) -> float:
    return 100 * value


def test_registered_computed_sent_approved_published_reaches_the_page_and_the_api_with_its_interval(
    site: Site,
) -> None:
    frame = synthetic_dhs(HOUSEHOLDS, seed=SEED)
    path = write_dta(frame, site.directory / "syn-hr.dta")
    registered = register(site, "SYN-DHS-WEB", path)
    assert registered.status_code == 303, registered.text[:800]
    assert registered.headers["location"] == "/surveys/SYN-DHS-WEB?registered=1"
    shown = site.clients["s.officer"].get("/surveys/SYN-DHS-WEB.json").json()
    assert shown["survey"]["records"] == HOUSEHOLDS and shown["survey"]["design"]["lonely_psu"] == "adjust"
    assert shown["form"]["lonely_psu"] == "adjust"

    computed = compute_on_web(site, "SYN-DHS-WEB", path, "11.1.1", ["urban"], "adjust")
    assert computed.status_code == 303, computed.text[:800]
    preview_url = computed.headers["location"]
    assert re.fullmatch(r"/surveys/SYN-DHS-WEB/computations/\d+", preview_url)
    preview = site.clients["s.officer"].get(preview_url + ".json").json()

    # the very numbers of the survey computation on the same records (tested against R in test_surveys_dhs.py)
    direct: Computation = compute(frame, load_recipe("11.1.1"), by=("urban",), lonely_psu=LonelyPSU.ADJUST)
    assert [e["groups"] for e in preview["estimates"]] == [dict(r.groups) for r in direct.rows]
    assert [dict(r.groups) for r in direct.rows] == [{}, {"urban": "1"}, {"urban": "2"}]
    for shown_row, row in zip(preview["estimates"], direct.rows, strict=True):
        assert shown_row["value"] == pytest.approx(percent(row.value), rel=1e-12)
        assert shown_row["se"] == pytest.approx(percent(row.se), rel=1e-12)
        assert shown_row["ci_low"] == pytest.approx(percent(row.ci_low), rel=1e-12)
        assert shown_row["ci_high"] == pytest.approx(percent(row.ci_high), rel=1e-12)
        assert (shown_row["n"], shown_row["df"]) == (row.n, row.df)
        assert shown_row["deff"] == pytest.approx(row.deff, rel=1e-12)
    # 11.1.1 has no urbanisation dimension in the registry: the urban and rural rows stay in the computation
    assert [e["sent_as"] for e in preview["estimates"]] == [{}, None, None]
    html = site.clients["s.officer"].get(preview_url).text
    total = direct.rows[0]
    interval = f"{percent(total.ci_low):,.2f} – {percent(total.ci_high):,.2f}"
    assert interval in html and f"{percent(total.se):,.2f}" in html
    assert 'action="' + preview_url + '/submit"' in html

    sent = site.post("s.officer", preview_url + "/submit")
    assert sent.status_code == 303, sent.text[:800]
    found = re.fullmatch(r"/submissions/(\d+)\?created=1", sent.headers["location"])
    assert found
    sid = int(found.group(1))
    again = site.post("s.officer", preview_url + "/submit", headers=JSON)
    assert again.status_code == 400 and "was sent already" in again.json()["error"]["message"]
    for step in ("approve", "publish"):
        response = site.post("s.admin", f"/submissions/{sid}/{step}")
        assert response.status_code == 303, response.text[:600]

    # the API: the series and the observation list carry the interval
    api = site.clients["public"]
    series = api.get("/api/v1/indicators/11.1.1/series/KEN").json()
    (obs,) = [o for o in series["observations"] if o["period"] == 2025]
    assert obs["nature"] == "C" and "SYN-DHS-WEB" in obs["source"]
    assert obs["value"] == pytest.approx(percent(total.value), rel=1e-12)
    assert [obs["se"], obs["ci_low"], obs["ci_high"]] == pytest.approx(
        [percent(total.se), percent(total.ci_low), percent(total.ci_high)], rel=1e-12
    )
    assert (obs["n"], obs["deff"]) == (total.n, pytest.approx(total.deff, rel=1e-12))
    listed = api.get("/api/v1/observations", params={"indicator": "11.1.1", "geo": "KEN"}).json()["items"]
    (row,) = [r for r in listed if r["period"] == 2025]
    assert {k: row[k] for k in ("se", "ci_low", "ci_high", "n", "deff")} == {
        k: obs[k] for k in ("se", "ci_low", "ci_high", "n", "deff")
    }

    # the indicator page: the estimate, drawn with its interval and in the table beside the chart
    page = api.get("/indicators/11.1.1.json").json()
    (estimate,) = page["estimates"]["rows"]
    assert estimate["geo"] == "404" and estimate["year"] == 2025 and estimate["disaggregation"] == {}
    assert [estimate["se"], estimate["ci_low"], estimate["ci_high"]] == [obs["se"], obs["ci_low"], obs["ci_high"]]
    (line,) = page["estimates"]["chart"]["lines"]
    (point,) = line["points"]
    assert (point["low"], point["high"]) == (obs["ci_low"], obs["ci_high"])
    assert point["y_low"] > point["y"] > point["y_high"]  # the SVG's y axis points down
    html = api.get("/indicators/11.1.1").text
    assert f"{obs['ci_low']:,.2f} – {obs['ci_high']:,.2f}" in html
    assert 'class="interval' in html
    # another survey's estimate of the same value, approved but not published: the public still gets the published
    # revision with its own interval (uncertainty is looked up by the revision shown)
    other = synthetic_dhs(HOUSEHOLDS, seed=SEED + 7)
    other_path = write_dta(other, site.directory / "syn-hr-2.dta")
    assert register(site, "SYN-DHS-WEB-2", other_path).status_code == 303
    second = compute_on_web(site, "SYN-DHS-WEB-2", other_path, "11.1.1", ["urban"], "adjust")
    resent = site.post("s.officer", second.headers["location"] + "/submit", headers=JSON)
    assert site.post("s.admin", f"/submissions/{resent.json()['submission']['submission']}/approve").status_code == 303
    o = t.observation.c
    with site.store.engine.connect() as conn:
        stored = conn.execute(
            select(o.revision, o.se).where(o.series == "11.1.1", o.period == 2025, o.disaggregation_key == "")
        ).all()
    assert len(stored) == 2 and stored[0].se != stored[1].se  # the approved revision has an interval of its own
    observations = api.get("/api/v1/indicators/11.1.1/series/KEN").json()["observations"]
    (still,) = [x for x in observations if x["period"] == 2025]
    assert (still["revision"], still["value"], still["se"]) == (obs["revision"], obs["value"], obs["se"])
    place = api.get("/places/KEN.json").json()
    (at,) = [i for i in place["indicators"] if i["code"] == "11.1.1"]
    assert (at["latest"]["ci_low"], at["latest"]["ci_high"], at["latest"]["se"]) == (
        obs["ci_low"],
        obs["ci_high"],
        obs["se"],
    )


def test_the_design_is_checked_against_the_file_and_nothing_is_stored(site: Site) -> None:
    path = write_dta(synthetic_dhs(300, seed=3), site.directory / "bad-design.dta")
    before = site.count(t.survey)
    refused = register(site, "SYN-BAD", path, weight="hv999")
    assert refused.status_code == 422
    assert "Nothing was stored." in refused.text and "hv999" in refused.text
    as_json = register(site, "SYN-BAD", path, weight="hv999", headers=JSON)
    assert as_json.status_code == 422
    (problem,) = as_json.json()["error"]["details"]["problems"]["problems"]
    assert (problem["type"], problem["column"], problem["file"]) == ("survey-variable", "hv999", "bad-design.dta")
    assert site.count(t.survey) == before


def test_a_lonely_psu_under_fail_is_a_problem_and_no_computation_is_stored(site: Site) -> None:
    path = write_dta(synthetic_dhs(600, seed=5, lonely=1), site.directory / "lonely.dta")
    assert register(site, "SYN-LONELY", path).status_code == 303
    before = site.count(t.survey_computation)
    refused = compute_on_web(site, "SYN-LONELY", path, "11.1.1", [], "fail")
    assert refused.status_code == 422 and "Nothing was computed." in refused.text
    assert "survey-lonely-psu" in refused.text or "hv022" in refused.text
    as_json = compute_on_web(site, "SYN-LONELY", path, "11.1.1", [], "fail", headers=JSON)
    (problem,) = as_json.json()["error"]["details"]["problems"]["problems"]
    assert (problem["type"], problem["column"]) == ("survey-lonely-psu", "hv022")
    other = write_dta(synthetic_dhs(600, seed=6, lonely=1), site.directory / "other.dta")
    wrong_file = compute_on_web(site, "SYN-LONELY", other, "11.1.1", [], "adjust", headers=JSON)
    assert wrong_file.status_code == 400 and "not the file survey SYN-LONELY" in wrong_file.json()["error"]["message"]
    assert site.count(t.survey_computation) == before


def test_the_pages_are_for_officers_and_show_no_record(site: Site) -> None:
    frame = synthetic_dhs(400, seed=8)
    path = write_dta(frame, site.directory / "private.dta")
    assert register(site, "SYN-PRIVATE", path).status_code == 303
    computed = compute_on_web(site, "SYN-PRIVATE", path, "7.1.1", ["urban"], "adjust")
    preview_url = computed.headers["location"]
    for url in ("/surveys", "/surveys/new", "/surveys/SYN-PRIVATE", preview_url):
        assert site.clients["s.admin"].get(url).status_code == 200
        assert site.clients["s.kenya"].get(url).status_code == 403
        assert site.clients["public"].get(url + ".json").status_code == 401
    # every page and its JSON twin name the variables, never a record's values: no weight of the file appears
    weights = {str(w) for w in frame["hv005"].unique()}
    for url in ("/surveys", "/surveys/SYN-PRIVATE", preview_url):
        for text in (site.clients["s.officer"].get(url).text, site.clients["s.officer"].get(url + ".json").text):
            assert not weights & set(re.findall(r"\d{6,7}", text))
    chinese = site.clients["s.officer"].get(preview_url + "?lang=zh").text
    assert "估计值（百分比）及其不确定性" in chinese and "作为提交发送" in chinese
    assert "抽样设计" in site.clients["s.officer"].get("/surveys/new?lang=zh").text
    site.clients["s.officer"].get("/surveys?lang=en")  # the language is a cookie: back to English for the others
    listed = site.clients["s.officer"].get("/surveys.json").json()["items"]
    assert "SYN-PRIVATE" in [s["name"] for s in listed]
    assert np.all([set(s) == set(listed[0]) for s in listed])


def test_the_chart_draws_each_interval_as_a_rule_and_a_band_between_years() -> None:
    line = Line("404:", "Kenya", [(2020, 20.0), (2022, 25.0)], "estimate", {2020: (10.0, 30.0), 2022: (15.0, 35.0)})
    chart = line_chart(ChartInput([line]))
    assert chart is not None
    # values 0…35 → ticks 0…40; y = 308 − 7.3 v (view box 340 high, margins 16 and 32); x from 48 to 704
    assert [t["value"] for t in chart["y_ticks"]] == [0, 10, 20, 30, 40]
    (drawn,) = chart["lines"]
    assert [(p["x"], p["y"], p["y_low"], p["y_high"]) for p in drawn["points"]] == [
        (48.0, 162.0, 235.0, 89.0),
        (704.0, 125.5, 198.5, 52.5),
    ]
    assert drawn["band"] == "M48.0,89.0L704.0,52.5L704.0,198.5L48.0,235.0Z"
    # two series with intervals in the same year are set apart, so their rules do not overlap
    other = Line("404:urbanisation=U", "Kenya · urban", [(2020, 22.0)], "estimate", {2020: (12.0, 32.0)})
    plain = Line("001", "World", [(2020, 21.0)], "world")
    both = line_chart(ChartInput([line, other, plain]))
    assert both is not None
    assert [ln["points"][0]["x"] for ln in both["lines"]] == [43.0, 53.0, 48.0]
    assert "band" not in both["lines"][2] and "y_low" not in both["lines"][2]["points"][0]
    assert both["lines"][1]["band"] == ""  # one year: a rule, no band


def test_urban_and_rural_estimates_of_a_disaggregated_indicator_reach_the_page_with_their_intervals(
    site: Site,
) -> None:
    """1.4.1 has an urbanisation dimension in the registry: its urban and rural estimates are sent too, and the
    indicator page draws one line per group with its interval — through the JSON twins of the forms."""
    frame = synthetic_dhs(HOUSEHOLDS, seed=SEED + 1)
    path = write_dta(frame, site.directory / "syn-141.dta")
    registered = register(site, "SYN-DHS-141", path, headers=JSON)
    assert registered.status_code == 201 and registered.json()["records"] == HOUSEHOLDS
    computed = compute_on_web(site, "SYN-DHS-141", path, "1.4.1", ["urban"], "adjust", headers=JSON)
    assert computed.status_code == 201
    direct = compute(frame, load_recipe("1.4.1"), by=("urban",), lonely_psu=LonelyPSU.ADJUST)
    assert [e["se"] for e in computed.json()["estimates"]] == [r.se for r in direct.rows]
    number = computed.json()["computation"]
    sent = site.post("s.officer", f"/surveys/SYN-DHS-141/computations/{number}/submit", headers=JSON)
    assert sent.status_code == 201 and sent.json()["not_submitted"] == []
    sid = sent.json()["submission"]["submission"]
    for step in ("approve", "publish"):
        assert site.post("s.admin", f"/submissions/{sid}/{step}", headers=JSON).json()["state"] in (
            "approved",
            "published",
        )
    page = site.clients["public"].get("/indicators/1.4.1.json").json()["estimates"]
    by_group = {tuple(sorted(r["disaggregation"].items())): r for r in page["rows"] if r["year"] == 2025}
    expected = {(): direct.rows[0], (("urbanisation", "U"),): direct.rows[1], (("urbanisation", "R"),): direct.rows[2]}
    assert set(by_group) == set(expected)
    for key, row in expected.items():
        shown = by_group[key]
        assert [shown["value"], shown["se"], shown["ci_low"], shown["ci_high"]] == pytest.approx(
            [percent(row.value), percent(row.se), percent(row.ci_low), percent(row.ci_high)], rel=1e-12
        )
        assert (shown["n"], shown["deff"]) == (row.n, pytest.approx(row.deff, rel=1e-12))
    assert len(page["chart"]["lines"]) == page["series"] == 3
    html = site.clients["public"].get("/indicators/1.4.1").text
    for row in direct.rows:
        assert f"{percent(row.ci_low):,.2f} – {percent(row.ci_high):,.2f}" in html
    rural = site.clients["public"].get(
        "/api/v1/observations", params={"indicator": "1.4.1", "geo": "KEN", "disaggregation": "urbanisation=R"}
    )
    (item,) = rural.json()["items"]
    assert item["ci_low"] == pytest.approx(percent(direct.rows[2].ci_low), rel=1e-12)
