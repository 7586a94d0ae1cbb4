"""The HTML map's vector layers: lines by voltage, substations, interconnection routes, sites.

Each ``add_*`` function draws one kind of feature on a folium map (reprojected to WGS84 here) and
returns the legend section that explains it. Every string from data is escaped
(:func:`~gridsite.report.maptext.esc`): tooltips and popups go into the page as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridsite.errors import CRSError
from gridsite.report.mapcontrols import LegendSection, line_swatch_html
from gridsite.report.maptext import (
    LINE_COLOURS,
    OTHER_LINE_COLOUR,
    esc,
    format_value,
    html_table,
    is_missing,
    js_string,
    page_href,
    voltage_class_kv,
    voltage_colour,
)

__all__ = [
    "HOSTING_MAX_RADIUS_PX",
    "HOSTING_MIN_RADIUS_PX",
    "LINE_COLOURS",
    "OTHER_LINE_COLOUR",
    "ROUTE_COLOUR",
    "SiteLayers",
    "add_lines",
    "add_routes",
    "add_sites",
    "add_substations",
    "hosting_radius_px",
    "size_breaks_mw",
    "to_wgs84",
    "voltage_class_kv",
]

ROUTE_COLOUR = "#111111"
"""Colour of the interconnection routes (dashed)."""

HOSTING_MIN_RADIUS_PX = 2.0
"""Radius of a substation circle with no (or ~0 MW) hosting capacity, in pixels."""

HOSTING_MAX_RADIUS_PX = 11.0
"""Radius of a substation circle at the top of the size scale, in pixels."""

_LINE_WEIGHT_PX: Mapping[int, float] = {765: 4.0, 345: 3.0, 154: 2.0}
_OTHER_LINE_WEIGHT_PX = 1.5
_ROUTE_WEIGHT_PX = 3.0
_ROUTE_DASH = "6 4"
_BUS_RADIUS_PX = 4.0
# A site's popup holds ~80 rows: it scrolls inside a box that fits the window, and the map pans
# it clear of the title box.
_POPUP_OPTIONS: Mapping[str, Any] = {
    "max_width": 420,
    "max_height": 420,
    "auto_pan_padding_top_left": (10, 56),
}
_SITE_STYLE = {"color": "#00363a", "weight": 2, "fillColor": "#00e5ff", "fillOpacity": 0.3}


def to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326; a GeoDataFrame without a CRS is a :class:`CRSError`."""
    if gdf.crs is None:
        raise CRSError(
            f"cannot draw the {what} on the map: the GeoDataFrame has no CRS; set it where the "
            "layer is read"
        )
    return gdf.to_crs("EPSG:4326")


def _feature_collection(gdf: gpd.GeoDataFrame, fields: Sequence[str]) -> dict[str, Any]:
    # Properties are embedded as escaped display strings: folium's GeoJsonTooltip puts them into
    # innerHTML as they are.
    features = []
    columns = [gdf[f].to_list() for f in fields]
    for i, geom in enumerate(gdf.geometry):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    f: esc(format_value(col[i])) for f, col in zip(fields, columns, strict=True)
                },
                "geometry": geom.__geo_interface__,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _point_lat_lon(geom: Any) -> tuple[float, float] | None:
    if geom is None or geom.is_empty:
        return None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(point.y), float(point.x)


# --- transmission lines -----------------------------------------------------------------------


def add_lines(fmap: folium.Map, lines: gpd.GeoDataFrame) -> LegendSection | None:
    """Draw transmission lines (any CRS, ``voltage_kv`` in kV) as one layer per voltage class."""
    if lines.empty:
        return None
    wgs84 = to_wgs84(lines, "transmission lines")
    if "voltage_kv" not in wgs84.columns:
        raise ValueError("the lines GeoDataFrame needs a 'voltage_kv' column (kV)")
    shown = ("line_id", "line_ids", "name", "kind", "voltage_kv", "circuits", "rating_mva")
    fields = [f for f in (*shown, "length_km") if f in wgs84.columns]
    classes = wgs84["voltage_kv"].map(voltage_class_kv)
    groups: list[tuple[int | None, str]] = [(kv, f"Lines {kv} kV") for kv in LINE_COLOURS]
    groups.append((None, "Lines, other voltages"))
    layers: list[folium.GeoJson] = []
    for kv, name in groups:
        mask = classes.isna() if kv is None else classes == kv
        subset = wgs84[mask.to_numpy(dtype=bool)]
        if subset.empty:
            continue
        style = {
            "color": OTHER_LINE_COLOUR if kv is None else LINE_COLOURS[kv],
            "weight": _OTHER_LINE_WEIGHT_PX if kv is None else _LINE_WEIGHT_PX[kv],
            "opacity": 0.9,
        }
        layer = folium.GeoJson(
            _feature_collection(subset, fields),
            name=name,
            style_function=lambda _feature, style=style: style,
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=fields) if fields else None,
            smooth_factor=1.0,
        )
        layer.add_to(fmap)
        layers.append(layer)
    rows = ['<div class="gs-legend-head">Transmission lines (kV)</div>']
    rows += [line_swatch_html(c, _LINE_WEIGHT_PX[kv], f"{kv} kV") for kv, c in LINE_COLOURS.items()]
    rows.append(line_swatch_html(OTHER_LINE_COLOUR, _OTHER_LINE_WEIGHT_PX, "other / unknown kV"))
    return LegendSection("".join(rows), list(layers))


