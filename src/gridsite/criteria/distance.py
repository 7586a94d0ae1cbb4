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
from scipy.spatial import cKDTree

from gridsite.criteria.edt import edt_distance_m, edt_within_m
from gridsite.errors import ConfigError

__all__ = [
    "distance_to_cells",
    "distance_to_mask",
    "feature_cell_tree",
    "north_of",
    "north_of_rows",
    "southernmost_rows",
    "within_distance",
    "within_distance_of_cells",
]

# Distances are roots of whole numbers of squared cells times the cell size, so a cell lying
# exactly on a buffer's edge can come out a few ulps above ``distance_m``; this keeps it inside.
_REL_TOLERANCE = 1e-9


def _check_resolution(resolution_m: float) -> None:
    if not (math.isfinite(resolution_m) and resolution_m > 0):
        raise ConfigError(
            f"resolution_m must be a positive, finite number of metres, got {resolution_m!r}"
        )


def _distance_m(mask: NDArray[np.bool_], resolution_m: float) -> NDArray[np.float64]:
    _check_resolution(resolution_m)
    distance: NDArray[np.float64] = edt_distance_m(np.asarray(mask, dtype=bool), resolution_m)
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
    _check_resolution(resolution_m)
    distance: NDArray[np.float32] = edt_distance_m(
        np.asarray(mask, dtype=bool), resolution_m, np.float32
    )
    return distance


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
    return edt_within_m(mask, resolution_m, distance_m * (1.0 + _REL_TOLERANCE))


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


# ---- chunked forms: the same results, one window of a large grid at a time ---------------------
#
# A window is ``(row0, col0, rows, cols)`` of the study grid. Feature cells are kept as their global
# (row, col) indices in a KD-tree, so the distance of a window's cell to the nearest feature cell is
# exact whichever window (or chunk) the feature lies in, and equals :func:`distance_to_mask` on the
# whole grid: both are the Euclidean distance between cell centres, ``hypot(dr, dc) * resolution``,
# computed here with the same arithmetic as scipy's distance transform.

Window = tuple[int, int, int, int]

# Cells per KD-tree query: 2**20 cells x (2 coordinates + distance + index) x 8 bytes = 32 MB.
_QUERY_CELLS = 1 << 20
_PARALLEL_CELLS = 1 << 16


def feature_cell_tree(rows: NDArray[np.integer], cols: NDArray[np.integer]) -> cKDTree:
    """Return a KD-tree over feature cells given by their global row and column indices.

    Parameters
    ----------
    rows, cols
        1-D integer indices of the True cells of a feature mask on the study grid (row 0 north),
        e.g. ``np.nonzero(mask)`` offset by each chunk's first row and column.

    Examples
    --------
    >>> tree = feature_cell_tree(np.array([0]), np.array([0]))
    >>> distance_to_cells(tree, (1, 0, 1, 4), resolution_m=100.0).round(1).tolist()
    [[100.0, 141.4, 223.6, 316.2]]
    """
    points = np.column_stack([np.asarray(rows, np.float64), np.asarray(cols, np.float64)])
    return cKDTree(points.reshape(-1, 2), balanced_tree=False, compact_nodes=False)


