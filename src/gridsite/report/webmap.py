"""Write the study's interactive HTML map with folium (Leaflet, Web Mercator).

The map holds the suitability surface as an image overlay, the transmission lines coloured by
voltage, the substations, the ranked sites with their properties, a legend and the data
attributions. All data are embedded in the one HTML file. By default Leaflet and jQuery are
inlined too (see :mod:`gridsite.report.mapassets`), so the file works with no network; with
``assets="cdn"`` they are linked from their CDN, and offline that page shows its title, legend,
attributions and a notice that the map library could not load.

The OpenStreetMap basemap is a layer the page switches on only when the browser says it is online
(``navigator.onLine``, and again on the ``online`` event); offline the map has a plain background
and requests no tiles, so it loads with no failed requests. The layer control can switch the
basemap on or off by hand.

Every string that comes from data (OSM names are user-edited) is HTML-escaped before it reaches the
page, and also made safe for the JavaScript template literals folium puts popups and tooltips in.
"""

from __future__ import annotations

import html
import logging
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.warp
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from numpy.typing import NDArray

from gridsite.errors import CRSError
from gridsite.geo import RasterGrid
from gridsite.report.atomic import atomic_write_text
from gridsite.report.mapassets import MapAssetMode, asset_html, external_links, map_assets
from gridsite.report.overlay import (
    MAX_OVERLAY_PX,
    SUITABILITY_RAMP,
    suitability_rgba,
    suitability_to_web_mercator,
)
from gridsite.report.raster import display_sample

__all__ = [
    "LINE_COLOURS",
    "OTHER_LINE_COLOUR",
    "voltage_class_kv",
    "write_map",
]

logger = logging.getLogger(__name__)

LINE_COLOURS: Mapping[int, str] = {765: "#e41a1c", 345: "#ff7f00", 154: "#f781bf"}
"""Colour of each transmission voltage class (kV) on the map."""

OTHER_LINE_COLOUR = "#7f7f7f"
"""Colour of lines and substations of any other or unknown voltage."""

_LINE_WEIGHT_PX: Mapping[int, float] = {765: 4.0, 345: 3.0, 154: 2.0}
_OTHER_LINE_WEIGHT_PX = 1.5
_OVERLAY_OPACITY = 0.7
_MISSING = "–"
# A site's popup holds ~80 rows: it scrolls inside a box that fits the window, and the map pans
# it clear of the title box.
_POPUP_OPTIONS: Mapping[str, Any] = {
    "max_width": 420,
    "max_height": 420,
    "auto_pan_padding_top_left": (10, 56),
}

_OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_OSM_TILES_ATTR = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
_BASEMAP_NAME = "Basemap: OpenStreetMap (online)"

_CSS = """
<style>
.folium-map.leaflet-container { background: #eef1f4; }
.gs-box { position: fixed; z-index: 1000; background: rgba(255, 255, 255, 0.92);
  border: 1px solid #999; border-radius: 4px; padding: 6px 8px;
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
.gs-title { top: 10px; left: 50%; transform: translateX(-50%); font-size: 15px;
  font-weight: 600; }
.gs-legend { bottom: 30px; left: 10px; min-width: 180px; }
.gs-legend-head { font-weight: 600; margin: 4px 0 2px; }
.gs-ramp { height: 10px; border: 1px solid #666; }
.gs-ramp-labels { display: flex; justify-content: space-between; }
.gs-swatch { display: inline-block; width: 22px; margin-right: 6px; vertical-align: middle; }
.gs-note { color: #555; font-size: 11px; }
.gs-attribution { bottom: 22px; right: 10px; max-width: 40%; font-size: 11px; }
.gs-rank { background: #111; color: #fff; border: 2px solid #fff; border-radius: 50%;
  width: 24px; height: 24px; line-height: 20px; text-align: center; font: 600 12px/20px
  system-ui, sans-serif; box-shadow: 0 0 3px rgba(0, 0, 0, 0.6); }
.gs-offline { top: 50px; left: 50%; transform: translateX(-50%); max-width: 480px;
  border-color: #c00; }
.gs-table { border-collapse: collapse; font-size: 12px; }
.gs-table td { overflow-wrap: anywhere; }
.leaflet-popup-scrolled { overflow-x: hidden; }
.gs-table td, .gs-table th { padding: 1px 6px; text-align: left; vertical-align: top; }
.gs-table th { color: #555; font-weight: 500; }
.gs-plot svg { display: block; max-width: 100%; height: auto; margin-bottom: 4px; }
</style>
"""


