import datetime as dt
import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gridsite.energy import simulate, typical_week
from gridsite.errors import ConfigError
from gridsite.report.supplyplot import PALETTE, stack_week, supply_svg

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# An explicit week start: hour 1680 is 70 days after Wed 1 Jan 2025, so Wed 12 Mar 00:00.
WEEK = 10 * 168


@pytest.fixture(scope="module")
def year():
    """A real-sized year of hours on synthetic sine profiles, with PV and wind MW series."""
    h = np.arange(8760)
    season = np.cos(2 * np.pi * (h - 4000) / 8760)
    pv_cf = np.clip(np.sin((h % 24 - 6) / 12 * np.pi), 0, None) * (0.75 + 0.2 * season)
    wind_cf = np.clip(0.4 + 0.3 * np.sin(2 * np.pi * h / 83) - 0.15 * season, 0, 1)
    load = 100 + 15 * np.sin(2 * np.pi * (h - 9) / 24)  # varies, so stacking errors show
    pv_mw, wind_mw = 140.0, 110.0
    d = simulate(load, pv_cf, wind_cf, pv_mw=pv_mw, wind_mw=wind_mw, bess_mw=40, bess_mwh=160)
    return d, pv_mw * pv_cf, wind_mw * wind_cf


def points(element):
    return np.array([[float(v) for v in p.split(",")] for p in element.get("points").split()])


def polygon_heights(root, key):
    """Heights above the baseline of a week-panel layer's top edge, px, one per hour."""
    (polygon,) = root.findall(f".//{SVG}polygon[@class='wk-{key}']")
    xy = points(polygon)
    base = xy[0, 1]
    assert xy[-1, 1] == base  # closed along the baseline
    return base, xy[1:-1, 0], base - xy[1:-1, 1]


def test_is_self_contained_xml(year):
    d, pv, wind = year
    svg = supply_svg(d, pv_mw_series=pv, wind_mw_series=wind, title="Site 1")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter(f"{SVG}script"))
    attributes = [(k, v) for e in root.iter() for k, v in e.attrib.items()]
    assert not [k for k, _ in attributes if k == "id" or k.endswith("href") or k.startswith("on")]
    assert not [v for _, v in attributes if "url(" in v]
    # Safe inside the JavaScript template literals folium puts popups in.
    assert not {"`", "$", "\\"} & set(svg)


def test_title_is_escaped(year):
    d, _, _ = year
    title = "<&> \"q\" 'a' `b` ${c} \\d"
    svg = supply_svg(d, title=title)
    assert "<&>" not in svg
    assert not {"`", "$", "\\"} & set(svg)
    root = ET.fromstring(svg)
    assert next(e.text for e in root.iter(f"{SVG}text")) == title
    assert root.find(f"{SVG}title").text == title
    assert root.get("aria-label") == title


def test_size_stays_small_for_a_year_of_hours(year):
    d, pv, wind = year
    split = supply_svg(d, pv_mw_series=pv, wind_mw_series=wind, title="A site with a long name")
    plain = supply_svg(d)
    assert len(split.encode()) < 25_000
    assert len(plain.encode()) < 25_000
    # 168 points per layer, not 8,760
    for polygon in ET.fromstring(split).iter(f"{SVG}polygon"):
        assert len(points(polygon)) == 168 + 2


def test_twelve_month_bars_reach_the_monthly_load(year):
    d, pv, wind = year
    root = ET.fromstring(supply_svg(d, pv_mw_series=pv, wind_mw_series=wind))
    bars = [g for g in root.iter(f"{SVG}g") if g.get("class") == "month"]
    assert len(bars) == 12
    assert [g.find(f"{SVG}title").text[:3] for g in bars] == MONTHS
    # Hand-typed 2025 calendar: the bar of month m is the sum of its hours' load.
    hours = np.cumsum([0, 744, 672, 744, 720, 744, 720, 744, 744, 720, 744, 720, 744])
    load_gwh = np.add.reduceat(d.load_mw, hours[:-1]) / 1e3
    fills = [PALETTE[k] for k in ("pv", "wind", "discharge", "import")]
    heights = []
    for g in bars:
        rects = g.findall(f"{SVG}rect")
        assert [r.get("fill") for r in rects] == fills
        # stacked: each rect starts where the one below ends (to rounding)
        for below, above in itertools.pairwise(rects):
            top_of_above = float(above.get("y")) + float(above.get("height"))
            assert top_of_above == pytest.approx(float(below.get("y")), abs=0.11)
        heights.append(sum(float(r.get("height")) for r in rects))
    scale = sum(heights) / load_gwh.sum()
    np.testing.assert_allclose(heights, scale * load_gwh, atol=0.25)


def test_stack_week_layers_add_up_to_the_load(year):
    d, pv, wind = year
    layers = stack_week(d, week_start=WEEK, pv_mw_series=pv, wind_mw_series=wind)
    assert list(layers) == ["pv", "wind", "discharge", "import", "charge", "curtailed"]
    week = slice(WEEK, WEEK + 168)
    served = layers["pv"] + layers["wind"] + layers["discharge"] + layers["import"]
    np.testing.assert_allclose(served, d.load_mw[week], atol=1e-9)
    np.testing.assert_allclose(layers["pv"] + layers["wind"], d.used_mw[week], atol=1e-9)
    total = served + layers["charge"] + layers["curtailed"]
    top = np.maximum(d.load_mw[week], pv[week] + wind[week])
    np.testing.assert_allclose(total, top, atol=1e-9)
    # pro rata: PV's part of direct use is PV's part of the hour's generation
    sunny = d.used_mw[week] > 1
    np.testing.assert_allclose(
        layers["pv"][sunny] / d.used_mw[week][sunny],
        pv[week][sunny] / (pv[week][sunny] + wind[week][sunny]),
    )
    assert np.any(layers["discharge"] > 0) and np.any(layers["curtailed"] > 0)


