"""The HTML map in a real browser: Debian's headless Chromium through chromedriver, network off.

The map of a small real study (4000 m cells) is opened with every network request refused, so the
page must run from the file alone. The checks read what the browser did: the requests it sent
(Chrome's performance log), its console, the Leaflet map object and the DOM: every layer and its
features against the tables it was drawn from, the legend sections of the layers switched on, the
scale bar, the site list (filter, zoom, popup, link to the site's page). The escaping test plants
script payloads in the names the map shows (also the criterion, substation and route names of the
newer layers) and opens every popup and tooltip.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

import gridsite
from gridsite.powergrid.graph import graph_to_gdfs
from gridsite.report import mapcontrols, mapimages, maplayers, maptext, webmap
from gridsite.report.maplayers import voltage_class_kv
from gridsite.study.result import StudyResult

from .browser import console_errors, drain, open_page, remote_requests
from .conftest import KOREA_STUDY, REPO

pytestmark = pytest.mark.integration

ARTEFACTS = REPO / "tests" / "artefacts"

# Each sets window.__xss (or opens an alert) if it ever runs; together they try to open a tag, an
# attribute, an event handler, close the script block folium writes the map into, and break out of
# the JS string and template literals that hold popups and tooltips.
PAYLOADS = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
    "</script><script>window.__xss=1</script>",
    "`;window.__xss=1;`${window.__xss=1}",
    "');window.__xss=1;('\\",
    "<img src=y onerror=alert(1)>",
)


# The folium map is a global variable map_<hash>: find it as the one L.Map among window's values.
_FIND_MAP = "var map = Object.values(window).find(v => v instanceof L.Map);"

_COUNT_LAYERS = (
    _FIND_MAP
    + """
var n = {ranks: 0, polygons: 0, circles: 0, lines: 0, tiles: 0, images: 0};
map.eachLayer(function (l) {
  if (l instanceof L.Marker && l.options.icon instanceof L.DivIcon) { n.ranks++; }
  else if (l instanceof L.CircleMarker) { n.circles++; }
  else if (l instanceof L.Polygon) { n.polygons++; }
  else if (l instanceof L.Polyline) { n.lines++; }
  else if (l instanceof L.TileLayer) { n.tiles++; }
  else if (l instanceof L.ImageOverlay) { n.images++; }
});
n.overlays = Array.from(
  document.querySelectorAll(".leaflet-control-layers-overlays label")
).map(e => e.textContent.trim());
n.checked = Array.from(
  document.querySelectorAll(".leaflet-control-layers-overlays input")
).map(e => e.checked);
// The leaves of each overlay of the layer control (an image or a tile layer counts as one).
var control = Object.values(window).find(v => v && v.base_layers && v.overlays);
n.features = {};
Object.keys(control.overlays).forEach(function (name) {
  var count = 0;
  (function walk(l) { if (l.getLayers) { l.getLayers().forEach(walk); } else { count++; } })(
    control.overlays[name]);
  n.features[name] = count;
});
n.legend = Array.from(document.querySelectorAll(".gs-legend-part")).map(
  e => [e.style.display !== "none", e.textContent]);
return n;
"""
)

# Wait until no zoom or pan animation runs (Leaflet animates the first fitBounds; a click on the
# site list during it would be ignored, as it is for a user clicking within that quarter second).
_IDLE = _FIND_MAP + "return !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress);"

# Open every popup and tooltip of every leaf layer the way Leaflet does on a click or hover (the
# event bubbles to a GeoJSON parent that holds the binding), and return the texts they showed.
_OPEN_ALL = (
    _FIND_MAP
    + """
var leaves = [], popups = [], tooltips = [], shown = null;
map.eachLayer(function (l) {
  if (l instanceof L.Marker || l instanceof L.Path) { leaves.push(l); }
});
function popupText(e) { popups.push(e.popup.getElement().innerText); }
function tooltipText(e) { if (shown) { shown.push(e.tooltip.getElement().innerText); } }
map.on("popupopen", popupText);
map.on("tooltipopen", tooltipText);
leaves.forEach(function (l) {
  var at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
  shown = [];
  l.fire("mouseover", {latlng: at}, true);
  tooltips.push(shown.join("\\n"));
  shown = null;
  l.fire("mouseout", {latlng: at}, true);
  l.fire("click", {latlng: at}, true);
  l.fire("mouseout", {latlng: at}, true);
  map.closePopup();
});
map.off("popupopen", popupText);
map.off("tooltipopen", tooltipText);
return {leaves: leaves.length, popups: popups, tooltips: tooltips};
"""
)


_MARKER = (
    _FIND_MAP
    + """
