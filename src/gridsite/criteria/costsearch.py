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
``max step / delta + 3`` slots (no queued cell is farther ahead than one step).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["STEPS", "accumulate_cells", "prepare_cost", "trace_back"]

#: The eight steps ``(d_row, d_col)`` to a cell's neighbours, in the order :func:`accumulate_cells`
#: numbers them in ``came_from``.
STEPS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))

#: Most bucket slots in the ring; a wider bucket (more re-expansions) beyond that.
_MAX_SLOTS = 1 << 20
_SQRT2 = math.sqrt(2.0)


# Indices into the search's state vector, which lets the compiled loop stop when its entry pool
# is nearly full and carry on after the pool has grown (arrays are never reassigned inside it).
_BUCKET, _FREE, _USED, _QUEUED, _TO_REACH = range(5)
_DONE = -1


def _search(
    cost2: Any,
    delta: float,
    n_slots: int,
    acc2: Any,
    stop: Any,
    head: Any,
    e_cell: Any,
    e_next: Any,
    e_acc: Any,
    state: Any,
    came_from: Any,
) -> None:  # pragma: no cover - compiled
    n_rows, n_cols = cost2.shape
    cost = cost2.reshape(-1)
    acc = acc2.reshape(-1)
    record = came_from.shape[0] > 0
    cap = e_cell.shape[0]
    d_row = np.array((-1, -1, -1, 0, 0, 1, 1, 1))
    d_col = np.array((-1, 0, 1, -1, 1, -1, 0, 1))
    offset = d_row * n_cols + d_col
    step = np.array((_SQRT2, 1.0, _SQRT2, 1.0, 1.0, _SQRT2, 1.0, _SQRT2))
    bucket, free, used, queued = state[_BUCKET], state[_FREE], state[_USED], state[_QUEUED]
    while queued > 0:
        slot = bucket % n_slots
        while head[slot] >= 0:
            if used + 8 > cap:
                state[_BUCKET], state[_FREE], state[_USED] = bucket, free, used
                state[_QUEUED] = queued
                return  # the caller grows the pool and calls again
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
            # Away from the edges every neighbour exists, and only the flat offset is needed.
            inside = 0 < r < n_rows - 1 and 0 < c < n_cols - 1
            cost_here = cost[cell]
            for k in range(8):
                if not inside:
                    rr = r + d_row[k]
                    cc = c + d_col[k]
                    if rr < 0 or rr >= n_rows or cc < 0 or cc >= n_cols:
                        continue
                nb = cell + offset[k]
                # An impassable (inf) neighbour gives inf, which is never below its cost: one
                # branch per neighbour, taken about once per cell (fewer mispredictions).
                new = here + (cost_here + cost[nb]) * 0.5 * step[k]
                if new < acc[nb]:
                    acc[nb] = new
                    if record:
                        came_from[nb] = k
                    b = int(new / delta)
                    if b < bucket:
                        b = bucket
                    if free >= 0:
                        e = free
                        free = e_next[e]
                    else:
                        e = used
                        used += 1
                    ns = b % n_slots
                    e_cell[e] = nb
                    e_acc[e] = new
                    e_next[e] = head[ns]
                    head[ns] = e
                    queued += 1
        if stop.shape[0] > 0:
            # Every cell below the next bucket is final now.
            reached = 0
            for t in range(stop.shape[0]):
                if acc[stop[t]] < (bucket + 1) * delta:
                    reached += 1
            if reached == state[_TO_REACH]:
                break
        bucket += 1
    state[_QUEUED] = _DONE


_search_c = numba.njit(cache=True, nogil=True)(_search)


