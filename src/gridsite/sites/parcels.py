"""Cut campus-sized parcels out of a suitability surface.

A parcel is a square block of k x k cells, all of them suitable (score > 0, not nodata), whose
area is at least the campus area: k = ceil(sqrt(campus_area / cell_area)). Its score is the mean
suitability of its cells. Parcels are picked greedily, best mean first, each at least
``min_spacing_km`` (centre to centre) from those already picked; ties go to the north-western
parcel, so results are deterministic.

How it is computed (the results are bit for bit those of the plain method: one summed-area table
of the whole grid, then the best remaining block, over and over):

- The block sums are those of :func:`window_sums` (float64 cumulative sums down the columns,
  then along the rows), but the table is built only over the bounding box of suitable cells,
  block of rows by block of rows, so its rows stay in cache and no full-grid float64 array is
  made. Outside the box every cell counts 0, so the table's values inside it are exactly those of
  the whole grid's. A row of the table is summed only as far east as a block can still use it.
- A block qualifies when its k x k cells are all suitable, from running ANDs of the suitable
  mask; only qualifying blocks are kept, as (index, mean) pairs.
- The greedy pick visits them in priority order (best mean, then the lowest row-major index) by
  keeping the maximum of every run of candidates, and removes the candidates within the spacing
  of each pick, row by row, from the sorted index, instead of rescanning the grid per pick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

from gridsite.errors import NoCandidateSitesError
from gridsite.geo import RasterGrid, WindowedRaster, ha_to_m2

#: The suitability surface as the parcel search reads it: blocks of rows, ``values[a:b, c:d]``.
Rows: TypeAlias = NDArray[Any] | WindowedRaster

__all__ = ["Parcel", "parcel_size_cells", "pick_parcels", "window_sums"]


@dataclass(frozen=True)
class Parcel:
    """A k x k block of cells: top-left ``row``, ``col``; ``mean_score`` of its cells."""

    row: int
    col: int
    size: int
    mean_score: float


def parcel_size_cells(campus_area_ha: float, resolution_m: float) -> int:
    """Side of the smallest square block of cells whose area is at least ``campus_area_ha``.

    >>> parcel_size_cells(100, 500)   # 100 ha = four 25 ha cells
    2
    >>> parcel_size_cells(100, 2000)  # one 400 ha cell already holds the campus
    1
    """
    cells = ha_to_m2(campus_area_ha) / (resolution_m * resolution_m)
    return max(1, math.ceil(math.sqrt(cells) - 1e-9))


def window_sums(values: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Sum of every k x k window, indexed by its top-left cell; shape ``(rows-k+1, cols-k+1)``.

    Computed with a summed-area table, so the cost does not depend on k.

    >>> window_sums(np.arange(9.0).reshape(3, 3), 2)
    array([[ 8., 12.],
           [20., 24.]])
    """
    sat = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(values, axis=0), axis=1, out=sat[1:, 1:])
    return np.asarray(sat[k:, k:] - sat[:-k, k:] - sat[k:, :-k] + sat[:-k, :-k])


def pick_parcels(
    suitability: NDArray[np.floating] | WindowedRaster,
    grid: RasterGrid,
    *,
    size: int,
    count: int,
    min_spacing_km: float,
    max_candidates: int = 1 << 23,
) -> list[Parcel]:
    """Pick up to ``count`` parcels of ``size`` x ``size`` suitable cells, best mean first.

    Parameters
    ----------
    suitability
        Scores in [0, 1] on ``grid``; 0 (excluded) and NaN (nodata) cells are unsuitable. A numpy
        array, or a raster read by window (:class:`~gridsite.geo.WindowedRaster`, e.g. a file):
        it is read a block of rows at a time.
    grid
        The study grid (metres).
    size
        Parcel side in cells, see :func:`parcel_size_cells`.
    count
        How many parcels at most.
    min_spacing_km
        Smallest distance between parcel centres (km).
    max_candidates
        Memory bound: how many qualifying blocks are kept at once (16 bytes each). When there
        are more, only the best are kept (those at or above a rising cut-off score) and, should
        the pick run out of them before ``count``, the surface is scanned again with four times
        the bound. The picks do not depend on it.

    Raises
    ------
    NoCandidateSitesError
        When not one parcel fits.
    """
    values = suitability
    rows, cols = values.shape
    if size > rows or size > cols:
        raise NoCandidateSitesError(
            f"a campus parcel ({size} x {size} cells) is larger than the study grid {grid.shape}"
        )
    res_km = grid.resolution_m / 1000.0
    radius = min_spacing_km / res_km  # in cells, between top-left corners (= centres)
    picked: list[Parcel] = []
    cap = max(1, int(max_candidates))
    while count > 0:
        cand, cut = _candidates(values, size, cap)
        if cand is None:
            break
        r0, c0 = cand.origin
        picks = _greedy(cand, count=count, radius=radius)
        if len(picks) < count and cut > -math.inf:
            # Blocks below the cut-off were dropped and the pick ran out: they may be needed.
            cap *= 4
            continue
        for j, mean in picks:
            r, c = divmod(int(cand.corner[j]), cand.stride)
            picked.append(Parcel(row=r0 + r, col=c0 + c, size=size, mean_score=mean))
        break
    if not picked:
        raise NoCandidateSitesError(
            f"no block of {size} x {size} suitable cells "
            f"({size * size * grid.cell_area_m2 / 1e4:.0f} ha) exists; relax the "
            "constraints, lower campus_area_ha or use a finer resolution"
        )
    return picked


