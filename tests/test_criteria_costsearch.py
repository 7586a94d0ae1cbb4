"""The compiled bucket-queue search against scikit-image's ``MCP_Geometric`` (a heap Dijkstra).

Both use the same step arithmetic, so they must agree to the last bit on any raster: with
impassable cells, zero-cost cells, costs spanning many orders of magnitude (which widens the
buckets past the cheapest step, the re-expanding case) and a pool of queue entries that has to
grow several times.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.graph import MCP_Geometric

from gridsite.criteria.costsearch import accumulate_cells, prepare_cost, trace_back


def mcp_costs(cost: np.ndarray, starts: np.ndarray) -> np.ndarray:
    cells = [tuple(int(v) for v in np.unravel_index(s, cost.shape)) for s in starts]
    acc, _ = MCP_Geometric(cost, fully_connected=True).find_costs(cells)
    acc = np.asarray(acc, dtype=np.float64)
    acc[~np.isfinite(cost)] = np.inf
    return acc


def random_cost(seed: int, shape: tuple[int, int], spread: float, holes: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cost = np.exp(rng.uniform(0.0, np.log(spread), shape))
    cost[rng.random(shape) < holes] = np.inf
    return cost


@pytest.mark.parametrize(
    ("seed", "shape", "spread", "holes", "n_starts"),
    [
        (0, (60, 80), 1.6, 0.0, 5),  # the Korea tie-line cost spans 1.9-3.0
        (1, (90, 70), 100.0, 0.3, 3),  # impassable patches, paths winding between them
        (2, (50, 50), 1e9, 0.1, 2),  # > 2**20 between cheapest and dearest: wider buckets
        (3, (200, 210), 3.0, 0.05, 40),  # the entry pool grows from its 4,096 entries
    ],
)
def test_equals_mcp_geometric(
    seed: int, shape: tuple[int, int], spread: float, holes: float, n_starts: int
) -> None:
    cost = random_cost(seed, shape, spread, holes)
    finite = np.flatnonzero(np.isfinite(cost))
    starts = np.random.default_rng(seed).choice(finite, n_starts, replace=False)
    np.testing.assert_array_equal(accumulate_cells(cost, starts), mcp_costs(cost, starts))


def test_zero_cost_cells_are_exact() -> None:
    # A free corridor: steps through it cost nothing, so cells are improved inside the bucket
    # being expanded and must be expanded again.
    cost = random_cost(4, (40, 40), 5.0, 0.0)
    cost[10:30, 5:35] = 0.0
    cost[20, :] = 0.0
    starts = np.array([0, 40 * 40 - 1])
    np.testing.assert_array_equal(accumulate_cells(cost, starts), mcp_costs(cost, starts))


def test_hand_worked_uniform_cost() -> None:
    acc = accumulate_cells(np.full((3, 3), 2.0), np.array([4]))  # the centre
    s = 2.0 * np.sqrt(2.0)
    np.testing.assert_array_equal(acc, [[s, 2.0, s], [2.0, 0.0, 2.0], [s, 2.0, s]])


def test_stop_cells_are_final_when_the_search_stops_early() -> None:
    cost = random_cost(5, (120, 120), 4.0, 0.1)
    starts = np.array([int(np.flatnonzero(np.isfinite(cost))[0])])
    stop = np.flatnonzero(np.isfinite(cost.ravel()))[[50, 400]]
    full = accumulate_cells(cost, starts)
    early = accumulate_cells(cost, starts, stop)
    np.testing.assert_array_equal(early.ravel()[stop], full.ravel()[stop])
    assert np.isinf(early).sum() > np.isinf(full).sum()  # it did stop before the far corner


def test_unreachable_and_empty() -> None:
    cost = np.ones((3, 5))
    cost[:, 2] = np.inf  # a wall
    acc = accumulate_cells(cost, np.array([0]))
    assert np.isinf(acc[:, 2:]).all() and np.isfinite(acc[:, :2]).all()
    assert np.isinf(accumulate_cells(cost, np.array([], dtype=np.int64))).all()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 25),
    cols=st.integers(1, 25),
    spread=st.sampled_from([1.0, 2.0, 1e3, 1e12]),
    holes=st.floats(0.0, 0.6),
)
def test_property_equals_mcp_geometric(
    seed: int, rows: int, cols: int, spread: float, holes: float
) -> None:
    cost = random_cost(seed, (rows, cols), spread, holes)
    finite = np.flatnonzero(np.isfinite(cost))
    if finite.size == 0:
        return
    starts = np.random.default_rng(seed).choice(finite, min(3, finite.size), replace=False)
    np.testing.assert_array_equal(accumulate_cells(cost, starts), mcp_costs(cost, starts))


def test_prepared_barriers_and_dtypes_equal_mcp_geometric() -> None:
    # prepare_cost turns NaN and barrier cells to inf in a float64 copy of any real dtype, with
    # a blank (all inf) result raster filled in the same pass; the search then equals MCP on a
    # float64 raster with those cells set to inf.
    cost64 = np.round(random_cost(10, (80, 70), 9.0, 0.1))
    cost64[np.isinf(cost64)] = np.nan
    barriers = np.random.default_rng(10).random(cost64.shape) < 0.15
    reference = np.where(barriers | np.isnan(cost64), np.inf, cost64)
    starts = np.flatnonzero(np.isfinite(reference))[[0, 2000]]
    whole = np.nan_to_num(cost64, nan=1.0).astype(np.int32)
    for cost, ref in (
        (cost64, reference),
        (cost64.astype(np.float32), reference),
        (whole, np.where(barriers, np.inf, whole.astype(np.float64))),
    ):
        prepared, blank, lo, hi, negative = prepare_cost(cost, barriers)
        assert np.isinf(blank).all() and not negative
        got = accumulate_cells(prepared, starts, cost_range=(lo, hi), out=blank)
        assert got is blank
        np.testing.assert_array_equal(got, mcp_costs(ref, starts))


def path_cost(cost: np.ndarray, cells: list[tuple[int, int]]) -> float:
    """The cost of a path summed step by step in the search's own arithmetic and order."""
    total = 0.0
    for (r0, c0), (r1, c1) in itertools.pairwise(cells):
        assert max(abs(r1 - r0), abs(c1 - c0)) == 1, "cells are not 8-connected neighbours"
        length = np.sqrt(2.0) if r0 != r1 and c0 != c1 else 1.0
        total = total + (cost[r0, c0] + cost[r1, c1]) * 0.5 * length
    return total


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 30),
    cols=st.integers(1, 30),
    spread=st.sampled_from([1.0, 2.0, 1e3, 1e12]),
    holes=st.floats(0.0, 0.5),
    free=st.booleans(),
)
def test_property_traced_paths_cost_what_mcp_finds(
    seed: int, rows: int, cols: int, spread: float, holes: float, free: bool
) -> None:
    # Every reached cell's traced path runs from a start through passable neighbours, and its
    # cost added step by step is the accumulated cost, which is MCP_Geometric's to the last
    # bit. Cells whose least cost is reached on two paths may be traced along either, so the
    # cells themselves are not compared with MCP's traceback. ``free`` puts in zero-cost cells,
    # where equal-cost paths abound and a cycle would show.
    cost = random_cost(seed, (rows, cols), spread, holes)
    if free:
        cost[np.random.default_rng(seed + 1).random(cost.shape) < 0.3] = 0.0
    finite = np.flatnonzero(np.isfinite(cost))
    if finite.size == 0:
        return
    starts = np.random.default_rng(seed).choice(finite, min(2, finite.size), replace=False)
    came_from = np.full(cost.shape, -1, np.int8)
    acc = accumulate_cells(cost, starts, came_from=came_from)
    np.testing.assert_array_equal(acc, mcp_costs(cost, starts))
    start_cells = {divmod(int(s), cols) for s in starts}
    for r, c in zip(*np.nonzero(np.isfinite(acc)), strict=True):
        cells = trace_back(came_from, (int(r), int(c)))
        assert cells[0] in start_cells and cells[-1] == (r, c)
        assert all(np.isfinite(cost[cell]) for cell in cells)
        assert path_cost(cost, cells) == acc[r, c]


def test_traced_path_with_stop_cells() -> None:
    # Stopping once the ends are final leaves their paths complete.
    cost = random_cost(6, (150, 150), 4.0, 0.2)
    finite = np.flatnonzero(np.isfinite(cost))
    start, ends = finite[:1], finite[[700, 5000]]
    came_from = np.full(cost.shape, -1, np.int8)
    acc = accumulate_cells(cost, start, ends, came_from=came_from)
    full = mcp_costs(cost, start)
    assert np.isinf(acc).sum() > np.isinf(full).sum()
    for end in ends:
        cell = divmod(int(end), cost.shape[1])
        path = trace_back(came_from, cell)
        assert path[0] == divmod(int(start[0]), cost.shape[1])
        assert path_cost(cost, path) == acc[cell] == full[cell]
