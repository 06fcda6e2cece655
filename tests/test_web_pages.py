"""The public pages: each page's JSON twin is the data its HTML shows; the chart's and the map's table
alternatives carry the same numbers as the API; the map colours countries by their value class; Chinese pages
carry the registry's Chinese texts; unknown indicators, places and plan elements are 404s in the one error shape;
no page refers to anything outside the site. Also the geometry helpers (projection, antimeridian, quantiles,
ticks) against hand-computed answers."""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from markupsafe import escape

from habmon.engine.run import compute, latest_run
from habmon.geo.model import UnitKind
from habmon.ingest.files import data_dir
from habmon.methods.comparison import CAVEAT
from habmon.observation import Nature, Observation
from habmon.services import Monitor
from habmon.web.charts import nice_ticks, sparkline
from habmon.web.i18n import LOCALE_DIR
from habmon.web.pages.indicators import SERVICE_TEXTS
from habmon.web.worldmap import classify, equal_earth, quantile, split_antimeridian, world_outline
from tests.web_client import client_for

KENYA = "404"


@pytest.fixture(scope="module")
def web(demo: Monitor) -> Iterator[TestClient]:
    """The demo store with a monitoring run of 11.1.1 (the run the pages read)."""
    compute(demo, codes=["11.1.1"])
    with client_for(demo) as client:
        yield client


@pytest.fixture(scope="module")
def api_world(web: TestClient) -> list[dict[str, Any]]:
    body = web.get("/api/v1/aggregates?indicator=11.1.1&level=world&limit=1000").json()
    return list(body["items"])


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of table rows by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._table = dict(attrs).get("id")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def two(value: float) -> str:
    return f"{value:,.2f}"


# -- home ---------------------------------------------------------------------------------------------------


def test_home_shows_the_headline_indicator_of_the_latest_run(
    web: TestClient, demo: Monitor, api_world: list[dict[str, Any]]
) -> None:
    twin = web.get("/index.json").json()
    run = latest_run(demo)
    assert run is not None and twin["run"]["id"] == run["id"] and twin["run"]["engine"] == "duckdb"
    (headline,) = twin["headline_indicators"]  # only 11.1.1 has world figures in the shipped data
    published = [r for r in api_world if r["meets_publication_rule"]]
    assert headline["code"] == "11.1.1"
    assert (headline["latest"]["year"], headline["latest"]["value"]) == (
        published[-1]["period"],
        published[-1]["value"],
    )
    assert headline["latest"]["value"] == pytest.approx(24.8, abs=0.05)  # plan para 32: 24.8 % in 2022
    assert headline["trend"]["points"] == len(published)
    assert {p["method"] for p in headline["progress"]} == {"unsd", "statcan"}
    html = web.get("/").text
    assert two(headline["latest"]["value"]) in html
    assert f"#{run['id']}" in html and headline["trend"]["d"] in html


def test_without_a_run_the_pages_say_so(monitor: Monitor) -> None:
    with client_for(monitor) as client:
        home = client.get("/index.json").json()
        assert home["run"] is None and home["headline_indicators"] == []
        assert "No monitoring run has been stored yet" in client.get("/").text
        page = client.get("/indicators/11.1.1.json").json()
        assert page["run"] is None and page["chart"] is None and page["progress"] == [] and page["map"] is None
        assert "No monitoring run has been stored yet" in client.get("/indicators/11.1.1").text


# -- indicator page --------------------------------------------------------------------------------------


