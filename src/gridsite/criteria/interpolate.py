"""Inverse-distance-weighted interpolation of point measurements onto the study grid.

Points and queries are ``(x, y)`` coordinates in the study's projected CRS (metres), x first.
Used for criteria measured at stations (e.g. mean temperature, wind speed), where a surface is
needed at every cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from gridsite.errors import ConfigError, LayerError
from gridsite.geo import RasterGrid

__all__ = ["idw", "idw_to_grid", "idw_to_grid_groups", "idw_to_grid_many"]

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
    """Check the options; return the points and values that are finite, and k capped.

    ``values`` may hold several columns (one per surface): a point is kept when all are finite.
    """
    if not (math.isfinite(power) and power >= 0):
        raise ConfigError(f"IDW power must be a finite number >= 0, got {power!r}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"IDW k (number of neighbours) must be an integer >= 1, got {k!r}")
    points = _as_xy(points_xy, "points_xy")
    data = np.asarray(values, dtype=np.float64)
    if data.shape[:1] != (len(points),) or data.ndim not in (1, 2):
        raise ValueError(
            f"values must have shape ({len(points)},) to match points_xy, got {data.shape}"
        )
    finite = np.isfinite(data) if data.ndim == 1 else np.isfinite(data).all(axis=1)
    valid = finite & np.isfinite(points).all(axis=1)
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
    if np.ndim(values) != 1:
        raise ValueError(f"values must have shape (n,), got {np.shape(values)}")
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
    point; triangle inequality), so only those candidates are measured, by a compiled loop that
    runs the tiles on all cores. The result is exact; where several points are exactly as far
    from a cell as its ``k``-th nearest, all of them are used.

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
    many = idw_to_grid_many(
        points_xy, np.asarray(values)[:, None], grid, power=power, k=k, mask=mask
    )
    one: NDArray[np.float32] = many[0]
    return one


def idw_to_grid_many(
    points_xy: ArrayLike,
    values: ArrayLike,
    grid: RasterGrid,
    *,
    power: float = 2.0,
    k: int = 8,
    mask: NDArray[np.bool_] | None = None,
) -> NDArray[np.float32]:
    """:func:`idw_to_grid` of several surfaces measured at the same points, in one pass.

    ``values`` has shape ``(n, m)``, one column per surface; a point is used when all its values
    are finite. The neighbours and weights of each cell are found once and applied to every
    column, so each layer of the result, shape ``(m, rows, cols)``, equals :func:`idw_to_grid`
    of its column (over the same points) bit for bit.
    """
    points, data, k = _valid_points(points_xy, values, power, k)
    if data.ndim == 1:
        raise ValueError(f"values must have shape (n, m) of m surfaces, got {data.shape}")
    if mask is not None and np.shape(mask) != tuple(grid.shape):
        raise ValueError(f"mask has shape {np.shape(mask)}, the grid {tuple(grid.shape)}")
    tree = cKDTree(points)
    xs, ys = grid.cell_centres()
    rows, cols = grid.shape
    out = np.full((data.shape[1], *grid.shape), np.nan, dtype=np.float32)
    tile = _TILE_CELLS
    r0_grid, c0_grid = np.meshgrid(
        np.arange(0, rows, tile), np.arange(0, cols, tile), indexing="ij"
    )
    r0s, c0s = r0_grid.ravel(), c0_grid.ravel()
    r1s, c1s = np.minimum(r0s + tile, rows), np.minimum(c0s + tile, cols)
    keep = np.ones(grid.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask is not None:
        # Tiles without a cell to interpolate are skipped (a sum over each tile's cells).
        counts = np.add.reduceat(np.add.reduceat(keep, r0s[c0s == 0], axis=0), c0s[r0s == 0], 1)
        used = counts.ravel() > 0
        r0s, c0s, r1s, c1s = r0s[used], c0s[used], r1s[used], c1s[used]
    if r0s.size == 0:
        return out
    half_diagonal = (tile - 1) * grid.resolution_m * math.sqrt(2.0) / 2.0
    centres = np.column_stack([(xs[c0s] + xs[c1s - 1]) / 2.0, (ys[r0s] + ys[r1s - 1]) / 2.0])
    r_k = np.asarray(tree.query(centres, k=k, workers=-1)[0]).reshape(len(centres), k)[:, -1]
    near = tree.query_ball_point(centres, r_k + 2.0 * half_diagonal + 1e-6, workers=-1)
    lengths = np.fromiter((len(c) for c in near), dtype=np.int64, count=len(near))
    starts = np.zeros(len(near) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    cand = np.concatenate([np.sort(np.asarray(c, dtype=np.int64)) for c in near])
    tiles = np.column_stack([r0s, r1s, c0s, c1s]).astype(np.int64)
    _idw_tiles_c(
        xs, ys, keep, points[:, 0].copy(), points[:, 1].copy(), data, tiles, starts, cand,
        k, float(power), out,
    )  # fmt: skip
    return out


def idw_to_grid_groups(
    surfaces: Mapping[str, tuple[ArrayLike, ArrayLike]],
    grid: RasterGrid,
    *,
    power: float = 2.0,
    k: int = 8,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, NDArray[np.float32]]:
    """:func:`idw_to_grid` of each named ``(points_xy, values)``, one pass per set of points.

    Surfaces measured at the same points with the same missing values (e.g. temperature, PV and
    wind capacity factors at the same buses) share each cell's neighbours and weights, so
    :func:`idw_to_grid_many` finds them once; each result equals :func:`idw_to_grid` of that
    surface alone, bit for bit.
    """
    groups: dict[tuple[bytes, bytes], list[str]] = {}
    for name, (xy, vals) in surfaces.items():
        key = (np.ascontiguousarray(xy, np.float64).tobytes(), np.isfinite(vals).tobytes())
        groups.setdefault(key, []).append(name)
    out: dict[str, NDArray[np.float32]] = {}
    for names in groups.values():
        stacked = np.column_stack([np.asarray(surfaces[n][1], np.float64) for n in names])
        layers = idw_to_grid_many(surfaces[names[0]][0], stacked, grid, power=power, k=k, mask=mask)
        out |= {n: layers[j] for j, n in enumerate(names)}
    return out


def _idw_tiles(
    xs: Any,
    ys: Any,
    keep: Any,
    px: Any,
    py: Any,
    values: Any,
    tiles: Any,
    starts: Any,
    cand: Any,
    k: int,
    power: float,
    out: Any,
) -> None:  # pragma: no cover - compiled
    """IDW of every kept cell of every tile over that tile's candidate points (one per thread).

    ``values`` holds one column per surface, all weighted alike; ``out`` one layer per column.
    """
    for t in numba.prange(tiles.shape[0]):
        r0, r1, c0, c1 = tiles[t, 0], tiles[t, 1], tiles[t, 2], tiles[t, 3]
        idx = cand[starts[t] : starts[t + 1]]
        n = idx.shape[0]
        d2 = np.empty(n, np.float64)
        smallest = np.empty(k, np.float64)
        n_values = values.shape[1]
        total_wv = np.empty(n_values, np.float64)
        for r in range(r0, r1):
            y = ys[r]
            for c in range(c0, c1):
                if not keep[r, c]:
                    continue
                x = xs[c]
                # The k smallest squared distances, kept sorted by insertion.
                m = 0
                for j in range(n):
                    dx = x - px[idx[j]]
                    dy = y - py[idx[j]]
                    d = dx * dx + dy * dy
                    d2[j] = d
                    if m < k:
                        i = m
                        m += 1
                    elif d < smallest[k - 1]:
                        i = k - 1
                    else:
                        continue
                    while i > 0 and smallest[i - 1] > d:
                        smallest[i] = smallest[i - 1]
                        i -= 1
                    smallest[i] = d
                kth = smallest[m - 1]
                nearest = smallest[0]
                total_w = 0.0
                total_wv[:] = 0.0
                if nearest == 0.0:
                    # On a data point: the mean of the points there.
                    for j in range(n):
                        if d2[j] == 0.0:
                            total_w += 1.0
                            for v in range(n_values):
                                total_wv[v] += values[idx[j], v]
                else:
                    # (d_min / d) ** power from squared distances; ties with the k-th all count.
                    for j in range(n):
                        if d2[j] <= kth:
                            w = nearest / d2[j]
                            if power != 2.0:
                                w = w ** (power / 2.0)
                            total_w += w
                            for v in range(n_values):
                                total_wv[v] += w * values[idx[j], v]
                for v in range(n_values):
                    out[v, r, c] = total_wv[v] / total_w


_idw_tiles_c = numba.njit(cache=True, parallel=True)(_idw_tiles)