#: The summed-area table is built this many bytes of rows at a time, so they stay in cache.
_CHUNK_BYTES = 1 << 21
#: Candidates per run in the greedy pick's table of running maxima.
_RUN = 64


class _Candidates(NamedTuple):
    """Blocks whose cells are all suitable, in row-major order.

    ``corner`` is ``row * stride + col`` of each block's top-left cell, rows and columns counted
    from ``origin`` (a cell of the grid); ``mean`` is the block's mean score, followed by -inf up
    to a whole number of runs of ``_RUN`` (the greedy pick uses it in place).
    """

    corner: NDArray[np.int64]
    mean: NDArray[np.float64]
    origin: tuple[int, int]
    stride: int


def _along(a: NDArray[Any], lo: int, hi: int, axis: int) -> NDArray[Any]:
    return a[lo:hi] if axis == 0 else a[:, lo:hi]


def _runs(a: NDArray[Any], k: int, axis: int, op: np.ufunc) -> NDArray[Any]:
    """``op`` (an idempotent reduction: AND, min) over every run of ``k`` entries along ``axis``.

    Doubling: runs of 1, 2, 4, ... entries, then two overlapping runs of the largest power of
    two; about ``2 log2(k)`` passes instead of ``k``.

    >>> _runs(np.array([3, 1, 4, 1, 5, 9, 2]), 3, 0, np.minimum)
    array([1, 1, 1, 1, 2])
    """
    n_out = a.shape[axis] - k + 1
    cur, m = a, 1
    while 2 * m <= k:
        n = cur.shape[axis]
        cur = op(_along(cur, 0, n - m, axis), _along(cur, m, n, axis))
        m *= 2
    if m == k:
        return _along(cur, 0, n_out, axis)
    return np.asarray(op(_along(cur, 0, n_out, axis), _along(cur, k - m, k - m + n_out, axis)))