def test_indicator_page_twin_carries_what_the_html_shows(web: TestClient, demo: Monitor) -> None:
    indicator = demo.registry().get("11.1.1")
    twin = web.get("/indicators/11.1.1.json").json()
    html = web.get("/indicators/11.1.1").text
    assert twin["indicator"]["name"] == indicator.name.en and indicator.name.en in html
    assert twin["indicator"]["definition"] == indicator.definition.en
    assert [t["value"] for t in twin["targets"]["values"]] == [24.8, 24.5, 24.2, 23.9]
    for target in twin["targets"]["values"]:
        assert two(target["value"]) in html
    assert twin["appraisal"]["score"] == 11  # five criteria met (2 each) and (c) partly met (1)
    assert [c["rating"] for c in twin["appraisal"]["criteria"]] == ["met", "met", "partly", "met", "met", "met"]
    assert [d["format"] for d in twin["downloads"]] == ["csv", "sdmx-csv", "opensdg"]
    hrefs = {a.get("href") for tag, a in parse(html).tags if tag == "a"}
    assert {d["url"] for d in twin["downloads"]} <= hrefs
    progress = {(r["geo"], m): v["status"] for r in twin["progress"] for m, v in r["methods"].items()}
    api = web.get("/api/v1/progress?indicator=11.1.1&limit=1000").json()["items"]
    assert progress == {(r["geo"], r["method"]): r["status"] for r in api}
    assert twin["run"]["id"] == web.get("/api/v1/runs/latest").json()["id"]


def test_chart_table_has_the_api_numbers(web: TestClient, api_world: list[dict[str, Any]]) -> None:
    twin = web.get("/indicators/11.1.1.json").json()
    regions = web.get("/api/v1/aggregates?indicator=11.1.1&level=region&limit=1000").json()["items"]
    table = parse(web.get("/indicators/11.1.1").text).tables["chart-table"]
    header, rows = table[0], {row[0]: row[1:] for row in table[1:]}
    columns = [c["code"] for c in twin["chart_table"]["columns"]]
    assert columns[0] == "001" and header[1] == "World"
    assert set(columns[1:]) == {r["geo"] for r in regions}
    expected = {(r["geo"], r["period"]): r["value"] for r in [*api_world, *regions] if r["meets_publication_rule"]}
    shown = {(code, int(year)): cell for year, cells in rows.items() for code, cell in zip(columns, cells, strict=True)}
    assert {k for k, cell in shown.items() if cell != "—"} == set(expected)
    for key, value in expected.items():
        assert shown[key] == two(value), key
    world_line = next(line for line in twin["chart"]["lines"] if line["key"] == "001")
    assert [(p["year"], p["value"]) for p in world_line["points"]] == [
        (r["period"], r["value"]) for r in api_world if r["meets_publication_rule"]
    ]


def test_projection_is_the_runs_unsd_projection(web: TestClient) -> None:
    twin = web.get("/indicators/11.1.1.json").json()
    (unsd,) = web.get("/api/v1/progress?indicator=11.1.1&geo=001&method=unsd").json()["items"]
    assert twin["projection"]["to"] == {"year": unsd["target"]["year"], "value": unsd["projected"]}
    assert twin["projection"]["from"] == unsd["latest"]
    kinds = [m["kind"] for m in twin["chart"]["markers"]]
    assert kinds == ["baseline", "target", "target", "target", "target"]


def test_the_plans_yearly_targets_are_judged_on_the_page_as_in_the_api(web: TestClient) -> None:
    (unsd,) = web.get("/api/v1/progress?indicator=11.1.1&geo=001&method=unsd").json()["items"]
    (statcan,) = web.get("/api/v1/progress?indicator=11.1.1&geo=001&method=statcan").json()["items"]
    assert [(m["year"], m["target"], m["status"]) for m in unsd["milestones"]] == [
        (2026, 24.8, "regression"), (2027, 24.5, "regression"), (2028, 24.2, "regression"), (2029, 23.9, "regression")
    ]  # fmt: skip
    # 2026: 2022's 24.78 is below 24.8, but the trend (24.70 in 2020 → 24.78) projects 24.96 — a decrease is wanted,
    # so the year's target is missed, not "met" (issue #18)
    start, end = unsd["baseline"]["value"], unsd["latest"]["value"]  # 24.698 (2020) → 24.784 (2022), like for like
    assert unsd["milestones"][0]["projected"] == pytest.approx(end * (end / start) ** 2)  # 24.96 > 24.8
    assert unsd["milestones"][-1]["score"] == pytest.approx(unsd["score"])  # 2029: the target progress aims at
    table = parse(web.get("/indicators/11.1.1").text).tables["milestones"]
    status_text = {"met": "Target met", "regression": "Regression", "deterioration": "Deterioration"}
    # the world's four rows come first; its name spans them (a cell of the first row only)
    world = [table[1][1:], *table[2:5]]
    assert table[1][0] == "World" and world == [
        [str(m["year"]), two(m["target"]), "—" if m["projected"] is None else two(m["projected"]),
         status_text[m["status"]], status_text[s["status"]]]
        for m, s in zip(unsd["milestones"], statcan["milestones"], strict=True)
    ]  # fmt: skip


