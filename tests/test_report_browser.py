"""The HTML map in a real browser: Debian's headless Chromium through chromedriver, network off.

The map of a small real study (4000 m cells) is opened with every network request refused, so the
page must run from the file alone. The checks read what the browser did: the requests it sent
(Chrome's performance log), its console, the Leaflet map object and the DOM. The escaping test
plants script payloads in the names the map shows and opens every popup and tooltip.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

import gridsite
from gridsite.powergrid.graph import graph_to_gdfs
from gridsite.report import webmap
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
return n;
"""
)

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


def _click_marker(driver: WebDriver, element: WebElement) -> WebElement:
    """Click the marker drawn by ``element`` for real; return its popup's content once shown."""
    driver.execute_script(
        _MARKER
        + "map.closePopup(); map.setView(marker.getLatLng(), map.getZoom(), {animate: false});",
        element,
    )
    element.click()
    popup: WebElement | None = driver.execute_script(
        _MARKER
        + "return marker.isPopupOpen() ? "
        + "marker.getPopup().getElement().querySelector('.leaflet-popup-content') : null;",
        element,
    )
    assert popup is not None, "the click opened no popup"
    # The popup fades in while the map pans to show it: wait until both have settled.
    state = _FIND_MAP + (
        "return [getComputedStyle(arguments[0].closest('.leaflet-popup')).opacity,"
        " map.getCenter().toString()];"
    )
    last: list[list[str]] = []

    def settled(_: WebDriver) -> bool:
        last.append(driver.execute_script(state, popup))
        return len(last) > 1 and last[-1] == last[-2] and last[-1][0] == "1"

    WebDriverWait(driver, 5, poll_frequency=0.1).until(settled)
    assert popup.is_displayed()
    return popup


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
    return dataclasses.replace(result, spec=spec, sites=sites, grid_graph=graph)


@pytest.fixture(scope="module")
def map_dir(result: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("map")
    result.write(out)
    return out


# --- tests ------------------------------------------------------------------------------------


def test_offline_map_loads_with_all_layers_and_no_request(
    browser: WebDriver, map_dir: Path, result: StudyResult
) -> None:
    page = open_page(browser, map_dir / "map.html")
    assert page.requests and page.requests[0].startswith("file:")
    assert remote_requests(page.requests) == []
    assert console_errors(page.console) == []
    n = browser.execute_script(_COUNT_LAYERS)

    # Expected from the tables the map was drawn from, not from the page.
    buses, lines = graph_to_gdfs(result.grid_graph)
    n_sites = len(result.sites)
    assert n_sites == 5
    assert n["ranks"] == n_sites
    assert n["polygons"] == n_sites
    assert n["circles"] == int((~buses.geometry.is_empty).sum())
    assert n["lines"] == int((lines.geometry.notna() & ~lines.geometry.is_empty).sum())
    assert n["images"] == 1  # the suitability surface
    assert n["tiles"] == 0  # offline: the basemap is not switched on
    kv_groups = {f"Lines {kv} kV" for kv in (154, 345, 765) if (lines["voltage_kv"] == kv).any()}
    assert kv_groups
    assert set(n["overlays"]) >= {
        "Suitability (0-1)",
        "Substations",
        "Sites",
        "Site ranks",
        "Basemap: OpenStreetMap (online)",
        *kv_groups,
    }
    assert n["checked"].count(False) == 1  # only the basemap is off
    assert browser.find_element(By.CSS_SELECTOR, ".gs-title").text == result.spec.title
    assert len(browser.find_elements(By.CSS_SELECTOR, ".gs-rank")) == n_sites


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
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "map_offline.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert console_errors(drain(browser).console) == []


def test_basemap_is_switched_on_when_the_browser_goes_online(
    browser: WebDriver, map_dir: Path
) -> None:
    open_page(browser, map_dir / "map.html")
    browser.execute_script('window.dispatchEvent(new Event("online"));')
    n = browser.execute_script(_COUNT_LAYERS)
    assert n["tiles"] == 1
    assert all(n["checked"])
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
    buses, lines = graph_to_gdfs(planted.grid_graph)
    assert opened["leaves"] == 2 * len(planted.sites) + len(buses) + len(lines)
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


def test_unescaped_names_would_run_script(
    browser: WebDriver, result: StudyResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control case for the test above: with the escaping switched off, the payloads run.
    monkeypatch.setattr(webmap, "_esc", str)
    _planted(result).write(tmp_path)
    open_page(browser, tmp_path / "map.html")
    browser.execute_script(f"try {{ {_OPEN_ALL} }} catch (e) {{ return String(e); }}")
    assert browser.execute_script("return window.__xss") == 1