# With assets="cdn" Leaflet comes from a CDN. Offline the map cannot draw, but the title, legend and
# attributions are plain HTML; say why the map is blank instead of showing an empty page.
_OFFLINE_NOTICE = """
<script>
window.addEventListener("load", function () {
  if (typeof L !== "undefined") { return; }
  var box = document.createElement("div");
  box.className = "gs-box gs-offline";
  box.textContent = "The map library (Leaflet) could not be loaded from its CDN, so the layers "
    + "cannot be drawn. Open this file with an internet connection, write the map with "
    + "--map-assets inline, or use the GeoJSON and GeoTIFF outputs in a GIS.";
  document.body.appendChild(box);
});
</script>
"""


class _OnlineBasemap(MacroElement):
    """Add a tile layer to its map only while the browser is online (no failed tile requests)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, tiles = {{ this.tiles.get_name() }};
            var shown = false;
            function show() {
                if (!shown) { shown = true; map.addLayer(tiles); }
            }
            if (navigator.onLine) { show(); } else { window.addEventListener("online", show); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, tiles: folium.TileLayer) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "OnlineBasemap"
        self.tiles = tiles


# --- escaping and formatting ------------------------------------------------------------------


def _esc(value: object) -> str:
    """Escape ``value`` for HTML, and for the JS template literals folium wraps popups in.

    ``html.escape`` removes ``<``, ``>``, ``&`` and quotes (so no ``</script>`` can close folium's
    script block); backtick, ``$`` and backslash would end or interpolate a template literal.
    """
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        scalar: Any = value
        missing = pd.isna(scalar)
    except (TypeError, ValueError):
        return False
    return isinstance(missing, bool | np.bool_) and bool(missing)


def _format_value(value: object) -> str:
    """Return ``value`` as short display text (not yet escaped)."""
    if _is_missing(value):
        return _MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return str(number)
        if number.is_integer() and abs(number) < 1e15:
            return f"{number:.0f}"
        if abs(number) >= 1000:
            return f"{number:,.1f}"
        return f"{number:.4g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _html_table(items: Sequence[tuple[str, object]]) -> str:
    rows = "".join(
        f"<tr><th>{_esc(key)}</th><td>{_esc(_format_value(value))}</td></tr>"
        for key, value in items
    )
    return f'<table class="gs-table">{rows}</table>'


# --- suitability overlay ----------------------------------------------------------------------


def _add_suitability(
    fmap: folium.Map, suitability: NDArray[np.floating[Any]], grid: RasterGrid
) -> tuple[float, float, float, float]:
    sample, sample_grid = display_sample(suitability, grid, max_px=MAX_OVERLAY_PX)
    mercator, (south, west, north, east) = suitability_to_web_mercator(sample, sample_grid)
    folium.raster_layers.ImageOverlay(
        image=suitability_rgba(mercator),
        bounds=[[south, west], [north, east]],
        mercator_project=False,  # the image already is in Web Mercator
        opacity=_OVERLAY_OPACITY,
        pixelated=True,
        name="Suitability (0-1)",
        overlay=True,
        control=True,
    ).add_to(fmap)
    return south, west, north, east


# --- power grid -------------------------------------------------------------------------------


def voltage_class_kv(voltage_kv: object) -> int | None:
    """Return the voltage class (154, 345 or 765 kV) of ``voltage_kv``, or None for any other.

    Examples
    --------
    >>> voltage_class_kv(345.0), voltage_class_kv(22.9), voltage_class_kv(None)
    (345, None, None)
    """
    if _is_missing(voltage_kv):
        return None
    try:
        kv = float(voltage_kv)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    for cls in LINE_COLOURS:
        if abs(kv - cls) < 0.5:
            return cls
    return None


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
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
                    f: _esc(_format_value(col[i])) for f, col in zip(fields, columns, strict=True)
                },
                "geometry": geom.__geo_interface__,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _add_lines(fmap: folium.Map, lines: gpd.GeoDataFrame) -> None:
    if lines.empty:
        return
    wgs84 = _to_wgs84(lines, "transmission lines")
    if "voltage_kv" not in wgs84.columns:
        raise ValueError("the lines GeoDataFrame needs a 'voltage_kv' column (kV)")
    shown = ("line_id", "line_ids", "name", "kind", "voltage_kv", "circuits", "rating_mva")
    fields = [f for f in (*shown, "length_km") if f in wgs84.columns]
    classes = wgs84["voltage_kv"].map(voltage_class_kv)
    groups: list[tuple[int | None, str]] = [(kv, f"Lines {kv} kV") for kv in LINE_COLOURS]
    groups.append((None, "Lines, other voltages"))
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
        folium.GeoJson(
            _feature_collection(subset, fields),
            name=name,
            style_function=lambda _feature, style=style: style,
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=fields) if fields else None,
            smooth_factor=1.0,
        ).add_to(fmap)


def _point_lat_lon(geom: Any) -> tuple[float, float] | None:
    if geom is None or geom.is_empty:
        return None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(point.y), float(point.x)


def _add_buses(fmap: folium.Map, buses: gpd.GeoDataFrame) -> None:
    if buses.empty:
        return
    wgs84 = _to_wgs84(buses, "substations")
    group = folium.FeatureGroup(name="Substations", overlay=True, control=True)
    fields = [f for f in ("name", "voltage_kv", "bus_id") if f in wgs84.columns]
    for _, row in wgs84.iterrows():
        location = _point_lat_lon(row[wgs84.geometry.name])
        if location is None:
            continue
        kv = voltage_class_kv(row.get("voltage_kv"))
        label = " · ".join(
            _format_value(row[f]) + (" kV" if f == "voltage_kv" else "") for f in fields
        )
        folium.CircleMarker(
            location=list(location),
            radius=4,
            color="#222222",
            weight=1,
            fill=True,
            fill_color=OTHER_LINE_COLOUR if kv is None else LINE_COLOURS[kv],
            fill_opacity=0.95,
            tooltip=folium.Tooltip(_esc(label)) if label else None,
        ).add_to(group)
    group.add_to(fmap)


# --- sites ------------------------------------------------------------------------------------


def _site_centroids(sites: gpd.GeoDataFrame) -> gpd.GeoSeries:
    # Centroids are only meaningful in a projected CRS; Web Mercator will do for geographic input.
    projected = sites if sites.crs.is_projected else sites.to_crs("EPSG:3857")
    return projected.geometry.centroid.to_crs("EPSG:4326")


def _add_sites(
    fmap: folium.Map,
    sites: gpd.GeoDataFrame,
    popup_fields: Sequence[str] | None,
    site_plots: Mapping[str, str] | None = None,
) -> None:
    if sites.empty:
        return
    wgs84 = _to_wgs84(sites, "sites")
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
    # Draw the best site last, so it is on top where sites overlap.
    order = sorted(range(len(wgs84)), key=lambda i: _sort_key(ranks[i]), reverse=True)
    for i in order:
        geom = wgs84.geometry.iloc[i]
        label = f"#{_format_value(ranks[i])} {_format_value(ids[i])}"
        if scores[i] is not None:
            label += f" {_format_value(scores[i])}"
        popup_html = _html_table([(f, wgs84[f].iloc[i]) for f in fields])
        if site_plots and str(ids[i]) in site_plots:
            popup_html = _plot_html(site_plots[str(ids[i])]) + popup_html
        if geom is not None and not geom.is_empty:
            area = folium.GeoJson(
                {"type": "Feature", "properties": {}, "geometry": geom.__geo_interface__},
                style_function=lambda _feature: {
                    "color": "#00363a",
                    "weight": 2,
                    "fillColor": "#00e5ff",
                    "fillOpacity": 0.3,
                },
                highlight_function=lambda _feature: {"weight": 4, "fillOpacity": 0.5},
                tooltip=folium.Tooltip(_esc(label)),
            )
            area.add_child(folium.Popup(popup_html, **_POPUP_OPTIONS))
            area.add_to(areas)
        centre = centroids.iloc[i]
        if centre is not None and not centre.is_empty:
            folium.Marker(
                location=[float(centre.y), float(centre.x)],
                icon=folium.DivIcon(
                    html=f'<div class="gs-rank">{_esc(_format_value(ranks[i]))}</div>',
                    icon_size=(24, 24),
                    icon_anchor=(12, 12),
                ),
                tooltip=folium.Tooltip(_esc(label)),
                popup=folium.Popup(popup_html, **_POPUP_OPTIONS),
            ).add_to(numbers)
    areas.add_to(fmap)
    numbers.add_to(fmap)


def _plot_html(svg: str) -> str:
    """Wrap an inline SVG for a popup; it must not break out of folium's JS template literal."""
    if "`" in svg or "${" in svg or "<script" in svg.lower():
        raise ValueError("a site plot must be plain SVG: no backticks, '${' or scripts")
    return f'<div class="gs-plot">{svg}</div>'