def distance_to_cells(
    tree: cKDTree,
    window: Window,
    *,
    resolution_m: float,
    max_distance_m: float = math.inf,
    near_mask: NDArray[np.bool_] | None = None,
    near_origin: tuple[int, int] = (0, 0),
    pad_px: int = 0,
) -> NDArray[np.float64]:
    """Return the distance from every cell centre of ``window`` to the nearest feature cell centre.

    With ``near_mask`` (the feature cells of the window grown by ``pad_px`` cells on every side,
    clipped at the grid's edges), the distance transform of that mask answers every cell whose
    nearest feature lies within ``pad_px`` cells (any closer feature would be inside the mask),
    and only the other cells are queried in ``tree``: the same result, much faster where
    features are dense.

    Parameters
    ----------
    tree
        From :func:`feature_cell_tree`: the feature cells of the whole grid.
    window
        ``(row0, col0, rows, cols)`` of the study grid.
    resolution_m
        Cell size of the grid in metres (projected CRS).
    max_distance_m
        Cells farther than this from every feature may be returned as ``inf`` (faster buffers).
    near_mask, near_origin, pad_px
        Optional: the grown window's feature mask, the global (row, col) of its first cell, and
        the growth in cells.

    Returns
    -------
    NDArray[np.float64]
        Shape ``(rows, cols)``, metres centre to centre, 0 on feature cells, ``inf`` when the tree
        is empty: equal to :func:`distance_to_mask` of the whole grid's mask on the window.
    """
    _check_resolution(resolution_m)
    row0, col0, n_rows, n_cols = window
    out = np.full((n_rows, n_cols), np.inf, dtype=np.float64)
    if tree.n == 0 or n_rows == 0 or n_cols == 0:
        return out
    if near_mask is not None:
        near_m = pad_px * resolution_m
        r0, c0 = row0 - near_origin[0], col0 - near_origin[1]
        if near_mask.any():
            local = _distance_m(near_mask, resolution_m)[r0 : r0 + n_rows, c0 : c0 + n_cols]
            trusted = local <= near_m
            out[trusted] = local[trusted]
            todo_r, todo_c = np.nonzero(~trusted)
        else:
            todo_r, todo_c = np.nonzero(np.ones((n_rows, n_cols), dtype=bool))
        if max_distance_m <= near_m or todo_r.size == 0:
            return out  # every cell left is farther than near_m
    else:
        todo_r, todo_c = np.nonzero(np.ones((n_rows, n_cols), dtype=bool))
    # The tree prunes with this bound (in cells, with room to spare); the caller's comparison on
    # the distance itself decides.
    bound = max_distance_m / resolution_m * (1.0 + 1e-6) + 1e-6
    for b0 in range(0, todo_r.size, _QUERY_CELLS):
        lr, lc = todo_r[b0 : b0 + _QUERY_CELLS], todo_c[b0 : b0 + _QUERY_CELLS]
        q = np.column_stack([(lr + row0).astype(np.float64), (lc + col0).astype(np.float64)])
        # Threads pay off only on big blocks (a site's window is a few hundred cells).
        workers = -1 if len(q) >= _PARALLEL_CELLS else 1
        _, idx = tree.query(q, k=1, workers=workers, distance_upper_bound=bound)
        found = idx < tree.n
        nearest = tree.data[idx[found]]
        # The distance transform's arithmetic (gridsite.criteria.edt): the squared distance in
        # cells is a whole number, exact in float64; its root times the cell size.
        dr = nearest[:, 0] - q[found, 0]
        dc = nearest[:, 1] - q[found, 1]
        out[lr[found], lc[found]] = np.sqrt(dr * dr + dc * dc) * resolution_m
    return out


def within_distance_of_cells(
    tree: cKDTree,
    window: Window,
    *,
    distance_m: float,
    resolution_m: float,
    near_mask: NDArray[np.bool_] | None = None,
    near_origin: tuple[int, int] = (0, 0),
    pad_px: int = 0,
) -> NDArray[np.bool_]:
    """Return the cells of ``window`` whose centre lies within ``distance_m`` of a feature cell.

    The chunked form of :func:`within_distance` (same inclusive comparison and tolerance), with
    the feature cells of the whole grid in ``tree`` (:func:`feature_cell_tree`); ``near_mask``,
    ``near_origin`` and ``pad_px`` as in :func:`distance_to_cells`.
    """
    _check_resolution(resolution_m)
    if not (math.isfinite(distance_m) and distance_m >= 0):
        raise ConfigError(f"distance_m must be a finite number of metres >= 0, got {distance_m!r}")
    limit_m = distance_m * (1.0 + _REL_TOLERANCE)
    dist = distance_to_cells(
        tree,
        window,
        resolution_m=resolution_m,
        max_distance_m=limit_m,
        near_mask=near_mask,
        near_origin=near_origin,
        pad_px=pad_px,
    )
    within: NDArray[np.bool_] = dist <= limit_m
    return within


def southernmost_rows(line_mask: NDArray[np.bool_], *, row0: int = 0) -> NDArray[np.int64]:
    """Return, per column, the global row of the southernmost True cell, or -1 where none.

    ``line_mask`` may be a horizontal strip of the grid starting at row ``row0``; the whole
    grid's answer is the element-wise maximum over its strips (see :func:`north_of_rows`).
    """
    line_mask = np.asarray(line_mask, dtype=bool)
    if line_mask.ndim != 2:
        raise ValueError(f"line_mask must be a 2-D raster, got shape {line_mask.shape}")
    rows = line_mask.shape[0]
    last = rows - 1 - np.argmax(line_mask[::-1, :], axis=0)
    south: NDArray[np.int64] = np.where(line_mask.any(axis=0), row0 + last, -1).astype(np.int64)
    return south


def north_of_rows(southernmost: NDArray[np.integer], *, row0: int, rows: int) -> NDArray[np.bool_]:
    """Return :func:`north_of` for rows ``row0 .. row0 + rows - 1`` of the columns given.

    Parameters
    ----------
    southernmost
        Per column (of the window), the whole grid's :func:`southernmost_rows`; -1 where the
        line does not cross the column.
    row0, rows
        The window's first global row and its number of rows.

    Examples
    --------
    >>> line = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)
    >>> south = southernmost_rows(line)
    >>> bool((north_of_rows(south, row0=0, rows=3) == north_of(line)).all())
    True
    >>> north_of_rows(south, row0=1, rows=2).astype(int).tolist()
    [[1, 1, 0], [0, 1, 0]]
    """
    south = np.asarray(southernmost, dtype=np.int64)
    row_index = np.arange(row0, row0 + rows, dtype=np.int64)[:, np.newaxis]
    north: NDArray[np.bool_] = row_index <= south[np.newaxis, :]
    return north