# --- substations ------------------------------------------------------------------------------


def size_breaks_mw(max_mw: float, *, count: int = 3) -> list[float]:
    """Round capacities (1, 2 or 5 x 10^k MW) for the legend of circle sizes, largest first.

    The first is the smallest such value at or above ``max_mw`` (the top of the size scale);
    each next one is the largest such value at most a quarter of the one before, so the
    circles' areas differ at least fourfold.

    Examples
    --------
    >>> size_breaks_mw(658.1)
    [1000.0, 200.0, 50.0]
    >>> size_breaks_mw(5000.0), size_breaks_mw(0.0)
    ([5000.0, 1000.0, 200.0], [1.0, 0.2, 0.05])
    """
    top = max(float(max_mw), 1.0) if math.isfinite(max_mw) else 1.0
    exponent = math.floor(math.log10(top))
    candidates = [m * 10.0**e for e in range(exponent - 6, exponent + 2) for m in (1, 2, 5)]
    first = min(c for c in candidates if c >= top * (1 - 1e-12))
    breaks = [_round_sig(first)]
    while len(breaks) < count:
        limit = breaks[-1] / 4.0
        breaks.append(_round_sig(max(c for c in candidates if c <= limit * (1 + 1e-12))))
    return breaks


def _round_sig(value: float) -> float:
    return float(f"{value:.6g}")


def hosting_radius_px(capacity_mw: object, *, scale_mw: float) -> float:
    """Radius in pixels of a substation circle: its area proportional to the hosting capacity.

    ``scale_mw`` (the top of the size scale) gets :data:`HOSTING_MAX_RADIUS_PX`; small, zero,
    negative or missing capacities get :data:`HOSTING_MIN_RADIUS_PX`.

    Examples
    --------
    >>> hosting_radius_px(1000.0, scale_mw=1000.0), hosting_radius_px(250.0, scale_mw=1000.0)
    (11.0, 5.5)
    >>> hosting_radius_px(float("nan"), scale_mw=1000.0)
    2.0
    """
    if is_missing(capacity_mw):
        return HOSTING_MIN_RADIUS_PX
    mw = float(capacity_mw)  # type: ignore[arg-type]
    if not math.isfinite(mw) or mw <= 0 or scale_mw <= 0:
        return HOSTING_MIN_RADIUS_PX
    radius = HOSTING_MAX_RADIUS_PX * math.sqrt(mw / scale_mw)
    return max(HOSTING_MIN_RADIUS_PX, radius)


