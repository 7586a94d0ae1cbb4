from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gridsite.errors import ConfigError, NoCandidateSitesError
from gridsite.geo import RasterGrid
from gridsite.sites import (
    Parcel,
    parcel_size_cells,
    parcels_to_sites,
    pick_parcels,
    rank_sites,
    window_sums,
)
from gridsite.sites import parcels as parcels_module
from gridsite.spec import RankingSpec, RankTerm, TransformSpec


def _grid(rows: int, cols: int, res: float = 1000.0) -> RasterGrid:
    return RasterGrid.from_bounds((0, 0, cols * res, rows * res), resolution_m=res, crs="EPSG:5179")


def _brute_force_means(suit: np.ndarray, k: int) -> dict[tuple[int, int], float]:
    out = {}
    for r in range(suit.shape[0] - k + 1):
        for c in range(suit.shape[1] - k + 1):
            win = suit[r : r + k, c : c + k]
            if np.all(np.isfinite(win) & (win > 0)):
                out[(r, c)] = float(win.mean())
    return out


def test_parcel_size() -> None:
    assert parcel_size_cells(100, 500) == 2
    assert parcel_size_cells(100, 250) == 4
    assert parcel_size_cells(101, 500) == 3
    assert parcel_size_cells(100, 2000) == 1


def test_picks_best_block_and_respects_spacing() -> None:
    suit = np.full((6, 8), 0.2, dtype=np.float32)
    suit[1:3, 1:3] = 0.9  # best 2x2 block, top-left (1, 1)
    suit[1:3, 3] = 0.8  # the block at (1, 2) is nearly as good but overlaps
    suit[4:6, 6:8] = 0.7
    suit[0, 0] = 0.0  # excluded cell
    picked = pick_parcels(suit, _grid(6, 8), size=2, count=3, min_spacing_km=3.0)
    assert (picked[0].row, picked[0].col) == (1, 1)
    assert picked[0].mean_score == pytest.approx(0.9)
    assert (picked[1].row, picked[1].col) == (4, 6)
    for a in picked:
        for b in picked:
            if a is not b:
                assert math.hypot(a.row - b.row, a.col - b.col) * 1.0 >= 3.0


def test_no_parcel_raises_clearly() -> None:
    suit = np.zeros((5, 5), dtype=np.float32)
    suit[2, 2] = 1.0
    with pytest.raises(NoCandidateSitesError, match="relax the constraints"):
        pick_parcels(suit, _grid(5, 5), size=2, count=1, min_spacing_km=0)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(3, 9), st.integers(3, 9)),
        elements=st.sampled_from([np.nan, 0.0, 0.1, 0.25, 0.5, 0.75, 1.0]),
    ),
    st.integers(1, 3),
)
def test_first_pick_is_the_brute_force_best(suit: np.ndarray, k: int) -> None:
    expected = _brute_force_means(suit, k)
    grid = _grid(*suit.shape)
    if not expected:
        with pytest.raises(NoCandidateSitesError):
            pick_parcels(suit, grid, size=k, count=1, min_spacing_km=0)
        return
    got = pick_parcels(suit, grid, size=k, count=len(expected), min_spacing_km=0)
    assert got[0].mean_score == pytest.approx(max(expected.values()), abs=1e-6)
    # with no spacing every valid block is picked once, each with its brute-force mean
    assert {(p.row, p.col) for p in got} == set(expected)
    for p in got:
        assert p.mean_score == pytest.approx(expected[(p.row, p.col)], abs=1e-6)
        assert 0.0 < p.mean_score <= 1.0


def _plain_pick(
    suit: np.ndarray, k: int, *, count: int, spacing_cells: float
) -> list[tuple[int, int, float]]:
    """The plain method: one summed-area table of the whole grid, then the best block left
    (the first maximum in row-major order), over and over, clearing a disk after each pick."""
    suitable = np.isfinite(suit) & (suit > 0)
    vals = np.where(suitable, suit, 0.0).astype(np.float64)
    means = window_sums(vals, k) / (k * k)
    means[window_sums(suitable.astype(np.float64), k) < k * k - 0.5] = -np.inf
    r_idx, c_idx = np.indices(means.shape)
    out = []
    while len(out) < count:
        flat = int(np.argmax(means))
        best = float(means.flat[flat])
        if not np.isfinite(best):
            break
        r, c = divmod(flat, means.shape[1])
        out.append((r, c, best))
        if spacing_cells > 0:
            means[(r_idx - r) ** 2 + (c_idx - c) ** 2 < spacing_cells * spacing_cells] = -np.inf
        else:
            means[r, c] = -np.inf
    return out


