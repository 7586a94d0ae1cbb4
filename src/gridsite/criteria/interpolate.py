"""Inverse-distance-weighted interpolation of point measurements onto the study grid.

Points and queries are ``(x, y)`` coordinates in the study's projected CRS (metres), x first.
Used for criteria measured at stations (e.g. mean temperature, wind speed), where a surface is
needed at every cell.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from gridsite.errors import ConfigError, LayerError
from gridsite.geo import RasterGrid

__all__ = ["idw", "idw_to_grid"]

# Queries are answered in blocks so that a national grid (tens of millions of cells) times k
# neighbours never has to hold all distances and indices in memory at once.
_BLOCK_ROWS = 1 << 18
# Side of the tiles of :func:`idw_to_grid`, in cells.
_TILE_CELLS = 64


def _as_xy(array: ArrayLike, name: str) -> NDArray[np.float64]:
    xy = np.asarray(array, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) of (x, y) in metres, got {xy.shape}")
    return xy


def _weighted(
    distances: NDArray[np.float64], neighbour_values: NDArray[np.float64], power: float
) -> NDArray[np.float64]:
    """IDW of each row's neighbours; a zero distance returns that point's value exactly."""
    exact = distances == 0.0
    on_point = exact.any(axis=1)
    result = np.empty(len(distances), dtype=np.float64)
    if on_point.any():
        # Coincident data points share the query's location: their mean is the only fair value.
        hits = exact[on_point]
        result[on_point] = (neighbour_values[on_point] * hits).sum(axis=1) / hits.sum(axis=1)
    off_point = ~on_point
    if off_point.any():
        d = distances[off_point]
        # Scaling by the nearest distance keeps weights in (0, 1], so tiny distances cannot
        # overflow ``d ** -power``; the factor cancels in the weighted mean.
        weights = (d.min(axis=1, keepdims=True) / d) ** power
        result[off_point] = (weights * neighbour_values[off_point]).sum(axis=1) / weights.sum(
            axis=1
        )
    return result


def _weighted_nearest(
    d2: NDArray[np.float64], cand_values: NDArray[np.float64], k: int, power: float
) -> NDArray[np.float64]:
    """IDW over each row's ``k`` nearest candidates, from squared distances ``(m, n_cand)``."""
    if d2.shape[1] > k:
        # the k-th smallest squared distance of each row bounds its neighbours (a partial sort)
        kth = np.partition(d2, k - 1, axis=1)[:, k - 1 : k]
        inside = d2 <= kth
    else:
        inside = np.ones(d2.shape, dtype=bool)
    exact = (d2 == 0.0) & inside
    on_point = exact.any(axis=1)
    result = np.empty(len(d2), dtype=np.float64)
    if on_point.any():
        # Coincident data points share the query's location: their mean is the only fair value.
        hits = exact[on_point]
        result[on_point] = (cand_values * hits).sum(axis=1) / hits.sum(axis=1)
    off = ~on_point
    if off.any():
        d2_off = d2[off]
        # (d_min / d) ** power from squared distances: no square root, and a plain ratio for the
        # usual power 2. Scaling by the nearest keeps weights in (0, 1]; the factor cancels.
        ratio = d2_off.min(axis=1, keepdims=True) / d2_off
        if power != 2.0:
            ratio **= power / 2.0
        weights = np.where(inside[off], ratio, 0.0)
        result[off] = (weights @ cand_values) / weights.sum(axis=1)
    return result


def _idw_block(
    tree: cKDTree, values: NDArray[np.float64], query_xy: NDArray[np.float64], power: float, k: int
) -> NDArray[np.float64]:
    distances, indices = tree.query(query_xy, k=k, workers=-1)
    # With k == 1 scipy drops the neighbour axis; restore it so one code path serves every k.
    distances = np.asarray(distances, dtype=np.float64).reshape(len(query_xy), k)
    indices = np.asarray(indices).reshape(len(query_xy), k)
    return _weighted(distances, values[indices], power)