def _prepare(
    cost: Any, barriers: Any, out: Any, blank: Any, low: Any, high: Any, negative: Any
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
                if math.isnan(v) or (use_barriers and barriers[i, j]):
                    v = np.inf
                out[i, j] = v
                blank[i, j] = np.inf
                if v < lo:
                    lo = v
                if v > hi and v < np.inf:
                    hi = v
        low[b], high[b], negative[b] = lo, hi, neg


_prepare_c = numba.njit(cache=True, parallel=True)(_prepare)


def prepare_cost(
    cost: NDArray[np.floating[Any]] | NDArray[np.integer[Any]],
    barriers: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float, bool]:
    """Return the cost as float64 with NaN and barrier cells ``inf``, in one pass on all cores.

    Also returns a raster of ``inf`` of the same shape for :func:`accumulate_cells` to fill
    (``out``: written in the same pass, so that its pages are first touched on all cores rather
    than by one thread), the cheapest and dearest finite cost (inf and -inf when there is none)
    and whether any cost is negative, which the caller refuses.

    Examples
    --------
    >>> prepared, blank, lo, hi, negative = prepare_cost(
    ...     np.array([[1.0, np.nan], [3.0, 2.0]]), np.array([[False, False], [True, False]]))
    >>> prepared.tolist(), blank.tolist(), lo, hi, negative
    ([[1.0, inf], [inf, 2.0]], [[inf, inf], [inf, inf]], 1.0, 2.0, False)
    """
    cost = np.asarray(cost)
    out = np.empty(cost.shape, dtype=np.float64)
    blank = np.empty(cost.shape, dtype=np.float64)
    blocks = 4 * int(numba.get_num_threads())
    low, high = np.empty(blocks), np.empty(blocks)
    negative = np.zeros(blocks, dtype=bool)
    mask = np.zeros((0, 0), dtype=bool) if barriers is None else np.asarray(barriers, dtype=bool)
    if cost.size:
        _prepare_c(
            np.ascontiguousarray(cost), np.ascontiguousarray(mask), out, blank, low, high, negative
        )
        return out, blank, float(low.min()), float(high.max()), bool(negative.any())
    return out, blank, math.inf, -math.inf, False


def _bucket_width(cost: NDArray[np.float64]) -> tuple[float, int]:
    """Return the bucket width (the cheapest step, or wider) and the number of ring slots."""
    finite = cost[np.isfinite(cost)]
    if finite.size == 0:
        return 1.0, 3
    return _bucket_width_of(float(finite.min()), float(finite.max()))


def _bucket_width_of(cheapest: float, dearest: float) -> tuple[float, int]:
    if not math.isfinite(cheapest):
        return 1.0, 3
    largest_step = dearest * _SQRT2
    if largest_step == 0:
        return 1.0, 3
    delta = max(cheapest, largest_step / _MAX_SLOTS)
    return delta, int(largest_step / delta) + 3


def accumulate_cells(
    cost: NDArray[np.float64],
    starts: NDArray[np.int64],
    stop: NDArray[np.int64] | None = None,
    *,
    cost_range: tuple[float, float] | None = None,
    out: NDArray[np.float64] | None = None,
    came_from: NDArray[np.int8] | None = None,
) -> NDArray[np.float64]:
    """Return the least accumulated cost (cost x cells) from the nearest start to every cell.

    Parameters
    ----------
    cost
        C-contiguous float64 raster, ``>= 0``; ``inf`` cells cannot be entered (NaN must have been
        replaced by ``inf``).
    starts
        Flat indices (``row * cols + col``) of the start cells; each must have a finite cost.
    stop
        Optional flat indices of cells to reach: the search stops once all of them are final,
        leaving cells not yet final with costs that may be too high (or ``inf``).
    cost_range
        The cheapest and dearest finite cost, if known (:func:`prepare_cost` returns them);
        else they are found here.
    out
        Optional float64 raster of ``cost``'s shape, all ``inf``, to hold the result (the blank
        :func:`prepare_cost` returns); else one is allocated.
    came_from
        Optional int8 raster of ``cost``'s shape, all ``-1``, in which the search records the
        step by which each reached cell was last improved (an index into :data:`STEPS`); the cells
        of a least-cost path then follow from :func:`trace_back`. A cell reached on two paths of
        exactly equal cost keeps the first one found.

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
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    acc = np.full(cost.shape, np.inf) if out is None else out
    starts = np.unique(np.asarray(starts, dtype=np.int64))
    if starts.size == 0 or cost.size == 0:
        return acc
    delta, n_slots = _bucket_width(cost) if cost_range is None else _bucket_width_of(*cost_range)
    stop_arr = np.empty(0, np.int64) if stop is None else np.asarray(stop, dtype=np.int64)
    flat_cost = cost.ravel()
    to_reach = int(np.isfinite(flat_cost[stop_arr]).sum()) if stop_arr.size else 0
    cap = max(1 << 12, 4 * starts.size)
    e_cell = np.empty(cap, np.int64)
    e_next = np.empty(cap, np.int64)
    e_acc = np.zeros(cap, np.float64)
    head = np.full(n_slots, -1, np.int64)
    # The starts, queued in bucket 0 as one linked list.
    n = starts.size
    e_cell[:n] = starts
    e_next[: n - 1] = np.arange(1, n)
    e_next[n - 1] = -1
    head[0] = 0
    acc.ravel()[starts] = 0.0
    state = np.array([0, -1, n, n, to_reach], dtype=np.int64)
    record = np.empty(0, np.int8) if came_from is None else came_from.reshape(-1)
    while True:
        _search_c(cost, delta, n_slots, acc, stop_arr, head, e_cell, e_next, e_acc, state, record)
        if state[_QUEUED] == _DONE:
            return acc
        cap *= 2
        e_cell, e_next = np.resize(e_cell, cap), np.resize(e_next, cap)
        e_acc = np.resize(e_acc, cap)


def trace_back(came_from: NDArray[np.int8], end: tuple[int, int]) -> list[tuple[int, int]]:
    """Return the cells ``(row, col)`` of the least-cost path from a start to ``end``.

    ``came_from`` is the raster :func:`accumulate_cells` filled; the path runs from the start
    whose search reached ``end`` (a cell without a recorded step) to ``end``, both included.

    Examples
    --------
    >>> came_from = np.full((2, 3), -1, np.int8)
    >>> cost = np.array([[1.0, 1.0, 1.0], [9.0, 9.0, 1.0]])
    >>> acc = accumulate_cells(cost, np.array([0]), came_from=came_from)
    >>> trace_back(came_from, (1, 2))
    [(0, 0), (0, 1), (1, 2)]
    """
    r, c = int(end[0]), int(end[1])
    cells = [(r, c)]
    for _ in range(came_from.size):
        k = int(came_from[r, c])
        if k < 0:
            return cells[::-1]
        r, c = r - STEPS[k][0], c - STEPS[k][1]
        cells.append((r, c))
    # Unreachable: a step is recorded only when it lowers a cell's cost strictly, and every cell
    # costs at least its recorded predecessor, so following the steps cannot come round again.
    raise RuntimeError("the recorded steps form a cycle")  # pragma: no cover
