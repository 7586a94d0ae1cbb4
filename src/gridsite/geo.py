"""Value types for the study's raster grid, and small unit helpers.

A :class:`RasterGrid` is the one grid every layer is aligned to: a projected CRS in metres, an
affine transform (north-up, square cells) and a shape (rows, cols). It holds no data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from gridsite.errors import CRSError

__all__ = ["M_PER_KM", "Raster", "RasterGrid", "WindowedRaster", "ha_to_m2", "m_to_km"]

M_PER_KM = 1000.0


def m_to_km(value_m: float) -> float:
    """Convert metres to kilometres."""
    return value_m / M_PER_KM


def ha_to_m2(value_ha: float) -> float:
    """Convert hectares to square metres."""
    return value_ha * 10_000.0


@dataclass(frozen=True)
class RasterGrid:
    """A north-up raster grid with square cells in a projected CRS.

    Parameters
    ----------
    crs
        The grid's CRS as an authority string, e.g. ``"EPSG:5179"``; must be projected, in metres.
    transform
        Affine transform from (col, row) to (x, y) of the cell's upper-left corner, CRS units (m).
    shape
        ``(rows, cols)``.
    """

    crs: str
    transform: Affine
    shape: tuple[int, int]

    @classmethod
    def from_bounds(
        cls, bounds: tuple[float, float, float, float], *, resolution_m: float, crs: str
    ) -> RasterGrid:
        """Build the grid covering ``bounds`` with cells of ``resolution_m``.

        Parameters
        ----------
        bounds
            ``(xmin, ymin, xmax, ymax)`` in the CRS ``crs`` (metres).
        resolution_m
            Cell size in metres; the grid's origin is snapped to a multiple of it so that grids of
            one resolution over different areas line up.
        crs
            Projected CRS of ``bounds`` and of the grid.

        Examples
        --------
        >>> g = RasterGrid.from_bounds((0, 0, 1000, 500), resolution_m=100, crs="EPSG:5179")
        >>> g.shape
        (5, 10)
        """
        if resolution_m <= 0 or not math.isfinite(resolution_m):
            raise CRSError(
                f"resolution_m must be a positive number of metres, got {resolution_m!r}"
            )
        xmin, ymin, xmax, ymax = bounds
        if not (xmax > xmin and ymax > ymin):
            raise CRSError(f"grid bounds {bounds!r} are empty; check the study area")
        x0 = math.floor(xmin / resolution_m) * resolution_m
        y1 = math.ceil(ymax / resolution_m) * resolution_m
        cols = max(1, math.ceil((xmax - x0) / resolution_m))
        rows = max(1, math.ceil((y1 - ymin) / resolution_m))
        transform = Affine(resolution_m, 0.0, x0, 0.0, -resolution_m, y1)
        return cls(crs=crs, transform=transform, shape=(rows, cols))

    @property
    def resolution_m(self) -> float:
        """Cell size in metres."""
        return float(self.transform.a)

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell in square metres."""
        return self.resolution_m * self.resolution_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the grid in its CRS (m)."""
        rows, cols = self.shape
        x0, y1 = self.transform.c, self.transform.f
        return (x0, y1 - rows * self.resolution_m, x0 + cols * self.resolution_m, y1)

    def cell_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return x (per column) and y (per row) of cell centres, CRS metres, as 1-D arrays."""
        rows, cols = self.shape
        res = self.resolution_m
        xs = self.transform.c + (np.arange(cols) + 0.5) * res
        ys = self.transform.f - (np.arange(rows) + 0.5) * res
        return xs.astype(np.float64), ys.astype(np.float64)

    def xy_to_rowcol(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return row and column indices of the cells holding points ``(x, y)`` (CRS metres).

        Points outside the grid get indices outside ``[0, rows)`` / ``[0, cols)``.
        """
        res = self.resolution_m
        cols = np.floor((np.asarray(x) - self.transform.c) / res).astype(np.int64)
        rows = np.floor((self.transform.f - np.asarray(y)) / res).astype(np.int64)
        return rows, cols

    def rowcol_to_xy(
        self, rows: NDArray[np.int64], cols: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the centre coordinates (CRS metres) of the cells at ``rows``, ``cols``."""
        res = self.resolution_m
        x = self.transform.c + (np.asarray(cols) + 0.5) * res
        y = self.transform.f - (np.asarray(rows) + 0.5) * res
        return x.astype(np.float64), y.astype(np.float64)


class WindowedRaster(Protocol):
    """A whole-grid raster that is read one window at a time, never whole (e.g. packed bits).

    ``raster[rows, cols]`` with two slices returns that window as a numpy array; numpy arrays
    qualify too.
    """

    @property
    def shape(self) -> tuple[int, ...]:
        """``(rows, cols)`` of the study grid."""
        ...

    def __getitem__(self, key: tuple[slice, slice], /) -> NDArray[Any]: ...


@dataclass(frozen=True)
class Raster:
    """An array on a :class:`RasterGrid` (``array.shape == grid.shape``); NaN is nodata."""

    array: NDArray[np.float32]
    grid: RasterGrid

    def __post_init__(self) -> None:
        if self.array.shape != self.grid.shape:
            raise ValueError(f"array shape {self.array.shape} differs from grid {self.grid.shape}")