def _brute_pick(
    suit: np.ndarray, k: int, *, count: int, spacing_cells: float
) -> list[tuple[int, int, float]]:
    """Every block's mean summed directly; best first, ties to the smaller (row, col)."""
    blocks = []
    for r in range(suit.shape[0] - k + 1):
        for c in range(suit.shape[1] - k + 1):
            win = suit[r : r + k, c : c + k].astype(np.float64)
            if np.all(np.isfinite(win) & (win > 0)):
                blocks.append((-win.sum() / (k * k), r, c))
    blocks.sort()
    out: list[tuple[int, int, float]] = []
    for neg, r, c in blocks:
        if len(out) == count:
            break
        if all((r - pr) ** 2 + (c - pc) ** 2 >= spacing_cells**2 for pr, pc, _ in out):
            out.append((r, c, -neg))
    return out


def _picked(parcels: list[Parcel]) -> list[tuple[int, int, float]]:
    return [(p.row, p.col, p.mean_score) for p in parcels]


# Small chunks make the row blocks of the summed-area table and the runs of the greedy pick
# cross block boundaries on these tiny rasters.
chunk_sizes = st.sampled_from([1, 64, 300, 1 << 21])
spacings = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 2.9, 4.0, 30.0])


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 24), st.integers(1, 24)),
        elements=st.one_of(
            st.sampled_from([np.nan, 0.0, -0.5, 0.25, 0.5, 1.0, np.inf]),
            st.floats(0.0, 1.0, width=32),
        ),
    ),
    st.integers(1, 4),
    st.integers(0, 12),
    spacings,
    chunk_sizes,
    st.sampled_from([1, 2, 256]),
    st.sampled_from([1, 5, 1 << 23]),
)
def test_pick_equals_the_plain_method_bit_for_bit(
    suit: np.ndarray, k: int, count: int, spacing_cells: float, chunk: int, run: int, cap: int
) -> None:
    grid = _grid(*suit.shape)  # 1 km cells: the spacing in km is the spacing in cells
    if k > min(suit.shape):
        with pytest.raises(NoCandidateSitesError, match="larger than the study grid"):
            pick_parcels(suit, grid, size=k, count=count, min_spacing_km=spacing_cells)
        return
    expected = _plain_pick(suit, k, count=count, spacing_cells=spacing_cells)
    with (
        mock.patch.object(parcels_module, "_CHUNK_BYTES", chunk),
        mock.patch.object(parcels_module, "_RUN", run),
    ):
        if not expected:
            with pytest.raises(NoCandidateSitesError, match="relax the constraints"):
                pick_parcels(suit, grid, size=k, count=count, min_spacing_km=spacing_cells)
            return
        got = pick_parcels(
            RowsOnly(suit), grid, size=k, count=count, min_spacing_km=spacing_cells,
            max_candidates=cap,
        )  # fmt: skip
    assert _picked(got) == expected  # same blocks, same order, the same float64 means
    assert all(p.size == k for p in got)


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(2, 16), st.integers(2, 16)),
        # multiples of 1/8: every sum is exact, so direct means equal the table's and ties
        # are real ties
        elements=st.sampled_from([np.nan, 0.0, 0.125, 0.25, 0.5, 0.625, 0.75, 1.0]),
    ),
    st.integers(1, 3),
    st.integers(1, 10),
    spacings,
    chunk_sizes,
    st.sampled_from([1, 4, 1 << 23]),
)
def test_pick_equals_brute_force_with_ties(
    suit: np.ndarray, k: int, count: int, spacing_cells: float, chunk: int, cap: int
) -> None:
    grid = _grid(*suit.shape)
    expected = _brute_pick(suit, k, count=count, spacing_cells=spacing_cells)
    with mock.patch.object(parcels_module, "_CHUNK_BYTES", chunk):
        if not expected or k > min(suit.shape):
            with pytest.raises(NoCandidateSitesError):
                pick_parcels(suit, grid, size=k, count=count, min_spacing_km=spacing_cells)
            return
        got = pick_parcels(
            suit, grid, size=k, count=count, min_spacing_km=spacing_cells, max_candidates=cap
        )
    assert _picked(got) == expected


