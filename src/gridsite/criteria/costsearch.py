"""Compiled least-accumulated-cost search on an 8-connected raster (a bucket-queue Dijkstra).

The search is Dijkstra's algorithm with its priority queue replaced by buckets of width ``delta``
(Dial, "Algorithm 360: shortest-path forest with topological ordering", CACM 12, 1969; with float
costs and ``delta`` at most the cheapest step, as in Meyer and Sanders' delta-stepping, J.
Algorithms 49, 2003). A cell whose accumulated cost falls in bucket ``k`` can only improve cells
of bucket ``k + 1`` or later when every step costs at least ``delta``, so the cells of the lowest
non-empty bucket are final and are expanded in any order, without the heap's ``log n`` per cell.
Where a step can cost less than ``delta`` (zero-cost cells, or a bucket width raised to bound the
number of buckets) a cell may be improved inside the bucket being expanded; it is then queued
again in that bucket and expanded again, so the result is exact either way.

The step between neighbours ``a`` and ``b`` costs ``(c_a + c_b) / 2 x 1`` for a rook step and
``x sqrt(2)`` for a diagonal step, in cost x cells, the arithmetic of scikit-image's
``MCP_Geometric`` (and GRASS ``r.cost``): the accumulated costs equal its ``find_costs``.

Queued entries live in one pool of linked lists, one list per bucket slot, with a free list, so
memory grows with the search front, not with the raster; the buckets form a ring of
``max step / delta + 3`` slots (no queued cell is farther ahead than one step). The search reads
the caller's cost raster and barrier mask in place (any real dtype): the only raster it
allocates is the accumulated cost.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["accumulate_cells", "scan_cost"]

#: Most bucket slots in the ring; a wider bucket (more re-expansions) beyond that.
_MAX_SLOTS = 1 << 20
_SQRT2 = math.sqrt(2.0)
# The 8 neighbours and half their step length (cells): 0.5 and 0.5 sqrt(2). Half of a float
# is exact, so ``(a + b) * half`` rounds once, as ``MCP_Geometric``'s ``(a + b) / 2 * length``.
_D_ROW = np.array((-1, -1, -1, 0, 0, 1, 1, 1))
_D_COL = np.array((-1, 0, 1, -1, 1, -1, 0, 1))
_HALF_STEP = 0.5 * np.array((_SQRT2, 1.0, _SQRT2, 1.0, 1.0, _SQRT2, 1.0, _SQRT2))


def _search(
    cost: Any,
    blocked: Any,
    acc: Any,
    n_cols: int,
    inv_delta: float,
    n_slots: int,
    starts: Any,
    stop: Any,
    to_reach: int,
) -> None:  # pragma: no cover - compiled
    """Expand the buckets in order until none is left (or every ``stop`` cell is final).

    ``cost``, ``blocked`` (empty: no barriers) and ``acc`` are flat views of the rasters.
    """
    n_rows = cost.shape[0] // n_cols
    use_blocked = blocked.shape[0] > 0
    cap = max(1 << 12, 2 * starts.shape[0])
    e_cell = np.empty(cap, np.int64)
    e_acc = np.empty(cap, np.float64)
    e_next = np.empty(cap, np.int64)
    head = np.full(n_slots, -1, np.int64)
    # The starts, queued in bucket 0.
    for i in range(starts.shape[0]):
        acc[starts[i]] = 0.0
        e_cell[i], e_acc[i], e_next[i] = starts[i], 0.0, head[0]
        head[0] = i
    free, used, queued = -1, starts.shape[0], starts.shape[0]
    bucket = 0
    while queued > 0:
        slot = bucket % n_slots
        while head[slot] >= 0:
            if used + 8 > cap:  # room for this cell's neighbours
                cap *= 2
                e_cell = _grown_c(e_cell, cap)
                e_acc = _grown_c(e_acc, cap)
                e_next = _grown_c(e_next, cap)
            e = head[slot]
            head[slot] = e_next[e]
            e_next[e] = free
            free = e
            queued -= 1
            cell = e_cell[e]
            here = acc[cell]
            if e_acc[e] != here:
                continue  # improved since it was queued; its newer entry expands it
            r = cell // n_cols
            c = cell - r * n_cols
            inner = 0 < r < n_rows - 1 and 0 < c < n_cols - 1
            cost_here = float(cost[cell])
            for k in range(8):
                if not inner and not (0 <= r + _D_ROW[k] < n_rows and 0 <= c + _D_COL[k] < n_cols):
                    continue
                nb = cell + _D_ROW[k] * n_cols + _D_COL[k]
                cost_next = float(cost[nb])
                if not math.isfinite(cost_next) or (use_blocked and blocked[nb]):
                    continue
                new = here + (cost_here + cost_next) * _HALF_STEP[k]
                if new < acc[nb]:
                    acc[nb] = new
                    if free >= 0:
                        e = free
                        free = e_next[e]
                    else:
                        e = used
                        used += 1
                    ns = int(new * inv_delta) % n_slots
                    e_cell[e], e_acc[e], e_next[e] = nb, new, head[ns]
                    head[ns] = e
                    queued += 1
        if to_reach > 0:
            # Every cell of this bucket or an earlier one is final now.
            reached = 0
            for t in range(stop.shape[0]):
                reach = acc[stop[t]]
                if reach < np.inf and int(reach * inv_delta) <= bucket:
                    reached += 1
            if reached == to_reach:
                return
        bucket += 1


def _grown(a: Any, cap: int) -> Any:  # pragma: no cover - compiled
    out = np.empty(cap, a.dtype)
    out[: a.shape[0]] = a
    return out


_grown_c = numba.njit(cache=True, nogil=True)(_grown)
_search_c = numba.njit(cache=True, nogil=True)(_search)


def _scan(
    cost: Any, barriers: Any, low: Any, high: Any, negative: Any
) -> None:  # pragma: no cover - compiled
    n_rows, n_cols = cost.shape
    blocks = low.shape[0]
    step = (n_rows + blocks - 1) // blocks
    use_barriers = barriers.shape[0] == n_rows
    for b in numba.prange(blocks):
        lo, hi, neg = np.inf, -np.inf, False
        for i in range(b * step, min(n_rows, (b + 1) * step)):
            for j in range(n_cols):
                v = float(cost[i, j])
                if v < 0:
                    neg = True
                if math.isfinite(v) and not (use_barriers and barriers[i, j]):
                    lo = min(lo, v)
                    hi = max(hi, v)
        low[b], high[b], negative[b] = lo, hi, neg


_scan_c = numba.njit(cache=True, parallel=True)(_scan)


def _fill(out: Any, value: float) -> None:  # pragma: no cover - compiled
    for i in numba.prange(out.shape[0]):
        out[i] = value


_fill_c = numba.njit(cache=True, parallel=True)(_fill)


def scan_cost(
    cost: NDArray[np.floating[Any]] | NDArray[np.integer[Any]],
    barriers: NDArray[np.bool_] | None = None,
) -> tuple[float, float, bool]:
    """Return the cheapest and dearest passable cost and whether any cost is negative.

    Passable cells have a finite cost and are not ``barriers``; the cheapest and dearest are inf
    and -inf when there is none. One read-only pass over a 2-D ``cost`` on all cores.

    Examples
    --------
    >>> scan_cost(np.array([[1.0, np.nan], [3.0, 2.0]]), np.array([[0, 0], [1, 0]], dtype=bool))
    (1.0, 2.0, False)
    """
    cost = np.ascontiguousarray(cost)
    if cost.size == 0:
        return math.inf, -math.inf, False
    blocks = 4 * int(numba.get_num_threads())
    low, high = np.empty(blocks), np.empty(blocks)
    negative = np.zeros(blocks, dtype=bool)
    mask = np.zeros((0, 0), dtype=bool) if barriers is None else np.asarray(barriers, dtype=bool)
    _scan_c(cost, np.ascontiguousarray(mask), low, high, negative)
    return float(low.min()), float(high.max()), bool(negative.any())


def _bucket_width(cheapest: float, dearest: float) -> tuple[float, int]:
    """Return the bucket width (the cheapest step, or wider) and the number of ring slots."""
    if not math.isfinite(cheapest):
        return 1.0, 3
    largest_step = dearest * _SQRT2
    if largest_step == 0:
        return 1.0, 3
    delta = max(cheapest, largest_step / _MAX_SLOTS)
    return delta, int(largest_step / delta) + 3


def accumulate_cells(
    cost: NDArray[np.floating[Any]] | NDArray[np.integer[Any]],
    starts: NDArray[np.int64],
    stop: NDArray[np.int64] | None = None,
    *,
    barriers: NDArray[np.bool_] | None = None,
    cost_range: tuple[float, float] | None = None,
) -> NDArray[np.float64]:
    """Return the least accumulated cost (cost x cells) from the nearest start to every cell.

    Parameters
    ----------
    cost
        2-D raster of costs ``>= 0`` (any real dtype, read as float64; not copied when
        C-contiguous); NaN and ``inf`` cells cannot be entered.
    starts
        Flat indices (``row * cols + col``) of the start cells; each must be passable.
    stop
        Optional flat indices of cells to reach: the search stops once all of them are final,
        leaving cells not yet final with costs that may be too high (or ``inf``).
    barriers
        Optional boolean raster of cells that cannot be entered.
    cost_range
        The cheapest and dearest passable cost, if known (:func:`scan_cost` returns them); else
        they are found here.

    Returns
    -------
    NDArray[np.float64]
        Accumulated cost in cost x cells; ``inf`` where no start can be reached.

    Examples
    --------
    >>> acc = accumulate_cells(np.ones((2, 3)), np.array([0]))
    >>> acc.round(4).tolist()
    [[0.0, 1.0, 2.0], [1.0, 1.4142, 2.4142]]
    """
    cost = np.ascontiguousarray(cost)
    blocked = np.zeros(0, np.bool_)
    if barriers is not None:
        blocked = np.ascontiguousarray(barriers, dtype=np.bool_).ravel()
    acc = np.empty(cost.shape, np.float64)
    flat_acc = acc.reshape(-1)
    _fill_c(flat_acc, np.inf)  # first touch of the pages on all cores
    starts = np.unique(np.asarray(starts, dtype=np.int64))
    if starts.size == 0 or cost.size == 0:
        return acc
    if cost_range is None:
        cheapest, dearest, _ = scan_cost(cost, barriers)
    else:
        cheapest, dearest = cost_range
    delta, n_slots = _bucket_width(cheapest, dearest)
    stop_arr = np.empty(0, np.int64) if stop is None else np.asarray(stop, dtype=np.int64)
    flat_cost = cost.reshape(-1)
    to_reach = 0
    if stop_arr.size:
        open_stop = np.isfinite(flat_cost[stop_arr])
        if blocked.size:
            open_stop &= ~blocked[stop_arr]
        to_reach = int(open_stop.sum())
    _search_c(
        flat_cost,
        blocked,
        flat_acc,
        cost.shape[1],
        1.0 / delta,
        n_slots,
        starts,
        stop_arr,
        to_reach,
    )
    return acc