def test_one_baseline_in_the_targets_table_the_progress_table_and_the_chart(web: TestClient) -> None:
    """The world's 11.1.1 progress starts from the like-for-like panel of 2020 (24.70 %); the targets table and the
    chart's baseline marker show that same point, the plan's stated 24.8 % (2022) beside it as stated."""
    page = web.get("/indicators/11.1.1.json").json()
    (world,) = [r for r in page["progress"] if r["geo"] == "001"]
    starts = {(m["baseline"]["year"], m["baseline"]["value"]) for m in world["methods"].values()}
    assert len(starts) == 1
    ((year, value),) = starts
    assert year == 2020 and value == pytest.approx(24.698, abs=0.001)
    assert (page["baseline"]["year"], page["baseline"]["value"]) == (year, value) and page["baseline"]["from_run"]
    assert page["baseline"]["stated"] == {"value": 24.8, "year": 2022}
    (marker,) = [m for m in page["chart"]["markers"] if m["kind"] == "baseline"]
    assert (marker["year"], marker["value"]) == (year, value)
    html = web.get("/indicators/11.1.1").text
    opened = html.index('<table class="targets">')
    targets = html[opened : html.index("</table>", opened)]
    assert f'<td>2020</td><td class="num">{two(value)}' in targets and "Stated in the plan" in html


def shipped_kenya_2022() -> float:
    path = data_dir() / "sources" / "sdg_11_1_1_slum_share_by_country.csv"
    with path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.reader(handle) if r[1:3] == ["KEN", "2022"]]
    return float(rows[0][3])


def test_map_colours_kenya_by_its_2022_value_class(web: TestClient, demo: Monitor) -> None:
    kenya = shipped_kenya_2022()
    assert kenya == 40.5
    frame = demo.store.current_frame(["11.1.1"], public=True)
    countries = {u.code for u in demo.geography().of_kind(UnitKind.COUNTRY)}
    values = [
        float(v)
        for g, p, v, k in zip(frame["geo"], frame["period"], frame["value"], frame["disaggregation_key"], strict=True)
        if g in countries and p == 2022 and k == ""
    ]
    breaks = statistics.quantiles(values, n=5, method="inclusive")
    expected_class = sum(1 for b in breaks if b < kenya)
    twin = web.get("/indicators/11.1.1.json?year=2022").json()
    assert twin["map"]["year"] == 2022 and len(twin["map"]["countries"]) == len(values)
    entry = next(c for c in twin["map"]["countries"] if c["code"] == KENYA)
    assert (entry["value"], entry["class"]) == (kenya, expected_class)
    html = web.get("/indicators/11.1.1?year=2022").text
    paths = [a for tag, a in parse(html).tags if tag == "path" and a.get("data-geo") == KENYA]
    assert [p["class"] for p in paths] == [f"q{expected_class}"]
    table = {row[0]: row[1:] for row in parse(html).tables["map-table"][1:]}
    assert table["Kenya"] == ["40.50", str(expected_class + 1)]
    assert [k["to"] for k in twin["map"]["legend"][:-1]] == pytest.approx(breaks)


