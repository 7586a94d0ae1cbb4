"""The compiled bucket-queue search against scikit-image's ``MCP_Geometric`` (a heap Dijkstra).

Both use the same step arithmetic, so they must agree to the last bit on any raster: with
impassable cells, zero-cost cells, costs spanning many orders of magnitude (which widens the
buckets past the cheapest step, the re-expanding case) and a pool of queue entries that has to
grow several times.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.graph import MCP_Geometric

from gridsite.criteria.costsearch import accumulate_cells, prepare_cost


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
