"""Cost distance and least-cost paths, checked against GRASS GIS 8.2 ``r.cost`` / ``r.drain``.

The oracle files in shared/reference/grass/out come from GRASS itself (see its README); GRASS
reports cost x cells, so our cost x metres is divided by the 100 m cell size before comparing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsite.criteria import (
    accumulated_cost,
    least_cost_path,
    least_cost_paths,
    path_length_m,
)
from gridsite.errors import GridsiteError, NoPathError

GRASS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "grass"
OUT = GRASS / "out"
RES_M = 100.0
# GRASS wrote its ASCII grids with 6 decimals; the README measures MCP against them to 5e-7.
ASCII_TOL = 1e-6
X0, Y0 = 300000.0, 4100000.0  # upper-left corner of the GRASS fixture grid, EPSG:32652

pytestmark = pytest.mark.skipif(not GRASS.is_dir(), reason="GRASS reference fixture not present")


def read_grass_ascii(path: Path) -> np.ndarray:
    a = np.loadtxt(path, skiprows=6, dtype=str)
    return np.where(a == "*", "nan", a).astype(float)


def read_tif(name: str) -> np.ndarray:
    with rasterio.open(GRASS / name) as src:
        band = src.read(1, masked=True)
    return np.asarray(band.astype("float64").filled(np.nan), dtype=np.float64)


def xy_to_rc(x: float, y: float) -> tuple[int, int]:
    return (int((Y0 - y) // RES_M), int((x - X0) // RES_M))


@pytest.fixture(scope="module")
def cost() -> np.ndarray:
    return read_tif("cost.tif")


# --- accumulated cost against r.cost ---------------------------------------------------------


def test_cumcost8_matches_grass_from_source_raster(cost: np.ndarray) -> None:
    sources = ~np.isnan(read_tif("sources.tif"))  # 0 is nodata: only the two source cells remain
    assert sources.sum() == 2
    ours = accumulated_cost(cost, sources, resolution_m=RES_M)
    np.testing.assert_allclose(ours / RES_M, read_grass_ascii(OUT / "cumcost8.asc"), atol=ASCII_TOL)


def test_cumcost_in_cell_units_with_length_unit(cost: np.ndarray) -> None:
    # cost per 100 m cell length on 100 m cells: the result is GRASS's number itself.
    ours = accumulated_cost(cost, [(1, 1)], resolution_m=RES_M, length_unit_m=RES_M)
    np.testing.assert_allclose(ours, read_grass_ascii(OUT / "cumcost8_pt.asc"), atol=ASCII_TOL)


def test_uniform_surface_matches_grass() -> None:
    ours = accumulated_cost(np.ones((8, 10)), [(1, 1)], resolution_m=RES_M)
    np.testing.assert_allclose(
        ours / RES_M, read_grass_ascii(OUT / "ones_cum8.asc"), atol=ASCII_TOL
    )


def test_nodata_barrier_matches_grass() -> None:
    cost_b = read_tif("cost_barrier.tif")  # row 3, cols 0..7 are nodata -> NaN
    assert np.isnan(cost_b[3, :8]).all()
    grass = read_grass_ascii(OUT / "cumcost8_barrier.asc")
    ours = accumulated_cost(cost_b, [(1, 1)], resolution_m=RES_M)
    assert np.array_equal(np.isinf(ours), np.isnan(grass))
    ok = ~np.isnan(grass)
    np.testing.assert_allclose(ours[ok] / RES_M, grass[ok], atol=ASCII_TOL)
    # corner-cutting past a null cell is allowed, as in r.cost: r4c7 is reached from r3c8
    assert ours[4, 7] / RES_M == pytest.approx(15.435029, abs=ASCII_TOL)


def test_barrier_mask_equals_nodata_barrier(cost: np.ndarray) -> None:
    barriers = np.zeros(cost.shape, dtype=bool)
    barriers[3, :8] = True
    from_mask = accumulated_cost(cost, [(1, 1)], resolution_m=RES_M, barriers=barriers)
    from_nan = accumulated_cost(read_tif("cost_barrier.tif"), [(1, 1)], resolution_m=RES_M)
    np.testing.assert_array_equal(from_mask, from_nan)


def test_hand_worked_3x3() -> None:
    # Steps cost (c_a + c_b) / 2 x 1 (rook) or x sqrt 2 (diagonal); start cell 0.
    #   (0,1) = (1+2)/2 = 1.5                 (1,0) = (1+4)/2 = 2.5
    #   (1,1) = (1+5)/2 sqrt2 = 3 sqrt2       (0,2) = 1.5 + (2+3)/2 = 4
    #   (1,2) = 1.5 + (2+6)/2 sqrt2           (2,0) = 2.5 + (4+7)/2 = 8
    #   (2,1) = 3 sqrt2 + (5+8)/2             (2,2) = 3 sqrt2 + (5+9)/2 sqrt2 = 10 sqrt2
    cost = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=float)
    r2 = math.sqrt(2.0)
    expected = np.array(
        [
            [0.0, 1.5, 4.0],
            [2.5, 3 * r2, 1.5 + 4 * r2],
            [8.0, 3 * r2 + 6.5, 10 * r2],
        ]
    )
    np.testing.assert_allclose(accumulated_cost(cost, [(0, 0)], resolution_m=1.0), expected)
    # cost per km on 250 m cells: every step is a quarter km
    per_km = accumulated_cost(cost, [(0, 0)], resolution_m=250.0, length_unit_m=1000.0)
    np.testing.assert_allclose(per_km, expected * 0.25)
    cells, total = least_cost_path(cost, (0, 0), (2, 2), resolution_m=1.0)
    assert cells == [(0, 0), (1, 1), (2, 2)]
    assert total == pytest.approx(10 * r2)


# --- least-cost paths against r.drain --------------------------------------------------------


def grass_paths() -> dict[int, list[tuple[int, int]]]:
    """Ordered cells of the two r.drain paths (target -> source), by category."""
    data = json.loads((OUT / "lcp_paths.geojson").read_text())
    return {
        f["properties"]["cat"]: [xy_to_rc(x, y) for x, y in f["geometry"]["coordinates"]]
        for f in data["features"]
    }


def test_grass_path_fixture_is_consistent() -> None:
    # the three GRASS outputs describe the same two paths
    paths = grass_paths()
    rows = [line.split(",") for line in (OUT / "lcp_path_cells.csv").read_text().split()]
    from_csv: dict[int, set[tuple[int, int]]] = {1: set(), 2: set()}
    for x, y, cat_text in rows:
        from_csv[int(cat_text)].add(xy_to_rc(float(x), float(y)))
    raster = read_grass_ascii(OUT / "lcp_path.asc")
    for cat, cells in paths.items():
        assert set(cells) == from_csv[cat]
        assert {(int(r), int(c)) for r, c in zip(*np.nonzero(raster == cat), strict=True)} == set(
            cells
        )


@pytest.mark.parametrize(("cat", "source", "target"), [(1, (1, 1), (7, 0)), (2, (6, 8), (0, 9))])
def test_least_cost_path_matches_r_drain(
    cost: np.ndarray, cat: int, source: tuple[int, int], target: tuple[int, int]
) -> None:
    cells, total = least_cost_path(cost, source, target, resolution_m=RES_M)
    assert cells[::-1] == grass_paths()[cat]
    # each target's nearest source is the one r.drain ran to, so the cost equals r.cost's
    assert total / RES_M == pytest.approx(
        read_grass_ascii(OUT / "cumcost8.asc")[target], abs=ASCII_TOL
    )


# --- windows, unreachable cells, invariants --------------------------------------------------


def test_large_window_equals_unwindowed() -> None:
    rng = np.random.default_rng(7)
    cost = rng.uniform(1.0, 10.0, size=(60, 80))
    full = least_cost_path(cost, (10, 12), (45, 60), resolution_m=250.0)
    windowed = least_cost_path(cost, (10, 12), (45, 60), resolution_m=250.0, window_m=5_000.0)
    assert windowed[0] == full[0]
    assert windowed[1] == pytest.approx(full[1])
    # a window covering the whole raster is the unwindowed search
    huge = least_cost_path(cost, (10, 12), (45, 60), resolution_m=250.0, window_m=1e7)
    assert huge[0] == full[0]


def test_small_window_never_beats_full_search() -> None:
    rng = np.random.default_rng(11)
    cost = rng.uniform(1.0, 10.0, size=(40, 40))
    _, full = least_cost_path(cost, (5, 5), (30, 28), resolution_m=100.0)
    _, tight = least_cost_path(cost, (5, 5), (30, 28), resolution_m=100.0, window_m=0.0)
    assert tight >= full - 1e-9


def test_window_too_small_to_pass_a_wall_raises() -> None:
    cost = np.ones((30, 30))
    barriers = np.zeros(cost.shape, dtype=bool)
    barriers[15, :25] = True  # a wall with a gap at cols 25..29
    cells, _ = least_cost_path(cost, (10, 5), (20, 5), resolution_m=100.0, barriers=barriers)
    assert not any(barriers[c] for c in cells)
    with pytest.raises(NoPathError, match="larger window_m"):
        least_cost_path(
            cost, (10, 5), (20, 5), resolution_m=100.0, barriers=barriers, window_m=500.0
        )


def test_unreachable_end_raises_clear_error() -> None:
    cost = np.ones((5, 5))
    barriers = np.zeros((5, 5), dtype=bool)
    barriers[2, :] = True
    with pytest.raises(NoPathError, match=r"cell \(0, 0\) to cell \(4, 4\)") as info:
        least_cost_path(cost, (0, 0), (4, 4), resolution_m=1.0, barriers=barriers)
    assert isinstance(info.value, GridsiteError)
    # least_cost_paths reports it as None next to the reachable ends
    out = least_cost_paths(cost, (0, 0), [(1, 4), (4, 4)], resolution_m=1.0, barriers=barriers)
    assert out[0] is not None and out[1] is None


def test_start_on_barrier_reaches_nothing() -> None:
    cost = np.ones((3, 3))
    cost[0, 0] = np.nan
    assert least_cost_paths(cost, (0, 0), [(2, 2)], resolution_m=1.0) == [None]
    acc = accumulated_cost(cost, [(0, 0)], resolution_m=1.0)
    assert np.isinf(acc).all()


def test_start_equals_end() -> None:
    cells, total = least_cost_path(np.ones((3, 3)), (1, 1), (1, 1), resolution_m=1.0)
    assert cells == [(1, 1)] and total == 0.0
    assert path_length_m(cells, resolution_m=100.0) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cost": -np.ones((3, 3))}, "negative"),
        ({"cost": np.ones(3)}, "2-D"),
        ({"start": (5, 0)}, "outside"),
        ({"resolution_m": 0.0}, "resolution_m"),
        ({"barriers": np.zeros((2, 2), dtype=bool)}, "barriers shape"),
    ],
)
def test_bad_input_is_a_value_error(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "cost": np.ones((3, 3)),
        "start": (0, 0),
        "end": (2, 2),
        "resolution_m": 1.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        least_cost_path(**args)  # type: ignore[arg-type]


def test_path_length_counts_diagonals_as_sqrt2() -> None:
    cells = [(0, 0), (1, 1), (1, 2), (2, 3)]  # diagonal, rook, diagonal
    assert path_length_m(cells, resolution_m=250.0) == pytest.approx(250.0 * (1 + 2 * math.sqrt(2)))
    with pytest.raises(ValueError, match="8-connected"):
        path_length_m([(0, 0), (2, 2)], resolution_m=1.0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(2, 25), st.integers(2, 25)),
    data=st.data(),
)
def test_path_never_shorter_than_straight_line(
    seed: int, shape: tuple[int, int], data: st.DataObject
) -> None:
    cost = np.random.default_rng(seed).uniform(0.1, 100.0, size=shape)
    rows, cols = shape
    start = (data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1)))
    end = (data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1)))
    cells, total = least_cost_path(cost, start, end, resolution_m=100.0)
    assert cells[0] == start and cells[-1] == end
    straight_m = math.hypot(end[0] - start[0], end[1] - start[1]) * 100.0
    assert path_length_m(cells, resolution_m=100.0) >= straight_m - 1e-9
    # the path's cost is at least the cheapest cell's cost over the straight line
    assert total >= cost.min() * straight_m - 1e-6
