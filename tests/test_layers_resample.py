"""The compiled sampling of ``read_raster_window`` against its plain NumPy formulation.

The NumPy version below is how the windowed read was written before it was compiled: the cell
centres' source coordinates strip by strip (bilinear in a lattice of exactly transformed nodes),
the inverse affine transform, then nearest or bilinear sampling with nodata left out. The
compiled kernel must give the same float32 values bit for bit, for a reprojected source and for
one in the grid's own CRS, with nodata holes and grids reaching past the source's edges.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from gridsite.geo import RasterGrid
from gridsite.layers import read_raster_window
from gridsite.layers.align import _apply, _SourceCoords
from gridsite.spec import LayerSpec


def numpy_coords(sc: _SourceCoords, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
    if sc.same:
        x, y = np.meshgrid(sc.xs, sc.ys[r0:r1])
        return x, y
    rj, ty = sc.rj[r0:r1, None], sc.ty[r0:r1, None]
    ci, tx = sc.ci[None, :], sc.tx[None, :]
    out = []
    for v in (sc.lx, sc.ly):
        v00, v01 = v[rj, ci], v[rj, ci + 1]
        v10, v11 = v[rj + 1, ci], v[rj + 1, ci + 1]
        south = v00 + (v01 - v00) * tx
        north = v10 + (v11 - v10) * tx
        out.append(south + (north - south) * ty)
    return out[0], out[1]


def numpy_sample(
    data: NDArray[np.float32],
    pc: np.ndarray,
    pr: np.ndarray,
    bilinear: bool,
    where: tuple[int, int, int, int],
) -> NDArray[np.float32]:
    c0, r0, width, height = where
    h, w = data.shape
    inside = (pc + c0 >= 0) & (pc + c0 < width) & (pr + r0 >= 0) & (pr + r0 < height)
    if not bilinear:
        ic = np.clip(np.floor(pc).astype(np.int64), 0, w - 1)
        ir = np.clip(np.floor(pr).astype(np.int64), 0, h - 1)
        return np.where(inside, data[ir, ic], np.float32(np.nan)).astype(np.float32)
    u, v = pc - 0.5, pr - 0.5
    i, j = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = u - i, v - j
    total = np.zeros(pc.shape)
    weight = np.zeros(pc.shape)
    corners = ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)), (0, 1, (1 - fu) * fv))
    for di, dj, wgt in (*corners, (1, 1, fu * fv)):
        ii, jj = i + di, j + dj
        ok = (ii >= 0) & (ii < w) & (jj >= 0) & (jj < h)
        vals = data[np.clip(jj, 0, h - 1), np.clip(ii, 0, w - 1)].astype(np.float64)
        ok &= np.isfinite(vals) & (wgt > 0)
        total += np.where(ok, wgt * np.where(ok, vals, 0.0), 0.0)
        weight += np.where(ok, wgt, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = total / weight
    return np.where(inside & (weight > 0), value, np.nan).astype(np.float32)


def numpy_read(path: Path, grid: RasterGrid, bilinear: bool) -> NDArray[np.float32]:
    """The whole source read, sampled strip by strip by the NumPy formulation."""
    with rasterio.open(path) as src:
        data = src.read(1, masked=True).astype(np.float32).filled(np.nan)
        sc = _SourceCoords(grid, src.crs)
        inv = ~src.transform
        size = (0, 0, src.width, src.height)
    out = np.empty(grid.shape, np.float32)
    for s0 in range(0, grid.shape[0], 7):
        s1 = min(grid.shape[0], s0 + 7)
        pc, pr = _apply(inv, *numpy_coords(sc, s0, s1))
        out[s0:s1] = numpy_sample(data, pc, pr, bilinear, size)
    return out


def write(path: Path, crs: str, origin: object, shape: tuple[int, int], seed: int) -> LayerSpec:
    rng = np.random.default_rng(seed)
    data = (rng.random(shape) * 100).astype(np.float32)
    data[rng.random(shape) < 0.08] = -9999.0  # scattered nodata
    data[5:15, 20:40] = -9999.0  # and a hole
    with rasterio.open(
        path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
        crs=crs, transform=origin, nodata=-9999.0,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    return LayerSpec(name=path.stem, path=path, format="raster")


@pytest.mark.parametrize("bilinear", [False, True])
@pytest.mark.parametrize(
    ("crs", "origin", "bounds", "res_m"),
    [
        # geographic source, the grid reaching past its edges on every side
        ("EPSG:4326", from_origin(126.0, 37.0, 0.01, 0.01), (930e3, 1820e3, 1070e3, 1975e3), 700),
        # finer grid than the source, inside it
        ("EPSG:4326", from_origin(126.0, 37.0, 0.01, 0.01), (960e3, 1880e3, 990e3, 1900e3), 130),
        # the grid's own CRS, off by fractions of a pixel
        (
            "EPSG:5179",
            from_origin(1e6, 2e6, 90, 90),
            (1_000_137, 1_989_011, 1_013_333, 2_000_450),
            70,
        ),
    ],
)
def test_compiled_sampling_equals_numpy_bit_for_bit(
    tmp_path: Path,
    crs: str,
    origin: object,
    bounds: tuple[float, float, float, float],
    res_m: float,
    bilinear: bool,
) -> None:
    spec = write(tmp_path / "src.tif", crs, origin, (120, 150), seed=int(res_m))
    grid = RasterGrid.from_bounds(bounds, resolution_m=res_m, crs="EPSG:5179")
    rs = Resampling.bilinear if bilinear else Resampling.nearest
    got = read_raster_window(spec, tmp_path, grid, resampling=rs)
    expected = numpy_read(spec.path, grid, bilinear)
    assert np.isfinite(expected).sum() > 500
    assert np.array_equal(got, expected, equal_nan=True)
