"""Tests for gridsite.energy.potential against brute-force loops on tiny hand-made grids."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridsite.energy.potential import eligible_land, local_potential, offshore_potential
from gridsite.errors import ConfigError
from gridsite.geo import RasterGrid

RES_M = 1000.0  # 1 km cells: one cell is 1 km2


@pytest.fixture
def grid() -> RasterGrid:
    # 12 rows x 15 cols of 1 km cells, origin (0, 0); cell (r, c) has centre
    # (c + 0.5, 11.5 - r) km.
    return RasterGrid.from_bounds((0, 0, 15_000, 12_000), resolution_m=RES_M, crs="EPSG:5179")


@pytest.fixture
def eligible(grid: RasterGrid) -> np.ndarray:
    rng = np.random.default_rng(42)
    return rng.random(grid.shape) < 0.6


def centre_km(r: int, c: int, rows: int) -> tuple[float, float]:
    return c + 0.5, rows - r - 0.5


def brute_catchments(
    mask: np.ndarray, sites_km: list[tuple[float, float]], radius_km: float
) -> list[list[tuple[int, int, float]]]:
    """Per cell, the list of (site index, distance km) of sites covering it."""
    rows, cols = mask.shape
    out = []
    for r in range(rows):
        for c in range(cols):
            if not mask[r, c]:
                continue
            x, y = centre_km(r, c, rows)
            covering = []
            for i, (sx, sy) in enumerate(sites_km):
                d = math.hypot(x - sx, y - sy)
                if d <= radius_km + 1e-12:
                    covering.append((i, d))
            out.append(covering)
    return out


def brute_share_km2(
    mask: np.ndarray, sites_km: list[tuple[float, float]], radius_km: float, share: str
) -> list[float]:
    totals = [0.0] * len(sites_km)
    for covering in brute_catchments(mask, sites_km, radius_km):
        if not covering:
            continue
        if share == "equal":
            for i, _ in covering:
                totals[i] += 1.0 / len(covering)
        else:
            best = min(d for _, d in covering)
            winners = [i for i, d in covering if abs(d - best) < 1e-12]
            for i in winners:
                totals[i] += 1.0 / len(winners)
    return totals


def xy_m(sites_km: list[tuple[float, float]]) -> np.ndarray:
    return np.array(sites_km) * 1000.0


def test_one_site_counts_eligible_cells_in_radius(grid: RasterGrid, eligible: np.ndarray) -> None:
    site = [(7.3, 5.9)]
    radius_km = 4.0
    expected = 0
    rows, cols = eligible.shape
    for r in range(rows):
        for c in range(cols):
            x, y = centre_km(r, c, rows)
            if eligible[r, c] and math.hypot(x - 7.3, y - 5.9) <= radius_km:
                expected += 1
    df = local_potential(eligible, grid, xy_m(site), radius_km=radius_km)
    assert expected > 10  # the fixture gives a non-trivial case
    assert df.loc[0, "eligible_km2"] == pytest.approx(expected * 1.0)
    assert df.loc[0, "solar_potential_mw"] == pytest.approx(expected * 50.0)
    assert df.loc[0, "wind_potential_mw"] == pytest.approx(expected * 4.0)


def test_radius_edge_is_included(grid: RasterGrid) -> None:
    # Site on a cell centre, radius exactly 2 cells: the 4 cells at distance 2 count, and the
    # 13 cells at distance <= 2 are 1 + 4 (d=1) + 4 (d=sqrt 2) + 4 (d=2).
    eligible = np.ones(grid.shape, dtype=bool)
    df = local_potential(eligible, grid, xy_m([(7.5, 6.5)]), radius_km=2.0)
    assert df.loc[0, "eligible_km2"] == pytest.approx(13.0)


def test_densities_are_configurable(grid: RasterGrid, eligible: np.ndarray) -> None:
    df = local_potential(
        eligible, grid, xy_m([(7.3, 5.9)]), radius_km=4.0, pv_mw_per_km2=40.0, wind_mw_per_km2=3.0
    )
    km2 = df.loc[0, "eligible_km2"]
    assert df.loc[0, "solar_potential_mw"] == pytest.approx(40.0 * km2)
    assert df.loc[0, "wind_potential_mw"] == pytest.approx(3.0 * km2)


@pytest.mark.parametrize("share", ["equal", "nearest"])
def test_overlapping_sites_match_brute_force_and_union(
    grid: RasterGrid, eligible: np.ndarray, share: str
) -> None:
    sites = [(5.2, 6.1), (8.9, 5.4), (7.0, 9.3)]
    radius_km = 3.5
    df = local_potential(eligible, grid, xy_m(sites), radius_km=radius_km, share=share)
    expected = brute_share_km2(eligible, sites, radius_km, share)
    np.testing.assert_allclose(df["eligible_km2"].to_numpy(), expected, rtol=1e-12)
    union = sum(1 for cov in brute_catchments(eligible, sites, radius_km) if cov)
    assert df["eligible_km2"].sum() == pytest.approx(union, rel=1e-12)
    # Overlap exists, so sharing gives less than the sum of the standalone catchments.
    alone = sum(
        local_potential(eligible, grid, xy_m([s]), radius_km=radius_km).loc[0, "eligible_km2"]
        for s in sites
    )
    assert df["eligible_km2"].sum() < alone


def test_equal_sharing_splits_overlap_evenly(grid: RasterGrid) -> None:
    # Two sites 2 km apart on one row of cell centres, radius 2 km, everything eligible.
    # Hand count: each disc alone holds 13 cells (see test_radius_edge_is_included); the discs
    # share the cells within 2 km of both centres (4.5, 6.5) and (6.5, 6.5): (5.5, 6.5) at 1 and 1,
    # (4.5, 6.5) and (6.5, 6.5) at 0 and 2, (5.5, 5.5), (5.5, 7.5) at sqrt 2 each: 5 cells.
    eligible = np.ones(grid.shape, dtype=bool)
    sites = [(4.5, 6.5), (6.5, 6.5)]
    df = local_potential(eligible, grid, xy_m(sites), radius_km=2.0, share="equal")
    assert df["eligible_km2"].tolist() == pytest.approx([8 + 2.5, 8 + 2.5])
    assert df["eligible_km2"].sum() == pytest.approx(21.0)  # 13 + 13 - 5


def test_nearest_assigns_overlap_to_nearest(grid: RasterGrid) -> None:
    eligible = np.ones(grid.shape, dtype=bool)
    sites = [(4.5, 6.5), (6.5, 6.5)]
    df = local_potential(eligible, grid, xy_m(sites), radius_km=2.0, share="nearest")
    # Of the 5 shared cells, each site's own centre cell goes to it and the three equidistant
    # cells on x = 5.5 are split evenly: 8 + 1 + 1.5 each.
    assert df["eligible_km2"].tolist() == pytest.approx([10.5, 10.5])
    # Move site 1 slightly east: the x = 5.5 cells are now nearer site 0.
    df = local_potential(
        eligible, grid, xy_m([(4.5, 6.5), (6.6, 6.5)]), radius_km=2.0, share="nearest"
    )
    assert df.loc[0, "eligible_km2"] == pytest.approx(8 + 1 + 3)


def test_site_outside_grid_and_no_sites(grid: RasterGrid, eligible: np.ndarray) -> None:
    df = local_potential(eligible, grid, xy_m([(100.0, 100.0)]), radius_km=5.0)
    assert df.loc[0, "eligible_km2"] == 0.0
    empty = local_potential(eligible, grid, np.empty((0, 2)), radius_km=5.0)
    assert len(empty) == 0
    assert list(empty.columns) == ["eligible_km2", "solar_potential_mw", "wind_potential_mw"]


@pytest.mark.parametrize(
    "kwargs",
    [{"radius_km": 0.0}, {"radius_km": float("nan")}, {"pv_mw_per_km2": -1.0}, {"share": "max"}],
)
def test_bad_options_raise(grid: RasterGrid, eligible: np.ndarray, kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        local_potential(eligible, grid, xy_m([(5.0, 5.0)]), **kwargs)


def test_mask_shape_must_match_grid(grid: RasterGrid) -> None:
    with pytest.raises(ValueError, match="study grid"):
        local_potential(np.ones((3, 3), bool), grid, xy_m([(5.0, 5.0)]))


def coast(grid: RasterGrid) -> tuple[np.ndarray, np.ndarray]:
    # Land in the western 5 columns (x < 5 km), sea to the east.
    land = np.zeros(grid.shape, dtype=bool)
    land[:, :5] = True
    return ~land, land


@pytest.mark.parametrize("share", ["equal", "nearest"])
def test_offshore_on_hand_made_coast(grid: RasterGrid, share: str) -> None:
    sea, land = coast(grid)
    sites = [(3.5, 6.5), (4.5, 2.5)]
    max_shore_km, radius_km = 3.0, 5.0
    # Distance to shore by brute force: sea cell centre to the nearest land cell centre. With a
    # straight north-south coast that is (column - 4) km.
    rows, cols = grid.shape
    near = np.zeros(grid.shape, dtype=bool)
    for r in range(rows):
        for c in range(cols):
            if sea[r, c]:
                x, y = centre_km(r, c, rows)
                d = min(
                    math.hypot(x - centre_km(rr, cc, rows)[0], y - centre_km(rr, cc, rows)[1])
                    for rr in range(rows)
                    for cc in range(cols)
                    if land[rr, cc]
                )
                near[r, c] = d <= max_shore_km
    assert near[:, 5:8].all() and not near[:, 8:].any()
    expected = brute_share_km2(near, sites, radius_km, share)
    got = offshore_potential(
        sea,
        land,
        grid,
        xy_m(sites),
        max_shore_km=max_shore_km,
        radius_km=radius_km,
        mw_per_km2=5.0,
        share=share,
    )
    assert got.name == "offshore_wind_potential_mw"
    np.testing.assert_allclose(got.to_numpy(), np.array(expected) * 5.0, rtol=1e-12)
    assert got.sum() > 0


def test_offshore_accepts_distance_raster(grid: RasterGrid) -> None:
    sea, land = coast(grid)
    shore_m = np.zeros(grid.shape)
    shore_m[:, 5:] = (np.arange(5, grid.shape[1]) - 4) * 1000.0
    sites = xy_m([(6.0, 6.0)])
    from_mask = offshore_potential(sea, land, grid, sites, max_shore_km=2.0, radius_km=4.0)
    from_raster = offshore_potential(sea, shore_m, grid, sites, max_shore_km=2.0, radius_km=4.0)
    assert from_mask.iloc[0] == pytest.approx(from_raster.iloc[0])
    # Columns 5 and 6 (x = 5.5, 6.5 km) within 4 km of (6, 6): count by hand per column.
    rows = grid.shape[0]
    count = sum(
        1
        for r in range(rows)
        for c in (5, 6)
        if math.hypot(centre_km(r, c, rows)[0] - 6.0, centre_km(r, c, rows)[1] - 6.0) <= 4.0
    )
    assert from_raster.iloc[0] == pytest.approx(count * 5.0)


def test_no_coast_means_no_offshore(grid: RasterGrid) -> None:
    sea = np.ones(grid.shape, dtype=bool)
    land = np.zeros(grid.shape, dtype=bool)
    got = offshore_potential(sea, land, grid, xy_m([(6.0, 6.0)]), radius_km=5.0)
    assert got.iloc[0] == 0.0


def test_eligible_land_combines_exclusions() -> None:
    land = np.array([[True, True, True, False], [True, True, True, True]])
    urban = np.array([[False, True, False, False], [False, False, False, False]])
    slope = np.array([[False, False, False, True], [False, False, True, False]])
    expected = np.array(
        [[land[r, c] and not urban[r, c] and not slope[r, c] for c in range(4)] for r in range(2)]
    )
    assert (eligible_land(land, [urban, slope]) == expected).all()
    assert (eligible_land(land, []) == land).all()
    assert eligible_land(land, [urban]) is not land


def test_eligible_land_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="exclusion 0"):
        eligible_land(np.ones((2, 2), bool), [np.ones((3, 2), bool)])


class WindowsOnly:
    """A raster that can only be read by window, and remembers the windows read."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        self.shape = array.shape
        self.read: list[tuple[slice, slice]] = []

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        assert isinstance(key, tuple) and all(isinstance(k, slice) for k in key)
        self.read.append(key)
        return self._array[key].copy()


