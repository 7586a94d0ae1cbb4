"""Align layers to the study's RasterGrid: rasterise vectors, resample rasters."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import rasterio.warp
import rasterio.windows
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from rasterio.enums import Resampling

from gridsite.errors import CRSError, LayerError
from gridsite.geo import RasterGrid
from gridsite.layers.read import layer_path
from gridsite.layers.resample import sample_grid
from gridsite.spec import LayerSpec

__all__ = [
    "check_raster",
    "check_raster_overlap",
    "rasterize_mask",
    "read_raster",
    "read_raster_window",
]


def rasterize_mask(
    gdf: gpd.GeoDataFrame, grid: RasterGrid, *, all_touched: bool = True
) -> NDArray[np.bool_]:
    """Burn geometries into a boolean mask on ``grid``.

    Parameters
    ----------
    gdf
        Features in ``grid.crs`` (reproject first).
    grid
        The study grid.
    all_touched
        Burn every cell a geometry touches (right for lines and points), else only cells whose
        centre is inside (right for polygons as areas).
    """
    if gdf.crs is None or not gdf.crs.equals(grid.crs):
        raise CRSError(
            f"rasterize_mask: features in {gdf.crs}, grid in {grid.crs}; reproject first"
        )
    geoms = [g for g in gdf.geometry if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(grid.shape, dtype=bool)
    burned = rasterio.features.rasterize(
        ((g, 1) for g in geoms),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        all_touched=all_touched,
        dtype="uint8",
    )
    return np.asarray(burned, dtype=bool)


def read_raster(
    spec: LayerSpec,
    data_root: Path,
    grid: RasterGrid,
    *,
    resampling: Resampling = Resampling.nearest,
    band: int = 1,
) -> NDArray[np.float32]:
    """Read one band of a raster layer resampled onto ``grid``; nodata and uncovered cells are NaN.

    Raises
    ------
    LayerError
        The file is missing or unreadable, holds infinite values, or does not overlap the study
        grid.
    CRSError
        The raster has no CRS and the catalog gives none.
    """
    path = layer_path(spec, data_root)
    with _open_raster(spec, path) as (src, src_crs):
        _check_overlap(spec, path, src, src_crs, grid)
        data = _read_band(spec, path, src, band)
        dst = np.full(grid.shape, np.nan, dtype=np.float32)
        rasterio.warp.reproject(
            source=data,
            destination=dst,
            src_transform=src.transform,
            src_crs=src_crs,
            src_nodata=np.nan,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=np.nan,
            resampling=resampling,
        )
    return dst


def check_raster(spec: LayerSpec, data_root: Path) -> None:
    """Open a raster layer's header and check it has a CRS (its own or the catalog's)."""
    path = layer_path(spec, data_root)
    try:
        with rasterio.open(path) as src:
            has_crs = src.crs is not None
    except rasterio.errors.RasterioIOError as exc:
        raise _unreadable(spec, path, exc) from exc
    if not has_crs and spec.crs is None:
        raise CRSError(
            f"layer {spec.name!r} ({path}) has no CRS; set crs in its catalog entry "
            "or fix the file (gdal_edit.py -a_srs)"
        )


# ---- windowed reading: any window of the study grid, the same values as the whole grid ---------

#: Spacing (m, study CRS) of the lattice where source coordinates are computed exactly; in between
#: they are interpolated bilinearly. Over 1 km the error of that interpolation for a transverse
#: Mercator <-> geographic transformation is a few millimetres, far below any source pixel.
_LATTICE_M = 1000.0


def check_raster_overlap(
    spec: LayerSpec, data_root: Path, grid: RasterGrid, *, band: int = 1
) -> None:
    """Raise :class:`LayerError` if a raster layer has no data anywhere under ``grid``.

    That is: its extent does not overlap ``grid``, or every pixel under it is nodata or NaN.
    Reads the header, then blocks of the band until one holds data. :func:`read_raster_window`
    does not check this, since a chunk of the study grid may well lie outside a layer that
    covers the study area.

    Raises
    ------
    LayerError
        No overlap, no data, infinite values in the blocks read, or an unreadable file.
    CRSError
        The raster has no CRS and the catalog gives none.
    """
    path = layer_path(spec, data_root)
    with _open_raster(spec, path) as (src, src_crs):
        _check_overlap(spec, path, src, src_crs, grid)
        if not _has_data(spec, path, src, src_crs, grid, band):
            raise LayerError(
                f"layer {spec.name!r} ({path}) has no data over the study area: every pixel "
                f"of band {band} there is nodata (nodata value {src.nodata}) or NaN. Check the "
                "file (gdalinfo -stats), its nodata value and the band"
            )


def _check_overlap(
    spec: LayerSpec,
    path: Path,
    src: rasterio.io.DatasetReader,
    src_crs: rasterio.crs.CRS,
    grid: RasterGrid,
) -> None:
    """Raise :class:`LayerError` when the raster's extent misses ``grid``."""
    left, bottom, right, top = rasterio.warp.transform_bounds(
        src_crs, grid.crs, *_bounds(src), densify_pts=21
    )
    gx0, gy0, gx1, gy1 = grid.bounds
    if right <= gx0 or left >= gx1 or top <= gy0 or bottom >= gy1:
        raise LayerError(
            f"layer {spec.name!r} ({path}) does not overlap the study area: its bounds in "
            f"{grid.crs} are ({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}), the study's "
            f"({gx0:.0f}, {gy0:.0f}, {gx1:.0f}, {gy1:.0f}). Check its CRS and extent"
        )


