"""The whole story in a real browser: a focal point sends a file with errors, reads the report, fixes and
resubmits it; an officer approves and publishes; the public sees the value on the indicator page and its
chart; then in Chinese, and on a phone. Screenshots of the key pages go to test-artifacts/e2e."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from habmon.access.service import DEMO_ACCOUNTS
from tests.e2e.conftest import Requests, Server

pytestmark = pytest.mark.e2e

ACCOUNTS = {a.username: a.password for a in DEMO_ACCOUNTS}
HEADER = "indicator,geo,period,value,sex,source\n"
# row 2: not a number; row 3: Uganda, outside the Kenyan focal point's scope
BAD = HEADER + "11.1.1,KEN,2024,abc,,KNBS\n11.1.1,UGA,2024,37.0,F,KNBS\n11.1.1,KEN,2024,35.0,M,KNBS\n"
GOOD = HEADER + "11.1.1,KEN,2024,36.0,,KNBS\n11.1.1,KEN,2024,37.0,F,KNBS\n11.1.1,KEN,2024,35.0,M,KNBS\n"
PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name="Sign in").click()
    page.fill("#username", username)
    page.fill("#password", ACCOUNTS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".user-area .who")).to_have_attribute("title", username)


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def problem_cells(page: Any) -> list[tuple[str, str, str]]:
    """(row, column, found) of every problem listed on the report page."""
    rows = page.locator("table.problems tbody tr")
    return [
        (
            rows.nth(i).locator("td").nth(1).inner_text().strip(),
            rows.nth(i).locator("td").nth(2).inner_text().strip(),
            rows.nth(i).locator("td").nth(5).inner_text().strip(),
        )
        for i in range(rows.count())
    ]


def chart_years(page: Any) -> list[int]:
    """The years of the chart's table alternative (world and SDG regions, from the latest monitoring run)."""
    return [int(y) for y in page.locator("#chart-table tbody th[scope=row]").all_text_contents()]


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_submit_fix_approve_publish_and_read_in_both_languages(
    server: Server, new_page: Any, requests: Requests, artifacts: Path, tmp_path: Path
) -> None:
    base = server.url
    bad, good = tmp_path / "kenya-2024.csv", tmp_path / "kenya-2024-fixed.csv"
    bad.write_text(BAD, encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")

    # before: the chart of the world and regions (the stored monitoring run) ends in 2022
    page = new_page()
    page.goto(base + "/indicators/11.1.1")
    assert chart_years(page)[-1] == 2022

    # -- the focal point sends a file with errors and reads the report --------------------------
    sign_in(page, base, "demo.kenya")
    page.get_by_role("link", name="Submissions").click()
    page.get_by_role("link", name="Send data").click()
    page.set_input_files("#file", str(bad))
    page.get_by_role("button", name="Validate and send").click()
    expect(page.locator("h1")).to_contain_text("Validation report")
    assert "Nothing was stored." in page.locator("[role=alert]").inner_text()
    cells = problem_cells(page)
    assert ("2", "value", "abc") in cells
    assert any(row == "3" and column == "geo" and found.startswith("UGA") for row, column, found in cells)
    page.screenshot(path=str(artifacts / "01-validation-report.png"), full_page=True)

    # -- fixes the file and sends it again from the report page ---------------------------------------
    page.set_input_files("#file", str(good))
    page.get_by_role("button", name="Validate and send").click()
    page.wait_for_url(re.compile(r"/submissions/\d+\?created=1$"))
    number = int(re.search(r"/submissions/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert "Stored." in page.locator("[role=status]").inner_text()
    assert page.locator(".state").first.inner_text() == "validated"
    assert page.locator("table.changes tbody tr").count() == 3
    page.screenshot(path=str(artifacts / "02-submission-stored.png"), full_page=True)

    # -- and types Nairobi's values into the online grid: a typo is marked on its line, then fixed ------
    page.goto(base + "/submissions/new")
    page.get_by_role("link", name="Enter values", exact=True).click()
    page.select_option("#entry-indicator", "11.1.1")
    page.fill("#entry-geo", "ke_nairobi")
    page.fill("#entry-first", "2023")
    page.fill("#entry-last", "2024")
    page.get_by_role("button", name="Show the grid").click()
    expect(page.locator("table.entry tbody tr")).to_have_count(2)
    page.fill("#value-1", "28,5")  # a decimal comma: not a number here
    page.fill("#value-2", "27.9")
    page.fill("#source", "Nairobi city survey")
    page.get_by_role("button", name="Validate and send").click()
    expect(page.locator("#value-1")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#value-2").get_attribute("aria-invalid") is None
    assert page.locator("#value-1").input_value() == "28,5"  # what was typed stays
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "02b-entry-grid.png"), full_page=True)
    page.fill("#value-1", "28.5")
    page.get_by_role("button", name="Validate and send").click()
    page.wait_for_url(re.compile(r"/submissions/\d+\?created=1$"))
    assert page.locator("table.changes tbody tr").count() == 2
    sign_out(page)

    # -- the officer reviews the diff, approves and publishes ---------------------------------------------
    sign_in(page, base, "demo.officer")
    page.get_by_role("link", name="Review queue").click()
    page.get_by_role("link", name=f"#{number} {good.name}").click()
    expect(page.locator("table.changes tbody tr")).to_have_count(3)
    statuses = page.locator("table.changes tbody tr td:nth-child(5)").all_inner_texts()
    assert sorted(statuses) == ["new", "new", "new"]
    page.screenshot(path=str(artifacts / "03-review.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".state").first).to_have_text("approved")
    run_before = page.request.get(base + "/api/v1/runs/latest").json()["id"]
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".state").first).to_have_text("published")
    original = page.locator("a[download]").get_attribute("href")
    assert original == f"/submissions/{number}/original"
    assert page.request.get(base + original).body() == GOOD.encode()
    # publishing queued a monitoring run (after the answer was sent): the officer watches it arrive on the
    # monitoring runs page, newest first
    page.get_by_role("link", name="Monitoring runs").click()
    newest = page.locator("table.runs tbody tr td").first
    deadline = time.monotonic() + 120
    while int(newest.inner_text()) == run_before:
        assert time.monotonic() < deadline, "no monitoring run after publication"
        time.sleep(0.25)
        page.reload()
    assert page.get_by_role("button", name="Run now").is_visible()
    page.screenshot(path=str(artifacts / "03b-monitoring-runs.png"), full_page=True)
    sign_out(page)

    # -- the public sees the published value on the indicator page, its map and chart -------------------
    page.goto(base + "/indicators/11.1.1")
    assert page.locator("h1").first.inner_text().startswith("11.1.1")
    # the map opens on the latest year most countries report (2022); the visitor picks 2024
    assert page.locator("#map-year").input_value() == "2022"
    page.locator("#map-year").select_option("2024")
    page.locator("#map-year").locator("xpath=ancestor::form").locator("button, input[type=submit]").first.click()
    page.wait_for_url("**year=2024**")
    assert page.locator("#map-year").input_value() == "2024"
    kenya = page.locator("#map-table tr", has_text="Kenya")
    assert kenya.count() == 1 and "36" in (kenya.text_content() or "")  # in a closed <details>
    assert page.locator("svg.map").is_visible()
    assert page.locator("#trend-chart, svg.chart").first.is_visible()
    # one country's new years do not move the world and the regions (issue #18): their 2023–2024 figures would be
    # almost all carried-forward values, so the chart still ends at the latest year that meets the rule, 2022,
    # while the map above shows Kenya's 2024 value
    assert chart_years(page)[-1] == 2022
    page.screenshot(path=str(artifacts / "04-indicator.png"), full_page=True)
    page.goto(base + "/places/KEN")
    latest = page.locator("table.place-indicators tr[data-indicator='11.1.1'] .value")
    assert latest.inner_text().startswith("36")

    # -- in Chinese -----------------------------------------------------------------------------------------
    page.goto(base + "/indicators/11.1.1")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("link", name="登录")).to_be_visible()
    page.screenshot(path=str(artifacts / "05-indicator-zh.png"), full_page=True)
    page.get_by_role("link", name="登录").click()
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.get_by_role("button", name="登录")).to_be_visible()

    # -- on a phone ---------------------------------------------------------------------------------------------
    phone = new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone.goto(base + "/indicators/11.1.1?lang=zh")
    phone.screenshot(path=str(artifacts / "06-indicator-phone-zh.png"), full_page=True)
    phone.goto(base + "/login?lang=en")
    phone.fill("#username", "demo.kenya")
    phone.fill("#password", ACCOUNTS["demo.kenya"])
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.locator(".user-area .who")).to_have_attribute("title", "demo.kenya")
    phone.goto(base + f"/submissions/{number}")
    expect(phone.locator(".state").first).to_have_text("published")
    assert no_sideways_scroll(phone), "the submission page scrolls sideways at 390 px"
    phone.screenshot(path=str(artifacts / "07-submission-phone.png"), full_page=True)
    assert all(requests.local(url) for url in requests.seen)


