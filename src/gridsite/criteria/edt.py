"""Exact Euclidean distance transform of a boolean raster, compiled with Numba on all cores.

The method is Felzenszwalb and Huttenlocher's two-pass transform ("Distance Transforms of Sampled
Functions", Theory of Computing 8, 2012): a pass down and up every column gives each cell its
distance in rows to the nearest feature cell of its column; a pass along every row then takes the
lower envelope of the parabolas ``(col - p)**2 + rows_p**2``. Both passes work on whole numbers of
cells, so the squared distance of every cell is exact; the distance in metres is
``sqrt(squared cells) * resolution_m``, the same arithmetic as the nearest-feature queries of the
chunked path (:func:`gridsite.criteria.distance.distance_to_cells`), which therefore returns the
same bits.

The column pass runs on blocks of columns and the row pass on blocks of rows, one block per
thread, so both scale with the cores Numba is given (``NUMBA_NUM_THREADS``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["edt_distance_m", "edt_within_m"]

# Rows to a feature in a column with none: larger than any grid, small enough that its square
# plus a column offset's square fits an int64.
_NONE = 1 << 30


def _columns(mask: Any, g: Any, blocks: int) -> None:  # pragma: no cover - compiled
    n_rows, n_cols = mask.shape
    step = (n_cols + blocks - 1) // blocks
    for b in numba.prange(blocks):
        j0 = b * step
        j1 = min(n_cols, j0 + step)
        for j in range(j0, j1):
            g[0, j] = 0 if mask[0, j] else _NONE
        for i in range(1, n_rows):
            for j in range(j0, j1):
                if mask[i, j]:
                    g[i, j] = 0
                else:
                    g[i, j] = min(g[i - 1, j] + 1, _NONE)
        for i in range(n_rows - 2, -1, -1):
            for j in range(j0, j1):
                t = g[i + 1, j] + 1
                if t < g[i, j]:
                    g[i, j] = t


def _envelope(g_row: Any, v: Any, f: Any, z: Any) -> int:  # pragma: no cover - compiled
    """Lower envelope of the row's parabolas; returns the index of the last one, -1 if none."""
    k = -1
    for q in range(g_row.shape[0]):
        gq = np.int64(g_row[q])
        if gq >= _NONE:
            continue
        fq = gq * gq + np.int64(q) * q
        while k >= 0:
            s = (fq - f[k]) / (2.0 * (q - v[k]))
            if s <= z[k]:
                k -= 1
            else:
                break
        k += 1
        v[k] = q
        f[k] = fq
        z[k] = -np.inf if k == 0 else (fq - f[k - 1]) / (2.0 * (q - v[k - 1]))
    return k


def _squares(g_row: Any, v: Any, f: Any, z: Any, sq: Any) -> bool:  # pragma: no cover - compiled
    """Squared distance in cells of every cell of a row into ``sq``; False if the row has none."""
    k = _envelope_c(g_row, v, f, z)
    if k < 0:
        return False
    kk = 0
    for q in range(sq.shape[0]):
        while kk < k and z[kk + 1] < q:
            kk += 1
        d = np.int64(q) - v[kk]
        sq[q] = d * d + f[kk] - v[kk] * v[kk]
    return True


def _rows_distance(
    g: Any, resolution_m: float, out: Any, blocks: int
) -> None:  # pragma: no cover - compiled
    n_rows, n_cols = g.shape
    step = (n_rows + blocks - 1) // blocks
    for b in numba.prange(blocks):
        v, f, sq = (
            np.empty(n_cols, np.int64),
            np.empty(n_cols, np.int64),
            np.empty(n_cols, np.int64),
        )
        z = np.empty(n_cols, np.float64)
        for i in range(b * step, min(n_rows, (b + 1) * step)):
            if not _squares_c(g[i], v, f, z, sq):
                out[i, :] = np.inf
                continue
            for q in range(n_cols):
                out[i, q] = np.sqrt(np.float64(sq[q])) * resolution_m


def _rows_within(
    g: Any, resolution_m: float, limit_m: float, out: Any, blocks: int
) -> None:  # pragma: no cover - compiled
    n_rows, n_cols = g.shape
    step = (n_rows + blocks - 1) // blocks
    for b in numba.prange(blocks):
        v, f, sq = (
            np.empty(n_cols, np.int64),
            np.empty(n_cols, np.int64),
            np.empty(n_cols, np.int64),
        )
        z = np.empty(n_cols, np.float64)
        for i in range(b * step, min(n_rows, (b + 1) * step)):
            if not _squares_c(g[i], v, f, z, sq):
                out[i, :] = False
                continue
            for q in range(n_cols):
                out[i, q] = np.sqrt(np.float64(sq[q])) * resolution_m <= limit_m


_envelope_c = numba.njit(cache=True, nogil=True)(_envelope)
_squares_c = numba.njit(cache=True, nogil=True)(_squares)
_columns_c = numba.njit(cache=True, parallel=True)(_columns)
_rows_distance_c = numba.njit(cache=True, parallel=True)(_rows_distance)
_rows_within_c = numba.njit(cache=True, parallel=True)(_rows_within)


def _blocks() -> int:
    """Blocks per parallel loop: a few per thread, so uneven rows still share out evenly."""
    return 4 * int(numba.get_num_threads())


def _column_rows(mask: NDArray[np.bool_]) -> NDArray[np.int32]:
    g = np.empty(mask.shape, dtype=np.int32)
    if mask.size:
        _columns_c(np.ascontiguousarray(mask, dtype=bool), g, _blocks())
    return g


def edt_distance_m(
    mask: NDArray[np.bool_], resolution_m: float, dtype: type[np.floating[Any]] = np.float64
) -> NDArray[Any]:
    """Return ``sqrt(squared cells to the nearest True cell) * resolution_m`` for every cell.

    ``inf`` everywhere when ``mask`` has no True cell. ``dtype`` is float64 or float32 (the value
    is computed in float64 and rounded once).

    Examples
    --------
    >>> mask = np.zeros((2, 4), dtype=bool)
    >>> mask[0, 0] = True
    >>> edt_distance_m(mask, 100.0)[1].round(1).tolist()
    [100.0, 141.4, 223.6, 316.2]
    """
    g = _column_rows(mask)
    out = np.empty(mask.shape, dtype=dtype)
    if mask.size:
        _rows_distance_c(g, float(resolution_m), out, _blocks())
    return out


def edt_within_m(mask: NDArray[np.bool_], resolution_m: float, limit_m: float) -> NDArray[np.bool_]:
    """Return ``edt_distance_m(mask, resolution_m) <= limit_m`` without the float raster.

    Examples
    --------
    >>> mask = np.zeros((1, 4), dtype=bool)
    >>> mask[0, 0] = True
    >>> edt_within_m(mask, 100.0, 200.0).tolist()
    [[True, True, True, False]]
    """
    g = _column_rows(mask)
    out = np.empty(mask.shape, dtype=bool)
    if mask.size:
        _rows_within_c(g, float(resolution_m), float(limit_m), out, _blocks())
    return out