def add_substations(
    fmap: folium.Map, buses: gpd.GeoDataFrame, hosting: gpd.GeoDataFrame | None
) -> LegendSection | None:
    """Draw the substations, sized by N-1 hosting capacity if ``hosting`` is given.

    With ``hosting`` (one row per substation bus, any CRS, ``hosting_capacity_mw`` N-1 and
    ``hosting_capacity_n0_mw`` N-0 in MW) each row is a circle whose area is proportional to its
    N-1 hosting capacity, larger ones drawn first; without it the buses are small circles. The
    fill colour is the voltage class.
    """
    table = hosting if hosting is not None else buses
    if table.empty:
        return None
    wgs84 = to_wgs84(table, "substations")
    sized = hosting is not None and "hosting_capacity_mw" in wgs84.columns
    name = "Substations (size: N-1 hosting capacity)" if sized else "Substations"
    group = folium.FeatureGroup(name=name, overlay=True, control=True)
    labelled = ("name", "voltage_kv", "bus_id", "hosting_capacity_mw", "hosting_capacity_n0_mw")
    fields = [f for f in labelled if f in wgs84.columns]
    units = {
        "voltage_kv": " kV",
        "hosting_capacity_mw": " MW N-1",
        "hosting_capacity_n0_mw": " MW N-0",
    }
    capacity = (
        wgs84["hosting_capacity_mw"].to_numpy(dtype=float) if sized else np.full(len(wgs84), np.nan)
    )
    finite = capacity[np.isfinite(capacity)]
    breaks = size_breaks_mw(float(finite.max()) if finite.size else 1.0)
    scale_mw = breaks[0]
    # Large circles first, so that the small ones on top of them stay clickable.
    order = (
        np.argsort(-np.nan_to_num(capacity, nan=-1.0), kind="stable")
        if sized
        else range(len(wgs84))
    )
    geometry = wgs84.geometry.name
    for i in order:
        row = wgs84.iloc[int(i)]
        location = _point_lat_lon(row[geometry])
        if location is None:
            continue
        label = " · ".join(format_value(row[f]) + units.get(f, "") for f in fields)
        known = sized and math.isfinite(capacity[i])
        folium.CircleMarker(
            location=list(location),
            radius=hosting_radius_px(capacity[i], scale_mw=scale_mw) if sized else _BUS_RADIUS_PX,
            color="#222222",
            weight=1,
            dash_array=None if known or not sized else "2 2",
            fill=True,
            fill_color=voltage_colour(row.get("voltage_kv")),
            fill_opacity=0.6 if sized else 0.95,
            tooltip=folium.Tooltip(esc(label)) if label else None,
        ).add_to(group)
    group.add_to(fmap)
    rows = [f'<div class="gs-legend-head">{esc(name)}</div>']
    if sized:
        circles = "".join(
            f'<span class="gs-size"><span class="gs-circle" style="width: {2 * r:.1f}px; '
            f'height: {2 * r:.1f}px;"></span>{esc(format_value(mw))} MW</span>'
            for mw, r in ((b, hosting_radius_px(b, scale_mw=scale_mw)) for b in breaks)
        )
        rows += [
            f'<div class="gs-sizes">{circles}</div>',
            '<div class="gs-note">circle area ∝ N-1 hosting capacity for new load (MW); '
            "dashed: no value (not connected to the reference bus); fill: voltage (kV) as "
            "the lines</div>",
        ]
    else:
        rows.append('<div class="gs-note">fill: voltage (kV) as the lines</div>')
    return LegendSection("".join(rows), [group])


# --- interconnection routes -------------------------------------------------------------------


def add_routes(fmap: folium.Map, routes: gpd.GeoDataFrame | None) -> LegendSection | None:
    """Draw each site's routed tie line (any CRS) as a dashed line with a tooltip of its figures."""
    if routes is None or routes.empty:
        return None
    wgs84 = to_wgs84(routes, "interconnection routes")
    shown = ("rank", "site_id", "bus_id", "route_km", "interconnect_cost_musd", "parallel_circuits")
    fields = [f for f in shown if f in wgs84.columns]
    style = {
        "color": ROUTE_COLOUR,
        "weight": _ROUTE_WEIGHT_PX,
        "opacity": 0.95,
        "dashArray": _ROUTE_DASH,
    }
    layer = folium.GeoJson(
        _feature_collection(wgs84, fields),
        name="Interconnection routes",
        style_function=lambda _feature: style,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=fields) if fields else None,
        smooth_factor=1.0,
    )
    layer.add_to(fmap)
    html = "".join(
        [
            '<div class="gs-legend-head">Interconnection routes</div>',
            line_swatch_html(
                ROUTE_COLOUR, _ROUTE_WEIGHT_PX, "site to substation", dash=_ROUTE_DASH
            ),
            '<div class="gs-note">tooltip: route_km (km), interconnect_cost_musd (MUSD)</div>',
        ]
    )
    return LegendSection(html, [layer])


# --- sites ------------------------------------------------------------------------------------


@dataclass
class SiteLayers:
    """What :func:`add_sites` drew: the legend section and, per site best first, a marker."""

    legend: LegendSection
    entries: list[tuple[str, folium.Marker]]


def _site_centroids(sites: gpd.GeoDataFrame) -> gpd.GeoSeries:
    # Centroids are only meaningful in a projected CRS; Web Mercator will do for geographic input.
    projected = sites if sites.crs.is_projected else sites.to_crs("EPSG:3857")
    return projected.geometry.centroid.to_crs("EPSG:4326")


def _sort_key(rank: object) -> float:
    try:
        value = float(rank)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.inf
    return value if math.isfinite(value) else math.inf


def _plot_html(svg: str) -> str:
    """Wrap an inline SVG for a popup; it must not break out of folium's JS template literal."""
    if "`" in svg or "${" in svg or "<script" in svg.lower():
        raise ValueError("a site plot must be plain SVG: no backticks, '${' or scripts")
    return f'<div class="gs-plot">{svg}</div>'