def test_an_officer_registers_a_survey_and_previews_its_estimates_with_intervals(
    server: Server, new_page: Any, artifacts: Path, tmp_path: Path
) -> None:
    """The survey pages in the browser (no script; the enforced CSP reports nothing): register a SYNTHETIC
    household file with its design, compute 11.1.1 by urban/rural, read the estimates with their intervals."""
    from habmon.surveys.synthetic import synthetic_dhs

    path = tmp_path / "syn-hr.csv"
    synthetic_dhs(800, seed=12).to_csv(path, index=False)
    base = server.url
    page = new_page()
    sign_in(page, base, "demo.officer")
    page.get_by_role("link", name="Surveys").click()
    page.get_by_role("link", name="Register a survey").click()
    page.fill("#name", "SYN-E2E")
    page.fill("#country", "KEN")
    page.fill("#fieldwork_start", "2025")
    page.fill("#source", "SYNTHETIC (habmon generator)")
    page.fill("#access_conditions", "synthetic; open")
    page.select_option("#lonely_psu", "adjust")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Check and register").click()
    page.wait_for_url(re.compile(r"/surveys/SYN-E2E\?registered=1$"))
    assert "Registered" in page.locator("[role=status]").inner_text()
    page.select_option("#indicator", "11.1.1")
    page.get_by_label("urban / rural").check()
    assert page.locator("#compute-lonely").input_value() == "adjust"  # the registered rule
    page.set_input_files("#compute-file", str(path))
    page.get_by_role("button", name="Compute and preview").click()
    page.wait_for_url(re.compile(r"/surveys/SYN-E2E/computations/\d+$"))
    rows = page.locator("table.estimates tbody tr")
    expect(rows).to_have_count(3)  # all, urban, rural
    assert re.search(r"\d+\.\d\d – \d+\.\d\d", rows.first.inner_text())
    assert page.get_by_role("button", name="Send as a submission").is_visible()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "08-survey-estimates.png"), full_page=True)
