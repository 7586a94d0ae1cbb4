from __future__ import annotations

import heapq
import itertools
import math
from unittest import mock

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from gridsite.errors import NoCandidateSitesError
from gridsite.geo import RasterGrid
from gridsite.sites import Region, locate_regions, regions_to_labels, regions_to_polygons
from gridsite.sites import regions as regions_module

RES_M = 100.0  # one cell = 1 ha


def _grid(rows: int, cols: int, res: float = RES_M) -> RasterGrid:
    return RasterGrid.from_bounds((0, 0, cols * res, rows * res), resolution_m=res, crs="EPSG:5179")


def _bump(shape: tuple[int, int], centre: tuple[float, float], peak: float, plateau: float):
    """Peak value on a disk of radius ``plateau`` cells, Gaussian fall-off outside it."""
    r, c = np.indices(shape)
    d = np.hypot(r - centre[0], c - centre[1])
    return np.where(d <= plateau, peak, peak * np.exp(-((d - plateau) ** 2) / (2 * 3.0**2)))


def _two_bumps() -> np.ndarray:
    shape = (60, 80)
    surf = 0.1 + 0.0 * _bump(shape, (0, 0), 0, 0)
    surf = np.maximum(surf, _bump(shape, (40, 60), 0.8, 5))  # second best, listed first
    surf = np.maximum(surf, _bump(shape, (20, 25), 1.0, 5))
    return surf


