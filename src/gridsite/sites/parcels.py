"""Cut campus-sized parcels out of a suitability surface.

A parcel is a square block of k x k cells, all of them suitable (score > 0, not nodata), whose
area is at least the campus area: k = ceil(sqrt(campus_area / cell_area)). Its score is the mean
suitability of its cells. Parcels are picked greedily, best mean first, each at least
``min_spacing_km`` (centre to centre) from those already picked; ties go to the north-western
parcel, so results are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridsite.errors import NoCandidateSitesError
from gridsite.geo import RasterGrid, ha_to_m2

__all__ = ["Parcel", "parcel_size_cells", "pick_parcels", "window_sums"]


@dataclass(frozen=True)
class Parcel:
    """A k x k block of cells: top-left ``row``, ``col``; ``mean_score`` of its cells."""

    row: int
    col: int
    size: int
    mean_score: float


def parcel_size_cells(campus_area_ha: float, resolution_m: float) -> int:
    """Side of the smallest square block of cells whose area is at least ``campus_area_ha``.

    >>> parcel_size_cells(100, 500)   # 100 ha = four 25 ha cells
    2
    >>> parcel_size_cells(100, 2000)  # one 400 ha cell already holds the campus
    1
    """
    cells = ha_to_m2(campus_area_ha) / (resolution_m * resolution_m)
    return max(1, math.ceil(math.sqrt(cells) - 1e-9))


def window_sums(values: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Sum of every k x k window, indexed by its top-left cell; shape ``(rows-k+1, cols-k+1)``.

    Computed with a summed-area table, so the cost does not depend on k.

    >>> window_sums(np.arange(9.0).reshape(3, 3), 2)
    array([[ 8., 12.],
           [20., 24.]])
    """
    sat = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(values, axis=0), axis=1, out=sat[1:, 1:])
    return np.asarray(sat[k:, k:] - sat[:-k, k:] - sat[k:, :-k] + sat[:-k, :-k])


def pick_parcels(
    suitability: NDArray[np.floating],
    grid: RasterGrid,
    *,
    size: int,
    count: int,
    min_spacing_km: float,
) -> list[Parcel]:
    """Pick up to ``count`` parcels of ``size`` x ``size`` suitable cells, best mean first.

    Parameters
    ----------
    suitability
        Scores in [0, 1] on ``grid``; 0 (excluded) and NaN (nodata) cells are unsuitable.
    grid
        The study grid (metres).
    size
        Parcel side in cells, see :func:`parcel_size_cells`.
    count
        How many parcels at most.
    min_spacing_km
        Smallest distance between parcel centres (km).

    Raises
    ------
    NoCandidateSitesError
        When not one parcel fits.
    """
    rows, cols = suitability.shape
    if size > rows or size > cols:
        raise NoCandidateSitesError(
            f"a campus parcel ({size} x {size} cells) is larger than the study grid {grid.shape}"
        )
    suitable = np.isfinite(suitability) & (suitability > 0)
    vals = np.where(suitable, suitability, 0.0).astype(np.float64)
    n_ok = window_sums(suitable.astype(np.float64), size)
    means = window_sums(vals, size) / (size * size)
    means[n_ok < size * size - 0.5] = -np.inf
    res_km = grid.resolution_m / 1000.0
    radius = min_spacing_km / res_km
    picked: list[Parcel] = []
    r_idx = np.arange(means.shape[0])[:, None]
    c_idx = np.arange(means.shape[1])[None, :]
    while len(picked) < count:
        flat = int(np.argmax(means))  # first maximum in row-major order: ties go north-west
        best = float(means.flat[flat])
        if not np.isfinite(best):
            break
        r, c = divmod(flat, means.shape[1])
        picked.append(Parcel(row=r, col=c, size=size, mean_score=best))
        if radius > 0:
            means[(r_idx - r) ** 2 + (c_idx - c) ** 2 < radius * radius] = -np.inf
        else:
            means[r, c] = -np.inf
    if not picked:
        raise NoCandidateSitesError(
            f"no block of {size} x {size} suitable cells "
            f"({size * size * grid.cell_area_m2 / 1e4:.0f} ha) exists; relax the "
            "constraints, lower campus_area_ha or use a finer resolution"
        )
    return picked
