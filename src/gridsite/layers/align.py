"""Align layers to the study's RasterGrid: rasterise vectors, resample rasters."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import rasterio.warp
from numpy.typing import NDArray
from rasterio.enums import Resampling

from gridsite.errors import CRSError, LayerError
from gridsite.geo import RasterGrid
from gridsite.layers.read import layer_path
from gridsite.spec import LayerSpec

__all__ = ["check_raster", "rasterize_mask", "read_raster"]


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
        The file is missing or unreadable, or it does not overlap the study grid.
    CRSError
        The raster has no CRS and the catalog gives none.
    """
    path = layer_path(spec, data_root)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise LayerError(f"layer {spec.name!r}: cannot read {path} as a raster: {exc}") from exc
    with src:
        src_crs = src.crs
        if src_crs is None:
            if spec.crs is None:
                raise CRSError(
                    f"layer {spec.name!r} ({path}) has no CRS; set crs in its catalog entry "
                    "or fix the file (gdal_edit.py -a_srs)"
                )
            src_crs = rasterio.crs.CRS.from_user_input(spec.crs)
        left, bottom, right, top = rasterio.warp.transform_bounds(
            src_crs, grid.crs, *src.bounds, densify_pts=21
        )
        gx0, gy0, gx1, gy1 = grid.bounds
        if right <= gx0 or left >= gx1 or top <= gy0 or bottom >= gy1:
            raise LayerError(
                f"layer {spec.name!r} ({path}) does not overlap the study area: its bounds in "
                f"{grid.crs} are ({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}), the study's "
                f"({gx0:.0f}, {gy0:.0f}, {gx1:.0f}, {gy1:.0f}). Check its CRS and extent"
            )
        data = src.read(band, masked=True).astype("float32").filled(np.nan)
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
        raise LayerError(f"layer {spec.name!r}: cannot read {path} as a raster: {exc}") from exc
    if not has_crs and spec.crs is None:
        raise CRSError(
            f"layer {spec.name!r} ({path}) has no CRS; set crs in its catalog entry "
            "or fix the file (gdal_edit.py -a_srs)"
        )