def test_map_of_another_year_and_a_year_without_values(web: TestClient) -> None:
    twin = web.get("/indicators/11.1.1.json?year=2010").json()
    assert twin["map"]["year"] == 2010
    assert next(c for c in twin["map"]["countries"] if c["code"] == KENYA)["value"] == 55.45
    missing = web.get("/indicators/11.1.1.json?year=2011")
    assert missing.status_code == 400
    assert "2010" in missing.json()["error"]["details"]["expected"]


def test_comparison_is_labelled_illustrative_with_its_caveat(web: TestClient) -> None:
    twin = web.get("/indicators/11.1.1.json").json()
    api = web.get("/api/v1/indicators/11.1.1/comparison").json()
    comparison = twin["comparison"]
    assert comparison["engagement_list"]["illustrative"] is True
    assert comparison["difference_in_differences"] == api["difference_in_differences"]
    assert comparison["supported"]["places"] == api["supported"]["places"] > 0
    html = web.get("/indicators/11.1.1").text
    assert "ILLUSTRATIVE" in html and str(escape(CAVEAT)) in html
    assert two(comparison["difference_in_differences"]) in html


def test_indicator_without_data_and_without_disaggregations(web: TestClient) -> None:
    twin = web.get("/indicators/UH.OC.E.1.json").json()
    assert twin["chart"] is None and twin["map"] is None and twin["comparison"] is None and twin["downloads"] == []
    assert twin["disaggregation"] == {"published_values": 0, "world": None}
    assert web.get("/indicators/UH.OC.E.1").status_code == 200


def test_indicator_list_and_its_filter(web: TestClient, demo: Monitor) -> None:
    twin = web.get("/indicators.json").json()
    assert [i["code"] for i in twin["indicators"]] == [i.code for i in demo.registry().indicators]
    impact = web.get("/indicators.json?level=impact").json()
    assert {i["code"] for i in impact["indicators"]} == {
        i.code for i in demo.registry().indicators if str(i.level) == "impact"
    }
    row = next(i for i in twin["indicators"] if i["code"] == "11.1.1")
    assert two(row["world_latest"]["value"]) in web.get("/indicators").text
    assert web.get("/indicators.json?level=nonsense").status_code == 400


# -- plan elements ----------------------------------------------------------------------------------------


def test_output_page_rolls_up_to_its_outcome_and_the_impact(web: TestClient, demo: Monitor) -> None:
    plan, registry = demo.plan(), demo.registry()
    output = plan.outputs[0]
    means = plan.means_for_outcome(output.outcome)
    twin = web.get(f"/plan/{output.id}.json").json()
    assert twin["element"]["kind"] == "output" and twin["element"]["statement"] == output.statement.en
    above = [e["id"] for e in twin["rollup"]["above"]]
    assert above == [output.outcome, means.id, plan.global_impact.id, *(a.id for a in plan.impact_areas)]
    assert twin["accountable_office"]["name"] == means.accountable_office.name.en
    assert [i["code"] for i in twin["indicators"]] == [i.code for i in registry.measuring(output.id)]
    html = web.get(f"/plan/{output.id}").text
    assert means.accountable_office.name.en in html and output.statement.en in html


def test_outcome_and_impact_area_pages(web: TestClient, demo: Monitor) -> None:
    plan, registry = demo.plan(), demo.registry()
    outcome = plan.outcomes[0]
    twin = web.get(f"/plan/{outcome.id}.json").json()
    assert [e["id"] for e in twin["rollup"]["below"]] == [o.id for o in plan.outputs if o.outcome == outcome.id]
    area = plan.impact_areas[0]
    page = web.get(f"/plan/{area.id}.json").json()
    assert page["accountable_office"] is None
    assert [i["code"] for i in page["indicators"]] == [i.code for i in registry.measuring(area.id)]
    world = next(i for i in page["indicators"] if i["code"] == "11.1.1")["world_latest"]
    assert world["year"] == 2022 and two(world["value"]) in web.get(f"/plan/{area.id}").text


# -- places -------------------------------------------------------------------------------------------------


