"""Surveys through the service: registration keeps the design and the checksum (never the records),
bad input is a problem report naming file, variable, code and records with nothing stored, and the
estimates travel as a computed submission — reviewed, approved, published — with SE, CI, n, deff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import func, select

from habmon.access.model import Principal, Role
from habmon.access.policy import Forbidden
from habmon.problems import HabmonError
from habmon.services import Monitor
from habmon.store import tables as t
from habmon.submission.service import Submissions
from habmon.surveys.compute import compute
from habmon.surveys.design import Design, LonelyPSU
from habmon.surveys.microdata import read_microdata
from habmon.surveys.recipe import RecipeDesign, load_recipe
from habmon.surveys.service import Registration, SurveyError, Surveys
from habmon.surveys.synthetic import synthetic_dhs, synthetic_labels

DHS = Design(weight="hv005", psu="hv001", strata="hv022", weight_divisor=1e6)
OFFICER = Principal("an.officer", Role.OFFICER, organization="UN-Habitat")
REVIEWER = Principal("another.officer", Role.OFFICER, organization="UN-Habitat")


def _registration(name: str = "SYN-DHS-2025") -> Registration:
    return Registration(name, "KEN", (2024, 2025), "household", DHS, "SYNTHETIC (habmon generator)", "synthetic; open")


def _write(frame: pd.DataFrame, path: Path, labels: dict[str, dict[int, str]] | None = None) -> Path:
    labels = {k: v for k, v in (labels or synthetic_labels()).items() if k in frame.columns}
    writer = {".dta": pyreadstat.write_dta, ".sav": pyreadstat.write_sav}[path.suffix]
    writer(frame.astype("int32"), str(path), variable_value_labels=labels)
    return path


def _count(monitor: Monitor, table: object) -> int:
    with monitor.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _as(monitor: Monitor, principal: Principal) -> Monitor:
    return Monitor(monitor.store, principal=principal, registry=monitor.registry(), geography=monitor.geography())


@pytest.mark.parametrize("suffix", [".dta", ".sav"])
def test_stata_and_spss_files_keep_their_value_labels(tmp_path: Path, suffix: str) -> None:
    frame = synthetic_dhs(300, seed=3)
    read = read_microdata(_write(frame, tmp_path / f"hr{suffix}"))
    assert not isinstance(read, type(None)) and hasattr(read, "labels")
    assert read.labels["hv201"][43] == "river/dam/lake/ponds/stream/canal/irrigation channel"  # type: ignore[union-attr]
    assert read.labels["hv025"] == {1: "urban", 2: "rural"}  # type: ignore[union-attr]
    assert read.frame["hv201"].tolist() == frame["hv201"].tolist()  # type: ignore[union-attr]


def test_register_keeps_design_and_checksum_not_records(monitor: Monitor, tmp_path: Path) -> None:
    path = _write(synthetic_dhs(500, seed=5), tmp_path / "hr.dta")
    found = Surveys(_as(monitor, OFFICER)).register(path, _registration())
    assert found["records"] == 500 and len(found["content_sha256"]) == 64
    assert found["design"]["psu"] == "hv001" and found["design"]["weight_divisor"] == 1e6
    assert "hv201" in found["variables"]
    stored = {k: v for k, v in found.items() if k != "computations"}
    assert all(not isinstance(v, list) or all(isinstance(x, str) for x in v) for v in stored.values())  # names only


@pytest.mark.parametrize("role", [Role.FOCAL_POINT, Role.PARTNER, Role.PUBLIC])
def test_only_officers_and_admins_load_or_compute(monitor: Monitor, tmp_path: Path, role: Role) -> None:
    path = _write(synthetic_dhs(200, seed=5), tmp_path / "hr.dta")
    principal = Principal("someone", role, frozenset({"404"}), "KNBS") if role != Role.PUBLIC else Principal.public()
    service = Surveys(_as(monitor, principal))
    with pytest.raises(Forbidden):
        service.register(path, _registration())
    with pytest.raises(Forbidden):
        service.compute("SYN-DHS-2025", path, "11.1.1")
    assert _count(monitor, t.survey) == 0


def _problems(exc: pytest.ExceptionInfo[SurveyError]) -> list[tuple[str, str | None, str | None, str]]:
    return [(p.type, p.file, p.column, p.found) for p in exc.value.report.problems]


def test_bad_design_is_reported_and_nothing_stored(monitor: Monitor, tmp_path: Path) -> None:
    frame = synthetic_dhs(400, seed=5)
    frame.loc[[3, 10], "hv005"] = 0
    frame.loc[20, "hv005"] = -5
    service = Surveys(_as(monitor, OFFICER))
    with pytest.raises(SurveyError) as caught:
        service.register(_write(frame, tmp_path / "weights.dta"), _registration())
    ((kind, file, column, found),) = _problems(caught)
    assert (kind, file, column) == ("survey-weight", "weights.dta", "hv005")
    assert found == "3 records with zero, negative or missing weights (first at record 4)"
    with pytest.raises(SurveyError) as caught:
        service.register(_write(frame.drop(columns=["hv022"]), tmp_path / "nostrata.dta"), _registration())
    assert _problems(caught) == [("survey-variable", "nostrata.dta", "hv022", "")]
    assert _count(monitor, t.survey) == 0


def test_unclassified_codes_and_contradicting_labels_are_problems(monitor: Monitor, tmp_path: Path) -> None:
    frame = synthetic_dhs(600, seed=5)
    frame.loc[[1, 2, 7], "hv201"] = 97
    labels = synthetic_labels()
    labels["hv201"] = {**labels["hv201"], 97: "water kiosk", 31: "unprotected dug well"}
    path = _write(frame, tmp_path / "codes.sav", labels)
    service = Surveys(_as(monitor, OFFICER))
    service.register(path, _registration())
    with pytest.raises(SurveyError) as caught:
        service.compute("SYN-DHS-2025", path, "11.1.1", lonely_psu=LonelyPSU.ADJUST)
    problems = {p.type: p for p in caught.value.report.problems}
    code = problems["survey-code"]
    weight = float((frame.loc[[1, 2, 7], "hv005"] / 1e6 * frame.loc[[1, 2, 7], "hv009"]).sum())
    assert (code.file, code.column) == ("codes.sav", "hv201")
    assert code.found == f"97 (water kiosk) in 3 records, weight {weight:.6g}"
    label = problems["survey-label"]
    assert label.column == "hv201" and "'protected well'" in label.expected and "unprotected dug well" in label.found
    assert _count(monitor, t.survey_computation) == 0 and _count(monitor, t.submission) == 0


def test_lonely_psu_under_fail_is_a_problem(monitor: Monitor, tmp_path: Path) -> None:
    path = _write(synthetic_dhs(600, seed=5, lonely=1), tmp_path / "lonely.dta")
    service = Surveys(_as(monitor, OFFICER))
    service.register(path, _registration())
    with pytest.raises(SurveyError) as caught:
        service.compute("SYN-DHS-2025", path, "11.1.1")
    ((kind, file, column, found),) = _problems(caught)
    assert (kind, file, column) == ("survey-lonely-psu", "lonely.dta", "hv022")
    assert found.startswith("strata 12 with one PSU")
    assert _count(monitor, t.survey_computation) == 0


def test_another_file_than_the_registered_one_is_refused(monitor: Monitor, tmp_path: Path) -> None:
    service = Surveys(_as(monitor, OFFICER))
    service.register(_write(synthetic_dhs(300, seed=5), tmp_path / "a.dta"), _registration())
    other = _write(synthetic_dhs(300, seed=6), tmp_path / "b.dta")
    with pytest.raises(HabmonError, match="not the file survey SYN-DHS-2025 was registered with"):
        service.compute("SYN-DHS-2025", other, "7.1.1", lonely_psu=LonelyPSU.ADJUST)


def test_estimates_become_a_reviewed_submission_with_uncertainty(monitor: Monitor, tmp_path: Path) -> None:
    frame = synthetic_dhs(2000, seed=11)
    path = _write(frame, tmp_path / "hr.dta")
    service = Surveys(_as(monitor, OFFICER))
    service.register(path, _registration())
    found = service.compute(
        "SYN-DHS-2025", path, "1.4.1", by=["urban", "region"], lonely_psu=LonelyPSU.ADJUST, submit=True
    )
    # the same numbers as the estimator on the frame itself (tested against R in test_surveys_dhs.py)
    direct = compute(frame, load_recipe("1.4.1"), by=("urban", "region"), lonely_psu=LonelyPSU.ADJUST)
    assert [e["value"] for e in found["estimates"]] == [r.value for r in direct.rows]
    # urban × region has no registry dimension for region: kept in the computation, not submitted
    assert len(found["not_submitted"]) == len(direct.rows) - 1
    sid = found["submission"]["submission"]
    reviewer = Submissions(_as(monitor, REVIEWER))
    reviewer.approve(sid)
    reviewer.publish(sid)
    with monitor.store.engine.connect() as conn:
        (obs,) = conn.execute(select(t.observation).where(t.observation.c.series == "1.4.1")).mappings().all()
    total = direct.rows[0]
    assert obs["nature"] == "C" and obs["geo_code"] == "404" and obs["period"] == 2025
    assert "SYN-DHS-2025" in obs["source"]
    assert np.allclose(
        [obs["value"], obs["se"], obs["ci_low"], obs["ci_high"], obs["deff"]],
        [100 * total.value, 100 * total.se, 100 * total.ci_low, 100 * total.ci_high, total.deff],
        rtol=1e-12,
    )
    assert obs["n"] == total.n == 2000 - direct.excluded
    shown = service.show("SYN-DHS-2025")
    assert shown["computations"][0]["submission_id"] == sid


def test_the_estimates_use_the_design_the_survey_was_registered_with(monitor: Monitor, tmp_path: Path) -> None:
    # registered with its own weight variable (wt: every household 3, i.e. self-weighting) and no strata:
    # the estimate is the design's, not the recipe's DHS defaults (hv005 / 1e6 within hv022 strata)
    frame = synthetic_dhs(1500, seed=5).assign(wt=3)
    path = _write(frame, tmp_path / "hr.dta")
    own = Design(weight="wt", psu="hv001", strata=None, weight_divisor=1.0)
    service = Surveys(_as(monitor, OFFICER))
    service.register(
        path, Registration("OWN-2025", "KEN", (2025, 2025), "household", own, "SYNTHETIC", "synthetic; open")
    )
    found = service.compute("OWN-2025", path, "11.1.1", lonely_psu=LonelyPSU.ADJUST)
    recipe = load_recipe("11.1.1")
    registered = recipe.model_copy(
        update={"design": RecipeDesign(weight="wt", weight_divisor=1.0, psu="hv001", strata=None)}
    )
    expected = compute(frame, registered, lonely_psu=LonelyPSU.ADJUST).rows[0]
    defaults = compute(frame, recipe, lonely_psu=LonelyPSU.ADJUST).rows[0]
    (total,) = found["estimates"]
    assert (total["value"], total["se"]) == pytest.approx((expected.value, expected.se), rel=1e-12)
    assert abs(total["value"] - defaults.value) > 1e-6 and abs(total["se"] - defaults.se) > 1e-9
