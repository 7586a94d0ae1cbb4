"""The HTML map's raster layers: suitability, criterion scores, exclusions, renewable potential.

Each is an image overlay reprojected to Web Mercator (:mod:`gridsite.report.overlay`) and
embedded as a PNG. Only suitability is shown when the page opens; the others start switched off
and are drawn at most :data:`~gridsite.report.overlay.MAX_LAYER_PX` pixels a side, as indexed
PNGs, to keep the file small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import numpy as np
from numpy.typing import NDArray

from gridsite.geo import RasterGrid, WindowedRaster
from gridsite.report.mapcontrols import LegendSection, ramp_html, swatch_html
from gridsite.report.maptext import esc, format_value
from gridsite.report.overlay import (
    MAX_LAYER_PX,
    MAX_OVERLAY_PX,
    SCORE_LEVELS,
    SCORE_RAMP,
    SUITABILITY_RAMP,
    SupplyAreas,
    near_shore,
    palette_png,
    png_data_url,
    ramp_colours,
    score_codes,
    suitability_rgba,
    suitability_to_web_mercator,
    thin_mask,
)
from gridsite.report.raster import display_sample

__all__ = [
    "EXCLUDED_COLOUR",
    "LAND_COLOUR",
    "SEA_COLOUR",
    "add_exclusions",
    "add_potential",
    "add_scores",
    "add_suitability",
]

EXCLUDED_COLOUR = "#d62728"
"""Colour of the cells any constraint excludes."""

LAND_COLOUR = "#31a354"
"""Colour of the land where PV and onshore wind may be built."""

SEA_COLOUR = "#3182bd"
"""Colour of the near-shore sea where offshore wind may be built."""

_OVERLAY_OPACITY = 0.7
_Bounds = tuple[float, float, float, float]


def _rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), alpha


def _image_layer(
    url: object, bounds: _Bounds, name: str, *, show: bool
) -> folium.raster_layers.ImageOverlay:
    south, west, north, east = bounds
    return folium.raster_layers.ImageOverlay(
        image=url,
        bounds=[[south, west], [north, east]],
        mercator_project=False,  # the image already is in Web Mercator
        opacity=_OVERLAY_OPACITY,
        pixelated=True,
        name=name,
        overlay=True,
        control=True,
        show=show,
    )


def _class_image(
    classes: NDArray[np.float32], grid: RasterGrid, colours: list[tuple[int, int, int, int]]
) -> tuple[str, _Bounds]:
    """Return an indexed PNG of class codes ``1..n`` (NaN: transparent), in Web Mercator."""
    mercator, bounds = suitability_to_web_mercator(classes, grid, max_px=MAX_LAYER_PX)
    codes = np.where(np.isfinite(mercator), mercator, 0).astype(np.uint8)
    return png_data_url(palette_png(codes, [(0, 0, 0, 0), *colours])), bounds


def add_suitability(
    fmap: folium.Map, suitability: NDArray[np.floating[Any]], grid: RasterGrid
) -> tuple[_Bounds, LegendSection]:
    """Draw the suitability surface (shown); return its bounds ``(S, W, N, E)`` in degrees."""
    sample, sample_grid = display_sample(suitability, grid, max_px=MAX_OVERLAY_PX)
    mercator, bounds = suitability_to_web_mercator(sample, sample_grid)
    layer = _image_layer(suitability_rgba(mercator), bounds, "Suitability (0-1)", show=True)
    layer.add_to(fmap)
    html = ramp_html(
        "Suitability (0–1, unitless)",
        SUITABILITY_RAMP,
        ["0", "0.5", "1"],
        "transparent: excluded (0) or no data",
    )
    return bounds, LegendSection(html, [layer])


def add_scores(
    fmap: folium.Map,
    scores: Mapping[str, NDArray[np.floating[Any]]],
    grid: RasterGrid,
    notes: Mapping[str, str] | None = None,
) -> list[LegendSection]:
    """Draw each criterion's score raster as a layer switched off at first; one legend each.

    ``notes`` (plain text per criterion name) go under the legend's ramp, e.g. what the score is
    of and its unit.
    """
    colours = ramp_colours(SCORE_RAMP, SCORE_LEVELS).tolist()
    palette = [(0, 0, 0, 0)] + [(r, g, b, 255) for r, g, b in colours]
    sections = []
    for name, values in scores.items():
        sample, sample_grid = display_sample(values, grid, max_px=MAX_LAYER_PX)
        mercator, bounds = suitability_to_web_mercator(sample, sample_grid, max_px=MAX_LAYER_PX)
        url = png_data_url(palette_png(score_codes(mercator), palette))
        layer = _image_layer(url, bounds, f"Score: {esc(name)}", show=False)
        layer.add_to(fmap)
        note = (notes or {}).get(name, "")
        html = ramp_html(f"Score: {name} (0–1, unitless)", SCORE_RAMP, ["0", "0.5", "1"], note)
        sections.append(LegendSection(html, [layer], shown=False))
    return sections


def add_exclusions(
    fmap: folium.Map,
    excluded: NDArray[np.bool_] | WindowedRaster,
    suitability: NDArray[np.floating[Any]] | None,
    grid: RasterGrid,
) -> LegendSection:
    """Draw the cells any constraint excludes, inside the study area, as a layer switched off.

    The study area is where ``suitability`` is not NaN; without it every excluded cell is drawn.
    """
    hit, sample_grid = thin_mask(excluded, grid, max_px=MAX_LAYER_PX)
    if suitability is not None:
        area, _ = display_sample(suitability, grid, max_px=MAX_LAYER_PX)
        hit &= np.isfinite(area)
    classes = np.where(hit, 1.0, np.nan).astype(np.float32)
    url, bounds = _class_image(classes, sample_grid, [_rgba(EXCLUDED_COLOUR)])
    layer = _image_layer(url, bounds, "Excluded by constraints", show=False)
    layer.add_to(fmap)
    html = "".join(
        [
            '<div class="gs-legend-head">Excluded by constraints</div>',
            swatch_html(EXCLUDED_COLOUR, "excluded (suitability 0)", opacity=_OVERLAY_OPACITY),
        ]
    )
    return LegendSection(html, [layer], shown=False)


def add_potential(fmap: folium.Map, areas: SupplyAreas, grid: RasterGrid) -> LegendSection:
    """Draw where the study lets PV and wind be built, by power density, as a layer switched off.

    Eligible land (ground PV or onshore wind) and sea within ``areas.offshore_max_shore_km`` of
    the land (offshore wind), with their densities in MW/km2 in the legend.
    """
    eligible, sample_grid = thin_mask(areas.eligible, grid, max_px=MAX_LAYER_PX)
    land, _ = thin_mask(areas.land, grid, max_px=MAX_LAYER_PX)
    sea, _ = thin_mask(areas.sea, grid, max_px=MAX_LAYER_PX)
    offshore = near_shore(sea, land, sample_grid, max_shore_km=areas.offshore_max_shore_km)
    classes = np.full(eligible.shape, np.nan, dtype=np.float32)
    classes[eligible] = 1.0
    classes[offshore & ~eligible] = 2.0
    url, bounds = _class_image(classes, sample_grid, [_rgba(LAND_COLOUR), _rgba(SEA_COLOUR)])
    name = "Renewable potential (MW/km²)"
    layer = _image_layer(url, bounds, name, show=False)
    layer.add_to(fmap)
    pv, wind = format_value(areas.pv_mw_per_km2), format_value(areas.wind_mw_per_km2)
    html = "".join(
        [
            f'<div class="gs-legend-head">{name}</div>',
            swatch_html(
                LAND_COLOUR,
                f"eligible land: PV {pv} or onshore wind {wind} MW/km²",
                opacity=_OVERLAY_OPACITY,
            ),
            swatch_html(
                SEA_COLOUR,
                f"sea ≤ {format_value(areas.offshore_max_shore_km)} km from shore: offshore "
                f"wind {format_value(areas.offshore_mw_per_km2)} MW/km²",
                opacity=_OVERLAY_OPACITY,
            ),
            '<div class="gs-note">PV and onshore wind share the land</div>',
        ]
    )
    return LegendSection(html, [layer], shown=False)