def test_place_page_by_any_alias(web: TestClient, demo: Monitor) -> None:
    twins = [web.get(f"/places/{alias}.json").json() for alias in ("KEN", "404", "KE", "ken")]
    assert all(t == twins[0] for t in twins)
    kenya = twins[0]
    assert kenya["place"]["code"] == KENYA and kenya["place"]["iso3"] == "KEN"
    assert [u["code"] for u in kenya["groupings"]["sdg"]] == ["014", "202", "001"]
    assert [u["code"] for u in kenya["groupings"]["regional_office"]] == ["ROAF"]
    (slums,) = [i for i in kenya["indicators"] if i["code"] == "11.1.1"]
    stored = [o.observation for o in demo.series("11.1.1", "KEN", public=True).observations]
    assert slums["latest"]["year"] == max(o.period for o in stored) == 2022
    assert slums["latest"]["value"] == shipped_kenya_2022() and slums["values"] == len(stored)
    html = web.get("/places/KEN").text
    assert "40.50" in html and slums["trend"]["d"] in html
    row = html[html.index('data-indicator="11.1.1"') :].split("</tr>")[0]
    assert f'<td class="num">{len(stored)}</td>' in row and "built-in" not in html  # the count, not dict.values


def test_place_engagement_is_labelled_illustrative(web: TestClient, demo: Monitor) -> None:
    engagements, header = demo.engagements()
    assert header is not None and header["illustrative"]
    listed = {e.code for e in engagements}
    kenya = web.get("/places/KEN.json").json()["engagement"]
    assert kenya["works_here"] is (KENYA in listed) is True
    assert kenya["list"]["illustrative"] is True and "ILLUSTRATIVE" in web.get("/places/KEN").text
    with_data = set(demo.store.geos_with("11.1.1"))
    other = sorted(with_data - listed)[0]
    assert web.get(f"/places/{other}.json").json()["engagement"]["works_here"] is False


def test_city_page_shows_its_country_groupings(web: TestClient, demo: Monitor) -> None:
    twin = web.get("/places/ke_nairobi.json").json()
    assert twin["place"]["kind"] == "city"
    assert [u["code"] for u in twin["groupings"]["sdg"]] == [KENYA, "014", "202", "001"]
    assert twin["engagement"]["works_here"] is True  # through Kenya
    codes = {i["code"] for i in twin["indicators"]}
    assert codes == {c for c in ("11.2.1", "11.3.1", "11.7.1") if demo.store.series(c, "ke_nairobi", public=True)}


# -- languages ----------------------------------------------------------------------------------------------


def test_chinese_pages_carry_the_registrys_chinese_texts(web: TestClient, demo: Monitor) -> None:
    indicator = demo.registry().get("11.1.1")
    page = web.get("/indicators/11.1.1?lang=zh").text
    assert indicator.name.zh in page and indicator.definition.zh in page and indicator.targets.rationale.zh in page
    assert "肯尼亚" in page  # the map table names countries in Chinese
    assert "按计划推进" in page or "倒退" in page  # status labels from the catalogue
    assert str(escape(CAVEAT)) not in page and "这里比较的是变化" in page
    area = demo.plan().impact_areas[0]
    assert area.name.zh in web.get(f"/plan/{area.id}?lang=zh").text
    assert "肯尼亚" in web.get("/places/KEN?lang=zh").text
    twin = web.get("/places/KEN.json?lang=zh").json()
    assert twin["place"]["name"] == "肯尼亚"
    web.get("/?lang=en")


def test_every_msgid_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "habmon.pot").open("rb") as handle:
        template = read_po(handle)
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "habmon.po").open("rb") as handle:
        chinese = read_po(handle, locale="zh")
    untranslated = []
    for message in template:
        if not message.id:
            continue
        found = chinese.get(message.id)
        text = found.string if found is not None else ""
        filled = any(text) if isinstance(text, tuple) else bool(text)
        if not filled or (found is not None and found.fuzzy):
            untranslated.append(message.id)
    assert untranslated == []
    assert CAVEAT in SERVICE_TEXTS  # the caveat the template translates is the service's own text