@pytest.mark.parametrize("share", ["equal", "nearest"])
def test_windowed_rasters_give_the_same_potential(share: str) -> None:
    # A grid much larger than the sites' catchments: only their windows may be read.
    grid = RasterGrid.from_bounds((0, 0, 80_000, 60_000), resolution_m=RES_M, crs="EPSG:5179")
    rng = np.random.default_rng(1)
    land = np.zeros(grid.shape, dtype=bool)
    land[:, :40] = True
    land[rng.random(grid.shape) < 0.02] = True  # islands far from the coast
    eligible = land & (rng.random(grid.shape) < 0.7)
    sea = ~land
    sites = xy_m([(30.5, 30.0), (36.0, 33.5), (41.0, 20.0), (10.0, 50.0)])
    kw = dict(radius_km=6.0, share=share)
    whole = local_potential(eligible, grid, sites, **kw)
    windowed = WindowsOnly(eligible)
    pd_windowed = local_potential(windowed, grid, sites, **kw)
    np.testing.assert_array_equal(pd_windowed.to_numpy(), whole.to_numpy())
    assert max((k[0].stop - k[0].start) * (k[1].stop - k[1].start) for k in windowed.read) < 200
    okw = dict(max_shore_km=4.0, radius_km=8.0, share=share)
    sea_w, land_w = WindowsOnly(sea), WindowsOnly(land)
    off_whole = offshore_potential(sea, land, grid, sites, **okw)
    off_windowed = offshore_potential(sea_w, land_w, grid, sites, **okw)
    np.testing.assert_array_equal(off_windowed.to_numpy(), off_whole.to_numpy())
    assert off_whole.sum() > 0
    # Brute force: sea cells within 4 km of a land cell (centre to centre), then shared.
    lr, lc = np.nonzero(land)
    near = np.zeros(grid.shape, dtype=bool)
    for r, c in zip(*np.nonzero(sea), strict=True):
        near[r, c] = np.min((lr - r) ** 2 + (lc - c) ** 2) <= 16
    expected = brute_share_km2(
        near, [(30.5, 30.0), (36.0, 33.5), (41.0, 20.0), (10.0, 50.0)], 8.0, share
    )
    np.testing.assert_allclose(off_whole.to_numpy(), np.array(expected) * 5.0, rtol=1e-12)
