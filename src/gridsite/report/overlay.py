"""Rasters as web-map images: colour ramps, palette PNGs, thinning, reprojection to Web Mercator.

Pure array work (numpy, scipy through :mod:`gridsite.criteria`, and rasterio's in-memory warping);
nothing here touches the filesystem.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio.warp
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling

from gridsite.criteria.distance import distance_to_mask
from gridsite.geo import M_PER_KM, RasterGrid, WindowedRaster

__all__ = [
    "MAX_LAYER_PX",
    "MAX_OVERLAY_PX",
    "SCORE_LEVELS",
    "SCORE_RAMP",
    "SUITABILITY_RAMP",
    "SupplyAreas",
    "near_shore",
    "palette_png",
    "png_data_url",
    "ramp_colours",
    "score_codes",
    "suitability_rgba",
    "suitability_to_web_mercator",
    "thin_mask",
]

#: Largest side of the map's suitability image, in pixels.
MAX_OVERLAY_PX = 2048

#: Largest side of the images of the layers hidden when the map opens (criterion scores,
#: exclusions, renewable potential), in pixels: a quarter of the suitability image's pixels.
MAX_LAYER_PX = 1024

#: Colour steps of a criterion score image (and of its legend ramp).
SCORE_LEVELS = 64

#: Cells of a windowed mask read at a time when it is thinned for display.
_STRIP_CELLS = 1 << 24

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

SCORE_RAMP: tuple[tuple[float, str], ...] = (
    (0.0, "#000004"),
    (0.125, "#1c1044"),
    (0.25, "#4f127b"),
    (0.375, "#812581"),
    (0.5, "#b5367a"),
    (0.625, "#e55064"),
    (0.75, "#fb8761"),
    (0.875, "#fec287"),
    (1.0, "#fcfdbf"),
)
"""Anchors of the criterion score ramp (magma, sampled every 1/8): unlike the suitability ramp,
a score of 0 is a colour, not transparent (a criterion alone excludes nothing)."""


@dataclass(frozen=True)
class SupplyAreas:
    """Where a study lets PV and wind be built, for the map's renewable-potential layer.

    The masks are those of :func:`gridsite.study.rasters.derived_masks` on the study grid, as
    arrays or read by window; densities in MW per km2 as in the study's ``[supply]``.

    Attributes
    ----------
    eligible
        ``supply_eligible``: land where PV and onshore wind may be built.
    land
        ``supply_land``: the land of the study area (the shore offshore distances count from).
    sea
        ``supply_sea``: sea where offshore wind may be built (any distance from shore).
    pv_mw_per_km2, wind_mw_per_km2, offshore_mw_per_km2
        Power densities of ground PV, onshore wind and offshore wind, MW/km2.
    offshore_max_shore_km
        Farthest distance from shore at which offshore wind counts, km.
    """

    eligible: NDArray[np.bool_] | WindowedRaster
    land: NDArray[np.bool_] | WindowedRaster
    sea: NDArray[np.bool_] | WindowedRaster
    pv_mw_per_km2: float
    wind_mw_per_km2: float
    offshore_mw_per_km2: float
    offshore_max_shore_km: float


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def ramp_colours(ramp: Sequence[tuple[float, str]], levels: int) -> NDArray[np.uint8]:
    """Return ``levels`` RGB colours evenly spaced along ``ramp`` (anchors ``(0..1, "#rrggbb")``).

    Examples
    --------
    >>> ramp_colours([(0.0, "#000000"), (1.0, "#ff0080")], 3).tolist()
    [[0, 0, 0], [128, 0, 64], [255, 0, 128]]
    """
    positions = np.array([p for p, _ in ramp])
    rgb = np.array([_hex_to_rgb(c) for _, c in ramp], dtype=np.float64)
    x = np.linspace(0.0, 1.0, levels)
    lut = np.stack([np.interp(x, positions, rgb[:, k]) for k in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def _ramp_lut() -> NDArray[np.uint8]:
    return ramp_colours(SUITABILITY_RAMP, 256)


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


def score_codes(
    values: NDArray[np.floating[Any]], *, levels: int = SCORE_LEVELS
) -> NDArray[np.uint8]:
    """Quantise scores in [0, 1] to palette indices: 0 for NaN, ``1..levels`` for 0..1.

    Values outside [0, 1] are drawn as the nearest end. Index ``i`` stands for the score
    ``(i - 1) / (levels - 1)``, coloured by ``ramp_colours(ramp, levels)[i - 1]``.

    Examples
    --------
    >>> score_codes(np.array([np.nan, 0.0, 0.5, 1.0, 7.0]), levels=5).tolist()
    [0, 1, 3, 5, 5]
    """
    if not 2 <= levels <= 255:
        raise ValueError(
            f"levels must be 2 to 255 (one palette entry is transparent), got {levels}"
        )
    data = np.asarray(values, dtype=np.float64)
    shown = np.isfinite(data)
    steps = np.round(np.clip(np.where(shown, data, 0.0), 0.0, 1.0) * (levels - 1))
    return np.where(shown, steps + 1, 0).astype(np.uint8)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def palette_png(
    codes: NDArray[np.integer[Any]], palette: Sequence[tuple[int, int, int, int]]
) -> bytes:
    """Encode an image of palette indices as an 8-bit indexed PNG (with transparency).

    An indexed image takes a quarter of the bytes of RGBA before compression, and far fewer
    after it for images of few colours (masks, quantised scores). The bytes depend only on the
    input (zlib level 9, no time stamp), so a map made twice is byte-identical.

    Parameters
    ----------
    codes
        2-D array of indices into ``palette``, row 0 at the top.
    palette
        ``(red, green, blue, alpha)`` of each index, each 0-255; at most 256 entries.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    ValueError
        If ``codes`` is not 2-D, the palette is empty or too long, or an index has no entry.
    """
    image = np.asarray(codes)
    if image.ndim != 2 or 0 in image.shape:
        raise ValueError(f"a PNG needs a non-empty 2-D array of indices, got shape {image.shape}")
    if not 1 <= len(palette) <= 256:
        raise ValueError(f"a PNG palette has 1 to 256 entries, got {len(palette)}")
    if int(image.min()) < 0 or int(image.max()) >= len(palette):
        raise ValueError(f"palette indices must be 0 to {len(palette) - 1}")
    height, width = image.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit indexed
    plte = bytes(int(v) for r, g, b, _ in palette for v in (r, g, b))
    trns = bytes(int(a) for *_, a in palette)
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # filter byte 0 (none) on each row
    rows[:, 1:] = image.astype(np.uint8)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"PLTE", plte),
            _png_chunk(b"tRNS", trns),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)),
            _png_chunk(b"IEND", b""),
        ]
    )


def png_data_url(png: bytes) -> str:
    """Return ``png`` as a ``data:image/png;base64,...`` URL (no network to show it)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thin_mask(
    mask: NDArray[np.bool_] | WindowedRaster, grid: RasterGrid, *, max_px: int
) -> tuple[NDArray[np.bool_], RasterGrid]:
    """Return the cells of a boolean raster that ``report.raster.display_sample`` would keep.

    The same every k-th cell, on the same coarse grid, as ``display_sample`` picks from a raster
    of ``grid`` for ``max_px``, so a mask and the suitability surface line up cell for cell. The
    mask is read a strip of rows at a time (``mask[r0:r1, 0:cols]``), so a mask kept as packed
    bits or read by window is never unpacked whole.

    Parameters
    ----------
    mask
        Boolean raster of shape ``grid.shape``, a numpy array or read by window.
    grid
        The grid of ``mask`` (projected CRS, metres).
    max_px
        Largest side of the picture the sample is for, in pixels.

    Returns
    -------
    tuple
        The boolean sample and its grid (cells ``k`` times larger, same CRS).

    Raises
    ------
    ValueError
        If ``mask`` does not have the shape ``grid.shape``.

    Examples
    --------
    >>> g = RasterGrid.from_bounds((0, 0, 900, 900), resolution_m=100, crs="EPSG:5179")
    >>> m = np.zeros((9, 9), dtype=bool)
    >>> m[2, 6] = True
    >>> sample, coarse = thin_mask(m, g, max_px=1)
    >>> sample.tolist(), coarse.resolution_m
    ([[False, True], [False, False]], 400.0)
    """
    rows, cols = grid.shape
    if tuple(mask.shape) != (rows, cols):
        raise ValueError(
            f"mask shape {tuple(mask.shape)} does not match the grid's {(rows, cols)} (rows, cols)"
        )
    k = max(1, max(rows, cols) // (2 * max_px))
    off = k // 2
    picked = np.arange(off, rows, k)
    step = max(k, (_STRIP_CELLS // max(1, cols)) // k * k)
    parts = []
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        here = picked[(picked >= r0) & (picked < r1)] - r0
        if here.size:
            strip = np.asarray(mask[r0:r1, 0:cols], dtype=bool)
            parts.append(strip[here][:, off::k])
    sample = np.concatenate(parts) if parts else np.zeros((0, len(range(off, cols, k))), bool)
    if k == 1:
        return sample, grid
    # As display_sample: coarse cell i is centred on fine cell off + i * k.
    shift = off + 0.5 - k / 2.0
    transform = grid.transform * Affine.translation(shift, shift) * Affine.scale(k)
    return sample, RasterGrid(crs=grid.crs, transform=transform, shape=sample.shape)


def near_shore(
    sea: NDArray[np.bool_], land: NDArray[np.bool_], grid: RasterGrid, *, max_shore_km: float
) -> NDArray[np.bool_]:
    """Return the ``sea`` cells whose centre is within ``max_shore_km`` of a ``land`` cell centre.

    The rule :func:`gridsite.energy.potential.offshore_potential` counts offshore wind by, on
    whatever grid it is given (for the map: a thinned display grid, so the band is drawn to the
    nearest display cell).

    Parameters
    ----------
    sea, land
        Boolean rasters of shape ``grid.shape``.
    grid
        Their grid (projected CRS, metres).
    max_shore_km
        Farthest distance from land, km.

    Examples
    --------
    >>> g = RasterGrid.from_bounds((0, 0, 500, 100), resolution_m=100, crs="EPSG:5179")
    >>> land = np.array([[True, False, False, False, False]])
    >>> near_shore(~land, land, g, max_shore_km=0.2).tolist()
    [[False, True, True, False, False]]
    """
    if not land.any():
        return np.zeros(sea.shape, dtype=bool)
    distance_m = distance_to_mask(land, resolution_m=grid.resolution_m)
    within: NDArray[np.bool_] = sea & (distance_m <= max_shore_km * M_PER_KM * (1 + 1e-9))
    return within