def _entry_text(site: pd.Series, rank: object, site_id: object) -> str:
    """Return the site list's line for a site: rank, id, place, province, score."""
    parts = [f"#{format_value(rank)} {format_value(site_id)}"]
    where = [
        format_value(site[c])
        for c in ("place", "province")
        if c in site and not is_missing(site[c])
    ]
    where = [w for w in where if w]
    if where:
        parts.append(", ".join(where))
    if "score" in site and not is_missing(site["score"]):
        parts.append(f"score {format_value(site['score'])}")
    return " · ".join(parts)


def add_sites(
    fmap: folium.Map,
    sites: gpd.GeoDataFrame,
    popup_fields: Sequence[str] | None,
    site_plots: Mapping[str, str] | None = None,
    site_pages: str | None = None,
) -> SiteLayers | None:
    """Draw the sites (any CRS) as polygons and numbered markers, each with a popup table.

    ``site_pages``, if given, is the folder (relative to the map) of the pages
    ``<site_id>.html``: each popup starts with a link to its site's page.
    """
    if sites.empty:
        return None
    wgs84 = to_wgs84(sites, "sites")
    centroids = _site_centroids(sites)
    geometry_name = wgs84.geometry.name
    columns = [c for c in wgs84.columns if c != geometry_name]
    if popup_fields is None:
        fields = [str(c) for c in columns]
    else:
        fields = list(popup_fields)
        missing = [f for f in fields if f not in wgs84.columns]
        if missing:
            raise ValueError(
                f"popup_fields {missing} are not columns of the sites table; "
                f"available: {[str(c) for c in columns]}"
            )
    ranks = wgs84["rank"].to_list() if "rank" in wgs84.columns else list(range(1, len(wgs84) + 1))
    ids = wgs84["site_id"].to_list() if "site_id" in wgs84.columns else wgs84.index.to_list()
    scores = wgs84["score"].to_list() if "score" in wgs84.columns else [None] * len(wgs84)
    areas = folium.FeatureGroup(name="Sites", overlay=True, control=True)
    numbers = folium.FeatureGroup(name="Site ranks", overlay=True, control=True)
    markers: dict[int, tuple[str, folium.Marker]] = {}
    # Draw the best site last, so it is on top where sites overlap.
    order = sorted(range(len(wgs84)), key=lambda i: _sort_key(ranks[i]), reverse=True)
    for i in order:
        geom = wgs84.geometry.iloc[i]
        label = f"#{format_value(ranks[i])} {format_value(ids[i])}"
        if scores[i] is not None:
            label += f" {format_value(scores[i])}"
        popup_html = html_table([(f, wgs84[f].iloc[i]) for f in fields])
        if site_plots and str(ids[i]) in site_plots:
            popup_html = _plot_html(site_plots[str(ids[i])]) + popup_html
        if site_pages is not None:
            popup_html = (
                f'<p class="gs-link"><a href="{page_href(site_pages, ids[i])}" target="_blank" '
                f'rel="noopener">Site page: {esc(format_value(ids[i]))}</a></p>' + popup_html
            )
        if geom is not None and not geom.is_empty:
            area = folium.GeoJson(
                {"type": "Feature", "properties": {}, "geometry": geom.__geo_interface__},
                style_function=lambda _feature: _SITE_STYLE,
                highlight_function=lambda _feature: {"weight": 4, "fillOpacity": 0.5},
                tooltip=folium.Tooltip(esc(label)),
            )
            area.add_child(folium.Popup(popup_html, **_POPUP_OPTIONS))
            area.add_to(areas)
        centre = centroids.iloc[i]
        if centre is not None and not centre.is_empty:
            marker = folium.Marker(
                location=[float(centre.y), float(centre.x)],
                icon=folium.DivIcon(
                    html=f'<div class="gs-rank">{esc(format_value(ranks[i]))}</div>',
                    icon_size=(24, 24),
                    icon_anchor=(12, 12),
                ),
                tooltip=folium.Tooltip(esc(label)),
                popup=folium.Popup(popup_html, **_POPUP_OPTIONS),
            )
            marker.add_to(numbers)
            text = _entry_text(wgs84.iloc[i], ranks[i], ids[i])
            markers[i] = (js_string(text), marker)
    areas.add_to(fmap)
    numbers.add_to(fmap)
    html = "".join(
        [
            '<div class="gs-legend-head">Sites by rank</div>',
            f'<div><span class="gs-swatch gs-fill" style="background: {_SITE_STYLE["fillColor"]};'
            f' border-color: {_SITE_STYLE["color"]}; opacity: 0.6;"></span>campus parcel</div>',
            '<div class="gs-note">numbered circles: rank (1 = best); list and filter at top '
            "left</div>",
        ]
    )
    entries = [markers[i] for i in reversed(order) if i in markers]
    return SiteLayers(LegendSection(html, [areas, numbers]), entries)
