"""The page per site: its SVG map and charts, its sections, escaping, and the pages in a browser.

The geometry tests place hand-made sites, routes and substations with known coordinates and check
where they land in the SVG against values worked out by hand in the comments. The integration
tests write a small real Korea study (4000 m cells), with and without its optional stages, and
open the pages in headless Chromium with the network off.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from shapely.geometry import LineString, Point, box

import gridsite
from gridsite.config import load_study
from gridsite.report.maptext import LINE_COLOURS
from gridsite.report.sitecharts import Contribution, contribution_svg, rank_range_svg
from gridsite.report.sitepage import SITE_PAGES, site_page_name, write_site_pages
from gridsite.report.svgmap import (
    frame_around,
    nice_scale_km,
    site_map_svg,
    true_north_deg,
)
from gridsite.spec import RankingSpec, SensitivitySpec
from gridsite.study.result import StudyResult

from .browser import console_errors, drain, open_page, remote_requests
from .conftest import KOREA_STUDY, REPO
from .test_report_browser import PAYLOADS, _planted

SVG = "{http://www.w3.org/2000/svg}"
KOREA = "EPSG:5179"
ARTEFACTS = REPO / "tests" / "artefacts"
ALL_SECTIONS = {"site-map", "score", "interconnection", "grid", "supply", "robustness", "lineage"}


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", text)]


def _empty_grid() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    lines = gpd.GeoDataFrame({"voltage_kv": []}, geometry=[], crs=KOREA)
    buses = gpd.GeoDataFrame({"bus_id": [], "voltage_kv": []}, geometry=[], crs=KOREA)
    return buses, lines


# --- the map's geometry -------------------------------------------------------------------------


def test_frame_fits_the_box_at_the_largest_scale() -> None:
    # A tall 1 km x 3 km box without padding: the height limits, 400 px / 3000 m.
    f = frame_around((0, 0, 1000, 3000), pad_fraction=0, min_span_m=0)
    assert f.px_per_m == pytest.approx(400 / 3000)
    # centred on x = 500: half of 600 px is 2250 m
    assert (f.xmin_m, f.ymax_m) == pytest.approx((500 - 2250, 3000))
    assert f.to_px(500, 1500) == pytest.approx((300, 200))  # centre to centre
    # A 100 m box is widened to 6 km on both axes; the height limits: 400 px / 6000 m.
    g = frame_around((100, 100, 200, 200), min_span_m=6000)
    assert g.px_per_m == pytest.approx(400 / 6000)
    assert g.bounds_m == pytest.approx((150 - 4500, 150 - 3000, 150 + 4500, 150 + 3000))


def test_site_route_and_substation_land_at_their_hand_worked_pixels() -> None:
    site = box(1_000_000, 2_000_000, 1_002_000, 2_002_000)
    route = LineString([(1_001_000, 2_001_000), (1_005_000, 2_003_000), (1_010_000, 2_001_000)])
    substation = Point(1_010_000, 2_001_000)
    buses, lines = _empty_grid()
    svg = site_map_svg(
        site, crs=KOREA, lines=lines, buses=buses, route=route, substation=substation
    )
    root = ET.fromstring(svg)
    # Box of all three: x 1,000,000-1,010,000, y 2,000,000-2,003,000. Padding 15 % of 10 km =
    # 1.5 km a side: 13 km x 6 km; the width limits: 600 px / 13,000 m = 6/130 px/m. Centre
    # (1,005,000, 2,001,500); the frame's top left is (1,005,000 - 6,500, 2,001,500 + 4,333.3)
    # = (998,500, 2,005,833.3).
    s = 6 / 130

    def px(x: float, y: float) -> tuple[float, float]:
        return ((x - 998_500) * s, (2_005_833.333 - y) * s)

    (site_path,) = root.findall(f".//{SVG}path[@class='site']")
    xy = np.array(_numbers(site_path.get("d"))).reshape(-1, 2)
    # shapely's box runs (maxx, miny) -> (maxx, maxy) -> (minx, maxy) -> (minx, miny)
    expected = [px(1_002_000, 2_000_000), px(1_002_000, 2_002_000), px(1_000_000, 2_002_000)]
    expected.append(px(1_000_000, 2_000_000))
    assert xy == pytest.approx(np.array(expected), abs=0.06)
    # e.g. the south-west corner by hand: (1500 x 6/130, 5833.3 x 6/130) = (69.2, 269.2)
    assert xy[3] == pytest.approx((69.23, 269.23), abs=0.06)
    (route_path,) = root.findall(f".//{SVG}path[@class='route']")
    got = np.array(_numbers(route_path.get("d"))).reshape(-1, 2)
    assert got == pytest.approx(np.array([px(*p) for p in route.coords]), abs=0.06)
    (ring,) = root.findall(f".//{SVG}circle[@class='substation']")
    assert (float(ring.get("cx")), float(ring.get("cy"))) == pytest.approx(
        (530.77, 223.08), abs=0.06
    )

    # Scale bar: the frame is 13 km wide; a quarter is 3.25 km, so the bar is 2 km = 92.3 px.
    (bar,) = root.findall(f".//{SVG}g[@class='scale-bar']")
    main = bar.find(f"{SVG}line")
    assert float(main.get("x2")) - float(main.get("x1")) == pytest.approx(2000 * s, abs=0.1)
    assert bar.find(f"{SVG}text").text == "2 km"


@pytest.mark.parametrize(
    ("max_km", "expected"),
    [(7.3, 5.0), (2.0, 2.0), (0.45, 0.2), (0.1, 0.1), (99.0, 50.0), (1000.0, 1000.0), (3.25, 2.0)],
)
def test_scale_bar_takes_the_longest_round_length(max_km: float, expected: float) -> None:
    assert nice_scale_km(max_km) == expected


def test_north_arrow_turns_by_the_meridian_convergence() -> None:
    # UTM 52N has its central meridian at 129 E. At 126 E, 36 N the convergence is
    # atan(tan(-3 deg) sin(36 deg)) = -1.7645 deg: true north is 1.7645 deg clockwise of grid
    # north.
    utm = "EPSG:32652"
    x, y = Transformer.from_crs(4326, utm, always_xy=True).transform(126.0, 36.0)
    expected = -math.degrees(math.atan(math.tan(math.radians(-3.0)) * math.sin(math.radians(36))))
    assert expected == pytest.approx(1.7645, abs=1e-4)
    assert true_north_deg(utm, x, y) == pytest.approx(expected, abs=0.01)
    # On the central meridian and in Web Mercator, true north is grid north.
    x0, y0 = Transformer.from_crs(4326, utm, always_xy=True).transform(129.0, 36.0)
    assert true_north_deg(utm, x0, y0) == pytest.approx(0.0, abs=1e-6)
    assert true_north_deg("EPSG:3857", 14_000_000.0, 4_300_000.0) == pytest.approx(0.0, abs=1e-6)

    buses, lines = _empty_grid()
    site = box(x - 1000, y - 1000, x + 1000, y + 1000)
    svg = site_map_svg(site, crs=utm, lines=lines, buses=buses)
    rotation = re.search(r"rotate\((-?[\d.]+) ", svg)
    assert rotation is not None and float(rotation.group(1)) == pytest.approx(expected, abs=0.01)


def test_lines_are_clipped_to_the_frame_and_coloured_by_voltage() -> None:
    site = box(0, 0, 2000, 2000)  # frame: 6 km square widened to 9 km x 6 km around (1000, 1000)
    lines = gpd.GeoDataFrame(
        {"voltage_kv": [345.0, 154.0, 22.9]},
        geometry=[
            LineString([(1000, 1000), (100_000, 1000)]),  # leaves the frame to the east
            LineString([(-2000, -1000), (3000, -1000)]),  # inside
            LineString([(50_000, 50_000), (60_000, 50_000)]),  # far away: not drawn
        ],
        crs=KOREA,
    )
    buses = gpd.GeoDataFrame(
        {"bus_id": ["a", "b"], "voltage_kv": [765.0, 154.0]},
        geometry=[Point(1500, 1500), Point(90_000, 0)],
        crs=KOREA,
    )
    root = ET.fromstring(site_map_svg(site, crs=KOREA, lines=lines, buses=buses))
    drawn = root.findall(f".//{SVG}path[@class='line']")
    assert [p.get("data-kv") for p in drawn] == ["154", "345"]  # higher voltages on top
    assert [p.get("stroke") for p in drawn] == [LINE_COLOURS[154], LINE_COLOURS[345]]
    # The 345 kV line from the centre (300, 200) ends at the frame's east edge, x = 600.
    xy = np.array(_numbers(drawn[1].get("d"))).reshape(-1, 2)
    assert xy == pytest.approx(np.array([[300, 200], [600, 200]]), abs=0.06)
    (bus,) = root.findall(f".//{SVG}circle[@class='bus']")
    assert bus.get("fill") == LINE_COLOURS[765]


def test_map_needs_a_projected_crs() -> None:
    buses, lines = _empty_grid()
    with pytest.raises(ValueError, match="projected"):
        site_map_svg(box(127, 36, 127.01, 36.01), crs=4326, lines=lines, buses=buses)


# --- the charts ---------------------------------------------------------------------------------


def test_contribution_bars_follow_each_other_up_to_the_score() -> None:
    parts = [
        Contribution("a", "criterion", 0.2),
        Contribution("b", "criterion", 0.1),
        Contribution("c", "term", 0.3),
    ]
    root = ET.fromstring(contribution_svg(parts, score=0.6))
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    # Axis 0-0.6 over the 390 px plot from x = 190: 650 px per unit of score.
    got = np.array([(float(b.get("x")), float(b.get("width"))) for b in bars])
    assert got == pytest.approx(np.array([(190, 130), (320, 65), (385, 195)]))
    (score,) = root.findall(f".//{SVG}rect[@class='score-bar']")
    assert (float(score.get("x")), float(score.get("width"))) == pytest.approx((190, 390))
    assert got[-1][0] + got[-1][1] == pytest.approx(190 + 390)
    assert [b.get("fill") for b in bars] == ["#0072B2", "#0072B2", "#E69F00"]


def test_rank_range_covers_the_percentile_slots() -> None:
    svg = rank_range_svg(rank=2, p05=1, p50=2, p95=4, n_ranks=10)
    root = ET.fromstring(svg)
    # Slot r is centred at 20 + (r - 0.5) / 10 x 600: ranks 1-4 span x 20 to 290.
    (bar,) = root.findall(f".//{SVG}rect[@class='rank-range']")
    assert (float(bar.get("x")), float(bar.get("width"))) == pytest.approx((20, 240))
    (median,) = root.findall(f".//{SVG}circle[@class='rank-median']")
    assert float(median.get("cx")) == pytest.approx(110)
    (base,) = root.findall(f".//{SVG}line[@class='rank-base']")
    assert float(base.get("x1")) == pytest.approx(110)


# --- pages from a hand-made table ---------------------------------------------------------------


class _Page(HTMLParser):
    """Section ids, tags, attributes and text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        if tag == "section":
            self.sections.append(dict(attrs)["id"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def spec():  # the real Korea study file, resolved (no data read)
    return load_study(KOREA_STUDY)


def _table(spec, **extra: list[object]) -> gpd.GeoDataFrame:
    """Two sites with only the columns every study has, plus ``extra``."""
    base = {
        "rank": [1, 2],
        "site_id": ["korea-0001-0001", "korea-0002-0002"],
        "score": [0.7, 0.5],
        "suitability": [0.8, 0.6],
        "area_ha": [100.0, 100.0],
        "lon": [127.0, 127.1],
        "lat": [36.0, 36.1],
        "province": [PAYLOADS[0], "b"],
        "place": [PAYLOADS[1], "d"],
        "substation_id": ["7", "7"],
        "substation_name": [PAYLOADS[2], PAYLOADS[3]],
        "substation_kv": [345.0, 345.0],
        "interconnect_km": [3.0, 9.0],
    }
    geoms = [box(1_000_000, 1_800_000, 1_001_000, 1_801_000)]
    geoms.append(box(1_010_000, 1_800_000, 1_011_000, 1_801_000))
    return gpd.GeoDataFrame(base | extra, geometry=geoms, crs=KOREA)


def _grid() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    buses = gpd.GeoDataFrame(
        {"bus_id": ["7"], "name": [PAYLOADS[4]], "voltage_kv": [345.0]},
        geometry=[Point(1_003_000, 1_800_500)],
        crs=KOREA,
    ).to_crs(4326)
    lines = gpd.GeoDataFrame(
        {"kind": ["line", "transformer"], "voltage_kv": [345.0, 154.0]},
        geometry=[
            LineString([(1_003_000, 1_800_500), (1_020_000, 1_790_000)]),
            LineString([(1_003_000, 1_800_500), (1_003_050, 1_800_500)]),
        ],
        crs=KOREA,
    ).to_crs(4326)
    return buses, lines


def _write(tmp_path: Path, spec, sites: gpd.GeoDataFrame, **kwargs) -> dict[str, str]:
    buses, lines = _grid()
    written = write_site_pages(
        tmp_path / SITE_PAGES, sites, spec=spec, buses=buses, lines=lines, **kwargs
    )
    return {p.name: p.read_text(encoding="utf-8") for p in written}


def test_sections_of_stages_not_run_are_left_out(tmp_path: Path, spec) -> None:
    pages = _write(tmp_path, spec, _table(spec), map_href=None)
    assert list(pages) == ["index.html", "korea-0001-0001.html", "korea-0002-0002.html"]
    page = _Page(pages["korea-0001-0001.html"])
    assert page.sections == ["site-map", "lineage"]
    assert "Map</a>" not in pages["korea-0001-0001.html"]  # no map.html to link to
    # no routing: a straight tie line from the site's centre to the substation
    root_svg = re.search(r"<svg.*?</svg>", pages["korea-0001-0001.html"], re.S)
    assert root_svg is not None
    svg = ET.fromstring(root_svg.group(0))
    assert len(svg.findall(f".//{SVG}path[@class='route']")) == 1
    assert len(svg.findall(f".//{SVG}path[@class='line']")) == 1  # the transformer is not drawn
    assert "straight line to the substation" in pages["korea-0001-0001.html"]


def test_every_section_shows_when_its_columns_are_there(tmp_path: Path, spec) -> None:
    names = [c.name for c in spec.criteria] + [t.name for t in spec.ranking.terms]
    weights = dict.fromkeys((f"score_{n}" for n in names), 1 / len(names))
    extra: dict[str, list[object]] = {}
    for n in names:
        extra[f"score_{n}"] = [0.7, 0.5]
        extra[f"contribution_{n}"] = [0.7 / len(names), 0.5 / len(names)]
    for c in spec.criteria:
        extra[f"value_{c.name}"] = [1.5, 2.5]
    for t in spec.ranking.terms:
        extra.setdefault(t.field, [100.0, 200.0])
    extra |= {
        "route_km": [3.5, 9.9],
        "interconnect_cost_musd": [20.0, 30.0],
        "hosting_capacity_mw": [600.0, np.nan],
        "pv_mw": [900.0, 800.0],
        "rank_p05": [1, 1],
        "rank_p50": [1, 2],
        "rank_p95": [2, 3],
        "p_top10": [1.0, 0.97],
    }
    pages = _write(
        tmp_path,
        spec,
        _table(spec, **extra),
        score_weights=weights,
        supply_plots={"korea-0001-0001": '<svg xmlns="http://www.w3.org/2000/svg"></svg>'},
    )
    first = pages["korea-0001-0001.html"]
    assert set(_Page(first).sections) == ALL_SECTIONS
    assert _Page(pages["korea-0002-0002.html"]).sections.count("supply") == 1  # pv_mw, no plot
    bars = re.findall(r'class="bar" data-name="[^"]*" data-value="([\d.]+)"', first)
    assert len(bars) == len(names)
    assert sum(map(float, bars)) == pytest.approx(0.7, abs=1e-5)
    assert "97 %" in pages["korea-0002-0002.html"]  # p_top10
    assert 'data-column="hosting_capacity_mw"><th>Hosting capacity, N-1 secure</th>' in first


def test_names_from_data_are_escaped(tmp_path: Path, spec) -> None:
    attributions = [{"layer": "osm_buses", "licence": PAYLOADS[5], "attribution": PAYLOADS[6]}]
    planted = dataclasses.replace(spec, title=PAYLOADS[0])
    pages = _write(tmp_path, planted, _table(spec), attributions=attributions)
    for name, text in pages.items():
        page = _Page(text)
        assert "script" not in page.tags, name
        assert not [k for k, _ in page.attributes if k.startswith("on")], name
        assert "img" not in page.tags, name
        shown = "".join(page.text)
        assert PAYLOADS[0] in shown  # the title, as text
        if name != "index.html":
            substation = PAYLOADS[2] if name == "korea-0001-0001.html" else PAYLOADS[3]
            for payload in (substation, PAYLOADS[5], PAYLOADS[6]):
                assert payload in shown
                assert html.escape(payload, quote=True) in text


def test_same_input_same_bytes(tmp_path: Path, spec) -> None:
    a = _write(tmp_path / "a", spec, _table(spec))
    b = _write(tmp_path / "b", spec, _table(spec))
    assert a == b


@pytest.mark.parametrize("bad", ["../up", "a/b", ".hidden", "a b", ""])
def test_site_ids_that_cannot_name_a_file_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot name a page file"):
        site_page_name(bad)


# --- a real study in a browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(data_root: Path) -> StudyResult:
    return gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(5).run()


@pytest.fixture(scope="module")
def out_dir(result: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("study")
    result.write(out)
    return out


def _ids(browser: WebDriver) -> list[str]:
    return [s.get_attribute("id") for s in browser.find_elements(By.TAG_NAME, "section")]


@pytest.mark.integration
def test_index_links_each_page_which_explains_the_rank(
    browser: WebDriver, out_dir: Path, result: StudyResult
) -> None:
    sites = result.sites
    page = open_page(browser, out_dir / SITE_PAGES / "index.html")
    assert remote_requests(page.requests) == []
    assert console_errors(page.console) == []
    links = browser.find_elements(By.CSS_SELECTOR, "a.site-link")
    assert [a.text for a in links] == list(sites["site_id"])
    assert (out_dir / "map.html").is_file()
    assert browser.find_element(By.CSS_SELECTOR, "a.map-link").get_attribute("href") == (
        (out_dir / "map.html").as_uri()
    )

    second = sites.iloc[1]
    links[1].click()  # a real click on the link
    assert browser.current_url == (out_dir / SITE_PAGES / f"{second['site_id']}.html").as_uri()
    after = drain(browser)
    assert remote_requests(after.requests) == []
    assert console_errors(after.console) == []
    assert set(_ids(browser)) == ALL_SECTIONS
    assert browser.find_element(By.TAG_NAME, "h1").text == f"#2 {second['site_id']}"

    # One bar per criterion and ranking term; their values add up to the site's score.
    bars = browser.find_elements(By.CSS_SELECTOR, "#score rect.bar")
    n_parts = len(result.spec.criteria) + len(result.spec.ranking.terms)
    assert len(bars) == n_parts
    total = sum(float(b.get_attribute("data-value")) for b in bars)
    assert total == pytest.approx(second["score"], abs=1e-5)
    # The map: the site, its routed tie line and the substation it connects to.
    for selector in (
        "path.site",
        "path.route",
        "circle.substation",
        "g.scale-bar",
        "g.north-arrow",
    ):
        assert len(browser.find_elements(By.CSS_SELECTOR, f"#site-map svg {selector}")) == 1
    assert browser.find_elements(By.CSS_SELECTOR, "#site-map svg path.line")
    cost = browser.find_element(By.CSS_SELECTOR, '[data-column="interconnect_cost_musd"] td')
    assert cost.text == f"{second['interconnect_cost_musd']:,.1f}"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#supply svg")) == 1  # the supply plot
    lineage = browser.find_element(By.ID, "lineage").text
    for name, _ in result.inputs:
        assert name in lineage
    assert browser.execute_script("return window.__dialogs") == 0

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "site_page.png"
    browser.set_window_size(1100, 2400)
    try:
        assert browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1280, 900)
    assert shot.stat().st_size > 10_000
    browser.find_element(By.CSS_SELECTOR, "a.index-link").click()
    assert browser.current_url.endswith(f"/{SITE_PAGES}/index.html")
    assert console_errors(drain(browser).console) == []


@pytest.mark.integration
def test_planted_names_run_no_script(
    browser: WebDriver, result: StudyResult, tmp_path: Path
) -> None:
    planted = _planted(result)
    planted.write(tmp_path)
    for site_id in ["index", *planted.sites["site_id"]]:
        page = open_page(browser, tmp_path / SITE_PAGES / f"{site_id}.html")
        assert remote_requests(page.requests) == []
        assert console_errors(page.console) == []
        assert browser.execute_script("return window.__xss") is None
        assert browser.execute_script("return window.__dialogs") == 0
        assert browser.title.endswith(PAYLOADS[0])
    text = browser.find_element(By.TAG_NAME, "body").text
    assert planted.sites["substation_name"].iloc[-1] in text
    assert PAYLOADS[1] in browser.find_element(By.ID, "lineage").text  # an attribution


@pytest.fixture(scope="module")
def bare(data_root: Path) -> StudyResult:
    """The study without routing, electrical model, supply or Monte Carlo draws."""
    s = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(3)
    spec = dataclasses.replace(
        s.spec,
        interconnect=None,
        electrical=None,
        supply=None,
        ranking=RankingSpec(),
        sensitivity=SensitivitySpec(draws=0),
    )
    return gridsite.Study(spec).run()


@pytest.mark.integration
def test_a_study_without_its_optional_stages_gives_shorter_pages(
    browser: WebDriver, bare: StudyResult, tmp_path: Path
) -> None:
    bare.write(tmp_path)
    first = bare.sites.iloc[0]
    page = open_page(browser, tmp_path / SITE_PAGES / f"{first['site_id']}.html")
    assert console_errors(page.console) == []
    assert remote_requests(page.requests) == []
    # Connection by straight line: no cost breakdown; no supply, no rank spread. The grid section
    # keeps the columns a study without [electrical] still has (reV-rule capacity, feeds).
    ids = set(_ids(browser))
    assert ids.isdisjoint({"interconnection", "supply", "robustness"})
    assert {"site-map", "score", "lineage"} <= ids
    hosting = browser.find_elements(By.CSS_SELECTOR, '[data-column="hosting_capacity_mw"]')
    assert hosting == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "#site-map svg path.route")) == 1
    assert "straight line to the substation" in browser.find_element(By.ID, "site-map").text
    bars = browser.find_elements(By.CSS_SELECTOR, "#score rect.bar")
    assert len(bars) == len(bare.spec.criteria) + len(bare.spec.ranking.terms)
    total = sum(float(b.get_attribute("data-value")) for b in bars)
    assert total == pytest.approx(first["score"], abs=1e-5)