def _sort_key(rank: object) -> float:
    try:
        value = float(rank)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.inf
    return value if math.isfinite(value) else math.inf


# --- fixed boxes: title, legend, attributions -------------------------------------------------


def _legend_html(*, with_suitability: bool) -> str:
    parts = ['<div class="gs-box gs-legend">']
    if with_suitability:
        stops = ", ".join(f"{colour} {100 * pos:.1f}%" for pos, colour in SUITABILITY_RAMP)
        parts += [
            '<div class="gs-legend-head">Suitability (0–1, unitless)</div>',
            f'<div class="gs-ramp" style="background: linear-gradient(to right, {stops});"></div>',
            '<div class="gs-ramp-labels"><span>0</span><span>0.5</span><span>1</span></div>',
            '<div class="gs-note">transparent: excluded (0) or no data</div>',
        ]
    parts.append('<div class="gs-legend-head">Transmission lines, substations (kV)</div>')
    for kv, colour in LINE_COLOURS.items():
        weight = _LINE_WEIGHT_PX[kv]
        parts.append(
            f'<div><span class="gs-swatch" style="border-top: {weight:g}px solid {colour};">'
            f"</span>{kv} kV</div>"
        )
    parts.append(
        f'<div><span class="gs-swatch" style="border-top: {_OTHER_LINE_WEIGHT_PX:g}px solid '
        f'{OTHER_LINE_COLOUR};"></span>other / unknown</div>'
    )
    parts.append('<div class="gs-note">numbered circles: sites by rank</div>')
    parts.append("</div>")
    return "".join(parts)


