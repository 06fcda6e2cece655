"""Vintages (issue #18): the current value of a series is the one from its latest release, not its latest arrival;
history keeps every vintage; loading a release again stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from habmon.cli.main import app
from habmon.ingest.shipped import SHIPPED
from habmon.observation import Nature, Observation
from habmon.services import Monitor
from habmon.store import bulk
from habmon.store import tables as t
from habmon.store.observations import Batch
from habmon.store.store import Store
from habmon.submission.service import OlderVintage, SubmissionOutcome, Submissions
from habmon.submission.workflow import OrganizationType
from habmon.vintage import FORMAT, InvalidVintage, month_of, parse_vintage
from tests.test_web_submissions import HEADER, JSON, Site, number_of, site, upload

__all__ = ["site"]  # the web app with its users, from tests/test_web_submissions.py


def obs(value: float, *, geo: str = "404", period: int = 2014) -> Observation:
    return Observation("11.1.1", geo, period, value, "percent", Nature.C, "UN SDG Global Database")


def release(name: str, vintage: str | None) -> Batch:
    return Batch("test", name, "officer", vintage=vintage)


@pytest.mark.parametrize(
    ("text", "stored"), [("2024", "2024"), ("2024-03", "2024-03"), (" 2020-12 ", "2020-12"), ("", None), (None, None)]
)
def test_a_vintage_is_a_year_or_a_year_and_month(text: str | None, stored: str | None) -> None:
    assert parse_vintage(text) == stored


@pytest.mark.parametrize("text", ["2024-13", "2024-3", "24", "March 2024", "2024/03", "2024-03-01"])
def test_anything_else_is_refused_naming_the_field_expected_and_found(text: str) -> None:
    with pytest.raises(InvalidVintage) as caught:
        parse_vintage(text, field="--vintage")
    assert str(caught.value) == (
        f"--vintage: not a vintage (expected a release written YYYY or YYYY-MM (e.g. 2024 or 2024-03); found {text!r})"
    )


def test_vintages_order_as_written_a_year_before_its_months() -> None:
    assert sorted(["2024-03", "2020", "2024", "2023-12"]) == ["2020", "2023-12", "2024", "2024-03"]


def test_an_older_vintage_recorded_after_the_newer_does_not_become_current(store: Store) -> None:
    store.record_observations([obs(47.05), obs(30.0, period=2020)], release("UN 2024 release", "2024"))
    older = store.record_observations([obs(34.47), obs(30.0, period=2020)], release("UN 2020 release", "2020"))
    assert (older.new, older.revised, older.unchanged, older.older) == (0, 0, 1, 1)
    current = store.series("11.1.1", "404")
    assert [(o.observation.period, o.observation.value, o.vintage) for o in current] == [
        (2014, 47.05, "2024"),
        (2020, 30.0, "2024"),
    ]
    frame = store.current_frame(["11.1.1"])
    assert sorted(zip(frame["period"], frame["value"], frame["vintage"], strict=True)) == [
        (2014, 47.05, "2024"),
        (2020, 30.0, "2024"),
    ]
    history = store.series("11.1.1", "404", history=True)
    assert [(o.observation.value, o.revision, o.vintage) for o in history if o.observation.period == 2014] == [
        (47.05, 1, "2024"),
        (34.47, 2, "2020"),
    ]


def test_the_same_older_release_again_stores_nothing(store: Store) -> None:
    store.record_observations([obs(47.05)], release("2024", "2024"))
    store.record_observations([obs(34.47)], release("2020", "2020"))
    again = store.record_observations([obs(34.47)], release("2020 again", "2020"))
    assert (again.batch_id, again.unchanged, again.older) == (None, 1, 0)
    assert store.observation_count(current_only=False) == 2


def test_a_newer_vintage_becomes_current_whatever_the_order(store: Store) -> None:
    store.record_observations([obs(34.47)], release("2020", "2020"))
    newer = store.record_observations([obs(47.05)], release("2024-03", "2024-03"))
    assert (newer.revised, newer.older) == (1, 0)
    between = store.record_observations([obs(40.0)], release("2024", "2024"))  # 2024 comes before 2024-03
    assert between.older == 1
    assert [o.observation.value for o in store.series("11.1.1", "404")] == [47.05]


def test_within_one_vintage_the_latest_arrival_wins(store: Store) -> None:
    store.record_observations([obs(47.05)], release("2024", "2024"))
    correction = store.record_observations([obs(47.5)], release("2024 corrected", "2024"))
    assert correction.revised == 1
    assert [(o.observation.value, o.revision) for o in store.series("11.1.1", "404")] == [(47.5, 2)]


def test_a_batch_without_a_vintage_is_dated_by_the_month_it_is_recorded(store: Store) -> None:
    store.record_observations([obs(47.05)], release("undated", None))
    vintage = store.series("11.1.1", "404")[0].vintage
    assert vintage is not None and parse_vintage(vintage) == vintage and len(vintage) == 7
    assert store.record_observations([obs(1.0)], release("old", "1999")).older == 1


def test_compare_flags_values_of_an_older_vintage() -> None:
    frame = bulk.frame_from_observations([obs(34.47), obs(1.0, period=2015), obs(47.05, period=2016)])
    current = bulk.frame_from_observations([obs(47.05), obs(47.05, period=2016)])[[*bulk.KEY, *bulk.COMPARED]]
    current = current.assign(revision=1, vintage="2024", last_revision=1)
    compared = bulk.compare(frame, current, "2020")
    assert list(compared["status"]) == ["older", "new", "unchanged"]
    assert list(compared["old_vintage"].fillna("-")) == ["2024", "-", "2024"]
    assert list(bulk.compare(frame, current, "2024-06")["status"]) == ["revised", "new", "unchanged"]


# -- submissions: declared, flagged in review, approved only by an explicit decision ------------------------------

CSV_HEADER = "indicator,geo,period,value,source\n"


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(CSV_HEADER + body, encoding="utf-8")
    return path


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def send(subs: Submissions, path: Path, vintage: str | None) -> SubmissionOutcome:
    return subs.submit(path, organization="UN-Habitat", organization_type=OrganizationType.SECRETARIAT, vintage=vintage)


def test_an_older_release_submitted_after_the_newer_is_flagged_and_never_becomes_current(
    monitor: Monitor, tmp_path: Path
) -> None:
    subs = Submissions(monitor)
    newer = send(subs, write(tmp_path, "un-2024.csv", "11.1.1,KEN,2014,47.05,UN\n11.1.1,KEN,2016,45.0,UN\n"), "2024")
    assert newer.vintage == "2024"
    subs.approve(newer.submission_id or 0)
    subs.publish(newer.submission_id or 0)

    older = send(subs, write(tmp_path, "un-2020.csv", "11.1.1,KEN,2014,34.47,UN\n11.1.1,KEN,2016,45.0,UN\n"), "2020")
    assert older.changes == {"new": 0, "revised": 0, "unchanged": 1, "older": 1}
    sid = older.submission_id or 0
    assert [(c["status"], c["old"], c["old_vintage"], c["new"], c["vintage"]) for c in subs.changes(sid)] == [
        ("older", 47.05, "2024", 34.47, "2020"),
        ("unchanged", 45.0, "2024", 45.0, "2020"),
    ]
    stored = count(monitor.store, t.observation)
    with pytest.raises(OlderVintage) as refused:
        subs.approve(sid)
    assert refused.value.expected == "an explicit decision to approve values of an older vintage"
    assert refused.value.found == "1 value(s) of vintage 2020 against vintage 2024"
    assert subs.get(sid)["state"] == "validated" and count(monitor.store, t.observation) == stored

    summary = subs.approve(sid, accept_older_vintage=True)
    assert (summary.new, summary.revised, summary.unchanged, summary.older) == (0, 0, 1, 1)
    subs.publish(sid)
    public = monitor.store.series("11.1.1", "404", public=True)
    assert [(o.observation.period, o.observation.value, o.vintage) for o in public] == [
        (2014, 47.05, "2024"),
        (2016, 45.0, "2024"),
    ]
    history = monitor.store.series("11.1.1", "404", history=True)
    assert [(o.observation.value, o.vintage) for o in history if o.observation.period == 2014] == [
        (47.05, "2024"),
        (34.47, "2020"),
    ]
    (approval,) = [e for e in monitor.store.audit_events("submission") if e["action"] == "submission.approve"][:1]
    assert (approval["details"]["older"], approval["details"]["accepted_older_vintage"]) == (1, True)


def test_a_malformed_vintage_is_refused_and_nothing_is_stored(monitor: Monitor, tmp_path: Path) -> None:
    subs = Submissions(monitor)
    with pytest.raises(InvalidVintage) as refused:
        send(subs, write(tmp_path, "a.csv", "11.1.1,KEN,2014,47.05,UN\n"), "March 2024")
    assert (refused.value.expected, refused.value.found) == (
        "a release written YYYY or YYYY-MM (e.g. 2024 or 2024-03)",
        "'March 2024'",
    )
    assert count(monitor.store, t.submission) == 0


def test_a_submission_without_a_vintage_is_dated_by_the_month_it_was_sent(monitor: Monitor, tmp_path: Path) -> None:
    subs = Submissions(monitor)
    before = month_of(datetime.now(UTC))
    outcome = send(subs, write(tmp_path, "a.csv", "11.1.1,KEN,2014,47.05,UN\n"), None)
    assert outcome.vintage in {before, month_of(datetime.now(UTC))}
    assert subs.get(outcome.submission_id or 0)["vintage"] == outcome.vintage


# -- the shipped data: a vintage like any other --------------------------------------------------------------------


def test_running_the_demo_load_again_changes_nothing_published(monitor: Monitor, tmp_path: Path) -> None:
    monitor.load_shipped()
    shipped = {o.observation.period: o.observation.value for o in monitor.store.series("11.1.1", "404", public=True)}
    assert shipped[2020] != 40.0  # the shipped value, which the submission below revises
    subs = Submissions(monitor)
    sent = send(subs, write(tmp_path, "kenya.csv", "11.1.1,KEN,2020,40.0,KNBS\n"), "2025-06")
    assert sent.changes["revised"] == 1
    subs.approve(sent.submission_id or 0)
    subs.publish(sent.submission_id or 0)
    published = [
        (o.observation.period, o.observation.value) for o in monitor.store.series("11.1.1", "404", public=True)
    ]
    assert dict(published)[2020] == 40.0
    rows = count(monitor.store, t.observation)
    batches = count(monitor.store, t.batch)

    steps = monitor.load_shipped()  # `habmon demo` again

    assert [(s.name, s.created) for s in steps] == [(s.name, False) for s in steps]
    assert [s.detail.endswith(" unchanged") for s in steps] == [True] * len(steps)
    assert (count(monitor.store, t.observation), count(monitor.store, t.batch)) == (rows, batches)
    again = [(o.observation.period, o.observation.value) for o in monitor.store.series("11.1.1", "404", public=True)]
    assert again == published
    frame = monitor.store.current_frame(["11.1.1"], public=True)
    assert frame[(frame["geo"] == "404") & (frame["period"] == 2020)]["value"].tolist() == [40.0]


def test_the_shipped_datasets_declare_their_vintage() -> None:
    assert {d.name: d.vintage for d in SHIPPED} == {
        "WUP 2018 urban and rural population": "2018",
        "WUP 2018 urban agglomerations, 2020": "2018",
        "SDG 11.1.1 slum share by country": "2022",
        "SDG 11.2.1 / 11.3.1 / 11.7.1 by city": "2022",
    }


# -- the command line, the web review form and the API -------------------------------------------------------------


def cli(url: str, *args: str, user: str = "officer") -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", user, *args])
    return result.exit_code, result.output


def test_the_command_line_declares_a_vintage_and_approves_an_older_one_only_when_told(
    store_url: str, tmp_path: Path
) -> None:
    assert cli(store_url, "init")[0] == 0
    for number, (name, body, vintage) in enumerate(
        [
            ("un-2024.csv", "11.1.1,KEN,2014,47.05,UN\n", "2024-03"),
            ("un-2020.csv", "11.1.1,KEN,2014,34.47,UN\n", "2020"),
        ],
        start=1,
    ):
        sent = ["submit", str(write(tmp_path, name, body)), "--as", "UN", "--vintage", vintage, "--json"]
        code, output = cli(store_url, *sent, user="un.statistics")
        assert code == 0, output
        assert (json.loads(output)["submission"], json.loads(output)["vintage"]) == (number, vintage)
        if number == 1:
            assert cli(store_url, "submissions", "approve", "1")[0] == 0
    assert json.loads(output)["changes"] == {"new": 0, "revised": 0, "unchanged": 0, "older": 1}
    code, output = cli(store_url, "submissions", "approve", "2", "--json")
    assert code == 1
    assert json.loads(output)["error"]["found"] == "1 value(s) of vintage 2020 against vintage 2024-03"
    code, output = cli(store_url, "submissions", "approve", "2", "--accept-older-vintage", "--json")
    assert code == 0, output
    assert json.loads(output) == {
        "submission": 2,
        "state": "approved",
        "batch": 2,
        "new": 0,
        "revised": 0,
        "unchanged": 0,
        "older": 1,
    }
    code, output = cli(store_url, "data", "series", "--indicator", "11.1.1", "--geo", "KEN", "--json")
    assert [(o["value"], o["provenance"]["vintage"]) for o in json.loads(output)["observations"]] == [
        (47.05, "2024-03")
    ]
    code, output = cli(
        store_url,
        "submit",
        str(write(tmp_path, "x.csv", "11.1.1,KEN,2015,1,UN\n")),
        "--as",
        "UN",
        "--vintage",
        "2024-3",
        "--json",
    )
    assert code == 1 and json.loads(output)["error"]["expected"] == FORMAT


def test_the_review_page_flags_an_older_vintage_and_approving_needs_the_box_ticked(site: Site) -> None:
    year = site.year()
    api = TestClient(site.app)
    first = api.post(
        "/api/v1/submissions",
        files={"file": ("new.csv", f"{HEADER}11.1.1,KEN,{year},36.0,,KNBS\n".encode())},
        data={"vintage": "2025"},
        headers=site.api("w.kenya"),
    )
    assert (first.status_code, first.json()["vintage"]) == (201, "2025"), first.text
    approved = api.post(f"/api/v1/submissions/{first.json()['submission']}/approve", headers=site.api("w.officer"))
    assert approved.status_code == 200, approved.text
    second = number_of(
        upload(site, "w.kenya", "old.csv", f"{HEADER}11.1.1,KEN,{year},30.0,,KNBS\n", data={"vintage": "2019-11"})
    )
    officer = site.clients["w.officer"]
    queue = officer.get("/review.json").json()
    assert [s["older_vintage"] for s in queue["to_approve"] if s["id"] == second] == [1]
    assert (
        "1 value of an older vintage than the stored one: approving it needs your decision."
        in officer.get("/review").text
    )
    shown = officer.get(f"/submissions/{second}.json").json()
    assert (shown["submission"]["vintage"], shown["counts"]["older"]) == ("2019-11", 1)
    assert [(c["status"], c["old"], c["old_vintage"], c["new"]) for c in shown["changes"]] == [
        ("older", 36.0, "2025", 30.0)
    ]
    html = officer.get(f"/submissions/{second}").text
    assert 'id="older-vintage"' in html and 'name="accept_older_vintage"' in html

    refused = site.post("w.officer", f"/submissions/{second}/approve", headers=JSON)
    assert refused.status_code == 409 and "older than the stored ones" in refused.json()["error"]["message"]
    through_api = api.post(f"/api/v1/submissions/{second}/approve", json={}, headers=site.api("w.officer"))
    assert through_api.status_code == 409
    ticked = site.post("w.officer", f"/submissions/{second}/approve", data={"accept_older_vintage": "true"})
    assert ticked.status_code == 303
    assert officer.get(f"/submissions/{second}.json").json()["submission"]["state"] == "approved"
    current = site.store.current_frame(["11.1.1"])
    assert current[(current["geo"] == "404") & (current["period"] == year)]["value"].tolist() == [36.0]


def test_the_api_approves_an_older_vintage_when_asked_to(site: Site) -> None:
    year = site.year()
    api = TestClient(site.app)
    for text, vintage in ((f"11.1.1,KEN,{year},36.0,,KNBS\n", "2025"), (f"11.1.1,KEN,{year},30.0,,KNBS\n", "2019")):
        sent = api.post(
            "/api/v1/submissions",
            files={"file": (f"{vintage}.csv", (HEADER + text).encode())},
            data={"vintage": vintage},
            headers=site.api("w.kenya"),
        )
        number = sent.json()["submission"]
        before = api.get(f"/api/v1/submissions/{number}/changes", headers=site.api("w.officer")).json()["items"]
        done = api.post(
            f"/api/v1/submissions/{number}/approve", json={"accept_older_vintage": True}, headers=site.api("w.officer")
        )
        assert (done.status_code, done.json()["state"], done.json()["vintage"]) == (200, "approved", vintage)
    # the second, before its approval: of an older vintage than the stored value
    assert [(c["status"], c["old"], c["old_vintage"], c["vintage"]) for c in before] == [
        ("older", 36.0, "2025", "2019")
    ]
    bad = api.post(
        "/api/v1/submissions",
        files={"file": ("bad.csv", (HEADER + f"11.1.1,KEN,{year},1.0,,KNBS\n").encode())},
        data={"vintage": "2019-13"},
        headers=site.api("w.kenya"),
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"]["found"] == "'2019-13'"