var marker = null, icon = arguments[0];
map.eachLayer(function (l) {
  if (l instanceof L.Marker && l.getElement().contains(icon)) { marker = l; }
});
"""
)


def _wait_idle(driver: WebDriver) -> None:
    WebDriverWait(driver, 5, poll_frequency=0.05).until(lambda d: d.execute_script(_IDLE))


def _wait_popup_settled(driver: WebDriver, popup: WebElement) -> None:
    """Wait until the popup has faded in and the map has panned to show it."""
    state = _FIND_MAP + (
        "return [getComputedStyle(arguments[0].closest('.leaflet-popup')).opacity,"
        " map.getCenter().toString()];"
    )
    last: list[list[str]] = []

    def settled(_: WebDriver) -> bool:
        last.append(driver.execute_script(state, popup))
        return len(last) > 1 and last[-1] == last[-2] and last[-1][0] == "1"

    WebDriverWait(driver, 5, poll_frequency=0.1).until(settled)


def _click_marker(driver: WebDriver, element: WebElement) -> WebElement:
    """Click the marker drawn by ``element`` for real; return its popup's content once shown."""
    driver.execute_script(
        _MARKER
        + "map.closePopup(); map.setView(marker.getLatLng(), map.getZoom(), {animate: false});",
        element,
    )
    element.click()
    opened = (
        _MARKER
        + "return marker.isPopupOpen() ? "
        + "marker.getPopup().getElement().querySelector('.leaflet-popup-content') : null;"
    )
    # The browser handles the click on its own time (slowly when the cores are busy): wait for
    # the popup rather than look once.
    try:
        popup: WebElement = WebDriverWait(driver, 5, poll_frequency=0.05).until(
            lambda d: d.execute_script(opened, element)
        )
    except TimeoutException:
        raise AssertionError("the click opened no popup") from None
    _wait_popup_settled(driver, popup)
    assert popup.is_displayed()
    return popup


def _overlay_input(driver: WebDriver, label: str) -> WebElement:
    """The layer control's checkbox of the overlay shown as ``label``."""
    for item in driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label"):
        if item.get_property("textContent").strip() == label:
            box: WebElement = item.find_element(By.TAG_NAME, "input")
            return box
    raise AssertionError(f"no overlay {label!r} in the layer control")


def _no_alert(driver: WebDriver) -> bool:
    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        return True
    return False


# --- the study --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(data_root: Path) -> StudyResult:
    return gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(5).run()


def _planted(result: StudyResult) -> StudyResult:
    """Return ``result`` with the payloads in the names and texts the map shows."""
    graph: nx.Graph = result.grid_graph.copy()
    for i, (_, data) in enumerate(graph.nodes(data=True)):
        data["name"] = PAYLOADS[i % len(PAYLOADS)]
    for i, (_, _, data) in enumerate(graph.edges(data=True)):
        data["line_ids"] = (PAYLOADS[i % len(PAYLOADS)], "way/1")
        data["kind"] = PAYLOADS[(i + 1) % len(PAYLOADS)]
    sites = result.sites.copy()
    for i, column in enumerate(("substation_name", "place", "province")):
        sites[column] = [PAYLOADS[(i + j) % len(PAYLOADS)] for j in range(len(sites))]
    layers = dict(result.spec.layers)
    layers["osm_buses"] = dataclasses.replace(layers["osm_buses"], attribution=PAYLOADS[1])
    spec = dataclasses.replace(result.spec, title=PAYLOADS[0], layers=layers)
    # The newer layers' names: criteria (score layers and their legends), substations, routes.
    scores = {
        f"{PAYLOADS[i % len(PAYLOADS)]} {i}": values
        for i, values in enumerate(result.scores.values())
    }
    assert result.hosting is not None and result.routes is not None
    hosting = result.hosting.assign(
        name=[PAYLOADS[i % len(PAYLOADS)] for i in range(len(result.hosting))]
    )
    routes = result.routes.assign(
        bus_id=[PAYLOADS[(i + 3) % len(PAYLOADS)] for i in range(len(result.routes))]
    )
    return dataclasses.replace(
        result,
        spec=spec,
        sites=sites,
        grid_graph=graph,
        scores=scores,
        hosting=hosting,
        routes=routes,
    )


