"""Compiled sampling of a source raster at the study grid's cell centres (nearest or bilinear).

:func:`sample_grid` does for every cell of the study grid, in one pass over rows on all cores,
what ``align.read_raster_window`` spells out: the cell centre's source-CRS coordinates,
interpolated bilinearly from a lattice of exactly transformed nodes (or the centre itself when
the CRSs are the same); its fractional pixel position through the source's inverse affine
transform; then the source value there. Nearest takes the pixel the position falls in; bilinear
weights the four pixel centres around it, leaving out nodata (NaN) pixels and renormalising the
others' weights. A cell whose position lies off the source raster is NaN.

Every step is the same IEEE operation in the same order as the NumPy formulation kept in the
tests, so the results are equal bit for bit; the kernel only saves the temporaries (a dozen
float64 arrays of the grid's size).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["Lattice", "sample_grid"]

#: ``(lx, ly, ci, tx, rj, ty)``: the lattice nodes' source coordinates and, per column and per
#: row, the lattice cell and the position inside it; ``None`` when the CRSs are the same.
Lattice = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.float64],
]


def _sample_rows(
    out: Any,
    xs: Any,
    ys: Any,
    same: bool,
    lx: Any,
    ly: Any,
    ci: Any,
    tx: Any,
    rj: Any,
    ty: Any,
    inv: Any,
    offset: Any,
    size: Any,
    data: Any,
    bilinear: bool,
) -> None:  # pragma: no cover - compiled
    rows, cols = out.shape
    a, b, c, d, e, f = inv[0], inv[1], inv[2], inv[3], inv[4], inv[5]
    c0, r0 = offset[0], offset[1]
    width, height = size[0], size[1]
    h, w = data.shape
    for r in numba.prange(rows):
        for k in range(cols):
            if same:
                x, y = xs[k], ys[r]
            else:
                j, i = rj[r], ci[k]
                x = 0.0
                y = 0.0
                for which in range(2):
                    v = lx if which == 0 else ly
                    south = v[j, i] + (v[j, i + 1] - v[j, i]) * tx[k]
                    north = v[j + 1, i] + (v[j + 1, i + 1] - v[j + 1, i]) * tx[k]
                    if which == 0:
                        x = south + (north - south) * ty[r]
                    else:
                        y = south + (north - south) * ty[r]
            # Pixel position in the window read: the inverse transform, then the window offset.
            pc = (a * x + b * y + c) - c0
            pr = (d * x + e * y + f) - r0
            inside = pc + c0 >= 0 and pc + c0 < width and pr + r0 >= 0 and pr + r0 < height
            if not inside:
                out[r, k] = np.nan
                continue
            if not bilinear:
                ic = min(max(math.floor(pc), 0), w - 1)
                ir = min(max(math.floor(pr), 0), h - 1)
                out[r, k] = data[ir, ic]
                continue
            # Bilinear between pixel centres (at index + 0.5), nodata pixels left out.
            u, vv = pc - 0.5, pr - 0.5
            iu, jv = math.floor(u), math.floor(vv)
            fu, fv = u - iu, vv - jv
            total = 0.0
            weight = 0.0
            for corner in range(4):
                di, dj = corner & 1, corner >> 1
                if corner == 0:
                    wgt = (1 - fu) * (1 - fv)
                elif corner == 1:
                    wgt = fu * (1 - fv)
                elif corner == 2:
                    wgt = (1 - fu) * fv
                else:
                    wgt = fu * fv
                ii, jj = iu + di, jv + dj
                ok = 0 <= ii < w and 0 <= jj < h
                val = 0.0
                if ok:
                    val = np.float64(data[jj, ii])
                    ok = math.isfinite(val) and wgt > 0
                total += wgt * val if ok else 0.0
                weight += wgt if ok else 0.0
            out[r, k] = total / weight if weight > 0 else np.nan


_sample_rows_c = numba.njit(cache=True, parallel=True)(_sample_rows)


def sample_grid(
    out: NDArray[np.float32],
    xs: NDArray[np.floating[Any]],
    ys: NDArray[np.floating[Any]],
    lattice: Lattice | None,
    inv: tuple[float, float, float, float, float, float],
    window: tuple[int, int, int, int],
    data: NDArray[np.float32],
    *,
    bilinear: bool,
) -> None:
    """Fill ``out`` (rows x cols of the grid) with ``data`` sampled at the cell centres.

    Parameters
    ----------
    out
        float32 raster to fill, ``(len(ys), len(xs))``.
    xs, ys
        The grid's cell-centre coordinates of each column and row (grid CRS).
    lattice
        The source coordinates of a lattice of nodes (see :data:`Lattice`), or ``None`` when
        the grid and the source share their CRS.
    inv
        The source's inverse affine transform ``(a, b, c, d, e, f)``: source CRS to pixels.
    window
        ``(col_off, row_off, src_width, src_height)``: where ``data`` was read from the source,
        and the source's size (positions off the source are NaN).
    data
        The source pixels read, float32 with NaN as nodata.
    bilinear
        Bilinear interpolation, else nearest.
    """
    if lattice is None:
        empty_f = np.zeros((1, 1))
        empty_i = np.zeros(1, np.int64)
        lx, ly, ci, tx, rj, ty = empty_f, empty_f, empty_i, xs, empty_i, ys
    else:
        lx, ly, ci, tx, rj, ty = lattice
    _sample_rows_c(
        out, xs, ys, lattice is None, lx, ly, ci, tx, rj, ty,
        np.asarray(inv, np.float64), np.asarray(window[:2], np.int64),
        np.asarray(window[2:], np.int64), data, bilinear,
    )  # fmt: skip
