"""The suitability surface as a web-map image: colour ramp, and reprojection to Web Mercator.

Pure array work (numpy and rasterio's in-memory warping); nothing here touches the filesystem.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import rasterio.warp
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling

from gridsite.geo import RasterGrid

__all__ = ["MAX_OVERLAY_PX", "SUITABILITY_RAMP", "suitability_rgba", "suitability_to_web_mercator"]

#: Largest side of the map's suitability image, in pixels.
MAX_OVERLAY_PX = 2048

SUITABILITY_RAMP: tuple[tuple[float, str], ...] = (
    (0.0, "#440154"),
    (0.125, "#482878"),
    (0.25, "#3e4a89"),
    (0.375, "#31688e"),
    (0.5, "#26828e"),
    (0.625, "#1f9e89"),
    (0.75, "#35b779"),
    (0.875, "#6ece58"),
    (1.0, "#fde725"),
)
"""Anchors ``(value, colour)`` of the suitability colour ramp (viridis, sampled every 1/8)."""


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _ramp_lut() -> NDArray[np.uint8]:
    positions = np.array([p for p, _ in SUITABILITY_RAMP])
    rgb = np.array([_hex_to_rgb(c) for _, c in SUITABILITY_RAMP], dtype=np.float64)
    x = np.linspace(0.0, 1.0, 256)
    lut = np.stack([np.interp(x, positions, rgb[:, k]) for k in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def suitability_rgba(values: NDArray[np.floating[Any]]) -> NDArray[np.uint8]:
    """Colour suitability scores with :data:`SUITABILITY_RAMP`.

    Parameters
    ----------
    values
        Scores in [0, 1] (unitless), any shape; values above 1 are drawn as 1.

    Returns
    -------
    NDArray[np.uint8]
        RGBA array of shape ``values.shape + (4,)``. Cells that are NaN (no data) or ``<= 0``
        (excluded) are fully transparent, all others opaque.

    Examples
    --------
    >>> suitability_rgba(np.array([np.nan, 0.0, 1.0]))[:, 3].tolist()
    [0, 0, 255]
    """
    data = np.asarray(values, dtype=np.float64)
    shown = np.isfinite(data) & (data > 0.0)
    index = np.round(np.clip(np.where(shown, data, 0.0), 0.0, 1.0) * 255.0).astype(np.intp)
    rgba = np.zeros((*data.shape, 4), dtype=np.uint8)
    rgba[..., :3] = _ramp_lut()[index]
    rgba[..., 3] = np.where(shown, 255, 0).astype(np.uint8)
    return rgba


def suitability_to_web_mercator(
    array: NDArray[np.floating[Any]], grid: RasterGrid, *, max_px: int = MAX_OVERLAY_PX
) -> tuple[NDArray[np.float32], tuple[float, float, float, float]]:
    """Reproject a grid array to Web Mercator (EPSG:3857) for a Leaflet image overlay.

    Leaflet stretches an image overlay linearly between the Web Mercator positions of its corners,
    so an image that is itself in EPSG:3857 lines up with the basemap everywhere, which an image
    in EPSG:4326 (evenly spaced in latitude) does not. Nearest-neighbour resampling keeps
    excluded (0) and no-data (NaN) cells as they are; the output is shrunk to at most ``max_px``
    pixels along each side.

    Parameters
    ----------
    array
        Values of shape ``grid.shape``; NaN is no data.
    grid
        The grid of ``array`` (any projected CRS, metres).
    max_px
        Largest width or height of the output image, in pixels.

    Returns
    -------
    tuple
        The reprojected float32 array (NaN outside the grid and where ``array`` is NaN) and its
        bounds ``(south, west, north, east)`` in degrees of latitude/longitude (EPSG:4326).

    Raises
    ------
    ValueError
        If ``array`` does not have the shape ``grid.shape``.
    """
    source = np.asarray(array, dtype=np.float32)
    if source.shape != tuple(grid.shape):
        raise ValueError(
            f"suitability array shape {source.shape} does not match the grid's "
            f"{tuple(grid.shape)} (rows, cols)"
        )
    rows, cols = grid.shape
    left, bottom, right, top = grid.bounds
    # GDAL's suggested output rounds its size to whole pixels and can cut up to half a pixel off
    # an edge; take its resolution but the full (densified) extent, rounded up.
    suggested, _, _ = rasterio.warp.calculate_default_transform(
        grid.crs, "EPSG:3857", cols, rows, left=left, bottom=bottom, right=right, top=top
    )
    res = float(suggested.a)
    west_m, south_m, east_m, north_m = rasterio.warp.transform_bounds(
        grid.crs, "EPSG:3857", left, bottom, right, top, densify_pts=21
    )
    width = max(1, math.ceil((east_m - west_m) / res - 1e-9))
    height = max(1, math.ceil((north_m - south_m) / res - 1e-9))
    scale = max(width, height) / max_px
    if scale > 1.0:
        width, height = max(1, math.ceil(width / scale)), max(1, math.ceil(height / scale))
        res *= scale
    dst_transform = Affine(res, 0.0, west_m, 0.0, -res, north_m)
    destination = np.full((height, width), np.nan, dtype=np.float32)
    rasterio.warp.reproject(
        source=source,
        destination=destination,
        src_transform=grid.transform,
        src_crs=grid.crs,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    x0, y1 = dst_transform.c, dst_transform.f
    x1, y0 = x0 + width * dst_transform.a, y1 + height * dst_transform.e
    lons, lats = rasterio.warp.transform("EPSG:3857", "EPSG:4326", [x0, x1], [y0, y1])
    return destination, (float(lats[0]), float(lons[0]), float(lats[1]), float(lons[1]))