# -- errors and references -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "found"),
    [("/indicators/99.9.9", "99.9.9"), ("/places/XYZ", "XYZ"), ("/plan/NOPE", "NOPE")],
)
def test_unknown_things_are_404_in_the_one_error_shape(web: TestClient, url: str, found: str) -> None:
    twin = web.get(url + ".json")
    assert twin.status_code == 404
    body = twin.json()
    assert set(body) == {"error"} and body["error"]["type"] == "not-found"
    assert body["error"]["details"]["found"] == found and body["error"]["details"]["expected"]
    page = web.get(url)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


PAGES = [
    "/",
    "/indicators",
    "/indicators/11.1.1",
    "/indicators/11.3.1",
    "/indicators/UH.OC.E.1",
    "/plan/SF",
    "/plan/GI",
    "/plan/IA-A",
    "/plan/MI-A",
    "/plan/OC-A",
    "/plan/OP-A-2026-1",
    "/places/KEN",
    "/places/ke_nairobi",
    "/indicators/99.9.9",
]


def test_no_page_refers_outside_the_site(web: TestClient) -> None:
    local = re.compile(r"^(/(?!/)|#|\?)")
    for url in PAGES:
        for lang in ("en", "zh"):
            html = web.get(f"{url}?lang={lang}").text
            references = [
                (tag, name, value)
                for tag, attrs in parse(html).tags
                for name, value in attrs.items()
                if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None
            ]
            assert references, url
            outside = [r for r in references if not local.match(r[2])]
            assert outside == [], (url, outside)
            assert "url(" not in html and "@import" not in html
    css = web.get("/static/habmon.css").text
    assert "url(" not in css and "@import" not in css


# -- geometry and scales ------------------------------------------------------------------------------------


def test_equal_earth_projection_known_points() -> None:
    a1 = 1.340264
    assert equal_earth(0, 0) == (0.0, 0.0)
    x, y = equal_earth(180, 0)
    assert x == pytest.approx(2 * math.sqrt(3) * math.pi / (3 * a1)) and y == 0.0
    theta = math.pi / 3  # latitude 90°: sin θ = √3/2
    top = a1 * theta - 0.081106 * theta**3 + 0.000893 * theta**7 + 0.003796 * theta**9
    assert equal_earth(0, 90)[1] == pytest.approx(top)
    assert equal_earth(-30, -40) == pytest.approx(tuple(-c for c in equal_earth(30, 40)))


def test_a_ring_across_the_antimeridian_is_cut_in_two() -> None:
    ring = [(170.0, 10.0), (-170.0, 10.0), (-170.0, -10.0), (170.0, -10.0)]
    pieces = sorted(split_antimeridian(ring), key=lambda p: min(x for x, _ in p))
    assert len(pieces) == 2
    west, east = pieces
    assert {x for x, _ in west} == {-180.0, -170.0} and {x for x, _ in east} == {170.0, 180.0}
    inside = [(10.0, 10.0), (20.0, 10.0), (20.0, 0.0)]
    assert split_antimeridian(inside) == [inside]


def test_outline_has_every_mapped_country_once() -> None:
    outline = world_outline()
    codes = [s.m49 for s in outline.shapes if s.m49]
    assert len(codes) == len(set(codes)) and KENYA in codes and "010" not in codes
    xs = [float(x) for s in outline.shapes for x in re.findall(r"[ML](-?[\d.]+),", s.d)]
    assert min(xs) >= 0 and max(xs) <= outline.width


def test_quantile_classes_match_the_statistics_module() -> None:
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.3, 5.8, 9.7, 0.2]
    assert [quantile(sorted(values), k / 5) for k in range(1, 5)] == pytest.approx(
        statistics.quantiles(values, n=5, method="inclusive")
    )
    classes = classify(values)
    assert classes is not None
    assert [classes.class_of(v) for v in (0.2, 9.7)] == [0, 4]
    assert classify([]) is None
    single = classify([5.0, 5.0])
    assert single is not None and single.breaks == (5.0,) and single.class_of(5.0) == 0


