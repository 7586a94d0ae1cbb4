"""Write the study's interactive HTML map with folium (Leaflet, Web Mercator).

The map holds, each switchable in the layer control: the suitability surface; each criterion's
score, the cells the constraints exclude and where PV and wind may be built (image overlays,
switched off when the page opens; :mod:`gridsite.report.mapimages`); the transmission lines by
voltage, the substations sized by hosting capacity, the interconnection routes and the ranked
sites with their popups (:mod:`gridsite.report.maplayers`). A legend with units for the layers
shown, a metric scale bar, a list of the sites by rank with a filter box, the title and the data
attributions are drawn by :mod:`gridsite.report.mapcontrols`. All data are embedded in the one
HTML file. By default Leaflet and jQuery are inlined too (see :mod:`gridsite.report.mapassets`),
so the file works with no network; with ``assets="cdn"`` they are linked from their CDN, and
offline that page shows its title, legend, attributions and a notice that the map library could
not load.

The OpenStreetMap basemap is a layer the page switches on only when the browser says it is online
(``navigator.onLine``, and again on the ``online`` event); offline the map has a plain background
and requests no tiles, so it loads with no failed requests. The layer control can switch the
basemap on or off by hand.

Every string that comes from data (OSM names are user-edited) is HTML-escaped before it reaches the
page, and also made safe for the JavaScript template literals folium puts popups and tooltips in
(:mod:`gridsite.report.maptext`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import rasterio.warp
from branca.element import Element, Figure
from numpy.typing import NDArray

from gridsite.geo import RasterGrid, WindowedRaster
from gridsite.report.atomic import atomic_write_text
from gridsite.report.mapassets import MapAssetMode, asset_html, external_links, map_assets
from gridsite.report.mapcontrols import (
    CSS,
    OFFLINE_NOTICE,
    LegendSection,
    LegendSync,
    OnlineBasemap,
    ScaleBar,
    SiteList,
    attribution_html,
    legend_html,
    title_html,
)
from gridsite.report.mapimages import add_exclusions, add_potential, add_scores, add_suitability
from gridsite.report.maplayers import (
    LINE_COLOURS,
    OTHER_LINE_COLOUR,
    add_lines,
    add_routes,
    add_sites,
    add_substations,
    to_wgs84,
    voltage_class_kv,
)
from gridsite.report.maptext import esc
from gridsite.report.overlay import SupplyAreas

__all__ = [
    "LINE_COLOURS",
    "OTHER_LINE_COLOUR",
    "voltage_class_kv",
    "write_map",
]

logger = logging.getLogger(__name__)

_OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_OSM_TILES_ATTR = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
_BASEMAP_NAME = "Basemap: OpenStreetMap (online)"
#: Zoom level the site list shows a site at (~1:70,000: the campus and its surroundings).
_SITE_ZOOM = 12


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
    boxes = [to_wgs84(g, "layer").total_bounds for g in candidates if g.geometry.notna().any()]
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
    site_pages: str | None = None,
    scores: Mapping[str, NDArray[np.float32]] | None = None,
    score_notes: Mapping[str, str] | None = None,
    excluded: NDArray[np.bool_] | WindowedRaster | None = None,
    hosting: gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
    supply_areas: SupplyAreas | None = None,
    assets: MapAssetMode = "inline",
    assets_folder: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an interactive HTML map (folium/Leaflet, Web Mercator basemap) of a study's results.

    Layers, each switchable in the layer control, in this order:

    - the suitability surface (if given) as a semi-transparent image, reprojected from
      ``grid.crs`` to EPSG:3857 so it lines up with the basemap, with excluded (0) and no-data
      (NaN) cells transparent;
    - switched off when the page opens, each an image of at most 1,024 pixels a side: one layer
      per criterion score (``scores``), the cells the constraints exclude inside the study area
      (``excluded``), and the renewable potential (``supply_areas``: eligible land and
      near-shore sea, coloured by what may be built there);
    - the transmission lines, one layer per voltage class (154 / 345 / 765 kV, others grey);
    - the substations: with ``hosting`` one circle per row, its area proportional to the N-1
      hosting capacity, else the ``buses`` as small circles; filled in the lines' colours;
    - the interconnection routes (``routes``), dashed, with their length and cost;
    - the sites as polygons with a popup table of their properties (a link to the site's page
      first if ``site_pages`` is given) and a tooltip ``#rank site_id score``, and a numbered
      marker at each site's centroid.

    A legend with units shows a section for each layer that is on; a metric scale bar, a list
    of the sites by rank with a filter box (a click zooms to the site and opens its popup), the
    title and ``attributions`` are shown too. The view fits the sites (or the grid if there are
    none). All text from the data is HTML-escaped. Written atomically as UTF-8; the same inputs
    give the same bytes.

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
        The grid of ``suitability``, ``scores``, ``excluded`` and ``supply_areas`` (projected
        CRS, metres); required if any of them is given.
    sites
        Site polygons in any CRS. Optional columns ``rank`` (else row order), ``site_id`` (else
        the index) and ``score`` (unitless) make the tooltip and the site list (with ``place``
        and ``province`` where present); every other column goes into the popup unless
        ``popup_fields`` is given.
    buses
        Substations (points, or polygons drawn at an interior point) in any CRS; columns
        ``name``, ``voltage_kv`` (kV) and ``bus_id`` are shown where present. Not drawn if
        ``hosting`` is given.
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
    site_pages
        Folder of the site pages ``<site_id>.html``, relative to ``path`` (e.g. ``"sites"``);
        None for no links.
    scores
        Each criterion's score in [0, 1] (unitless) by criterion name, arrays of shape
        ``grid.shape`` (NaN: no data; memory-mapped arrays are read thinned); None or empty for
        no score layers.
    score_notes
        Plain text per criterion name shown under its score's legend (what it scores, in which
        unit).
    excluded
        Cells excluded by any constraint, shape ``grid.shape``: a boolean array or a raster read
        by window (:class:`~gridsite.geo.WindowedRaster`); outside the study area (where
        ``suitability`` is NaN) they are not drawn.
    hosting
        Per substation bus (points, any CRS): ``hosting_capacity_mw`` (N-1) and
        ``hosting_capacity_n0_mw`` (N-0), in MW, with ``name``, ``voltage_kv`` and ``bus_id``.
    routes
        Each site's routed tie line (lines, any CRS) with ``site_id``, ``rank``, ``bus_id``,
        ``route_km`` (km), ``interconnect_cost_musd`` (MUSD) and ``parallel_circuits``.
    supply_areas
        Where the study lets PV and wind be built, and the power densities (MW/km2).
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
        If a raster is given without ``grid`` or in another shape, ``lines`` has no
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
    rasters = {
        "suitability": suitability,
        "scores": scores or None,
        "excluded": excluded,
        "supply_areas": supply_areas,
    }
    if grid is None and any(v is not None for v in rasters.values()):
        given = [k for k, v in rasters.items() if v is not None]
        raise ValueError(f"write_map: {', '.join(given)} need the grid they are on (grid=...)")
    # Read (or link) the scripts first: a missing install fails before any work is done.
    head = asset_html(map_assets(), assets, assets_folder)
    fmap = folium.Map(location=[36.5, 127.8], zoom_start=7, tiles=None, control_scale=False)
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

    legend: list[LegendSection | None] = []
    grid_bounds: tuple[float, float, float, float] | None = None
    if grid is not None:
        if suitability is not None:
            grid_bounds, section = add_suitability(fmap, suitability, grid)
            legend.append(section)
        else:
            west, south, east, north = rasterio.warp.transform_bounds(
                grid.crs, "EPSG:4326", *grid.bounds
            )
            grid_bounds = (south, west, north, east)
        legend += add_scores(fmap, scores or {}, grid, score_notes)
        if excluded is not None:
            legend.append(add_exclusions(fmap, excluded, suitability, grid))
        if supply_areas is not None:
            legend.append(add_potential(fmap, supply_areas, grid))
    legend.append(add_lines(fmap, lines))
    legend.append(add_substations(fmap, buses, hosting))
    legend.append(add_routes(fmap, routes))
    drawn = add_sites(fmap, sites, popup_fields, site_plots, site_pages)
    if drawn is not None:
        legend.append(drawn.legend)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(OnlineBasemap(tiles))
    fmap.add_child(ScaleBar())
    if drawn is not None and drawn.entries:
        fmap.add_child(SiteList(drawn.entries, zoom=_SITE_ZOOM))
    sections = [s for s in legend if s is not None]
    fmap.add_child(LegendSync(sections))

    bounds = _fit_bounds(sites, grid_bounds, [lines, buses])
    if bounds is not None:
        # Room for the site list (left) and the layer control (right), which would hide sites.
        fmap.fit_bounds(
            bounds, padding_top_left=(280, 40), padding_bottom_right=(250, 30), max_zoom=13
        )

    root = fmap.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium.Map always sits in a Figure
        raise TypeError(f"unexpected folium root element {type(root).__name__}")
    root.title = esc(title)
    for name, element in head:
        root.header.add_child(folium.Element(element), name=name)
    root.header.add_child(folium.Element(CSS))
    root.html.add_child(folium.Element(title_html(title)))
    root.html.add_child(folium.Element(legend_html(sections)))
    root.html.add_child(folium.Element(attribution_html(attributions)))
    if assets == "cdn":
        root.html.add_child(folium.Element(OFFLINE_NOTICE))

    _number_elements(root)
    text: str = root.render()
    leaks = [] if assets == "cdn" else external_links(text)
    if leaks:  # pragma: no cover - a folium element that links its own scripts
        raise RuntimeError(f"the inline map still links {leaks}; add them to report.mapassets")
    atomic_write_text(path, text, overwrite=overwrite)
    logger.info(
        "wrote %s: %d sites, %d substations, %d lines, %d score layers",
        path,
        len(sites),
        len(hosting) if hosting is not None else len(buses),
        len(lines),
        len(scores or {}),
    )
    return path