def _bounds(src: rasterio.io.DatasetReader) -> tuple[float, float, float, float]:
    """``(left, bottom, right, top)`` in order, also for a south-up raster (bottom > top)."""
    left, bottom, right, top = src.bounds
    return min(left, right), min(bottom, top), max(left, right), max(bottom, top)


def _has_data(
    spec: LayerSpec,
    path: Path,
    src: rasterio.io.DatasetReader,
    src_crs: rasterio.crs.CRS,
    grid: RasterGrid,
    band: int,
) -> bool:
    """Whether any pixel of the source under ``grid`` holds data, read block by block.

    Stops at the first block with data, so a raster with data costs one or a few blocks; only
    a raster with none is read whole (over the grid).
    """
    x0, y0, x1, y1 = rasterio.warp.transform_bounds(grid.crs, src_crs, *grid.bounds, densify_pts=21)
    whole = rasterio.windows.Window(0, 0, src.width, src.height)
    try:
        under = rasterio.windows.from_bounds(x0, y0, x1, y1, transform=src.transform)
        under = under.round_offsets(op="floor").round_lengths(op="ceil").intersection(whole)
    except rasterio.errors.WindowError:
        under = whole  # a transform from_bounds cannot invert (south-up, rotated): scan it all
    for _, block in src.block_windows(band):
        try:
            part = block.intersection(under)
        except rasterio.errors.WindowError:
            continue
        data = _read_band(spec, path, src, band, window=part)
        if np.isfinite(data).any():
            return True
    return False


@contextmanager
def _open_raster(
    spec: LayerSpec, path: Path
) -> Iterator[tuple[rasterio.io.DatasetReader, rasterio.crs.CRS]]:
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise _unreadable(spec, path, exc) from exc
    with src:
        src_crs = src.crs
        if src_crs is None:
            if spec.crs is None:
                raise CRSError(
                    f"layer {spec.name!r} ({path}) has no CRS; set crs in its catalog entry "
                    "or fix the file (gdal_edit.py -a_srs)"
                )
            try:
                src_crs = rasterio.crs.CRS.from_user_input(spec.crs)
            except rasterio.errors.CRSError as exc:
                raise CRSError(
                    f"layer {spec.name!r}: crs {spec.crs!r} in the catalog is not a CRS GDAL "
                    f"understands ({exc}); give an authority code such as EPSG:4326"
                ) from exc
        yield src, src_crs


def _unreadable(spec: LayerSpec, path: Path, exc: Exception) -> LayerError:
    # rasterio's "Read failed. See previous exception" keeps GDAL's reason in __cause__.
    reason = exc.__cause__ if exc.__cause__ is not None else exc
    return LayerError(
        f"layer {spec.name!r}: cannot read {path} as a raster ({reason}); the file is damaged, "
        "truncated or not a raster: check the layer's path in the catalog, or download or "
        "export it again"
    )


def _read_band(
    spec: LayerSpec,
    path: Path,
    src: rasterio.io.DatasetReader,
    band: int,
    *,
    window: rasterio.windows.Window | None = None,
) -> NDArray[np.float32]:
    """Read one band (of a window) as float32 with NaN for nodata; refuse infinite values.

    NaN in the file is nodata, as GDAL treats it for float rasters; +-inf is not a measurement
    any criterion can score, so it is an error naming the layer.
    """
    if not 1 <= band <= src.count:
        raise LayerError(
            f"layer {spec.name!r} ({path}) has {src.count} band(s); band {band} was asked for"
        )
    try:
        masked = src.read(band, window=window, masked=True)
        data: NDArray[np.float32] = np.asarray(masked.astype(np.float32).filled(np.nan))
    except rasterio.errors.RasterioError as exc:
        raise _unreadable(spec, path, exc) from exc
    n_inf = int(np.isinf(data).sum())
    if n_inf:
        raise LayerError(
            f"layer {spec.name!r} ({path}) holds {n_inf:,} infinite value(s) (+-inf); set them "
            "to the raster's nodata value (e.g. gdal_calc.py --calc 'where(isinf(A), -9999, A)' "
            "--NoDataValue=-9999) or fix the process that wrote it"
        )
    return data