def test_ticks_and_sparkline() -> None:
    assert nice_ticks(0, 29.86) == [0, 10, 20, 30]  # 29.86 / 5 = 5.97: the step is the next of 1, 2, 5, 10
    assert nice_ticks(0, 24) == [0, 5, 10, 15, 20, 25]
    assert nice_ticks(0, 0.8) == [0, 0.2, 0.4, 0.6, 0.8]
    spark = sparkline([(2020, 10.0), (2010, 20.0)])
    assert spark is not None and spark["d"] == "M3.0,3.0L117.0,29.0" and spark["first_year"] == 2010
    assert sparkline([]) is None


# -- disaggregations: leave no one behind --------------------------------------------------------------------


def test_leave_no_one_behind_gaps_on_the_indicator_and_place_pages(monitor: Monitor) -> None:
    """Two countries of equal urban population, values by sex: the world value of a group is the plain mean, so
    2022: total (40 + 20) / 2 = 30, women (44 + 22) / 2 = 33, gap +3; 2020: total 32, women 36, gap +4;
    the gap changes by (3 − 4) / (2022 − 2020) = −0.5 a year. Kenya alone: gaps +4 (2022) and +5 (2020)."""
    values = {
        ("404", 2020): (42.0, 47.0, 37.0),
        ("404", 2022): (40.0, 44.0, 36.0),
        ("800", 2020): (22.0, 25.0, 19.0),
        ("800", 2022): (20.0, 22.0, 18.0),
    }
    rows = []
    for (geo, year), (total, women, men) in values.items():
        rows.append(Observation("11.1.1", geo, year, total, "percent", Nature.C, "test"))
        rows.append(Observation("11.1.1", geo, year, women, "percent", Nature.C, "test", {"sex": "F"}))
        rows.append(Observation("11.1.1", geo, year, men, "percent", Nature.C, "test", {"sex": "M"}))
        rows.append(Observation("POP.URBAN", geo, year, 1000.0, "persons", Nature.E, "test"))
    monitor.record(rows, kind="shipped", name="synthetic values by sex")
    compute(monitor, codes=["11.1.1"])
    with client_for(monitor) as client:
        section = client.get("/indicators/11.1.1.json").json()["disaggregation"]
        assert section["published_values"] == 8
        women = next(g for g in section["world"]["groups"] if g["group"] == "F")
        assert (women["year"], women["value"], women["total"]) == (2022, pytest.approx(33.0), pytest.approx(30.0))
        assert women["gap"] == pytest.approx(3.0) and women["gap_change_per_year"] == pytest.approx(-0.5)
        assert women["behind"] is True and women["dimension_name"] == "Sex"
        html = client.get("/indicators/11.1.1").text
        assert "3.00" in html and "-0.50" in html
        place = client.get("/places/KEN.json").json()["indicators"][0]
        assert place["disaggregated_values"] == 4
        kenya = next(g for g in place["lnob"] if g["group"] == "F")
        assert (kenya["gap"], kenya["first_gap"]) == (pytest.approx(4.0), pytest.approx(5.0))
        assert "女" in client.get("/places/KEN?lang=zh").text


def test_map_opens_on_the_latest_year_most_countries_report() -> None:
    import pandas as pd

    from habmon.web.pages.indicators import default_map_year

    rows = [(g, 2022) for g in ("404", "800", "834", "076")] + [("404", 2024)] + [(g, 2023) for g in ("404", "800")]
    countries = pd.DataFrame(rows, columns=["geo", "period"])
    assert default_map_year(countries) == 2023  # 2 of the best year's 4 countries: enough; 2024 (1) is not
    assert default_map_year(countries[countries["period"] != 2023]) == 2022
