"""Write rasters aligned to the study grid (:class:`~gridsite.geo.RasterGrid`) as COG files."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from numpy.typing import NDArray

from gridsite.geo import RasterGrid
from gridsite.report.atomic import atomic_write

__all__ = ["write_geotiff"]

logger = logging.getLogger(__name__)

_BLOCK_PX = 256


def write_geotiff(
    array: NDArray[Any],
    grid: RasterGrid,
    path: Path,
    *,
    nodata: float = -9999.0,
    description: str = "",
    overwrite: bool = False,
) -> Path:
    """Write a single-band float32 Cloud Optimized GeoTIFF (COG) on ``grid``.

    The file is in the grid's CRS (``grid.crs``, projected, metres) with ``grid.transform``; NaN
    cells are written as ``nodata``, which is recorded in the file. GDAL's COG driver: 256 x 256
    tiles, DEFLATE with the floating-point predictor, averaged overviews down to one tile, the
    header and overviews first so that clients read windows over HTTP ranges. Written atomically.

    Parameters
    ----------
    array
        Values of shape ``grid.shape`` (rows, cols), row 0 at the north edge; cast to float32. Its
        unit is whatever the layer's is: say it in ``description``.
    grid
        The grid the array is aligned to.
    path
        The output file, conventionally ``*.tif``.
    nodata
        Value written for NaN cells and declared as the band's nodata value. If NaN, NaN itself is
        the nodata value.
    description
        Band description, e.g. ``"suitability (0-1, unitless)"``.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``array`` is not two-dimensional with shape ``grid.shape``, or ``nodata`` is not
        representable as float32.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    data = np.asarray(array, dtype=np.float32)
    if data.shape != tuple(grid.shape):
        raise ValueError(
            f"cannot write {path}: array shape {data.shape} does not match the grid's "
            f"{tuple(grid.shape)} (rows, cols); align the layer to the study grid first"
        )
    nodata_f32 = np.float32(nodata)
    if not math.isnan(nodata) and float(nodata_f32) != float(nodata):
        raise ValueError(
            f"cannot write {path}: nodata {nodata!r} is not exactly representable as float32; "
            "use a value such as -9999.0"
        )
    if not math.isnan(nodata):
        data = np.where(np.isnan(data), nodata_f32, data)
    rows, cols = grid.shape
    profile: dict[str, object] = {
        "driver": "COG",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": float(nodata_f32),
        "compress": "deflate",
        "predictor": "floating_point",
        "blocksize": _BLOCK_PX,
        "overviews": "auto",
        "resampling": "average",
        "BIGTIFF": "IF_SAFER",
    }
    # COG is a copy-only GDAL driver: rasterio buffers the dataset and GDAL writes the tiles, then
    # the overviews, with the header first, when the file closes (inside the atomic block).
    with atomic_write(path, overwrite=overwrite) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
        if description:
            dst.set_band_description(1, description)
    logger.info("wrote %s: %d x %d cells (%s)", path, rows, cols, grid.crs)
    return path