class RowsOnly:
    """A surface that can only be read by window (as a file on disk is), never whole."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        self.shape = array.shape

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        assert isinstance(key, tuple) and all(isinstance(k, slice) for k in key)
        return self._array[key].copy()


def test_a_small_candidate_bound_gives_the_same_picks_on_a_large_grid() -> None:
    rng = np.random.default_rng(9)
    suit = rng.random((400, 500), dtype=np.float32)
    suit[rng.random(suit.shape) < 0.02] = 0.0
    grid = _grid(400, 500, res=100.0)
    whole = pick_parcels(suit, grid, size=8, count=40, min_spacing_km=3.0)
    bounded = pick_parcels(
        RowsOnly(suit), grid, size=8, count=40, min_spacing_km=3.0, max_candidates=500
    )
    assert len(whole) == 40
    assert _picked(bounded) == _picked(whole)


def test_pick_on_a_large_grid_with_a_margin_of_nodata() -> None:
    # several row blocks of the table, a box of suitable cells away from the grid's corner
    rng = np.random.default_rng(4)
    suit = np.full((300, 420), np.nan, dtype=np.float32)
    inner = rng.random((200, 260), dtype=np.float32)
    inner[rng.random(inner.shape) < 0.05] = 0.0
    suit[60:260, 100:360] = inner
    suit[100:140, 150:190] = 0.75  # a plateau: ties broken north-west
    got = pick_parcels(suit, _grid(300, 420, res=100.0), size=10, count=25, min_spacing_km=2.0)
    assert _picked(got) == _plain_pick(suit, 10, count=25, spacing_cells=20.0)


def test_spacing_is_centre_to_centre_and_strict() -> None:
    suit = np.ones((1, 12), dtype=np.float32)
    suit[0, 0] = 1.0
    suit[0, 1:] = 0.5
    # 1 km cells: with 3 km spacing, parcels 3 cells apart are allowed, 2 apart are not
    got = pick_parcels(suit, _grid(1, 12), size=1, count=10, min_spacing_km=3.0)
    assert [p.col for p in got] == [0, 3, 6, 9]


def test_parcels_to_sites_geometry_and_means() -> None:
    grid = _grid(4, 4, res=500.0)
    suit = np.arange(16, dtype=np.float32).reshape(4, 4) / 16 + 0.01
    picked = pick_parcels(suit, grid, size=2, count=1, min_spacing_km=0)
    sites = parcels_to_sites(
        picked, grid, scores={"a": suit}, values={"a": suit * 10}, id_prefix="t"
    )
    row = sites.iloc[0]
    assert row["area_ha"] == pytest.approx(100.0)
    assert sites.geometry.iloc[0].area == pytest.approx(1_000_000.0)
    assert row["score_a"] == pytest.approx(suit[2:4, 2:4].mean())
    assert row["value_a"] == pytest.approx(10 * suit[2:4, 2:4].mean(), rel=1e-6)
    assert (row["x_m"], row["y_m"]) == (1500.0, 500.0)


def test_rank_sites_hand_worked() -> None:
    table = pd.DataFrame(
        {
            "suitability": [0.5, 0.9, 0.6],
            "interconnect_km": [0.0, 40.0, 20.0],
            "capacity_mw": [1000.0, 0.0, np.nan],
        }
    )
    spec = RankingSpec(
        suitability_weight=2,
        terms=(
            RankTerm("interconnect", "interconnect_km", 1, TransformSpec("linear", low=40, high=0)),
            RankTerm("capacity", "capacity_mw", 1, TransformSpec("linear", low=0, high=2), True),
        ),
    )
    out = rank_sites(table, spec, campus_mw=500)
    # site 0: (2*0.5 + 1*1 + 1*1)/4 = 0.75; site 1: (1.8 + 0 + 0)/4 = 0.45; site 2: (1.2 + .5 + 0)/4
    assert out["score"].tolist() == pytest.approx([0.75, 0.45, 0.425])
    assert out["rank"].tolist() == [1, 2, 3]
    assert out["suitability"].tolist() == [0.5, 0.9, 0.6]


def test_rank_sites_names_a_missing_field() -> None:
    spec = RankingSpec(terms=(RankTerm("x", "nope_mw", 1, TransformSpec("identity")),))
    with pytest.raises(ConfigError, match="nope_mw are not site columns"):
        rank_sites(pd.DataFrame({"suitability": [0.5]}), spec, campus_mw=500)