def _noisy(shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    surf = ndimage.gaussian_filter(rng.random(shape), 2)
    surf = (surf - surf.min()) / (surf.max() - surf.min())
    surf[rng.random(shape) < 0.08] = 0.0
    surf[:, shape[1] // 3] = np.nan  # a nodata river
    surf[shape[0] // 2, :] = 0.0  # an excluded road
    return surf


def _gap_m(a: Region, b: Region, res: float = RES_M) -> float:
    """Shortest distance between the cell squares of two regions, by brute force."""
    dr = np.abs(a.rows[:, None] - b.rows[None, :])
    dc = np.abs(a.cols[:, None] - b.cols[None, :])
    return float(np.hypot(np.maximum(dr - 1, 0), np.maximum(dc - 1, 0)).min() * res)


def _check_invariants(
    regions: list[Region], surf: np.ndarray, *, min_cells: int, max_cells: int, spacing_m: float
) -> None:
    labels = regions_to_labels(regions, surf.shape)
    assert sum(r.n_cells for r in regions) == np.count_nonzero(labels)  # no overlap
    for r in regions:
        assert min_cells <= r.n_cells <= max_cells
        vals = surf[r.rows, r.cols]
        assert np.all(np.isfinite(vals)) and np.all(vals > 0)
        _, n = ndimage.label(np.isin(np.arange(surf.size), r.rows * surf.shape[1] + r.cols)
                             .reshape(surf.shape))  # fmt: skip
        assert n == 1  # 4-connected (scipy's default structure)
        assert r.sum_score == pytest.approx(float(vals.astype(np.float32).sum()), rel=1e-6)
        assert r.mean_score == pytest.approx(r.sum_score / r.n_cells)
        assert r.area_ha == pytest.approx(r.n_cells * RES_M * RES_M / 1e4)
    for a, b in itertools.combinations(regions, 2):
        assert _gap_m(a, b) >= spacing_m - 1e-6


@pytest.mark.parametrize("evaluate", ["mean", "sum"])
@pytest.mark.parametrize(
    ("shape", "compactness"), [("circle", 0.5), ("square", 0.5), ("free", 0.0), ("circle", 0.0)]
)
def test_finds_the_two_bumps_best_first(shape: str, compactness: float, evaluate: str) -> None:
    surf = _two_bumps()
    regions = locate_regions(
        surf,
        _grid(*surf.shape),
        count=2,
        min_area_ha=50,
        max_area_ha=150,
        min_spacing_km=1.0,
        shape=shape,  # type: ignore[arg-type]
        compactness=compactness,
        evaluate=evaluate,  # type: ignore[arg-type]
    )
    assert len(regions) == 2
    assert math.hypot(regions[0].centroid_row - 20, regions[0].centroid_col - 25) <= 1.5
    assert math.hypot(regions[1].centroid_row - 40, regions[1].centroid_col - 60) <= 1.5
    _check_invariants(regions, surf, min_cells=50, max_cells=150, spacing_m=1000)
    if evaluate == "mean":  # on the plateau (radius 5: 81 cells at the peak), nothing below it
        assert regions[0].mean_score == pytest.approx(1.0)
        if compactness == 0:
            assert regions[0].n_cells == 81
        assert regions[1].mean_score == pytest.approx(0.8)
    else:
        assert regions[0].n_cells == regions[1].n_cells == 150
        assert regions[0].sum_score > regions[1].sum_score


def test_centroid_in_grid_crs_and_polygons() -> None:
    surf = _two_bumps()
    grid = RasterGrid.from_bounds(
        (200_000, 300_000, 208_000, 306_000), resolution_m=RES_M, crs="EPSG:5179"
    )
    regions = locate_regions(
        surf, grid, count=2, min_area_ha=50, max_area_ha=150, min_spacing_km=1.0
    )
    best = regions[0]
    # centre of cell (20, 25): x = 200,000 + 25.5 * 100, y = 306,000 - 20.5 * 100
    assert best.x_m == pytest.approx(202_550, abs=150)
    assert best.y_m == pytest.approx(303_950, abs=150)
    polys = regions_to_polygons(regions, grid)
    for r, p in zip(regions, polys, strict=True):
        assert isinstance(p, shapely.Polygon) and p.is_valid
        assert p.area == pytest.approx(r.area_ha * 1e4)
        assert p.centroid.x == pytest.approx(r.x_m)
        assert p.centroid.y == pytest.approx(r.y_m)
    assert polys[0].distance(polys[1]) >= 1000


@pytest.mark.parametrize("evaluate", ["mean", "sum"])
@pytest.mark.parametrize("spacing_km", [0.0, 0.35, 1.2])
def test_invariants_on_a_noisy_surface(evaluate: str, spacing_km: float) -> None:
    surf = _noisy((70, 90), seed=3)
    regions = locate_regions(
        surf,
        _grid(*surf.shape),
        count=12,
        min_area_ha=20,
        max_area_ha=60,
        min_spacing_km=spacing_km,
        evaluate=evaluate,  # type: ignore[arg-type]
    )
    assert 2 <= len(regions) <= 12
    _check_invariants(regions, surf, min_cells=20, max_cells=60, spacing_m=spacing_km * 1000)
    key = [r.mean_score if evaluate == "mean" else r.sum_score for r in regions]
    assert key == sorted(key, reverse=True)
    # polygons agree with the brute-force gap
    polys = regions_to_polygons(regions, _grid(*surf.shape))
    for (a, pa), (b, pb) in itertools.combinations(zip(regions, polys, strict=True), 2):
        assert pa.distance(pb) == pytest.approx(_gap_m(a, b), abs=1e-6)


@pytest.mark.parametrize(
    ("offset", "gap_m"),
    [((0, 13), 300.0), ((13, 14), 500.0), ((10, 10), 0.0)],  # beside, diagonal (3-4-5), corner
)
def test_spacing_is_the_exact_edge_gap(offset: tuple[int, int], gap_m: float) -> None:
    surf = np.zeros((30, 30))
    surf[:10, :10] = 1.0
    surf[offset[0] : offset[0] + 10, offset[1] : offset[1] + 10] = 0.9
    grid = _grid(30, 30)
    opts = dict(count=2, min_area_ha=100, max_area_ha=100)
    at_gap = locate_regions(surf, grid, min_spacing_km=gap_m / 1000, **opts)  # type: ignore[arg-type]
    assert len(at_gap) == 2
    if gap_m > 0:
        below = locate_regions(surf, grid, min_spacing_km=gap_m / 1000 + 0.001, **opts)  # type: ignore[arg-type]
        assert len(below) == 1 and below[0].mean_score == pytest.approx(1.0)


def test_regions_stay_off_excluded_and_nodata_cells() -> None:
    surf = _two_bumps()
    surf[18:23, :] = 0.0  # a road across the best bump
    surf[:, 27] = np.nan  # and a nodata column
    regions = locate_regions(
        surf, _grid(*surf.shape), count=4, min_area_ha=20, max_area_ha=150, min_spacing_km=0
    )
    labels = regions_to_labels(regions, surf.shape)
    assert not np.any(labels[18:23, :]) and not np.any(labels[:, 27])
    _check_invariants(regions, surf, min_cells=20, max_cells=150, spacing_m=0)


def test_deterministic_and_input_untouched() -> None:
    surf = _noisy((50, 60), seed=11)
    surf[10:20, 10:20] = 0.7  # an exact plateau: ties everywhere
    before = surf.copy()
    kw = dict(count=8, min_area_ha=15, max_area_ha=40, min_spacing_km=0.2)
    a = locate_regions(surf, _grid(50, 60), **kw)  # type: ignore[arg-type]
    b = locate_regions(surf, _grid(50, 60), **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(surf, before)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.rows, y.rows)
        np.testing.assert_array_equal(x.cols, y.cols)
        assert (x.mean_score, x.sum_score, x.x_m, x.y_m) == (
            y.mean_score,
            y.sum_score,
            y.x_m,
            y.y_m,
        )


def test_full_compactness_gives_the_shape() -> None:
    surf = np.full((21, 21), 0.5)
    surf[10, 10] = 0.6
    grid = _grid(21, 21)
    seed = [(10, 10)]
    square = locate_regions(
        surf, grid, count=1, min_area_ha=49, max_area_ha=49, min_spacing_km=0,
        shape="square", compactness=1.0, seed_candidates=seed,
    )[0]  # fmt: skip
    assert (square.rows.min(), square.rows.max(), square.cols.min(), square.cols.max()) == (
        7, 13, 7, 13,
    )  # fmt: skip
    disk = locate_regions(
        surf, grid, count=1, min_area_ha=45, max_area_ha=45, min_spacing_km=0,
        shape="circle", compactness=1.0, seed_candidates=seed,
    )[0]  # fmt: skip
    d = np.hypot(disk.rows - 10, disk.cols - 10)
    inside = regions_to_labels([disk], surf.shape) > 0
    r, c = np.indices(surf.shape)
    assert d.max() <= np.hypot(r - 10, c - 10)[~inside].min()


def test_compactness_trades_score_for_shape() -> None:
    surf = np.full((40, 40), 0.3)
    surf[20, 2:38] = 0.9  # a thin ridge of excellent cells
    surf[19:22, 19:22] = 0.95
    grid = _grid(40, 40)
    kw = dict(count=1, min_area_ha=30, max_area_ha=30, min_spacing_km=0)
    free = locate_regions(surf, grid, shape="free", **kw)[0]  # type: ignore[arg-type]
    tight = locate_regions(surf, grid, shape="circle", compactness=1.0, **kw)[0]  # type: ignore[arg-type]
    assert free.mean_score > tight.mean_score
    assert np.ptp(free.cols) > 2 * np.ptp(tight.cols)


def test_seed_candidates_are_used_in_order() -> None:
    surf = _two_bumps()
    regions = locate_regions(
        surf,
        _grid(*surf.shape),
        count=2,
        min_area_ha=50,
        max_area_ha=150,
        min_spacing_km=1.0,
        seed_candidates=[(0, 0), (41, 61), (40, 60), (19, 25)],
    )
    # (0, 0) grows a low-background region first; the seed (40, 60) is blocked by (41, 61)'s region
    assert {r.seed for r in regions} == {(0, 0), (41, 61)}
    assert regions[0].seed == (41, 61)  # ranked by mean, not by seed order


@pytest.mark.parametrize(
    "surf",
    [
        np.indices((8, 8)).sum(axis=0) % 2 * 0.9,  # checkerboard: 4-connected patches of one cell
        np.full((8, 8), np.nan),
        np.zeros((8, 8)),
    ],
    ids=["checkerboard", "all-nodata", "all-excluded"],
)
def test_nothing_large_enough_raises(surf: np.ndarray) -> None:
    with pytest.raises(NoCandidateSitesError, match="relax the constraints"):
        locate_regions(surf, _grid(8, 8), count=3, min_area_ha=2, max_area_ha=5, min_spacing_km=0)


def test_bad_arguments_are_all_reported() -> None:
    surf = np.ones((5, 5))
    with pytest.raises(ValueError, match=r"count.*compactness.*evaluate"):
        locate_regions(
            surf, _grid(5, 5), count=0, min_area_ha=1, max_area_ha=2, min_spacing_km=0,
            compactness=1.5, evaluate="max",  # type: ignore[arg-type]
        )  # fmt: skip
    with pytest.raises(ValueError, match="raise max_area_ha"):
        locate_regions(surf, _grid(5, 5), count=1, min_area_ha=3, max_area_ha=2.5, min_spacing_km=0)
    with pytest.raises(ValueError, match="shape"):
        locate_regions(surf, _grid(4, 5), count=1, min_area_ha=1, max_area_ha=2, min_spacing_km=0)


def _blocked_by(regions: list[Region], shape: tuple[int, int], spacing_cells: float) -> np.ndarray:
    """Cells inside a region or closer than the spacing to one, by brute force over all cells."""
    r, c = np.indices(shape)
    out = np.zeros(shape, dtype=bool)
    for reg in regions:
        dr = np.abs(r[..., None] - reg.rows)
        dc = np.abs(c[..., None] - reg.cols)
        gap = np.hypot(np.maximum(dr - 1, 0), np.maximum(dc - 1, 0)).min(axis=-1)
        out |= gap < spacing_cells - 1e-9
        out[reg.rows, reg.cols] = True
    return out


cell_values = st.one_of(
    st.just(0.0), st.just(float("nan")), st.floats(0.01, 1.0), st.sampled_from([0.5, 0.8])
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    rows=st.integers(2, 14),
    cols=st.integers(2, 14),
    min_cells=st.integers(1, 8),
    extra=st.integers(0, 10),
    spacing_cells=st.sampled_from([0.0, 1.0, 1.5, 2.9]),
    count=st.integers(1, 6),
    shape=st.sampled_from(["circle", "square", "free"]),
    compactness=st.floats(0.0, 1.0),
    evaluate=st.sampled_from(["mean", "sum"]),
)
def test_invariants_hold_on_random_rasters(
    data: st.DataObject,
    rows: int,
    cols: int,
    min_cells: int,
    extra: int,
    spacing_cells: float,
    count: int,
    shape: str,
    compactness: float,
    evaluate: str,
) -> None:
    flat = data.draw(st.lists(cell_values, min_size=rows * cols, max_size=rows * cols))
    surf = np.array(flat, dtype=np.float64).reshape(rows, cols)
    suitable = np.isfinite(surf) & (surf > 0)
    try:
        regions = locate_regions(
            surf,
            _grid(rows, cols),
            count=count,
            min_area_ha=min_cells,
            max_area_ha=min_cells + extra,
            min_spacing_km=spacing_cells * RES_M / 1000,
            shape=shape,  # type: ignore[arg-type]
            compactness=compactness,
            evaluate=evaluate,  # type: ignore[arg-type]
        )
    except NoCandidateSitesError:
        labels, n = ndimage.label(suitable)
        assert n == 0 or np.bincount(labels.ravel())[1:].max() < min_cells
        return
    assert 1 <= len(regions) <= count
    _check_invariants(
        regions, surf, min_cells=min_cells, max_cells=min_cells + extra,
        spacing_m=spacing_cells * RES_M,
    )  # fmt: skip
    if len(regions) < count:  # exhaustive: no patch of min_cells free cells is left
        free = suitable & ~_blocked_by(regions, surf.shape, spacing_cells)
        labels, n = ndimage.label(free)
        assert n == 0 or np.bincount(labels.ravel())[1:].max() < min_cells


def test_search_is_exhaustive() -> None:
    # one seed window covers the whole raster; every cell is a region of its own
    surf = np.array([[0.9, 0.8], [0.7, 0.6]])
    regions = locate_regions(
        surf, _grid(2, 2), count=4, min_area_ha=1, max_area_ha=1, min_spacing_km=0
    )
    assert [r.seed for r in regions] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [r.mean_score for r in regions] == pytest.approx([0.9, 0.8, 0.7, 0.6])


# ---- the fast paths equal the method written plainly ---------------------------------------------


def _plain_block_sums(values: np.ndarray, h: int) -> np.ndarray:
    rows, cols = values.shape
    nbr, nbc = -(-rows // h), -(-cols // h)
    padded = np.zeros((nbr * h, nbc * h), dtype=np.float32)
    padded[:rows, :cols] = np.fmax(values, np.float32(0.0))
    return padded.reshape(nbr, h, nbc * h).sum(axis=1, dtype=np.float64).reshape(nbr, nbc, h).sum(2)


def _plain_regions(
    surf: np.ndarray,
    *,
    count: int,
    min_cells: int,
    max_cells: int,
    spacing_cells: float,
    shape: str = "circle",
    compactness: float = 0.5,
    evaluate: str = "mean",
    seeds: list[tuple[int, int]] | None = None,
) -> list[tuple[list[int], float]]:
    """The module docstring's method written plainly: one blocked mask over the whole grid,
    seeds from padded block sums and SciPy's maximum filter, growth from a heap, and spacing by
    brute force over every cell. Returns each region's cells (flat, in growth order) and sum."""
    values = np.fmax(surf.astype(np.float32), np.float32(0.0))
    blocked = values <= 0
    rows, cols = values.shape
    cw = 0.0 if shape == "free" else compactness
    half = math.sqrt(max_cells / math.pi) if shape == "circle" else math.sqrt(max_cells) / 2
    d_max = max(half, 0.5)

    def key(idx: int, sr: int, sc: int) -> float:
        v = float(values.flat[idx])
        if cw == 0.0:
            return -v
        r, c = divmod(idx, cols)
        d = (
            math.hypot(r - sr, c - sc)
            if shape == "circle"
            else float(max(abs(r - sr), abs(c - sc)))
        )
        return -((1.0 - cw) * v - cw * d / d_max)

    def grow(seed: int) -> tuple[list[int], float, bool]:
        sr, sc = divmod(seed, cols)
        seen, heap, region, total = {seed}, [(key(seed, sr, sc), seed)], [], 0.0
        while heap and len(region) < max_cells:
            idx = heap[0][1]
            v = float(values.flat[idx])
            if evaluate == "mean" and len(region) >= min_cells and v < total / len(region):
                break
            heapq.heappop(heap)
            region.append(idx)
            total += v
            r, c = divmod(idx, cols)
            for nr, nc in ((r - 1, c), (r, c - 1), (r, c + 1), (r + 1, c)):
                nb = nr * cols + nc
                if 0 <= nr < rows and 0 <= nc < cols and nb not in seen and not blocked.flat[nb]:
                    seen.add(nb)
                    heapq.heappush(heap, (key(nb, sr, sc), nb))
        if len(region) < min_cells:
            return sorted(seen), total, False
        return region, total, True

    r_all, c_all = np.indices(values.shape)

    def block_near(cells: list[int]) -> None:
        rr, cc = np.divmod(np.asarray(cells), cols)
        blocked[rr, cc] = True
        if spacing_cells > 0:  # squared gap from every cell's square to the region's
            dr = np.maximum(np.abs(r_all[..., None] - rr) - 1, 0)
            dc = np.maximum(np.abs(c_all[..., None] - cc) - 1, 0)
            blocked[(dr**2 + dc**2).min(axis=-1) < spacing_cells**2 - 1e-9] = True

    found: list[tuple[list[int], float]] = []

    def attempt(seed: int) -> None:
        cells, total, ok = grow(seed)
        if ok:
            found.append((cells, total))
            block_near(cells)
        else:
            blocked.flat[cells] = True

    if seeds is not None:
        for r, c in seeds:
            if len(found) < count and 0 <= r < rows and 0 <= c < cols and not blocked[r, c]:
                attempt(r * cols + c)
    else:
        k = math.ceil(math.sqrt(min_cells) - 1e-9)
        h = max(1, math.ceil(k / 2))
        blocks = _plain_block_sums(surf.astype(np.float32), h)
        nbr, nbc = blocks.shape
        wr, wc = min(2, nbr), min(2, nbc)
        focal = np.zeros((nbr - wr + 1, nbc - wc + 1))
        for i in range(wr):
            for j in range(wc):
                focal += blocks[i : i + nbr - wr + 1, j : j + nbc - wc + 1]
        peak = ndimage.maximum_filter(focal, size=3, mode="constant", cval=-np.inf)
        is_max = (focal >= peak) & (focal > 0)
        for mask in (is_max, ~is_max & (focal > 0)):
            idx = np.flatnonzero(mask)
            for w in idx[np.argsort(-focal.flat[idx], kind="stable")]:
                i, j = divmod(int(w), focal.shape[1])
                r0, r1 = i * h, min(rows, (i + wr) * h)
                c0, c1 = j * h, min(cols, (j + wc) * h)
                while len(found) < count and not blocked[r0:r1, c0:c1].all():
                    pr0, pr1, pc0, pc1 = (
                        max(0, r0 - k),
                        min(rows, r1 + k),
                        max(0, c0 - k),
                        min(cols, c1 + k),
                    )
                    patch = np.where(
                        blocked[pr0:pr1, pc0:pc1], 0.0, values[pr0:pr1, pc0:pc1].astype(np.float64)
                    )
                    near = ndimage.uniform_filter(patch, size=k, mode="constant")
                    near = near[r0 - pr0 : r1 - pr0, c0 - pc0 : c1 - pc0]
                    best = int(np.argmax(np.where(blocked[r0:r1, c0:c1], -1.0, near)))
                    br, bc = divmod(best, c1 - c0)
                    attempt((r0 + br) * cols + c0 + bc)
    score = (lambda f: f[1] / len(f[0])) if evaluate == "mean" else (lambda f: f[1])
    return sorted(found, key=score, reverse=True)


def _as_found(regions: list[Region], cols: int) -> list[tuple[list[int], float]]:
    return [((r.rows * cols + r.cols).tolist(), r.sum_score) for r in regions]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    rows=st.integers(2, 24),
    cols=st.integers(2, 24),
    min_cells=st.integers(1, 20),
    extra=st.integers(0, 12),
    spacing_cells=st.sampled_from([0.0, 1.0, 1.5, 2.9, 4.0]),
    count=st.integers(1, 8),
    shape=st.sampled_from(["circle", "square", "free"]),
    compactness=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    evaluate=st.sampled_from(["mean", "sum"]),
    chunk=st.sampled_from([1, 200, 1 << 21]),
)
def test_regions_equal_the_plain_method(
    data: st.DataObject,
    rows: int,
    cols: int,
    min_cells: int,
    extra: int,
    spacing_cells: float,
    count: int,
    shape: str,
    compactness: float,
    evaluate: str,
    chunk: int,
) -> None:
    flat = data.draw(st.lists(cell_values, min_size=rows * cols, max_size=rows * cols))
    surf = np.array(flat, dtype=np.float64).reshape(rows, cols)
    opts = dict(count=count, min_cells=min_cells, max_cells=min_cells + extra,
                spacing_cells=spacing_cells, shape=shape, compactness=compactness,
                evaluate=evaluate)  # fmt: skip
    expected = _plain_regions(surf, **opts)  # type: ignore[arg-type]
    # small chunks and two threads: the seed pass crosses chunk and thread boundaries
    with (
        mock.patch.object(regions_module, "_CHUNK_BYTES", chunk),
        mock.patch.object(regions_module, "_thread_count", lambda: 2),
    ):
        try:
            got = locate_regions(
                surf,
                _grid(rows, cols),
                count=count,
                min_area_ha=min_cells,
                max_area_ha=min_cells + extra,
                min_spacing_km=spacing_cells * RES_M / 1000,
                shape=shape,  # type: ignore[arg-type]
                compactness=compactness,
                evaluate=evaluate,  # type: ignore[arg-type]
            )
        except NoCandidateSitesError:
            assert expected == []
            return
    assert _as_found(got, cols) == expected  # the same cells, in growth order, the same sums
    for r in got:
        assert r.mean_score == r.sum_score / r.n_cells


def test_regions_equal_the_plain_method_on_a_larger_surface() -> None:
    # 225-cell minimum: blocks of 8 x 8 cells, where NumPy sums a block's columns pairwise
    surf = _noisy((150, 170), seed=5).astype(np.float32)
    surf[:20, :] = np.nan  # a margin of nodata
    opts = dict(count=6, min_cells=225, max_cells=400, spacing_cells=7.5)
    expected = _plain_regions(surf, **opts)  # type: ignore[arg-type]
    with mock.patch.object(regions_module, "_CHUNK_BYTES", 4096):
        got = locate_regions(
            surf, _grid(150, 170), count=6, min_area_ha=225, max_area_ha=400, min_spacing_km=0.75
        )
    assert len(got) >= 2
    assert _as_found(got, 170) == expected


def test_seed_candidates_equal_the_plain_method() -> None:
    surf = _noisy((40, 50), seed=8)
    seeds = [(5, 5), (5, 6), (30, 40), (0, 0), (20, 17), (39, 49), (45, 3)]
    opts = dict(count=5, min_cells=10, max_cells=30, spacing_cells=2.5)
    expected = _plain_regions(surf, seeds=seeds, **opts)  # type: ignore[arg-type]
    got = locate_regions(
        surf, _grid(40, 50), count=5, min_area_ha=10, max_area_ha=30, min_spacing_km=0.25,
        seed_candidates=seeds,
    )  # fmt: skip
    assert _as_found(got, 50) == expected


@settings(max_examples=200, deadline=None)
@given(
    h=st.one_of(st.integers(1, 40), st.integers(125, 140)),
    rows=st.integers(1, 60),
    cols=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_block_sums_equal_numpy_sums_bit_for_bit(h: int, rows: int, cols: int, seed: int) -> None:
    # h from 1 to 40 covers NumPy's one-by-one sums (< 8) and its eight partial sums with and
    # without a remainder; above 128 NumPy halves the sum first and gridsite calls it instead.
    rng = np.random.default_rng(seed)
    # scores over 60 binary orders of magnitude, so the order of additions shows in the sums
    values = (rng.random((rows, cols)) * 2.0 ** rng.integers(-60, 1, (rows, cols))).astype(
        np.float32
    )
    values[rng.random((rows, cols)) < 0.2] = np.nan
    values[rng.random((rows, cols)) < 0.1] = -0.5
    got = regions_module._block_sums(values, h)
    np.testing.assert_array_equal(got, _plain_block_sums(values, h))


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    chunk=st.sampled_from([1, 300, 1 << 21]),
)
def test_window_sums_and_peaks_equal_the_plain_ones(
    rows: int, cols: int, seed: int, chunk: int
) -> None:
    rng = np.random.default_rng(seed)
    # plateaus (ties everywhere) and sums in any order of magnitude
    blocks = rng.integers(0, 4, (rows, cols)) * 2.0 ** rng.integers(-60, 1, (rows, cols))
    wr, wc = min(2, rows), min(2, cols)
    focal = np.zeros((rows - wr + 1, cols - wc + 1))
    for i in range(wr):
        for j in range(wc):
            focal += blocks[i : i + rows - wr + 1, j : j + cols - wc + 1]
    peak = ndimage.maximum_filter(focal, size=3, mode="constant", cval=-np.inf)
    with (
        mock.patch.object(regions_module, "_CHUNK_BYTES", chunk),
        mock.patch.object(regions_module, "_thread_count", lambda: 2),
    ):
        at, sums = regions_module._peaks(blocks, wr, wc)
    np.testing.assert_array_equal(regions_module._window_totals(blocks, wr, wc), focal)
    expected = np.flatnonzero((focal >= peak) & (focal > 0))
    np.testing.assert_array_equal(at, expected)
    np.testing.assert_array_equal(sums, focal.flat[expected])


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1, 30),
    cols=st.integers(1, 30),
    seed=st.integers(0, 2**32 - 1),
    n_cells=st.integers(1, 12),
    spacing_cells=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 2.9, 3.3, 7.0, 50.0]),
)
def test_spacing_block_equals_brute_force(
    rows: int, cols: int, seed: int, n_cells: int, spacing_cells: float
) -> None:
    # any set of cells, connected or not, several runs a row: spans overlap and leave gaps
    rng = np.random.default_rng(seed)
    flat = rng.choice(rows * cols, size=min(n_cells, rows * cols), replace=False)
    rr, cc = np.divmod(flat, cols)
    taken = np.zeros((rows, cols), dtype=bool)
    kernel = regions_module._spacing_kernel(spacing_cells) if spacing_cells > 0 else None
    regions_module._block_around(taken, rr, cc, kernel)
    reg = Region(rr, cc, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    np.testing.assert_array_equal(taken, _blocked_by([reg], (rows, cols), spacing_cells))