def _extent(values: Rows) -> tuple[int, int, int, int, NDArray[np.int64]] | None:
    """Return the box around the cells scoring above 0, and how far east each box row reaches.

    The box is ``(r0, r1, c0, c1)``; for each of its rows, a column (of the box) at or past the
    row's last such cell, -1 if it has none: the last one over a few rows at a time, hardly
    looser than each row's own and without a backwards scan of every row. NaN compares False;
    +inf only widens the box.
    """
    rows, cols = values.shape
    step = max(1, _CHUNK_BYTES // (16 * cols))
    last = np.full(rows, -1, dtype=np.int64)
    col_any = np.zeros(cols, dtype=bool)
    for a in range(0, rows, step):
        pos = values[a : a + step, 0:cols] > 0
        here = np.flatnonzero(pos.any(axis=0))
        if here.size:
            col_any[here] = True
            last[a : a + step] = np.where(pos.any(axis=1), here[-1], -1)
    in_rows = np.flatnonzero(last >= 0)
    if in_rows.size == 0:
        return None
    in_cols = np.flatnonzero(col_any)
    r0, r1 = int(in_rows[0]), int(in_rows[-1]) + 1
    c0, c1 = int(in_cols[0]), int(in_cols[-1]) + 1
    box_last = last[r0:r1]
    return r0, r1, c0, c1, np.where(box_last >= 0, box_last - c0, -1)


def _candidates(values: Rows, k: int, cap: int) -> tuple[_Candidates | None, float]:
    """Every k x k block of suitable cells and its mean, as :func:`window_sums` computes it.

    At most about ``cap`` blocks are held: past that, a cut-off rises to the median mean of
    those held and blocks below it are dropped. Returns the blocks at or above the final
    cut-off (all of them, in row-major order) and the cut-off (-inf when nothing was dropped).
    """
    extent = _extent(values)
    if extent is None:
        return None, -math.inf
    r0, r1, c0, c1, last = extent
    h, w = r1 - r0, c1 - c0
    if h < k or w < k:
        return None, -math.inf
    # Row j of the summed-area table is read at the corners of blocks whose top row is j or
    # j - k; a block ends at or before the last suitable column of each of its rows, so the
    # table row is needed only up to column need[j] (0: not at all).
    east = _runs(last, k, 0, np.minimum) + 1
    need = np.zeros(h + 1, dtype=np.int64)
    need[: h - k + 1] = east
    np.maximum(need[k:], east, out=need[k:])
    stride = w + 1  # the table has a leading column of zeros
    step = max(1, _CHUNK_BYTES // (8 * stride))
    # table[i] holds row base + i of the table; rows before the first are zeros
    table = np.zeros((k + step, stride))
    flat = table.ravel()
    # corners of a block whose north-west corner is flat[t]: south-east, north-east, south-west
    se, ne, sw = flat[k * stride + k :], flat[k:], flat[k * stride :]
    runs = np.zeros((k - 1 + step, w - k + 1), dtype=bool)  # rows base .. of k-long east runs
    valid = np.zeros((step, stride), dtype=bool)
    col_sums = np.zeros(w)
    x = np.empty((step, w))
    index: list[NDArray[np.int64]] = []
    mean: list[NDArray[np.float64]] = []
    held, cut, limit = 0, -math.inf, cap
    base = 1 - k
    for a in range(0, h, step):
        n = min(step, h - a)
        block = np.asarray(values[r0 + a : r0 + a + n, c0:c1])
        ok = block > 0
        xv = x[:n]
        _column_sums(block, col_sums, xv)
        if np.isinf(xv[n - 1]).any():  # +inf scores above 0 but is not suitable either: redo
            ok &= block < np.inf
            _column_sums(block, col_sums, xv, where=ok)
        # the additions of np.cumsum along the rows, in their order, as far as they are read
        for i in range(n):
            m = int(need[a + i + 1])
            if m > 0:
                np.add.accumulate(xv[i, :m], out=table[k + i, 1 : m + 1])
        col_sums = xv[n - 1].copy()
        runs[k - 1 : k - 1 + n] = _runs(ok, k, 1, np.logical_and)
        top = valid[:n]
        top[:, : w - k + 1] = _runs(runs[: k - 1 + n], k, 0, np.logical_and)
        t = np.flatnonzero(top)
        if t.size:
            sums = se.take(t)
            sums -= ne.take(t)
            sums -= sw.take(t)
            sums += flat.take(t)
            sums /= k * k
            if cut > -math.inf:
                keep = sums >= cut
                sums, t = sums[keep], t[keep]
            mean.append(sums)
            index.append(t + base * stride)
            held += t.size
            if held > limit:
                index, mean, cut = _raise_cut(index, mean)
                held = index[0].size
                limit = max(cap, 2 * held)  # many ties at the cut: do not raise it every block
        table[:k] = table[n : n + k]
        runs[: k - 1] = runs[n : n + k - 1]
        base += n
    n = sum(t.size for t in index)
    if n == 0:
        return None, cut
    mean.append(np.full(-n % _RUN, -np.inf))
    return _Candidates(np.concatenate(index), np.concatenate(mean), (r0, c0), stride), cut


def _raise_cut(
    index: list[NDArray[np.int64]], mean: list[NDArray[np.float64]]
) -> tuple[list[NDArray[np.int64]], list[NDArray[np.float64]], float]:
    """Keep the blocks at or above the median mean; return them (one array each) and the cut."""
    all_index, all_mean = np.concatenate(index), np.concatenate(mean)
    cut = float(np.partition(all_mean, all_mean.size // 2)[all_mean.size // 2])
    keep = all_mean >= cut
    return [all_index[keep]], [all_mean[keep]], cut


def _column_sums(
    block: NDArray[Any],
    above: NDArray[np.float64],
    out: NDArray[np.float64],
    where: NDArray[np.bool_] | None = None,
) -> None:
    """Sum ``max(block, 0)`` (NaN: 0) down the columns, starting from ``above``, into ``out``.

    The additions of ``np.cumsum(axis=0)``, in its order; cells outside ``where`` count 0.
    """
    np.fmax(block, 0.0, out=out)
    if where is not None:
        out[~where] = 0.0
    prev = above
    for i in range(out.shape[0]):
        np.add(prev, out[i], out=out[i])
        prev = out[i]


def _half_widths(radius: float, max_rows: int, max_cols: int) -> NDArray[np.int64]:
    """Return, for each row offset ``dr`` in ``-d..d``, the widest ``dc`` in the disk.

    That is the largest ``dc`` with ``dr**2 + dc**2 < radius**2`` (-1: none), compared as the
    plain method compares them (integers against a float).
    """
    if not radius > 0:
        return np.zeros(1, dtype=np.int64)  # only the pick itself
    rr = radius * radius
    d = max_rows if radius >= max_rows else int(radius) + 1
    dr = np.arange(-d, d + 1, dtype=np.int64)
    dr2 = dr * dr
    wf = np.floor(np.sqrt(np.maximum(rr - dr2, 0.0)))
    w = np.minimum(wf, max_cols).astype(np.int64)
    while True:  # sqrt may be one off either way
        out = (w >= 0) & ~(dr2 + w * w < rr)
        if not out.any():
            break
        w[out] -= 1
    while True:
        more = (w < max_cols) & (dr2 + (w + 1) * (w + 1) < rr)
        if not more.any():
            break
        w[more] += 1
    return np.asarray(w, dtype=np.int64)


def _greedy(cand: _Candidates, *, count: int, radius: float) -> list[tuple[int, float]]:
    """Positions in ``cand`` of the picks and their means, in pick order; uses up ``cand.mean``.

    The best remaining candidate is the first maximum (lowest index among ties) found through the
    maxima of runs of ``_RUN`` candidates; a pick removes every candidate within ``radius`` (cells,
    ``dr**2 + dc**2 < radius**2``) row by row, each row's span found by binary search, and the
    maxima of the runs it touched are taken again.
    """
    index, stride, live = cand.corner, cand.stride, cand.mean
    by_run = live.reshape(-1, _RUN)
    best = by_run.max(axis=1)
    half = _half_widths(radius, int(index[-1]) // stride + 1, stride)
    d = (half.size - 1) // 2
    keep = half >= 0
    dr, half = np.arange(-d, d + 1)[keep], half[keep]
    # slice copies between memoryviews cost a fraction of NumPy slice assignments
    cleared, gone = live.data, np.full(stride, -np.inf).data
    picks: list[tuple[int, float]] = []
    while len(picks) < count:
        b = int(np.argmax(best))
        if best[b] == -np.inf:
            break
        j = b * _RUN + int(np.argmax(by_run[b]))
        picks.append((j, float(live[j])))
        r, c = divmod(int(index[j]), stride)
        row_keys = (r + dr) * stride
        lo_keys = row_keys + np.maximum(c - half, 0)
        hi_keys = row_keys + np.minimum(c + half, stride - 1)
        b0 = int(np.searchsorted(index, lo_keys[0]))
        b1 = int(np.searchsorted(index, hi_keys[-1], side="right"))
        band = index[b0:b1]
        lo = b0 + np.searchsorted(band, lo_keys)
        hi = b0 + np.searchsorted(band, hi_keys, side="right")
        some = hi > lo
        lo, hi = lo[some], hi[some]
        for x, y in zip(lo.tolist(), hi.tolist(), strict=True):
            cleared[x:y] = gone[: y - x]
        live[j] = -np.inf
        # the runs the spans touched (a run shared by two spans comes twice), and the pick's
        first, n_runs = lo // _RUN, (hi - 1) // _RUN - lo // _RUN + 1
        runs = np.repeat(first - np.cumsum(n_runs) + n_runs, n_runs) + np.arange(n_runs.sum())
        runs = np.append(runs, b)
        best[runs] = by_run[runs].max(axis=1)
    return picks