@pytest.fixture(scope="module")
def map_dir(result: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("map")
    result.write(out)
    return out


# --- tests ------------------------------------------------------------------------------------

_SUBSTATIONS = "Substations (size: N-1 hosting capacity)"
_POTENTIAL = "Renewable potential (MW/km²)"
_EXCLUDED = "Excluded by constraints"
_BASEMAP = "Basemap: OpenStreetMap (online)"


def _drawn(gdf: gpd.GeoDataFrame) -> int:
    return int((gdf.geometry.notna() & ~gdf.geometry.is_empty).sum())


def _line_groups(lines: gpd.GeoDataFrame) -> dict[str, int]:
    """Features per line layer, from the table: the voltage classes, the rest grey."""
    classes = [voltage_class_kv(v) for v in lines["voltage_kv"]]
    drawn = (lines.geometry.notna() & ~lines.geometry.is_empty).to_list()
    groups = {}
    for kv in (765, 345, 154, None):
        count = sum(1 for c, d in zip(classes, drawn, strict=True) if c == kv and d)
        if count:
            groups["Lines, other voltages" if kv is None else f"Lines {kv} kV"] = count
    return groups


def test_offline_map_loads_with_all_layers_and_no_request(
    browser: WebDriver, map_dir: Path, result: StudyResult
) -> None:
    page = open_page(browser, map_dir / "map.html")
    assert page.requests and page.requests[0].startswith("file:")
    assert remote_requests(page.requests) == []
    assert console_errors(page.console) == []
    n = browser.execute_script(_COUNT_LAYERS)

    # Expected from the tables the map was drawn from, not from the page.
    _, lines = graph_to_gdfs(result.grid_graph)
    assert result.hosting is not None and result.routes is not None and result.scores
    n_sites, n_routes, n_hosting = len(result.sites), len(result.routes), _drawn(result.hosting)
    assert n_sites == 5 and n_routes == n_sites
    scores = [f"Score: {name}" for name in result.scores]
    assert len(scores) == len(result.spec.criteria) == 8
    groups = _line_groups(lines)
    assert set(groups) >= {"Lines 154 kV", "Lines 345 kV", "Lines 765 kV"}
    expected = {
        _BASEMAP: 1,
        "Suitability (0-1)": 1,
        **dict.fromkeys(scores, 1),
        _EXCLUDED: 1,
        _POTENTIAL: 1,
        **groups,
        _SUBSTATIONS: n_hosting,
        "Interconnection routes": n_routes,
        "Sites": n_sites,
        "Site ranks": n_sites,
    }
    assert n["features"] == expected
    assert n["overlays"] == list(expected)  # in this order in the control
    # On the map when it opens: suitability, lines, substations, routes and sites.
    off = {_BASEMAP, *scores, _EXCLUDED, _POTENTIAL}
    assert n["checked"] == [name not in off for name in n["overlays"]]
    assert n["ranks"] == n_sites
    assert n["polygons"] == n_sites
    assert n["circles"] == n_hosting  # one per substation bus of the hosting table
    assert n["lines"] == sum(groups.values()) + n_routes
    assert n["images"] == 1  # the suitability surface
    assert n["tiles"] == 0  # offline: the basemap is not switched on
    assert browser.find_element(By.CSS_SELECTOR, ".gs-title").text == result.spec.title
    assert len(browser.find_elements(By.CSS_SELECTOR, ".gs-rank")) == n_sites

    # The legend shows the layers that are on, each with its units, and none of the others.
    shown = " ".join(text for visible, text in n["legend"] if visible)
    hidden = " ".join(text for visible, text in n["legend"] if not visible)
    for unit in ("Suitability (0–1, unitless)", "765 kV", "154 kV", " MW", "route_km (km)"):
        assert unit in shown
    assert "Sites by rank" in shown
    assert "MW/km²" in hidden and "MW/km²" not in shown
    assert all(f"{s} (0–1, unitless)" in hidden for s in scores)
    # A metric scale bar, one line: "50 km", "100 m"...
    scale = browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-scale-line")
    assert len(scale) == 1
    assert re.fullmatch(r"\d+ k?m", scale[0].text)


def test_hidden_layers_switch_on_with_their_legends(
    browser: WebDriver, map_dir: Path, result: StudyResult
) -> None:
    open_page(browser, map_dir / "map.html")
    hidden = [*(f"Score: {name}" for name in result.scores), _EXCLUDED, _POTENTIAL]
    assert browser.execute_script(_COUNT_LAYERS)["images"] == 1
    legend_of = {
        _EXCLUDED: "excluded (suitability 0)",
        _POTENTIAL: "PV 50 or onshore wind 4 MW/km²",  # the study's [supply] densities
        **{f"Score: {name}": f"Score: {name} (0–1, unitless)" for name in result.scores},
    }
    for count, label in enumerate(hidden, start=2):
        _overlay_input(browser, label).click()  # a real click on the layer control
        n = browser.execute_script(_COUNT_LAYERS)
        assert n["images"] == count
        shown = [text for visible, text in n["legend"] if visible]
        assert any(legend_of[label] in text for text in shown), label
    assert "offshore wind 5 MW/km²" in " ".join(t for v, t in n["legend"] if v)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for label in hidden:
        _overlay_input(browser, label).click()
    _overlay_input(browser, _POTENTIAL).click()
    assert browser.save_screenshot(str(ARTEFACTS / "map_potential.png"))
    _overlay_input(browser, _POTENTIAL).click()
    n = browser.execute_script(_COUNT_LAYERS)
    assert n["images"] == 1
    assert not any(legend_of[label] in text for visible, text in n["legend"] if visible)
    # Switching a shown layer off hides its legend too.
    _overlay_input(browser, "Interconnection routes").click()
    n = browser.execute_script(_COUNT_LAYERS)
    assert not any("route_km (km)" in text for visible, text in n["legend"] if visible)
    assert console_errors(drain(browser).console) == []


def test_site_list_filters_and_a_click_zooms_to_the_site_and_opens_its_popup(
    browser: WebDriver, map_dir: Path, result: StudyResult
) -> None:
    open_page(browser, map_dir / "map.html")
    items = browser.find_elements(By.CSS_SELECTOR, ".gs-sitelist-item")
    sites = result.sites
    assert [i.text.split(" · ")[0] for i in items] == [
        f"#{rank} {sid}" for rank, sid in zip(sites["rank"], sites["site_id"], strict=True)
    ]
    count = browser.find_element(By.CSS_SELECTOR, ".gs-sitelist-count")
    box = browser.find_element(By.CSS_SELECTOR, ".gs-sitelist-filter")
    assert count.text == "5 of 5 sites"

    def visible() -> list[str]:
        return [i.text.split(" · ")[0] for i in items if i.is_displayed()]

    third = sites.iloc[2]
    box.send_keys(str(third["site_id"]))
    assert visible() == [f"#{third['rank']} {third['site_id']}"]
    assert count.text == "1 of 5 sites"
    box.clear()
    box.send_keys(f"{sites.iloc[0]['province']} no-such-place")  # every word must match
    assert visible() == [] and count.text == "0 of 5 sites"
    box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    assert len(visible()) == 5

    second = sites.iloc[1]
    _wait_idle(browser)
    items[1].click()  # a real click on the list entry
    state = browser.execute_script(
        _FIND_MAP
        + """
var open = null, out = [];
map.eachLayer(function (l) {
  if (l instanceof L.Marker && l.isPopupOpen()) { open = l; }
});
var popup = open.getPopup().getElement().querySelector(".leaflet-popup-content");
return [map.getZoom(), map.getBounds().contains(open.getLatLng()),
        [open.getLatLng().lat, open.getLatLng().lng], popup];
"""
    )
    zoom, in_view, (lat, lon), popup = state
    assert zoom >= 12
    assert in_view
    assert (lat, lon) == pytest.approx((second["lat"], second["lon"]), abs=0.01)
    _wait_popup_settled(browser, popup)
    assert f"site_id\t{second['site_id']}" in popup.get_property("innerText")
    link = popup.find_element(By.CSS_SELECTOR, ".gs-link a")
    assert link.get_attribute("href") is not None
    assert link.get_dom_attribute("href") == f"sites/{second['site_id']}.html"
    assert (map_dir / "sites" / f"{second['site_id']}.html").is_file()  # the page it links
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTEFACTS / "map_site_list.png"))
    assert console_errors(drain(browser).console) == []