def test_week_panel_heights_match_the_dispatch(year):
    # Read the drawn coordinates back: the top of the grid-import area is the load, the top of
    # the wind area is the direct use, the top of the PV area is PV's direct use, and the top of
    # all is the larger of load and generation, all on one MW-to-px scale.
    d, pv, wind = year
    root = ET.fromstring(supply_svg(d, pv_mw_series=pv, wind_mw_series=wind, week_start=WEEK))
    week = slice(WEEK, WEEK + 168)
    load = d.load_mw[week]
    base, xs, import_px = polygon_heights(root, "import")
    np.testing.assert_array_equal(np.diff(xs), 2.0)
    scale = import_px.sum() / load.sum()
    np.testing.assert_allclose(import_px, scale * load, atol=0.06)
    _, _, wind_px = polygon_heights(root, "wind")
    np.testing.assert_allclose(wind_px, scale * d.used_mw[week], atol=0.06)
    _, _, pv_px = polygon_heights(root, "pv")
    pv_used = d.used_mw[week] * pv[week] / np.maximum(pv[week] + wind[week], 1e-12)
    np.testing.assert_allclose(pv_px, scale * pv_used, atol=0.06)
    _, _, top_px = polygon_heights(root, "curtailed")
    np.testing.assert_allclose(top_px, scale * np.maximum(load, d.generation_mw[week]), atol=0.06)
    # the load line runs along the top of the import area
    line = points(root.find(f".//{SVG}polyline[@class='wk-load']"))
    np.testing.assert_allclose(base - line[:, 1], import_px, atol=1e-9)


def test_default_week_is_the_typical_week(year):
    d, _, _ = year
    start = typical_week(d)
    first = dt.datetime(2025, 1, 1) + dt.timedelta(hours=start)
    heading = f"Typical week from {first:%a} {first.day} {first:%b}"
    texts = [e.text for e in ET.fromstring(supply_svg(d)).iter(f"{SVG}text")]
    assert any(t.startswith(heading) for t in texts)
    explicit = [e.text for e in ET.fromstring(supply_svg(d, week_start=WEEK)).iter(f"{SVG}text")]
    assert any(t.startswith("Week from Wed 12 Mar") for t in explicit)


def test_without_series_local_use_is_one_layer(year):
    d, _, _ = year
    root = ET.fromstring(supply_svg(d, week_start=WEEK))
    classes = {p.get("class") for p in root.iter(f"{SVG}polygon")}
    assert "wk-local" in classes and not {"wk-pv", "wk-wind"} & classes
    _, _, local_px = polygon_heights(root, "local")
    _, _, import_px = polygon_heights(root, "import")
    week = slice(WEEK, WEEK + 168)
    scale = import_px.sum() / d.load_mw[week].sum()
    np.testing.assert_allclose(local_px, scale * d.used_mw[week], atol=0.06)


def test_one_series_leaves_the_rest_to_the_other(year):
    d, pv, wind = year
    only_pv = stack_week(d, week_start=WEEK, pv_mw_series=pv)
    both = stack_week(d, week_start=WEEK, pv_mw_series=pv, wind_mw_series=wind)
    np.testing.assert_allclose(only_pv["wind"], both["wind"], atol=1e-9)


def test_width_scales_the_drawing(year):
    d, _, _ = year
    root = ET.fromstring(supply_svg(d, width_px=200))
    view_h = float(root.get("viewBox").split()[3])
    assert root.get("width") == "200"
    assert float(root.get("height")) == pytest.approx(view_h / 2, abs=0.05)


def test_leap_year():
    n = 8784
    leap = simulate(
        np.full(n, 50.0), np.full(n, 0.3), np.zeros(n), pv_mw=100, wind_mw=0, bess_mw=0, bess_mwh=0
    )
    assert len(list(ET.fromstring(supply_svg(leap, year=2024)).iter(f"{SVG}g"))) == 12
    with pytest.raises(ConfigError, match="year=2025"):
        supply_svg(leap)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"week_start": 8760 - 167}, "does not fit"),
        ({"week_start": -1}, "does not fit"),
        ({"pv_mw_series": np.ones(10)}, "pv_mw_series has 10 values"),
        ({"wind_mw_series": np.full(8760, -1.0)}, "negative"),
        ({"pv_mw_series": np.zeros(8760), "wind_mw_series": np.zeros(8760)}, "differ"),
        ({"width_px": 0}, "width_px"),
    ],
)
def test_rejects_bad_arguments(year, kwargs, match):
    d, _, _ = year
    with pytest.raises(ConfigError, match=match):
        supply_svg(d, **kwargs)


def test_needs_a_year_of_hours():
    d = simulate(
        np.ones(500), np.zeros(500), np.zeros(500), pv_mw=0, wind_mw=0, bess_mw=0, bess_mwh=0
    )
    with pytest.raises(ConfigError, match="calendar year"):
        supply_svg(d)