def _valid_points(
    points_xy: ArrayLike, values: ArrayLike, power: float, k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Check the options; return the points and values that are finite, and k capped."""
    if not (math.isfinite(power) and power >= 0):
        raise ConfigError(f"IDW power must be a finite number >= 0, got {power!r}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"IDW k (number of neighbours) must be an integer >= 1, got {k!r}")
    points = _as_xy(points_xy, "points_xy")
    data = np.asarray(values, dtype=np.float64)
    if data.shape != (len(points),):
        raise ValueError(
            f"values must have shape ({len(points)},) to match points_xy, got {data.shape}"
        )
    valid = np.isfinite(data) & np.isfinite(points).all(axis=1)
    if not valid.any():
        raise LayerError(
            f"IDW needs at least one point with a finite value and coordinates; all {len(data)} "
            "points are missing or NaN. Check the layer's value field and its coverage."
        )
    return points[valid], data[valid], min(int(k), int(valid.sum()))


def idw(
    points_xy: ArrayLike,
    values: ArrayLike,
    query_xy: ArrayLike,
    *,
    power: float = 2.0,
    k: int = 8,
) -> NDArray[np.float64]:
    """Interpolate ``values`` at ``query_xy`` by inverse-distance weighting of the k nearest points.

    ``z(q) = sum(w_i z_i) / sum(w_i)`` with ``w_i = 1 / d(q, p_i) ** power`` over the ``k``
    data points nearest to ``q``. A query on a data point returns that point's value exactly (the
    mean, if several data points coincide there).

    Parameters
    ----------
    points_xy
        Data point coordinates, shape ``(n, 2)``, ``(x, y)`` in the projected CRS (metres).
    values
        Measured values at the points, shape ``(n,)``. Points whose value or coordinates are not
        finite (e.g. NaN for a missing measurement) are dropped first.
    query_xy
        Where to interpolate, shape ``(m, 2)``, ``(x, y)`` in the same CRS. Non-finite queries
        give NaN.
    power
        Distance exponent, ``>= 0``; 2 is the common choice, 0 gives the plain mean of the k points.
    k
        Number of nearest points used, ``>= 1``; capped at the number of valid points.

    Returns
    -------
    NDArray[np.float64]
        Interpolated values, shape ``(m,)``, in the unit of ``values``.

    Raises
    ------
    LayerError
        If no point has a finite value and coordinates.
    ConfigError
        If ``power`` or ``k`` is invalid.
    ValueError
        If the arrays have the wrong shapes.

    Examples
    --------
    >>> pts = np.array([[0.0, 0.0], [100.0, 0.0]])
    >>> idw(pts, np.array([10.0, 20.0]), np.array([[0.0, 0.0], [25.0, 0.0]])).round(9).tolist()
    [10.0, 11.0]
    """
    points, data, k = _valid_points(points_xy, values, power, k)
    queries = _as_xy(query_xy, "query_xy")
    tree = cKDTree(points)

    result = np.full(len(queries), np.nan, dtype=np.float64)
    answerable = np.flatnonzero(np.isfinite(queries).all(axis=1))
    for start in range(0, len(answerable), _BLOCK_ROWS):
        block = answerable[start : start + _BLOCK_ROWS]
        result[block] = _idw_block(tree, data, queries[block], power, k)
    return result


def idw_to_grid(
    points_xy: ArrayLike,
    values: ArrayLike,
    grid: RasterGrid,
    *,
    power: float = 2.0,
    k: int = 8,
    mask: NDArray[np.bool_] | None = None,
) -> NDArray[np.float32]:
    """Interpolate ``values`` at every cell centre of ``grid`` by inverse-distance weighting.

    The same interpolation as :func:`idw` at the cell centres, computed tile by tile: for a tile
    of ``64 x 64`` cells with centre ``c`` and half-diagonal ``h``, every cell's ``k`` nearest
    points lie within ``r_k + 2h`` of ``c`` (``r_k``: distance from ``c`` to its ``k``-th nearest
    point; triangle inequality), so only those candidates are measured. The result is exact;
    where several points are exactly as far from a cell as its ``k``-th nearest, all of them are
    used.

    Parameters
    ----------
    points_xy
        Data point coordinates, shape ``(n, 2)``, ``(x, y)`` in ``grid.crs`` (metres).
    values
        Measured values at the points, shape ``(n,)``; non-finite ones are dropped.
    grid
        The study grid; its cell centres are the query points.
    power, k
        As in :func:`idw`.
    mask
        Optional boolean raster of ``grid.shape``: only its True cells are interpolated, the rest
        are NaN (e.g. the study area, to skip the margin).

    Returns
    -------
    NDArray[np.float32]
        Interpolated raster of shape ``grid.shape``, row 0 north, in the unit of ``values``.

    Raises
    ------
    LayerError
        If no point has a finite value and coordinates.
    ConfigError
        If ``power`` or ``k`` is invalid.
    ValueError
        If ``mask`` does not have the grid's shape.
    """
    points, data, k = _valid_points(points_xy, values, power, k)
    if mask is not None and np.shape(mask) != tuple(grid.shape):
        raise ValueError(f"mask has shape {np.shape(mask)}, the grid {tuple(grid.shape)}")
    tree = cKDTree(points)
    xs, ys = grid.cell_centres()
    rows, cols = grid.shape
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    tile = _TILE_CELLS
    half_diagonal = (tile - 1) * grid.resolution_m * math.sqrt(2.0) / 2.0
    for r0 in range(0, rows, tile):
        for c0 in range(0, cols, tile):
            r1, c1 = min(r0 + tile, rows), min(c0 + tile, cols)
            keep = None if mask is None else np.asarray(mask[r0:r1, c0:c1], dtype=bool)
            if keep is not None and not keep.any():
                continue
            qx, qy = np.meshgrid(xs[c0:c1], ys[r0:r1])
            centre = ((xs[c0] + xs[c1 - 1]) / 2.0, (ys[r0] + ys[r1 - 1]) / 2.0)
            r_k = np.atleast_1d(tree.query(centre, k=k)[0])[-1]
            cand = np.sort(tree.query_ball_point(centre, r_k + 2.0 * half_diagonal + 1e-6))
            q = np.column_stack([qx.ravel(), qy.ravel()])
            if keep is not None:
                q = q[keep.ravel()]
            d2 = (q[:, :1] - points[cand, 0]) ** 2 + (q[:, 1:] - points[cand, 1]) ** 2
            result = _weighted_nearest(d2, data[cand], k, power).astype(np.float32)
            if keep is None:
                out[r0:r1, c0:c1] = result.reshape(r1 - r0, c1 - c0)
            else:
                out[r0:r1, c0:c1][keep] = result
    return out