def _attribution_html(attributions: Sequence[str]) -> str:
    lines = "".join(f"<div>{_esc(a)}</div>" for a in attributions)
    return f'<div class="gs-box gs-attribution"><b>Data</b>{lines}</div>'


def _fit_bounds(
    sites: gpd.GeoDataFrame,
    grid_bounds: tuple[float, float, float, float] | None,
    others: Sequence[gpd.GeoDataFrame],
) -> list[list[float]] | None:
    """Return ``[[south, west], [north, east]]`` (degrees) to show: the sites, else the grid."""
    candidates: list[gpd.GeoDataFrame] = [sites] if not sites.empty else []
    if not candidates and grid_bounds is not None:
        south, west, north, east = grid_bounds
        return [[south, west], [north, east]]
    if not candidates:
        candidates = [g for g in others if not g.empty]
    boxes = [_to_wgs84(g, "layer").total_bounds for g in candidates if g.geometry.notna().any()]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return None
    stacked = np.vstack(boxes)
    west, south = stacked[:, 0].min(), stacked[:, 1].min()
    east, north = stacked[:, 2].max(), stacked[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def _number_elements(root: Figure) -> None:
    """Give every element an id from its place in the tree instead of folium's random one.

    folium names each element's JavaScript variable after a random ``uuid4``; numbering them in
    tree order makes two maps of the same study byte-identical. Names are resolved when the page
    is rendered, except the keys under which parents hold their children (some templates print
    those), which are renamed along.
    """
    order: list[Element] = []
    stack: list[Element] = [root]
    while stack:
        element = stack.pop()
        order.append(element)
        # Figures and popups keep their parts in attributes, not among their children.
        parts = [getattr(element, name, None) for name in ("header", "html", "script")]
        inner = [p for p in parts if isinstance(p, Element)]
        stack.extend(reversed([*inner, *element._children.values()]))
    old = {id(e): e.get_name() for e in order}
    for count, element in enumerate(order):
        element._id = f"{count:032x}"
    for element in order:
        element._children = OrderedDict(
            (child.get_name() if key == old[id(child)] else key, child)
            for key, child in element._children.items()
        )


def write_map(
    path: Path,
    *,
    suitability: NDArray[np.float32] | None,
    grid: RasterGrid | None,
    sites: gpd.GeoDataFrame,
    buses: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    attributions: Sequence[str],
    title: str,
    popup_fields: Sequence[str] | None = None,
    site_plots: Mapping[str, str] | None = None,
    assets: MapAssetMode = "inline",
    assets_folder: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an interactive HTML map (folium/Leaflet, Web Mercator basemap) of a study's results.

    Layers, each switchable in the layer control: the suitability surface (if given) as a
    semi-transparent image, reprojected from ``grid.crs`` to EPSG:3857 so it lines up with the
    basemap, with excluded (0) and no-data (NaN) cells transparent; transmission lines coloured by
    voltage class (154 / 345 / 765 kV, others grey); substations as small circles in the same
    colours; the sites as polygons with a popup table of their properties and a tooltip
    ``#rank site_id score``, and a numbered marker at each site's centroid. A legend, the title
    and ``attributions`` are shown in fixed boxes; the view fits the sites (or the grid if there
    are none). All text from the data is HTML-escaped. Written atomically as UTF-8.

    The OpenStreetMap basemap is switched on by the page only when the browser is online; offline
    the background is plain and no tile is requested.

    Parameters
    ----------
    path
        The output file, conventionally ``*.html``.
    suitability
        Scores in [0, 1] (unitless) of shape ``grid.shape``, NaN for no data; or None for no
        suitability layer.
    grid
        The grid of ``suitability`` (projected CRS, metres); required if ``suitability`` is given.
    sites
        Site polygons in any CRS. Optional columns ``rank`` (else row order), ``site_id`` (else
        the index) and ``score`` (unitless) make the tooltip; every other column goes into the
        popup unless ``popup_fields`` is given.
    buses
        Substations (points, or polygons drawn at an interior point) in any CRS; columns
        ``name``, ``voltage_kv`` (kV) and ``bus_id`` are shown where present.
    lines
        Transmission lines in any CRS with a ``voltage_kv`` column (kV); ``line_id``/``line_ids``,
        ``name``, ``kind``, ``circuits``, ``rating_mva`` (MVA) and ``length_km`` are shown in the
        tooltip where present.
    attributions
        Attribution texts of the data shown, e.g. ``"© OpenStreetMap contributors, ODbL 1.0"``;
        plain text, escaped here.
    title
        Title shown on the map and as the page title; plain text.
    popup_fields
        Columns of ``sites`` to list in the popups, in this order; default all but the geometry.
    site_plots
        Inline SVG per ``site_id`` (e.g. the hourly supply match), shown above the popup table;
        plain SVG only (no scripts).
    assets
        ``"inline"``: Leaflet's and jQuery's files are written into the page, which then makes no
        network request besides the basemap tiles when online. ``"cdn"``: they are linked from
        the CDNs folium uses. See :mod:`gridsite.report.mapassets`.
    assets_folder
        Where the npm packages to inline are (``assets="inline"``); default
        ``GRIDSITE_MAP_ASSETS``, else where ``make assets`` puts them.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``suitability`` is given without ``grid`` or in another shape, ``lines`` has no
        ``voltage_kv`` column, a ``popup_fields`` entry is not a column of ``sites``, or
        ``assets`` is neither ``"inline"`` nor ``"cdn"``.
    MapAssetsError
        If ``assets="inline"`` and the map's scripts are not installed (run ``make assets``).
    CRSError
        If a non-empty GeoDataFrame has no CRS.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    if suitability is not None and grid is None:
        raise ValueError("write_map: a suitability array needs the grid it is on (grid=...)")
    # Read (or link) the scripts first: a missing install fails before any work is done.
    head = asset_html(map_assets(), assets, assets_folder)
    fmap = folium.Map(location=[36.5, 127.8], zoom_start=7, tiles=None, control_scale=True)
    # The page carries only the assets the map uses (head), not folium's whole CDN list.
    fmap.default_js = []
    fmap.default_css = []
    tiles = folium.TileLayer(
        tiles=_OSM_TILES,
        attr=_OSM_TILES_ATTR,
        name=_BASEMAP_NAME,
        max_zoom=19,
        overlay=True,
        show=False,
    )
    tiles.add_to(fmap)

    grid_bounds: tuple[float, float, float, float] | None = None
    if suitability is not None and grid is not None:
        grid_bounds = _add_suitability(fmap, suitability, grid)
    elif grid is not None:
        west, south, east, north = rasterio.warp.transform_bounds(
            grid.crs, "EPSG:4326", *grid.bounds
        )
        grid_bounds = (south, west, north, east)
    _add_lines(fmap, lines)
    _add_buses(fmap, buses)
    _add_sites(fmap, sites, popup_fields, site_plots)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(_OnlineBasemap(tiles))

    bounds = _fit_bounds(sites, grid_bounds, [lines, buses])
    if bounds is not None:
        fmap.fit_bounds(bounds, padding=(30, 30), max_zoom=13)

    root = fmap.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium.Map always sits in a Figure
        raise TypeError(f"unexpected folium root element {type(root).__name__}")
    root.title = _esc(title)
    for name, element in head:
        root.header.add_child(folium.Element(element), name=name)
    root.header.add_child(folium.Element(_CSS))
    root.html.add_child(folium.Element(f'<div class="gs-box gs-title">{_esc(title)}</div>'))
    root.html.add_child(folium.Element(_legend_html(with_suitability=suitability is not None)))
    root.html.add_child(folium.Element(_attribution_html(attributions)))
    if assets == "cdn":
        root.html.add_child(folium.Element(_OFFLINE_NOTICE))

    _number_elements(root)
    text: str = root.render()
    leaks = [] if assets == "cdn" else external_links(text)
    if leaks:  # pragma: no cover - a folium element that links its own scripts
        raise RuntimeError(f"the inline map still links {leaks}; add them to report.mapassets")
    atomic_write_text(path, text, overwrite=overwrite)
    logger.info(
        "wrote %s: %d sites, %d substations, %d lines", path, len(sites), len(buses), len(lines)
    )
    return path
