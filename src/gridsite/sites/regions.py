"""Locate contiguous campus regions on a suitability surface by seeded region growing.

This is an open equivalent of ArcGIS Spatial Analyst's *Locate Regions* tool, which is the model:
it finds a number of contiguous regions of cells, each between a minimum and a maximum area, a
minimum distance apart, trading shape against utility, and ranks them by the mean or the sum of
suitability. Sites are campus-shaped parcels, not single cells, and unlike the square blocks of
:mod:`gridsite.sites.parcels` a region follows the shape of the good land.

Method
------
1. **Suitable cells** are those with a finite score above 0; 0 (excluded) and NaN (nodata) cells
   are never part of a region.
2. **Seeds.** The area bounds become cell counts (``min_cells`` = ceil, ``max_cells`` = floor of
   area / cell area). The focal mean of suitability (unsuitable cells and cells beyond the grid
   count as 0) is taken over square windows of side ``2h >= sqrt(min_cells)`` on a lattice of
   stride ``h``, i.e. half-overlapping windows, from one vectorised block sum (a full-resolution
   ``uniform_filter`` + ``maximum_filter`` costs 10x more on an 11 M-cell grid for no better
   seeds). Windows that are local maxima of that focal mean (not smaller than any of their eight
   lattice neighbours) are taken first, best first, then, only if more regions are still wanted,
   every other window with a positive mean, best first; ties go to the north-western window. A
   window's seed is its free cell (suitable, not taken, not blocked) with the best focal mean
   over a ``k x k`` square of free cells (``k = ceil(sqrt(min_cells))``, computed on the window's
   neighbourhood only; ties: the lowest cell index), and the window is seeded again until it
   holds no free cell. So the search is
   exhaustive: when fewer than ``count`` regions are found, no 4-connected patch of
   ``min_cells`` free cells is left anywhere. Explicit ``seed_candidates`` replace this step and
   are taken once each, in the order given.
3. **Growth.** From a seed, a region grows one cell at a time by adding the best cell
   4-connected to it (sharing an edge) that is suitable and not taken or blocked, from a priority
   queue keyed by ``(1 - compactness) * score - compactness * d / d_max`` where ``d`` is the
   cell's distance from the seed (Euclidean for ``shape="circle"``, Chebyshev for ``"square"``)
   and ``d_max`` the radius (half-side) of that shape at ``max_cells``; ``shape="free"`` ignores
   ``compactness`` and keys on the score alone. ``compactness`` is ArcGIS's shape/utility
   trade-off: 0 is pure utility, 1 pure shape. Ties go to the lowest cell index, so the result is
   deterministic. Below ``min_cells`` every candidate is added; from ``min_cells`` on, with
   ``evaluate="mean"`` the next cell is added only if its score is at least the region's current
   mean (so the mean never falls once the minimum area is reached), with ``evaluate="sum"`` every
   suitable cell adds to the sum and growth goes on; never beyond ``max_cells``. A seed whose
   reachable cells cannot make ``min_cells`` is discarded, and its cells with it: no later seed
   could do better there.
4. **Spacing.** ``min_spacing_km`` is measured between region edges: the shortest distance
   between the cell boundaries (polygons) of two regions. Once a region is accepted, its cells and
   every cell whose gap to it is below ``min_spacing_km`` are blocked (the region dilated by one
   cell, then by a disk, row by row), so later regions neither overlap it nor come closer. With
   ``min_spacing_km = 0`` regions may touch but not overlap.
5. Regions are accepted greedily in seed order until ``count`` are found, then returned best
   first by their evaluation (mean or sum of scores); ties keep the acceptance order.

The work is sized to the regions, not the grid, but for one pass over the raster: the block sums
of step 2 (a block of rows at a time, shared among threads, with the very additions, in the same
order, of a NumPy reshape-and-sum), so the grid is never copied. The mask of taken cells starts
as lazily mapped zeros, and only the neighbourhoods of regions are ever written.

If not one region reaches the minimum area, :class:`~gridsite.errors.NoCandidateSitesError` is
raised (as by :func:`~gridsite.sites.parcels.pick_parcels`); fewer than ``count`` regions is not an
error.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import ndimage

from gridsite.errors import NoCandidateSitesError
from gridsite.geo import RasterGrid, ha_to_m2

__all__ = ["Region", "locate_regions", "regions_to_labels", "regions_to_polygons"]

log = logging.getLogger(__name__)

Shape = Literal["circle", "square", "free"]
Evaluate = Literal["mean", "sum"]


@dataclass(frozen=True, eq=False)
class Region:
    """One contiguous (4-connected) region of suitable cells.

    Attributes
    ----------
    rows, cols
        Row and column indices of the region's cells on the grid, in the order they were added
        (the seed first).
    area_ha
        Area of the cells (ha).
    mean_score, sum_score
        Mean and sum of the cells' suitability.
    centroid_row, centroid_col
        Mean row and column index of the cells (cell units; a cell's centre is its index).
    x_m, y_m
        The centroid in the grid CRS (metres, x east, y north).
    """

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    area_ha: float
    mean_score: float
    sum_score: float
    centroid_row: float
    centroid_col: float
    x_m: float
    y_m: float

    @property
    def n_cells(self) -> int:
        """Number of cells in the region."""
        return int(self.rows.size)

    @property
    def seed(self) -> tuple[int, int]:
        """``(row, col)`` of the cell the region grew from."""
        return int(self.rows[0]), int(self.cols[0])

    def to_polygon(self, grid: RasterGrid) -> shapely.Polygon:
        """Return the union of the region's cells as a polygon in ``grid.crs`` (metres).

        A 4-connected region is always a single polygon (possibly with holes).
        """
        res = grid.resolution_m
        x0 = grid.transform.c + self.cols * res
        y1 = grid.transform.f - self.rows * res
        boxes = shapely.box(x0, y1 - res, x0 + res, y1)
        geom = shapely.coverage_union_all(boxes)
        if not isinstance(geom, shapely.Polygon):  # pragma: no cover - contiguity guarantees it
            raise AssertionError(f"region cells form a {geom.geom_type}, not one polygon")
        return geom


def regions_to_polygons(regions: Sequence[Region], grid: RasterGrid) -> list[shapely.Polygon]:
    """Return each region's cells as one polygon in ``grid.crs`` (metres), in the given order."""
    return [r.to_polygon(grid) for r in regions]


def regions_to_labels(regions: Sequence[Region], shape: tuple[int, int]) -> NDArray[np.int32]:
    """Return a label raster of ``shape``: 0 outside every region, ``i + 1`` in ``regions[i]``.

    >>> r = Region(np.array([0, 0]), np.array([1, 2]), 2.0, 0.5, 1.0, 0.0, 1.5, 0.0, 0.0)
    >>> regions_to_labels([r], (2, 3))
    array([[0, 1, 1],
           [0, 0, 0]], dtype=int32)
    """
    labels = np.zeros(shape, dtype=np.int32)
    for i, r in enumerate(regions):
        labels[r.rows, r.cols] = i + 1
    return labels


def _area_cells(area_ha: float, cell_area_m2: float, *, up: bool) -> int:
    cells = ha_to_m2(area_ha) / cell_area_m2
    return math.ceil(cells - 1e-9) if up else math.floor(cells + 1e-9)


def _check_args(
    suitability: NDArray[np.floating],
    grid: RasterGrid,
    count: int,
    min_area_ha: float,
    max_area_ha: float,
    min_spacing_km: float,
    shape: str,
    compactness: float,
    evaluate: str,
) -> tuple[int, int]:
    problems = []
    if suitability.ndim != 2 or suitability.shape != grid.shape:
        problems.append(f"suitability has shape {suitability.shape}, the grid {grid.shape}")
    if count < 1:
        problems.append(f"count must be at least 1, got {count}")
    if not (min_area_ha > 0 and math.isfinite(min_area_ha)):
        problems.append(f"min_area_ha must be a positive number, got {min_area_ha!r}")
    if not (min_spacing_km >= 0 and math.isfinite(min_spacing_km)):
        problems.append(f"min_spacing_km must be 0 or more, got {min_spacing_km!r}")
    if shape not in ("circle", "square", "free"):
        problems.append(f"shape must be 'circle', 'square' or 'free', got {shape!r}")
    if not 0.0 <= compactness <= 1.0:
        problems.append(f"compactness must be in [0, 1], got {compactness!r}")
    if evaluate not in ("mean", "sum"):
        problems.append(f"evaluate must be 'mean' or 'sum', got {evaluate!r}")
    min_cells = max_cells = 0
    if not problems:
        min_cells = max(1, _area_cells(min_area_ha, grid.cell_area_m2, up=True))
        max_cells = _area_cells(max_area_ha, grid.cell_area_m2, up=False)
        if max_cells < min_cells:
            problems.append(
                f"max_area_ha ({max_area_ha} ha) holds {max_cells} whole cells of "
                f"{grid.cell_area_m2 / 1e4:g} ha, fewer than min_area_ha ({min_area_ha} ha, "
                f"{min_cells} cells); raise max_area_ha"
            )
    if problems:
        raise ValueError("locate_regions: " + "; ".join(problems))
    return min_cells, max_cells


#: Rows of the seed pass are summed this many bytes at a time, so they stay in cache.
_CHUNK_BYTES = 1 << 20
#: The smallest positive float64.
_TINY = np.nextafter(0.0, 1.0)


def _thread_count() -> int:
    """Threads for the seed pass: the cores, up to 4 (it is bound by memory beyond that)."""
    return min(4, os.cpu_count() or 1)


def _in_parts(n: int, min_part: int, work: Callable[[int, int], None]) -> None:
    """Run ``work(lo, hi)`` over ``[0, n)`` cut in parts of at least ``min_part``, in threads.

    NumPy releases the GIL in its loops over arrays, so the parts run side by side.
    """
    n_parts = min(_thread_count(), n // max(1, min_part))
    if n_parts <= 1:
        work(0, n)
        return
    step = -(-n // n_parts)
    with ThreadPoolExecutor(n_parts) as pool:
        for done in [pool.submit(work, lo, min(n, lo + step)) for lo in range(0, n, step)]:
            done.result()


def _block_sums(values: NDArray[np.float32], h: int) -> NDArray[np.float64]:
    """Sum of every h x h block of ``max(values, 0)`` (NaN counts 0; the grid is padded with 0).

    Equal, bit for bit (but for the sign of a zero), to ``padded.reshape(nbr, h, nbc * h)
    .sum(axis=1, dtype=np.float64).reshape(nbr, nbc, h).sum(2)``: NumPy reduces the middle axis
    row after row, and the last axis element after element below 8 elements, and from 8 to 128
    elements in eight interleaved partial sums added pairwise, then the rest one by one (its
    ``pairwise_sum``). Done here by a compiled loop over blocks of rows on all cores, without
    padding or copying the grid; blocks wider than 128 cells take NumPy's own sums.
    """
    rows, cols = values.shape
    nbr, nbc = -(-rows // h), -(-cols // h)
    out = np.empty((nbr, nbc))
    if h > 128:  # NumPy splits longer sums in halves first: use it as it is
        padded = np.zeros((nbr * h, nbc * h), dtype=np.float32)
        np.fmax(values, np.float32(0.0), out=padded[:rows, :cols])
        by_col = padded.reshape(nbr, h, nbc * h).sum(axis=1, dtype=np.float64)
        by_col.reshape(nbr, nbc, h).sum(axis=2, out=out)
        return out
    _block_sums_c(np.ascontiguousarray(values, dtype=np.float32), h, out)
    return out


def _block_sums_kernel(values: Any, h: int, out: Any) -> None:  # pragma: no cover - compiled
    rows, cols = values.shape
    nbr, nbc = out.shape
    for bi in numba.prange(nbr):
        col = np.zeros(nbc * h)  # float64 column sums of the block row, padding columns 0
        for i in range(h):
            r = bi * h + i
            if r >= rows:
                continue  # a padding row adds 0
            for c in range(cols):
                v = values[r, c]
                x = np.float64(v) if v > 0 else 0.0  # fmax(v, 0): NaN and negatives count 0
                if i == 0:
                    col[c] = x
                else:
                    col[c] += x
        for bj in range(nbc):
            k0 = bj * h
            if h < 8:
                total = col[k0]
                for k in range(1, h):
                    total += col[k0 + k]
            else:
                r0, r1, r2, r3 = col[k0], col[k0 + 1], col[k0 + 2], col[k0 + 3]
                r4, r5, r6, r7 = col[k0 + 4], col[k0 + 5], col[k0 + 6], col[k0 + 7]
                k = 8
                while k < h - h % 8:
                    r0 += col[k0 + k]
                    r1 += col[k0 + k + 1]
                    r2 += col[k0 + k + 2]
                    r3 += col[k0 + k + 3]
                    r4 += col[k0 + k + 4]
                    r5 += col[k0 + k + 5]
                    r6 += col[k0 + k + 6]
                    r7 += col[k0 + k + 7]
                    k += 8
                total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
                while k < h:
                    total += col[k0 + k]
                    k += 1
            out[bi, bj] = total


_block_sums_c = numba.njit(cache=True, nogil=True, parallel=True)(_block_sums_kernel)


def _window_totals(blocks: NDArray[np.float64], wr: int, wc: int) -> NDArray[np.float64]:
    """Return the sum of every ``wr`` x ``wc`` window of blocks (the plain way)."""
    nbr, nbc = blocks.shape
    focal = np.zeros((nbr - wr + 1, nbc - wc + 1))
    for i in range(wr):
        for j in range(wc):
            focal += blocks[i : i + nbr - wr + 1, j : j + nbc - wc + 1]
    return focal


def _peaks(
    blocks: NDArray[np.float64], wr: int, wc: int
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Return the windows that are peaks (flat indices, ascending) and their sums.

    The sums are those of :func:`_window_totals`, the additions of ``focal = 0; focal +=
    blocks[i:, j:]`` block by block in row-major order (``0 + x`` is ``x``, but for the sign of a
    zero sum, which no comparison sees). Peaks are positive windows not below any of their eight
    neighbours (none beyond the edge): ``focal >= ndimage.maximum_filter(focal, 3,
    mode="constant", cval=-inf)`` and ``focal > 0``, from two 3-wide maxima. Only the windows
    that reach a positive block are summed (the others sum to 0, and a positive window's
    neighbours of 0 never decide whether it is a peak), a strip of rows at a time in reused
    buffers, the strips shared among threads, and only the peaks are kept.
    """
    nbr, nbc = blocks.shape
    fc = nbc - wc + 1
    none = np.empty(0, dtype=np.intp), np.empty(0)
    in_r = np.flatnonzero(blocks.max(axis=1) > 0)
    if in_r.size == 0:
        return none
    in_c = np.flatnonzero(blocks.max(axis=0) > 0)
    # windows [r0, r1) x [c0, c1) hold every positive block
    r0, r1 = max(0, int(in_r[0]) - wr + 1), min(nbr - wr + 1, int(in_r[-1]) + 1)
    c0, c1 = max(0, int(in_c[0]) - wc + 1), min(fc, int(in_c[-1]) + 1)
    n_r, n_c = r1 - r0, c1 - c0
    step = max(1, _CHUNK_BYTES // (2 * 8 * (n_c + 2)))
    found: dict[int, tuple[NDArray[np.intp], NDArray[np.float64]]] = {}

    def part(lo_row: int, hi_row: int) -> None:
        # focal rows a - 1 .. b of a strip [a, b), between columns of -inf
        edge = np.full((step + 2, n_c + 2), -np.inf)
        across = np.empty((step + 2, n_c))
        peak = np.empty((step, n_c))
        is_max = np.empty((step, n_c), dtype=bool)
        for a in range(lo_row, hi_row, step):
            b = min(hi_row, a + step)
            n = b - a
            e, ac, p, m = edge[: n + 2], across[: n + 2], peak[:n], is_max[:n]
            lo, hi = max(0, a - 1), min(n_r, b + 1)  # the rows before and after: summed again
            e[0, 1:-1] = -np.inf
            e[n + 1, 1:-1] = -np.inf
            f = e[lo - a + 1 : hi - a + 1, 1:-1]
            terms = [
                blocks[r0 + lo + i : r0 + hi + i, c0 + j : c1 + j]
                for i in range(wr)
                for j in range(wc)
            ]
            if len(terms) == 1:
                np.copyto(f, terms[0])
            else:
                np.add(terms[0], terms[1], out=f)
            for t in terms[2:]:
                f += t
            np.maximum(e[:, :-2], e[:, 1:-1], out=ac)
            np.maximum(ac, e[:, 2:], out=ac)
            np.maximum(ac[:-2], ac[1:-1], out=p)
            np.maximum(p, ac[2:], out=p)
            # mid >= p and mid > 0, as one comparison: the smallest positive double is below
            # every positive sum and above every other
            np.maximum(p, _TINY, out=p)
            mid = e[1 : n + 1, 1:-1]
            np.greater_equal(mid, p, out=m)
            rr, cc = np.nonzero(m)
            found[a] = ((r0 + a + rr) * fc + c0 + cc, mid[rr, cc])

    _in_parts(n_r, 4 * step, part)
    parts = [found[a] for a in sorted(found)]
    return np.concatenate([i for i, _ in parts]), np.concatenate([v for _, v in parts])


def _window_seeds(
    values: NDArray[np.float32], min_cells: int
) -> tuple[Iterator[tuple[int, int, int, int]], int]:
    """Yield seed windows ``(r0, r1, c0, c1)``: local maxima of the focal mean, then the rest.

    Returns the iterator and ``k``, the side of a square of ``min_cells`` (cells).
    """
    rows, cols = values.shape
    k = math.ceil(math.sqrt(min_cells) - 1e-9)
    h = max(1, math.ceil(k / 2))
    # One pass over the raster, no summed-area table.
    blocks = _block_sums(values, h)
    nbr, nbc = blocks.shape
    wr, wc = min(2, nbr), min(2, nbc)  # windows of 2 x 2 blocks, or 1 where the grid is thinner
    peak_at, peak_sum = _peaks(blocks, wr, wc)
    fc = nbc - wc + 1

    def rest() -> NDArray[np.intp]:
        # only if the peaks run out: every other positive window, from the plain sums
        focal = _window_totals(blocks, wr, wc)
        positive = focal > 0
        positive.flat[peak_at] = False
        idx = np.flatnonzero(positive)
        return np.asarray(idx[np.argsort(-focal.flat[idx], kind="stable")])

    def windows() -> Iterator[tuple[int, int, int, int]]:
        first = np.asarray(peak_at[np.argsort(-peak_sum, kind="stable")])
        for order in (first, None):
            for w in rest() if order is None else order:
                i, j = divmod(int(w), fc)
                yield i * h, min(rows, (i + wr) * h), j * h, min(cols, (j + wc) * h)

    return windows(), k


def _seed_in_window(
    values: NDArray[np.float32],
    taken: NDArray[np.bool_],
    window: tuple[int, int, int, int],
    k: int,
) -> int | None:
    """Return the flat index of the window's free cell with the best k x k focal mean, if any.

    A cell is free when it is suitable (score above 0) and not ``taken`` (by a region, its
    spacing, or a patch too small). The focal mean counts other cells as 0, so a seed sits in
    the middle of the free land left, not at the edge of a plateau.
    """
    r0, r1, c0, c1 = window
    here = taken[r0:r1, c0:c1]
    if here.all():  # the usual way a window runs out: a region and its spacing cover it
        return None
    free = values[r0:r1, c0:c1] > 0
    free &= ~here
    if not free.any():
        return None
    rows, cols = values.shape
    pr0, pr1 = max(0, r0 - k), min(rows, r1 + k)
    pc0, pc1 = max(0, c0 - k), min(cols, c1 + k)
    near = values[pr0:pr1, pc0:pc1]
    patch = np.where((near > 0) & ~taken[pr0:pr1, pc0:pc1], near.astype(np.float64), 0.0)
    focal = ndimage.uniform_filter(patch, size=k, mode="constant")[
        r0 - pr0 : r1 - pr0, c0 - pc0 : c1 - pc0
    ]
    best = int(np.argmax(np.where(free, focal, -1.0)))  # first maximum: ties go north-west
    br, bc = divmod(best, c1 - c0)
    return int((r0 + br) * cols + c0 + bc)


class _Grower:
    """Seeded region growth on flat arrays; reads the ``taken`` mask shared by all regions."""

    def __init__(
        self,
        values: NDArray[np.float32],
        taken: NDArray[np.bool_],
        *,
        min_cells: int,
        max_cells: int,
        shape: Shape,
        compactness: float,
        evaluate: Evaluate,
    ) -> None:
        self.rows, self.cols = values.shape
        # memoryviews: indexing one gives a Python float or bool, several times faster than
        # indexing the array, and they see later writes to ``taken``
        self.values = np.ascontiguousarray(values).reshape(-1).data
        self.taken = taken.reshape(-1).data
        self.min_cells, self.max_cells = min_cells, max_cells
        self.shape = shape
        self.c = 0.0 if shape == "free" else compactness
        # radius (circle) or half-side (square) of the shape holding max_cells
        half = math.sqrt(max_cells / math.pi) if shape == "circle" else math.sqrt(max_cells) / 2
        self.d_max = max(half, 0.5)
        self.mean_rule = evaluate == "mean"

    def key(self, r: int, c: int, value: float, sr: int, sc: int) -> float:
        """Heap key of cell ``(r, c)`` with score ``value`` in a region seeded at ``(sr, sc)``."""
        if self.c == 0.0:
            return -value
        if self.shape == "circle":
            d = math.hypot(r - sr, c - sc)
        else:
            d = float(max(abs(r - sr), abs(c - sc)))
        return -((1.0 - self.c) * value - self.c * d / self.d_max)

    def grow(self, seed: int) -> tuple[list[int], float, bool]:
        """Grow from ``seed``; return the cells, their sum, and whether min_cells was reached.

        When it was not, the cells returned are every cell reachable from the seed.
        """
        values, taken, ncols, nrows = self.values, self.taken, self.cols, self.rows
        min_cells, max_cells, mean_rule = self.min_cells, self.max_cells, self.mean_rule
        push, pop, hypot = heapq.heappush, heapq.heappop, math.hypot
        # self.key, inlined: the same operations in the same order
        cw, uw, d_max = self.c, 1.0 - self.c, self.d_max
        plain, circle = cw == 0.0, self.shape == "circle"
        sr, sc = divmod(seed, ncols)
        seen = {seed}
        value: float = values[seed]
        # (key, cell, score, row, col): cells are unique, so the score is never compared
        heap = [(self.key(sr, sc, value, sr, sc), seed, value, sr, sc)]
        region: list[int] = []
        total = 0.0
        while heap and len(region) < max_cells:
            _, idx, value, r, c = heap[0]
            if mean_rule and len(region) >= min_cells and value < total / len(region):
                break
            pop(heap)
            region.append(idx)
            total += value
            for nb, nr, nc, ok in (
                (idx - ncols, r - 1, c, r > 0),
                (idx - 1, r, c - 1, c > 0),
                (idx + 1, r, c + 1, c < ncols - 1),
                (idx + ncols, r + 1, c, r < nrows - 1),
            ):
                if ok and nb not in seen:
                    v: float = values[nb]
                    if v > 0 and not taken[nb]:
                        seen.add(nb)
                        k: float
                        if plain:
                            k = -v
                        else:
                            d = (
                                hypot(nr - sr, nc - sc)
                                if circle
                                else float(max(abs(nr - sr), abs(nc - sc)))
                            )
                            k = -(uw * v - cw * d / d_max)
                        push(heap, (k, nb, v, nr, nc))
        if len(region) < min_cells:
            return sorted(seen), total, False
        return region, total, True


def _spacing_kernel(gap_cells: float) -> NDArray[np.int64]:
    """Return the half-widths of the cells within ``gap_cells`` of a cell's square, by row.

    The gap between two cells' squares equals the distance between the centre of one and the
    nearest centre of the other's 3 x 3 neighbourhood, so the cells closer than ``gap_cells`` to
    a cell's square are its 3 x 3 neighbourhood widened by an open disk: on a row ``dy`` away
    from a neighbourhood cell, up to ``w`` columns away, ``w`` the largest integer with
    ``w**2 + dy**2 < gap_cells**2``. Entry ``kernel.size // 2 + dy`` is the half-width on row
    offset ``dy`` (``1 +`` the widest ``w`` of rows ``dy - 1 .. dy + 1``); -1 where the kernel
    misses the row, as on the first and last entries.

    >>> _spacing_kernel(1.5)  # a 3 x 3 disk around a 3 x 3 neighbourhood: 5 x 5 cells
    array([-1,  2,  2,  2,  2,  2, -1])
    """
    reach = math.ceil(gap_cells)
    dy = np.arange(-reach, reach + 1)
    slack = gap_cells * gap_cells - dy.astype(np.float64) ** 2 - 1e-9
    disk = np.full(dy.size + 2, -1, dtype=np.int64)  # padded by one row each side
    disk[1:-1][slack > 0] = np.ceil(np.sqrt(slack[slack > 0])).astype(np.int64) - 1
    widest = np.maximum(np.maximum(disk[:-2], disk[1:-1]), disk[2:])
    return np.pad(np.where(widest >= 0, widest + 1, -1), 1, constant_values=-1)


def _block_around(
    taken: NDArray[np.bool_],
    rr: NDArray[np.int64],
    cc: NDArray[np.int64],
    kernel: NDArray[np.int64] | None,
) -> None:
    """Take the region's cells and every cell whose edge gap to them is below the spacing.

    ``kernel`` is :func:`_spacing_kernel` of the spacing (cells; None: no spacing). It is
    applied to the region's row runs: a run ``[a, b]`` on row ``r`` takes ``[a - w, b + w]`` on
    row ``r + dy``, ``w`` the kernel's half-width there; on each row the spans of all runs are
    merged and written as slices. This is exact, and much cheaper than a distance transform.
    """
    taken[rr, cc] = True
    if kernel is None:
        return
    rows = taken.shape[0]
    # the region's row runs, from its bounding box with a column of margin each side
    lr0, lc0 = int(rr.min()), int(cc.min())
    local = np.zeros((int(rr.max()) - lr0 + 1, int(cc.max()) - lc0 + 3), dtype=np.int8)
    local[rr - lr0, cc - lc0 + 1] = 1
    edges = np.diff(local, axis=1)
    run_r, run_a = np.nonzero(edges == 1)  # rows from lr0
    _, run_b = np.nonzero(edges == -1)  # same row-major order as the starts
    run_a, run_b = run_a + lc0, run_b + lc0 - 1
    reach = kernel.size // 2
    t0, t1 = max(0, lr0 - reach), min(rows, int(rr.max()) + reach + 1)
    _take_spans_c(taken, run_r + lr0, run_a, run_b, kernel, t0, t1)


def _take_spans(
    taken: Any, run_r: Any, run_a: Any, run_b: Any, kernel: Any, t0: int, t1: int
) -> None:  # pragma: no cover - compiled
    """On each row ``t0 .. t1 - 1``, take the union of the runs' spans widened by the kernel.

    Run ``k`` (row ``run_r[k]``, columns ``run_a[k] .. run_b[k]``) spans ``[a - w, b + w]`` on row
    ``t``, ``w = kernel[reach + t - run_r[k]]`` (no span where that is -1 or off the kernel); the
    spans of a row are sorted by start, merged where they touch, clipped to the grid, written.
    """
    cols = taken.shape[1]
    reach = kernel.shape[0] // 2
    n = run_r.shape[0]
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    for t in range(t0, t1):
        m = 0
        for k in range(n):
            at = reach + t - run_r[k]
            if at < 0 or at >= kernel.shape[0] or kernel[at] < 0:
                continue
            a, b = run_a[k] - kernel[at], run_b[k] + kernel[at]
            j = m  # insertion by start: a handful of runs
            while j > 0 and lo[j - 1] > a:
                lo[j], hi[j] = lo[j - 1], hi[j - 1]
                j -= 1
            lo[j], hi[j] = a, b
            m += 1
        i = 0
        while i < m:
            a, b = lo[i], hi[i]
            i += 1
            while i < m and lo[i] <= b + 1:
                b = max(b, hi[i])
                i += 1
            a, b = max(a, 0), min(b, cols - 1)
            taken[t, a : b + 1] = True


_take_spans_c = numba.njit(cache=True, nogil=True)(_take_spans)


def _make_region(cells: list[int], total: float, ncols: int, grid: RasterGrid) -> Region:
    flat = np.asarray(cells, dtype=np.int64)
    rows, cols = np.divmod(flat, ncols)
    n = flat.size
    cr, cc = float(rows.mean()), float(cols.mean())
    res = grid.resolution_m
    return Region(
        rows=rows,
        cols=cols,
        area_ha=n * grid.cell_area_m2 / 1e4,
        mean_score=total / n,
        sum_score=total,
        centroid_row=cr,
        centroid_col=cc,
        x_m=float(grid.transform.c + (cc + 0.5) * res),
        y_m=float(grid.transform.f - (cr + 0.5) * res),
    )


def locate_regions(
    suitability: NDArray[np.floating],
    grid: RasterGrid,
    *,
    count: int,
    min_area_ha: float,
    max_area_ha: float,
    min_spacing_km: float,
    shape: Shape = "circle",
    compactness: float = 0.5,
    evaluate: Evaluate = "mean",
    seed_candidates: NDArray[np.integer] | Sequence[tuple[int, int]] | None = None,
) -> list[Region]:
    """Find up to ``count`` contiguous regions of suitable cells, best first.

    The method (seeded region growing after ArcGIS Locate Regions) is described in the module
    docstring.

    Parameters
    ----------
    suitability
        Scores on ``grid`` (2-D, shape ``grid.shape``), usually in [0, 1]; 0 (excluded) and NaN
        (nodata) cells are never part of a region.
    grid
        The study grid (projected CRS, metres).
    count
        How many regions at most.
    min_area_ha, max_area_ha
        Area bounds of a region (ha), rounded to whole cells (minimum up, maximum down).
    min_spacing_km
        Smallest gap between the edges of two regions (km, in the grid CRS); 0 lets regions touch.
    shape
        ``"circle"`` or ``"square"``: the shape ``compactness`` pulls regions towards; ``"free"``:
        no shape term, regions follow the scores alone.
    compactness
        Shape/utility trade-off in [0, 1] (ArcGIS's default is 50 %): 0 grows by score alone,
        1 grows by distance from the seed alone.
    evaluate
        ``"mean"``: regions stop growing once the next cell would lower their mean, and are
        ranked by mean score; ``"sum"``: regions grow to ``max_area_ha`` where they can, and are
        ranked by the sum of their scores.
    seed_candidates
        Optional ``(row, col)`` cells to grow from, in priority order, instead of the focal-mean
        seeds; unsuitable or already blocked cells are skipped.

    Returns
    -------
    list of Region
        Best first by ``evaluate``; never empty.

    Raises
    ------
    NoCandidateSitesError
        When not one region reaches ``min_area_ha``.
    ValueError
        When an argument is out of range (every problem is listed).

    Examples
    --------
    >>> g = RasterGrid.from_bounds((0, 0, 600, 400), resolution_m=100, crs="EPSG:5179")
    >>> s = np.array([[.2, .2, 0, .1, .1, .1],
    ...               [.9, .8, 0, .1, .5, .1],
    ...               [.9, .9, 0, .1, .1, .1],
    ...               [.2, .2, 0, .1, .1, .1]])
    >>> regions = locate_regions(s, g, count=2, min_area_ha=3, max_area_ha=6, min_spacing_km=0)
    >>> [(r.n_cells, round(r.mean_score, 3)) for r in regions]
    [(4, 0.875), (3, 0.233)]
    """
    min_cells, max_cells = _check_args(
        suitability, grid, count, min_area_ha, max_area_ha, min_spacing_km, shape, compactness,
        evaluate,
    )  # fmt: skip
    # A cell is suitable when its score is above 0 (NaN is not); ``taken`` marks the cells of
    # regions, their spacing and patches too small, so a cell is free when suitable and not
    # taken. np.zeros maps pages lazily: only the parts of the grid that regions reach cost.
    values = np.asarray(suitability, dtype=np.float32)
    taken = np.zeros(values.shape, dtype=bool)
    grower = _Grower(
        values,
        taken,
        min_cells=min_cells,
        max_cells=max_cells,
        shape=shape,
        compactness=compactness,
        evaluate=evaluate,
    )
    gap_cells = min_spacing_km * 1000.0 / grid.resolution_m
    kernel = _spacing_kernel(gap_cells) if gap_cells > 0 else None
    ncols = grid.shape[1]
    flat_taken = taken.reshape(-1)
    found: list[tuple[list[int], float]] = []
    n_failed = 0

    def attempt(seed: int) -> None:
        nonlocal n_failed
        cells, total, ok = grower.grow(seed)
        arr = np.asarray(cells, dtype=np.int64)
        if ok:
            found.append((cells, total))
            _block_around(taken, arr // ncols, arr % ncols, kernel)
        else:  # the whole reachable patch is too small, now and for every later seed
            flat_taken[arr] = True
            n_failed += 1

    if seed_candidates is not None:
        seeds = np.asarray(seed_candidates, dtype=np.int64).reshape(-1, 2)
        for r, c in seeds:
            if len(found) >= count:
                break
            if (
                0 <= r < grid.shape[0]
                and 0 <= c < grid.shape[1]
                and values[r, c] > 0
                and not taken[r, c]
            ):
                attempt(int(r) * ncols + int(c))
    else:
        windows, k = _window_seeds(values, min_cells)
        for window in windows:
            if len(found) >= count:
                break
            while len(found) < count:  # seed the window again until it holds no free cell
                seed = _seed_in_window(values, taken, window, k)
                if seed is None:
                    break
                attempt(seed)

    if not found:
        raise NoCandidateSitesError(
            f"no contiguous area of at least {min_area_ha:g} ha ({min_cells} cells of "
            f"{grid.resolution_m:g} m) of suitable cells exists; relax the constraints, lower "
            "the campus area (campus.campus_area_ha in a study) or use a finer resolution"
        )
    regions = [_make_region(cells, total, ncols, grid) for cells, total in found]
    key = (lambda r: r.mean_score) if evaluate == "mean" else (lambda r: r.sum_score)
    regions.sort(key=key, reverse=True)  # stable: ties keep acceptance order
    log.info(
        "regions: %d of %d wanted, %.0f-%.0f ha, %d seeds discarded below %g ha",
        len(regions),
        count,
        min(r.area_ha for r in regions),
        max(r.area_ha for r in regions),
        n_failed,
        min_area_ha,
    )
    return regions