def read_raster_window(
    spec: LayerSpec,
    data_root: Path,
    grid: RasterGrid,
    *,
    resampling: Resampling = Resampling.nearest,
    band: int = 1,
) -> NDArray[np.float32]:
    """Read one band of a raster layer onto ``grid`` (a study grid or any window of one).

    Only the source pixels under ``grid`` are read, so a national 30 m layer is never loaded
    whole when the study runs in chunks. Each cell takes the source value at its centre: the
    pixel holding it (``nearest``), or the bilinear interpolation of the four pixel centres around
    it (``bilinear``; weights renormalised over the pixels holding data, as GDAL does). Where the
    centre falls in the source is computed with the exact coordinate transformation at the nodes
    of a fixed lattice of the CRS (every 1 km, or every cell on coarser grids) and interpolated
    in between. A cell's value therefore depends only on where the cell is: a chunk gets exactly
    the values it has when the whole grid is read, which GDAL's warper does not promise (its
    approximate transformer and resampling scale depend on the chunk). Unlike
    :func:`read_raster`, no source footprint is averaged when the grid is coarser than the source.

    Parameters
    ----------
    spec, data_root
        The catalog entry and the folder its path is relative to.
    grid
        Cells to fill (projected CRS, metres); cells outside the source are NaN.
    resampling
        ``Resampling.nearest`` or ``Resampling.bilinear``.
    band
        1-based band number.

    Returns
    -------
    NDArray[np.float32]
        ``grid.shape``; NaN where the source has nodata or does not reach.

    Raises
    ------
    LayerError
        The file is missing or unreadable, the pixels read hold infinite values, or
        ``resampling`` is neither nearest nor bilinear.
    CRSError
        The raster has no CRS and the catalog gives none.
    """
    if resampling not in (Resampling.nearest, Resampling.bilinear):
        raise LayerError(
            f"layer {spec.name!r}: windowed reading supports nearest and bilinear resampling, "
            f"not {resampling.name}"
        )
    path = layer_path(spec, data_root)
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    rows, cols = grid.shape
    if rows == 0 or cols == 0:
        return out
    with _open_raster(spec, path) as (src, src_crs):
        to_src = _SourceCoords(grid, src_crs)
        inv = ~src.transform
        # The bilinear field of coordinates takes its extremes at the lattice nodes.
        px, py = _apply(inv, to_src.node_x, to_src.node_y)
        margin = 1 if resampling == Resampling.bilinear else 0
        c0 = max(0, int(np.floor(np.nanmin(px))) - margin - 1)
        r0 = max(0, int(np.floor(np.nanmin(py))) - margin - 1)
        c1 = min(src.width, int(np.floor(np.nanmax(px))) + margin + 2)
        r1 = min(src.height, int(np.floor(np.nanmax(py))) + margin + 2)
        if c1 <= c0 or r1 <= r0:
            return out
        win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        data = _read_band(spec, path, src, band, window=win)
        lattice = None
        if not to_src.same:
            lattice = (to_src.lx, to_src.ly, to_src.ci, to_src.tx, to_src.rj, to_src.ty)
        sample_grid(
            out, to_src.xs, to_src.ys, lattice, (inv.a, inv.b, inv.c, inv.d, inv.e, inv.f),
            (c0, r0, src.width, src.height), data, bilinear=resampling == Resampling.bilinear,
        )  # fmt: skip
    return out


def _apply(
    t: Affine, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``t`` applied to coordinate arrays (spelt out: affine's ``*`` on tuples is deprecated)."""
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


class _SourceCoords:
    """Source-CRS coordinates of a grid's cell centres, from a fixed lattice of exact nodes."""

    def __init__(self, grid: RasterGrid, src_crs: rasterio.crs.CRS) -> None:
        res = grid.resolution_m
        rows, cols = grid.shape
        x0, y1 = grid.transform.c, grid.transform.f
        # Cell centres as the whole grid computes them: origin + (index + 0.5) * res.
        self.xs = x0 + (np.arange(cols) + 0.5) * res
        self.ys = y1 - (np.arange(rows) + 0.5) * res
        self.same = CRS.from_user_input(grid.crs) == CRS.from_user_input(src_crs.to_wkt())
        if self.same:
            self.node_x = np.array([self.xs[0], self.xs[-1]])
            self.node_y = np.array([self.ys[0], self.ys[-1]])
            return
        step = res * max(1, math.floor(_LATTICE_M / res))
        self.step = step
        i0, i1 = math.floor(self.xs[0] / step), math.floor(self.xs[-1] / step) + 1
        j0, j1 = math.floor(self.ys[-1] / step), math.floor(self.ys[0] / step) + 1
        self.i0, self.j0 = i0, j0
        nx_ = np.arange(i0, i1 + 1) * step
        ny_ = np.arange(j0, j1 + 1) * step
        gx, gy = np.meshgrid(nx_, ny_)
        tr = Transformer.from_crs(grid.crs, src_crs.to_wkt(), always_xy=True)
        lon, lat = tr.transform(gx, gy)
        self.lx, self.ly = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        self.node_x, self.node_y = self.lx.ravel(), self.ly.ravel()
        # Per column and per row: the lattice cell and the position inside it, in [0, 1).
        self.ci = np.floor(self.xs / step).astype(np.int64) - i0
        self.tx = self.xs / step - np.floor(self.xs / step)
        self.rj = np.floor(self.ys / step).astype(np.int64) - j0
        self.ty = self.ys / step - np.floor(self.ys / step)
