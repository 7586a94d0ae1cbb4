"""The chunked raster path: exact chunked distances, windowed reads, and the Korea study in chunks.

The chunked results are compared with the in-memory path (the distance transform of the whole
grid, reading the whole grid), with GDAL's gdal_proximity output, with brute force and with
pyproj, never with numbers the chunked code produced itself.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.transform import from_origin

import gridsite
from gridsite.criteria.distance import (
    distance_to_cells,
    distance_to_mask,
    feature_cell_tree,
    north_of,
    north_of_rows,
    southernmost_rows,
    within_distance,
    within_distance_of_cells,
)
from gridsite.errors import ConfigError
from gridsite.geo import RasterGrid
from gridsite.layers import read_raster_window
from gridsite.spec import AggregationSpec, LayerSpec, RankingSpec, TransformSpec
from gridsite.study import StudyResult
from gridsite.study.chunked import check_chunkable, chunk_windows
from gridsite.study.rasters import GridWindow

from .conftest import KOREA_STUDY, REFERENCE


def _chunked_distance(mask: np.ndarray, chunk: int, res: float, *, pad: int | None) -> np.ndarray:
    """Distances assembled chunk by chunk, as the chunked study computes them."""
    rows, cols = np.nonzero(mask)
    tree = feature_cell_tree(rows, cols)
    out = np.empty(mask.shape)
    for w in chunk_windows(mask.shape, chunk):
        kw: dict[str, object] = {}
        if pad is not None:
            r0, c0 = max(0, w.row0 - pad), max(0, w.col0 - pad)
            r1 = min(mask.shape[0], w.row0 + w.rows + pad)
            c1 = min(mask.shape[1], w.col0 + w.cols + pad)
            kw = {"near_mask": mask[r0:r1, c0:c1], "near_origin": (r0, c0), "pad_px": pad}
        out[w.slices] = distance_to_cells(tree, w.bounds, resolution_m=res, **kw)  # type: ignore[arg-type]
    return out


@st.composite
def _masks(draw: st.DrawFn) -> tuple[np.ndarray, int, int | None]:
    rows = draw(st.integers(1, 40))
    cols = draw(st.integers(1, 40))
    density = draw(st.sampled_from([0.0, 0.002, 0.02, 0.2]))
    seed = draw(st.integers(0, 2**31))
    mask = np.random.default_rng(seed).random((rows, cols)) < density
    if draw(st.booleans()) and rows > 1:
        mask[: rows // 2] = False  # features only in some chunks: the others must look beyond
    chunk = draw(st.integers(1, 17))
    pad = draw(st.sampled_from([None, 0, 1, 3, 8]))
    return mask, chunk, pad


@settings(max_examples=150, deadline=None)
@given(_masks(), st.sampled_from([1.0, 30.0, 250.0]))
def test_chunked_distance_equals_the_distance_transform(
    case: tuple[np.ndarray, int, int | None], res: float
) -> None:
    mask, chunk, pad = case
    got = _chunked_distance(mask, chunk, res, pad=pad)
    expected = distance_to_mask(mask, resolution_m=res).astype(np.float64)
    if not mask.any():
        assert np.isposinf(got).all()
        return
    # Both are sqrt((dr * res)**2 + (dc * res)**2) to the nearest feature cell.
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert (got[mask] == 0).all()


@settings(max_examples=100, deadline=None)
@given(_masks(), st.sampled_from([0.0, 30.0, 45.0, 100.0, 300.0]))
def test_chunked_buffer_equals_within_distance(
    case: tuple[np.ndarray, int, int | None], distance_m: float
) -> None:
    mask, chunk, pad = case
    tree = feature_cell_tree(*np.nonzero(mask))
    got = np.zeros(mask.shape, dtype=bool)
    for w in chunk_windows(mask.shape, chunk):
        kw: dict[str, object] = {}
        if pad is not None:
            r0, c0 = max(0, w.row0 - pad), max(0, w.col0 - pad)
            kw = {
                "near_mask": mask[r0 : w.row0 + w.rows + pad, c0 : w.col0 + w.cols + pad],
                "near_origin": (r0, c0),
                "pad_px": pad,
            }
        got[w.slices] = within_distance_of_cells(
            tree,
            w.bounds,
            distance_m=distance_m,
            resolution_m=30.0,
            **kw,  # type: ignore[arg-type]
        )
    expected = within_distance(mask, distance_m=distance_m, resolution_m=30.0)
    assert np.array_equal(got, expected)


@settings(max_examples=100, deadline=None)
@given(_masks())
def test_north_of_by_strips_equals_the_whole_grid(case: tuple[np.ndarray, int, int | None]) -> None:
    mask, chunk, _ = case
    south = np.full(mask.shape[1], -1, dtype=np.int64)
    for w in chunk_windows(mask.shape, chunk):
        s = south[w.col0 : w.col0 + w.cols]
        np.maximum(s, southernmost_rows(mask[w.slices], row0=w.row0), out=s)
    got = np.zeros(mask.shape, dtype=bool)
    for w in chunk_windows(mask.shape, chunk):
        got[w.slices] = north_of_rows(south[w.col0 : w.col0 + w.cols], row0=w.row0, rows=w.rows)
    assert np.array_equal(got, north_of(mask))


@pytest.mark.parametrize(("chunk", "pad"), [(3, None), (4, 2), (5, 0), (7, 64)])
def test_chunked_distance_matches_gdal_proximity(chunk: int, pad: int | None) -> None:
    with rasterio.open(REFERENCE / "grass" / "sources_0is_value.tif") as src:
        mask = src.read(1) == 1
    expected = np.loadtxt(REFERENCE / "gdal" / "prox_geo.asc", skiprows=5)
    got = _chunked_distance(mask, chunk, 100.0, pad=pad)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-3)


def test_brute_force_far_from_every_feature() -> None:
    # One feature cell in the far corner: every chunk but one has to ask the tree.
    mask = np.zeros((50, 60), dtype=bool)
    mask[49, 59] = True
    got = _chunked_distance(mask, 8, 30.0, pad=2)
    rows, cols = np.indices(mask.shape)
    expected = np.hypot((49 - rows) * 30.0, (59 - cols) * 30.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---- windowed reading ---------------------------------------------------------------------


def _write(path: Path, data: np.ndarray, crs: str, transform: object) -> LayerSpec:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=-9999.0,
    ) as dst:
        dst.write(data[None].astype("float32"))
    return LayerSpec(name="src", path=path, format="raster")


@pytest.fixture
def lonlat_raster(tmp_path: Path) -> LayerSpec:
    rng = np.random.default_rng(7)
    data = rng.random((120, 150)).astype("float32") * 100
    data[10:20, 30:45] = -9999.0  # nodata
    return _write(tmp_path / "ll.tif", data, "EPSG:4326", from_origin(126.0, 37.0, 0.01, 0.01))


@pytest.mark.parametrize("resampling", [Resampling.nearest, Resampling.bilinear])
def test_window_reads_equal_the_whole_grid(
    lonlat_raster: LayerSpec, tmp_path: Path, resampling: Resampling
) -> None:
    grid = RasterGrid.from_bounds(
        (940_000, 1_830_000, 1_060_000, 1_960_000), resolution_m=700, crs="EPSG:5179"
    )
    whole = read_raster_window(lonlat_raster, tmp_path, grid, resampling=resampling)
    assert np.isfinite(whole).sum() > 1000 and np.isnan(whole).sum() > 100
    pieces = np.empty_like(whole)
    for w in chunk_windows(grid.shape, 23):
        pieces[w.slices] = read_raster_window(
            lonlat_raster, tmp_path, w.grid(grid), resampling=resampling
        )
    assert np.array_equal(pieces, whole, equal_nan=True)


def test_window_read_nearest_is_the_pixel_under_each_centre(
    lonlat_raster: LayerSpec, tmp_path: Path
) -> None:
    grid = RasterGrid.from_bounds(
        (940_000, 1_830_000, 1_060_000, 1_960_000), resolution_m=700, crs="EPSG:5179"
    )
    got = read_raster_window(lonlat_raster, tmp_path, grid, resampling=Resampling.nearest)
    with rasterio.open(lonlat_raster.path) as src:
        data = src.read(1, masked=True).astype("float32").filled(np.nan)
    xs, ys = grid.cell_centres()
    lon, lat = Transformer.from_crs(5179, 4326, always_xy=True).transform(*np.meshgrid(xs, ys))
    col, row = (lon - 126.0) / 0.01, (37.0 - lat) / 0.01
    inside = (col >= 0) & (col < 150) & (row >= 0) & (row < 120)
    # Centres within 1e-6 px of a pixel edge may fall either way (interpolated coordinates).
    clear = inside & (np.abs(col - np.round(col)) > 1e-6) & (np.abs(row - np.round(row)) > 1e-6)
    expected = np.full(grid.shape, np.nan, dtype=np.float32)
    expected[inside] = data[np.floor(row[inside]).astype(int), np.floor(col[inside]).astype(int)]
    assert clear.sum() > 1000
    assert np.array_equal(got[clear], expected[clear], equal_nan=True)
    assert np.isnan(got[~inside]).all()


def test_window_read_equals_gdal_on_an_aligned_grid(tmp_path: Path) -> None:
    # Same CRS and cell size, shifted by whole cells: every resampling is a plain copy in GDAL.
    data = np.arange(40 * 50, dtype="float32").reshape(40, 50)
    origin = from_origin(1_000_000, 2_000_000, 100, 100)
    spec = _write(tmp_path / "a.tif", data, "EPSG:5179", origin)
    grid = RasterGrid.from_bounds(
        (1_001_000, 1_996_500, 1_006_000, 1_999_800), resolution_m=100, crs="EPSG:5179"
    )
    for rs in (Resampling.nearest, Resampling.bilinear):
        mine = read_raster_window(spec, tmp_path, grid, resampling=rs)
        gdal = gridsite.layers.read_raster(spec, tmp_path, grid, resampling=rs)
        np.testing.assert_allclose(mine, gdal, rtol=1e-6)


# ---- the study in chunks ------------------------------------------------------------------


def _korea(data_root: Path, **changes: object) -> gridsite.Study:
    s = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(8)
    spec = replace(
        s.spec, supply=None, electrical=None, interconnect=None, ranking=RankingSpec(), **changes
    )
    return gridsite.Study(spec)


@pytest.fixture(scope="module")
def in_memory(data_root: Path) -> StudyResult:
    return _korea(data_root).run()


def _assert_same(chunked: StudyResult, in_memory: StudyResult) -> None:
    a, b = chunked.sites, in_memory.sites
    assert a["site_id"].tolist() == b["site_id"].tolist()
    assert a["rank"].tolist() == b["rank"].tolist()
    cols = [c for c in b.columns if c.startswith(("score", "value_", "suitability"))]
    assert len(cols) > 2 * len(in_memory.spec.criteria)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), check_exact=False, rtol=0, atol=1e-6
    )
    sa, sb = chunked.suitability.array, in_memory.suitability.array
    assert np.array_equal(np.isnan(sa), np.isnan(sb))
    np.testing.assert_allclose(sa, sb, rtol=0, atol=1e-6, equal_nan=True)
    assert np.array_equal(chunked.excluded, in_memory.excluded)


@pytest.mark.integration
def test_korea_in_chunks_equals_in_memory(data_root: Path, in_memory: StudyResult) -> None:
    chunked = _korea(data_root, chunk_px=37).run()
    _assert_same(chunked, in_memory)
    # Scores come back chunk by chunk into files (for scores/*.tif), equal to the in-memory ones.
    assert list(chunked.scores) == list(in_memory.scores)
    for name, score in chunked.scores.items():
        np.testing.assert_allclose(score, in_memory.scores[name], atol=1e-6, equal_nan=True)
    assert {"features", "rasters"} <= set(chunked.timings_s)


@pytest.mark.integration
def test_korea_on_a_local_cluster_equals_in_memory(data_root: Path, in_memory: StudyResult) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        address = cluster.scheduler_address
        study = gridsite.Study.from_toml(
            KOREA_STUDY, data_root, resolution_m=4000, chunk_px=37, scheduler=address
        ).with_top(8)
        assert study.spec.scheduler == address and study.spec.chunk_px == 37
        spec = replace(
            study.spec, supply=None, electrical=None, interconnect=None, ranking=RankingSpec()
        )
        chunked = gridsite.Study(spec).run()
    _assert_same(chunked, in_memory)


def test_whole_raster_rules_are_refused_in_chunks(data_root: Path) -> None:
    spec = _korea(data_root, chunk_px=64).spec
    ms = replace(spec.criteria[0], transform=TransformSpec(kind="ms_large"))
    bad = replace(
        spec, criteria=(ms, *spec.criteria[1:]), aggregation=AggregationSpec(method="topsis")
    )
    with pytest.raises(ConfigError, match=r"criteria\[0\].*ms_large.*topsis.*chunk_px = 0"):
        check_chunkable(bad)
    with pytest.raises(ConfigError, match="ms_large"):
        gridsite.Study(bad).run()
    check_chunkable(spec)  # the Korea study itself runs in chunks


def test_scheduler_without_chunks_is_refused(data_root: Path) -> None:
    study = _korea(data_root, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="chunk_px"):
        study.run()


def test_unreachable_scheduler_is_a_config_error(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gridsite.study.chunked._CONNECT_TIMEOUT_S", 2)
    study = _korea(data_root, chunk_px=64, scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"cannot connect to the dask scheduler"):
        study.run()


def test_chunk_windows_tile_the_grid() -> None:
    shape = (101, 37)
    seen = np.zeros(shape, dtype=int)
    for w in chunk_windows(shape, 16):
        seen[w.slices] += 1
        assert w.grid(RasterGrid.from_bounds((0, 0, 370, 1010), resolution_m=10, crs="EPSG:5179"))
    assert (seen == 1).all()
    assert math.ceil(101 / 16) * math.ceil(37 / 16) == len(chunk_windows(shape, 16))
    with pytest.raises(ConfigError):
        chunk_windows(shape, 0)
    assert GridWindow.whole(
        RasterGrid.from_bounds((0, 0, 370, 1010), resolution_m=10, crs="EPSG:5179")
    ).bounds == (0, 0, 101, 37)


@pytest.mark.integration
def test_cli_runs_the_whole_study_in_chunks(
    data_root: Path, tmp_path: Path, in_memory: StudyResult
) -> None:
    # Every stage (supply, hosting capacity, routing) and every output, from chunked rasters;
    # suitability does not depend on those stages, so the in-memory fixture's must be written.
    from click.testing import CliRunner

    from gridsite.cli import main

    out = tmp_path / "out"
    args = ["run", str(KOREA_STUDY), "--data", str(data_root), "--resolution", "4000"]
    result = CliRunner().invoke(main, [*args, "--top", "3", "--chunk-px", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with rasterio.open(out / "suitability.tif") as src:
        suit = src.read(1, masked=True).filled(np.nan)
    np.testing.assert_allclose(suit, in_memory.suitability.array, atol=1e-6, equal_nan=True)
    sites = pd.read_csv(out / "sites.csv")
    assert len(sites) == 3 and sites["cfe_share"].notna().all()
    assert (out / "supply_monthly.csv").is_file() and (out / "routes.geojson").is_file()

    bad = [*args, "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "x")]
    refused = CliRunner().invoke(main, bad)
    assert refused.exit_code == 1 and "chunk_px" in refused.output