def test_clicking_a_site_opens_its_popup_and_a_screenshot_is_saved(
    browser: WebDriver, map_dir: Path, result: StudyResult
) -> None:
    page = open_page(browser, map_dir / "map.html")
    assert console_errors(page.console) == []
    best = result.sites.iloc[0]
    marker = next(
        m for m in browser.find_elements(By.CSS_SELECTOR, ".gs-rank") if m.text == str(best["rank"])
    )
    popup = _click_marker(browser, marker)  # a real click on the numbered marker
    text = popup.get_property("innerText")  # all of it, also the rows scrolled out of view
    assert f"site_id\t{best['site_id']}" in text
    assert f"substation_name\t{best['substation_name']}" in text
    assert len(popup.find_elements(By.CSS_SELECTOR, ".gs-plot svg")) == 1  # the supply plot
    link = popup.find_element(By.CSS_SELECTOR, ".gs-link a")
    assert link.get_dom_attribute("href") == f"sites/{best['site_id']}.html"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "map_offline.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert console_errors(drain(browser).console) == []


def test_basemap_is_switched_on_when_the_browser_goes_online(
    browser: WebDriver, map_dir: Path, result: StudyResult
) -> None:
    open_page(browser, map_dir / "map.html")
    browser.execute_script('window.dispatchEvent(new Event("online"));')
    n = browser.execute_script(_COUNT_LAYERS)
    assert n["tiles"] == 1
    off = {*(f"Score: {name}" for name in result.scores), _EXCLUDED, _POTENTIAL}
    assert n["checked"] == [name not in off for name in n["overlays"]]  # the basemap is on
    tiles = [u for u in drain(browser).requests if "tile.openstreetmap.org" in u]
    assert tiles  # requested (and refused: the network is off)


