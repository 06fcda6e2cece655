"""Submissions end to end on every backend: validate, store, revise, approve, publish, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from habmon.observation import Nature, Observation
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.submission.service import SubmissionOutcome, Submissions, detect_format
from habmon.submission.workflow import OrganizationType, WorkflowError

HEADER = "indicator,geo,period,value,numerator,denominator,sex,unit,nature,source\n"


def write(tmp_path: Path, body: str, name: str = "kenya.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def submit(
    subs: Submissions, path: Path, org_type: OrganizationType = OrganizationType.MEMBER_STATE
) -> SubmissionOutcome:
    return subs.submit(path, organization="Kenya National Bureau of Statistics", organization_type=org_type)


def count(monitor: Monitor, table: object) -> int:
    with monitor.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.fixture
def subs(monitor: Monitor) -> Submissions:
    return Submissions(monitor)


MIXED = (
    "11.1.1,KEN,2024,40.0,,,,,C,KNBS\n"  # line 2: fine
    "11.1.1,XXX,2024,40.0,,,,,C,KNBS\n"  # 3: unknown geography
    "11.1.1,TZA,1980,40.0,,,,,C,KNBS\n"  # 4: period outside 1990–2030
    "11.1.1,UGA,2024,140.0,,,,,C,KNBS\n"  # 5: percent above 100
    "99.9.9,UGA,2024,14.0,,,,,C,KNBS\n"  # 6: unknown indicator
    "11.1.1,BDI,2024,30,3000,1000,,,C,KNBS\n"  # 7: numerator > denominator and ratio ≠ value
    "11.1.1,ETH,twenty,abc,,,,,Q,KNBS\n"  # 8: period, value and nature wrong
    "11.1.1,SOM,2024,40.0,,,,persons,C,KNBS\n"  # 9: wrong unit
    "11.1.1,KEN,2024,41.0,,,,,C,KNBS\n"  # 10: duplicate of line 2
    "11.1.1,RWA,2024,45,,,X,,C,KNBS\n"  # 11: unknown sex code
)


def test_a_file_with_mixed_errors_is_reported_in_full_and_nothing_is_stored(
    subs: Submissions, monitor: Monitor, tmp_path: Path
) -> None:
    before = count(monitor, t.observation)
    outcome = submit(subs, write(tmp_path, MIXED))
    assert outcome.submission_id is None and not outcome.created
    located = {(p.row, p.column, p.type) for p in outcome.report.errors}
    assert located == {
        (3, "geo", "code"),
        (4, "period", "period"),
        (5, "value", "range"),
        (6, "indicator", "code"),
        (7, "numerator", "ratio"),
        (7, "value", "ratio"),
        (8, "period", "type"),
        (8, "value", "type"),
        (8, "nature", "code"),
        (9, "unit", "value"),
        (10, "indicator", "duplicate-row"),
        (11, "sex", "code"),
    }
    for problem in outcome.report.errors:
        assert problem.file == "kenya.csv" and problem.expected and problem.found
    duplicate = next(p for p in outcome.report.errors if p.type == "duplicate-row")
    assert "first at row 2" in duplicate.expected
    assert count(monitor, t.submission) == 0
    assert count(monitor, t.submission_row) == 0
    assert count(monitor, t.observation) == before


def test_valid_file_is_stored_as_a_validated_submission_with_its_original(
    subs: Submissions, monitor: Monitor, tmp_path: Path
) -> None:
    path = write(tmp_path, "11.1.1,KEN,2024,38.5,,,,,,\n11.1.1,KEN,2024,39.5,,,F,,,\n11.1.1,KEN,2024,37.5,,,M,,,\n")
    outcome = subs.submit(
        path, organization="KNBS", organization_type=OrganizationType.MEMBER_STATE, source="KNBS census 2024"
    )
    assert outcome.created and outcome.state == "validated" and outcome.report.valid
    assert outcome.changes == {"new": 3, "revised": 0, "unchanged": 0, "older": 0}
    assert count(monitor, t.submission_row) == 3
    name, content = subs.original(outcome.submission_id or 0)
    assert (name, content) == ("kenya.csv", path.read_bytes())
    staged = {c["disaggregation"].get("sex", "_T"): c for c in subs.changes(outcome.submission_id or 0)}
    assert staged["F"]["new"] == 39.5 and staged["_T"]["status"] == "new"
    assert {c["disaggregation"].get("sex") for c in subs.changes(outcome.submission_id or 0)} == {None, "F", "M"}
    row = subs.get(outcome.submission_id or 0)
    assert row["organization_type"] == "member_state" and row["submitter"] == "test"
    # blank nature of a member state's file means country data; blank source takes the submission's source
    with monitor.store.engine.connect() as conn:
        staged = subs.staged_frame(conn, outcome.submission_id or 0)
    assert set(staged["nature"]) == {"C"} and set(staged["source"]) == {"KNBS census 2024"}


def test_the_same_file_twice_changes_nothing(subs: Submissions, monitor: Monitor, tmp_path: Path) -> None:
    path = write(tmp_path, "11.1.1,KEN,2024,38.5,,,,,C,KNBS\n")
    first = submit(subs, path)
    audit_before = len(monitor.store.audit_events(limit=1000))
    again = submit(subs, path)
    assert (again.submission_id, again.created) == (first.submission_id, False)
    assert count(monitor, t.submission) == 1 and count(monitor, t.submission_row) == 1
    assert len(monitor.store.audit_events(limit=1000)) == audit_before


def test_revision_diff_approval_and_publication(subs: Submissions, monitor: Monitor, tmp_path: Path) -> None:
    published = Observation("11.1.1", "404", 2022, 40.5, "percent", Nature.G, "UN-Habitat")
    monitor.record([published], kind="shipped", name="published data")
    outcome = submit(subs, write(tmp_path, "11.1.1,KEN,2022,38.0,,,,,C,KNBS\n11.1.1,KEN,2024,36.0,,,,,C,KNBS\n"))
    assert outcome.changes == {"new": 1, "revised": 1, "unchanged": 0, "older": 0}
    sid = outcome.submission_id or 0
    revised = subs.changes(sid)[0]
    assert (revised["status"], revised["old"], revised["new"], revised["old_revision"]) == ("revised", 40.5, 38.0, 1)

    summary = subs.approve(sid, comment="checked against the census report")
    assert (summary.new, summary.revised) == (1, 1)
    history = monitor.store.series("11.1.1", "404", history=True)
    assert [(o.observation.period, o.observation.value, o.revision) for o in history] == [
        (2022, 40.5, 1),
        (2022, 38.0, 2),
        (2024, 36.0, 1),
    ]
    public = monitor.store.series("11.1.1", "404", public=True)
    assert [(o.observation.period, o.observation.value) for o in public] == [(2022, 40.5)]  # approved ≠ published

    subs.publish(sid)
    public = monitor.store.series("11.1.1", "404", public=True)
    assert [(o.observation.period, o.observation.value, o.revision) for o in public] == [
        (2022, 38.0, 2),
        (2024, 36.0, 1),
    ]
    actions = [e["action"] for e in monitor.store.audit_events("submission")][::-1]
    assert actions == ["submission.submit", "submission.validate", "submission.approve", "submission.publish"]


def test_returned_submissions_and_illegal_transitions(subs: Submissions, monitor: Monitor, tmp_path: Path) -> None:
    sid = submit(subs, write(tmp_path, "11.1.1,KEN,2024,38.5,,,,,C,KNBS\n")).submission_id or 0
    with pytest.raises(WorkflowError, match="cannot publish a submission that is validated"):
        subs.publish(sid)
    with pytest.raises(Exception, match="needs a comment"):
        subs.return_(sid, " ")
    subs.return_(sid, "2024 value is provisional; please resend with the final figure")
    assert subs.get(sid)["state"] == "returned"
    assert "provisional" in subs.get(sid)["comment"]
    with pytest.raises(WorkflowError) as info:
        subs.approve(sid)
    assert info.value.found == "returned"
    assert count(monitor, t.observation) == 0 or monitor.store.series("11.1.1", "404") == []


def test_gb18030_file_is_detected_and_reported(subs: Submissions, tmp_path: Path) -> None:
    path = write(tmp_path, "11.1.1,CHN,2024,10.5,,,,,C,国家统计局住户调查\n", name="china.csv", encoding="gb18030")
    outcome = submit(subs, path)
    assert outcome.encoding == "gb18030" and outcome.created
    assert [p.type for p in outcome.report.warnings] == ["encoding"]
    assert subs.changes(outcome.submission_id or 0)[0]["new"] == 10.5


def test_parts_must_agree_with_the_total(subs: Submissions, tmp_path: Path) -> None:
    body = "11.1.1,KEN,2024,50.0,,,,,C,KNBS\n11.1.1,KEN,2024,41.0,,,F,,C,KNBS\n11.1.1,KEN,2024,39.0,,,M,,C,KNBS\n"
    outcome = submit(subs, write(tmp_path, body))
    (problem,) = outcome.report.errors
    assert (problem.type, problem.row, problem.column) == ("totals", 2, "value")
    assert "between the sex parts (39 … 41)" in problem.expected


def test_cross_indicator_rule_against_stored_values(subs: Submissions, monitor: Monitor, tmp_path: Path) -> None:
    monitor.record(
        [Observation("POP.URBAN", "566", 2024, 80_000_000, "persons", Nature.M, "WUP")],
        kind="shipped",
        name="population",
    )
    outcome = submit(subs, write(tmp_path, "UH.IMP.2,NGA,2024,90000000,,,,persons,C,NBS\n"))
    (problem,) = outcome.report.errors
    assert problem.type == "rule" and "at most POP.URBAN" in problem.expected and "80,000,000" in problem.expected


def test_outlier_against_the_series_history_is_a_warning(subs: Submissions, monitor: Monitor, tmp_path: Path) -> None:
    history = [
        Observation("11.1.1", "404", year, value, "percent", Nature.G, "UN-Habitat")
        for year, value in [(2016, 50.0), (2018, 49.0), (2020, 48.0), (2022, 47.0)]
    ]
    monitor.record(history, kind="shipped", name="history")
    outcome = submit(subs, write(tmp_path, "11.1.1,KEN,2024,20.0,,,,,C,KNBS\n"))
    assert outcome.created
    (warning,) = outcome.report.warnings
    assert (warning.type, warning.row, warning.column) == ("outlier", 2, "value")
    calm = submit(subs, write(tmp_path, "11.1.1,KEN,2024,46.2,,,,,C,KNBS\n", name="calm.csv"))
    assert not calm.report.warnings


@pytest.mark.parametrize(
    ("name", "header", "expected"),
    [
        ("a.csv", "indicator,geo,period,value\n", "csv"),
        ("b.csv", "DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE\n", "sdmx"),
        ("b2.csv", "STRUCTURE,STRUCTURE_ID,ACTION,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE\n", "sdmx"),
        ("indicator_11-1-1.csv", "Year,Sex,Value\n", "opensdg"),
        ("c.xlsx", "", "xlsx"),
        ("d.xml", "<x/>", "sdmx"),
    ],
)
def test_format_detection(tmp_path: Path, name: str, header: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(header, encoding="utf-8")
    assert detect_format(path) == expected
