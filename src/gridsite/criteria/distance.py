"""Euclidean distance and buffers on boolean rasters.

Every function takes boolean masks on one :class:`~gridsite.geo.RasterGrid`: row 0 is the northern
edge, cells are square, and distances are measured centre to centre in the grid's projected CRS
(metres). :func:`distance_to_mask` is the equivalent of GDAL ``gdal_proximity.py -distunits GEO``
and GRASS ``r.grow.distance metric=euclidean``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from gridsite.errors import ConfigError

__all__ = ["distance_to_mask", "north_of", "within_distance"]

# Distances are sums of squares of whole multiples of the cell size, so a cell lying exactly on a
# buffer's edge can come out a few ulps above ``distance_m``; this keeps it inside the buffer.
_REL_TOLERANCE = 1e-9


def _check_resolution(resolution_m: float) -> None:
    if not (math.isfinite(resolution_m) and resolution_m > 0):
        raise ConfigError(
            f"resolution_m must be a positive, finite number of metres, got {resolution_m!r}"
        )


def _distance_m(mask: NDArray[np.bool_], resolution_m: float) -> NDArray[np.float64]:
    _check_resolution(resolution_m)
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float64)
    # The transform measures the distance from each non-zero cell to the nearest zero cell, so the
    # mask is inverted to make the True cells the targets.
    distance: NDArray[np.float64] = ndimage.distance_transform_edt(
        ~mask, sampling=resolution_m
    ).astype(np.float64, copy=False)
    return distance


def distance_to_mask(mask: NDArray[np.bool_], *, resolution_m: float) -> NDArray[np.float32]:
    """Return the distance from every cell centre to the nearest True cell centre.

    Parameters
    ----------
    mask
        2-D boolean raster on the study grid; True cells are the features (e.g. rasterised
        substations). Row 0 is north.
    resolution_m
        Cell size of the grid in metres (the grid's projected CRS).

    Returns
    -------
    NDArray[np.float32]
        Euclidean centre-to-centre distance in metres, 0 on True cells, same shape as ``mask``.
        If ``mask`` has no True cell, every cell is ``np.inf``: nothing is near, and callers
        should treat the layer as absent rather than as far away.

    Raises
    ------
    ConfigError
        If ``resolution_m`` is not a positive, finite number.

    Examples
    --------
    >>> mask = np.zeros((3, 4), dtype=bool)
    >>> mask[0, 0] = True
    >>> distance_to_mask(mask, resolution_m=100.0)[1].astype(float).round(1).tolist()
    [100.0, 141.4, 223.6, 316.2]
    """
    return _distance_m(mask, resolution_m).astype(np.float32)


def within_distance(
    mask: NDArray[np.bool_], *, distance_m: float, resolution_m: float
) -> NDArray[np.bool_]:
    """Return the cells whose centre lies within ``distance_m`` of a True cell's centre.

    This is a buffer of the True cells: a cell exactly ``distance_m`` away is inside.

    Parameters
    ----------
    mask
        2-D boolean raster on the study grid; True cells are the features to buffer.
    distance_m
        Buffer distance in metres (projected CRS), centre to centre, ``>= 0``. ``0`` returns a
        copy of ``mask``.
    resolution_m
        Cell size of the grid in metres.

    Returns
    -------
    NDArray[np.bool_]
        Same shape as ``mask``; all False if ``mask`` has no True cell.

    Raises
    ------
    ConfigError
        If ``distance_m`` is negative or not finite, or ``resolution_m`` is not positive.

    Examples
    --------
    >>> mask = np.zeros((3, 3), dtype=bool)
    >>> mask[1, 1] = True
    >>> within_distance(mask, distance_m=100.0, resolution_m=100.0).astype(int).tolist()
    [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    """
    _check_resolution(resolution_m)
    if not (math.isfinite(distance_m) and distance_m >= 0):
        raise ConfigError(f"distance_m must be a finite number of metres >= 0, got {distance_m!r}")
    mask = np.asarray(mask, dtype=bool)
    if distance_m == 0:
        return mask.copy()
    limit_m = distance_m * (1.0 + _REL_TOLERANCE)
    within: NDArray[np.bool_] = _distance_m(mask, resolution_m) <= limit_m
    return within


def north_of(line_mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Return the cells of a rasterised line and every cell north of it, column by column.

    Used to exclude "the line and everything north of it" (e.g. the Korean DMZ). In each column
    that the line crosses, every cell from row 0 down to the line's southernmost cell in that
    column is marked. Columns the line does not cross are not marked at all, so the line must
    span the study area from west to east for the exclusion to be complete.

    Parameters
    ----------
    line_mask
        2-D boolean raster on a north-up grid (row 0 is north); True cells are the line.

    Returns
    -------
    NDArray[np.bool_]
        Same shape as ``line_mask``.

    Raises
    ------
    ValueError
        If ``line_mask`` is not 2-D.

    Examples
    --------
    >>> line = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)
    >>> north_of(line).astype(int).tolist()
    [[1, 1, 0], [1, 1, 0], [0, 1, 0]]
    """
    line_mask = np.asarray(line_mask, dtype=bool)
    if line_mask.ndim != 2:
        raise ValueError(f"line_mask must be a 2-D raster, got shape {line_mask.shape}")
    rows = line_mask.shape[0]
    crossed: NDArray[np.bool_] = np.any(line_mask, axis=0)
    # argmax on the row-reversed mask finds the last (southernmost) True row of each column.
    southernmost = rows - 1 - np.argmax(line_mask[::-1, :], axis=0)
    row_index = np.arange(rows)[:, np.newaxis]
    north: NDArray[np.bool_] = (row_index <= southernmost[np.newaxis, :]) & crossed[np.newaxis, :]
    return north