def test_cdn_map_offline_requests_the_cdns_and_says_why_it_is_blank(
    browser: WebDriver, result: StudyResult, tmp_path: Path
) -> None:
    # The control case for the tests above: the same page linking its scripts does go out.
    result.write(tmp_path, map_assets="cdn")
    page = open_page(browser, tmp_path / "map.html")
    remote = remote_requests(page.requests)
    assert any("leaflet" in u for u in remote) and any("jquery" in u for u in remote)
    assert console_errors(page.console)  # the refused requests and the missing L
    assert browser.execute_script("return typeof L") == "undefined"
    notice = browser.find_element(By.CSS_SELECTOR, ".gs-offline")
    assert "could not be loaded" in notice.text


def test_names_from_data_run_no_script(
    browser: WebDriver, result: StudyResult, tmp_path: Path
) -> None:
    planted = _planted(result)
    planted.write(tmp_path)
    page = open_page(browser, tmp_path / "map.html")
    assert remote_requests(page.requests) == []
    assert console_errors(page.console) == []
    opened = browser.execute_script(_OPEN_ALL)
    for marker in browser.find_elements(By.CSS_SELECTOR, ".gs-rank"):
        _click_marker(browser, marker)
    assert _no_alert(browser)
    assert browser.execute_script("return window.__dialogs") == 0
    assert browser.execute_script("return window.__xss") is None
    assert console_errors(drain(browser).console) == []

    # Every payload reached the page, and shows as the text it is.
    _, lines = graph_to_gdfs(planted.grid_graph)
    assert planted.hosting is not None and planted.routes is not None
    drawn = _drawn(planted.hosting) + _drawn(lines) + _drawn(planted.routes)
    assert opened["leaves"] == 2 * len(planted.sites) + drawn
    assert len(opened["popups"]) == 2 * len(planted.sites)  # site polygon and its marker
    assert len(opened["tooltips"]) == opened["leaves"]
    assert all(opened["tooltips"])  # each leaf showed a tooltip on hover
    popups, tooltips = "\n".join(opened["popups"]), "\n".join(opened["tooltips"])
    for payload in PAYLOADS:
        assert payload in popups
        assert payload in tooltips
    assert browser.title == PAYLOADS[0]
    assert browser.find_element(By.CSS_SELECTOR, ".gs-title").text == PAYLOADS[0]
    assert PAYLOADS[1] in browser.find_element(By.CSS_SELECTOR, ".gs-attribution").text
    # The score layers' names in the layer control and their (hidden) legends; the site list.
    n = browser.execute_script(_COUNT_LAYERS)
    legend = " ".join(text for _, text in n["legend"])
    for name in planted.scores:
        assert f"Score: {name}" in n["overlays"]
        assert f"Score: {name} (0–1, unitless)" in legend
    entries = [
        e.get_property("textContent")
        for e in browser.find_elements(By.CSS_SELECTOR, ".gs-sitelist-item")
    ]
    assert [
        f"{p}, {q}" in e
        for e, p, q in zip(entries, planted.sites["place"], planted.sites["province"], strict=True)
    ] == [True] * len(entries)
    for name in planted.scores:  # switched on: the image and its legend, no script
        _overlay_input(browser, f"Score: {name}").click()
    assert browser.execute_script(_COUNT_LAYERS)["images"] == 1 + len(planted.scores)
    assert browser.execute_script("return window.__xss") is None
    assert console_errors(drain(browser).console) == []


def test_unescaped_names_would_run_script(
    browser: WebDriver, result: StudyResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control case for the test above: with the escaping switched off, the payloads run.
    for module in (maptext, maplayers, mapimages, mapcontrols, webmap):
        monkeypatch.setattr(module, "esc", str)
    _planted(result).write(tmp_path)
    open_page(browser, tmp_path / "map.html")
    browser.execute_script(f"try {{ {_OPEN_ALL} }} catch (e) {{ return String(e); }}")
    assert browser.execute_script("return window.__xss") == 1
