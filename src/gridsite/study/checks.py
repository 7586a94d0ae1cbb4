"""Study-level checks between the raster stage and the site search, with errors that say why.

When no site can be found, :func:`~gridsite.sites.pick_parcels` and
:func:`~gridsite.sites.locate_regions` can only say that no block or region fits.
:func:`check_room_for_sites` looks at the whole suitability surface first and names the cause:
the constraints exclude every cell of the study area (listing what each excludes), no open cell
scores above 0 (a criterion without data there), or the campus is larger than all the open land
together. Pure functions: rasters in (numpy arrays, or rasters read by window such as the
chunked path's, a strip of rows at a time), :class:`~gridsite.errors.NoCandidateSitesError` out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from gridsite.errors import NoCandidateSitesError
from gridsite.geo import RasterGrid, WindowedRaster

__all__ = ["OpenCells", "check_room_for_sites", "count_open_cells"]

_M2_PER_KM2 = 1e6
_M2_PER_HA = 1e4
#: Constraints listed in a message, largest first.
_MAX_LISTED = 6
#: Cells read at once from a raster read by window (a strip of whole rows).
_STRIP_CELLS = 1 << 22

Surface = NDArray[Any] | WindowedRaster


class OpenCells(NamedTuple):
    """Cell counts of a study's suitability surface."""

    area: int
    """Cells of the study area."""
    left: int
    """Cells of the study area no ``exclude`` constraint hits."""
    open: int
    """Cells of the study area scoring above 0."""


def count_open_cells(suitability: Surface, *, in_area: Surface, excluded: Surface) -> OpenCells:
    """Count the study area's cells, those the constraints leave, and those scoring above 0.

    Parameters
    ----------
    suitability
        Suitability in [0, 1] (0 = excluded, NaN = nodata), shape ``(rows, cols)``.
    in_area
        Cells of the study area (bool, same shape).
    excluded
        Cells the ``exclude`` constraints hit (bool, same shape; outside the area may be set).

    Examples
    --------
    >>> suit = np.array([[0.0, 0.4], [np.nan, 0.0]], dtype=np.float32)
    >>> area = np.array([[True, True], [True, False]])
    >>> count_open_cells(suit, in_area=area, excluded=np.array([[True, False], [False, True]]))
    OpenCells(area=3, left=2, open=1)
    """
    area = left = open_ = 0
    for rows in _strips(suitability.shape):
        a = np.asarray(in_area[rows, :], dtype=bool)
        s = np.nan_to_num(np.asarray(suitability[rows, :], dtype=np.float64), nan=0.0)
        area += int(np.count_nonzero(a))
        left += int(np.count_nonzero(a & ~np.asarray(excluded[rows, :], dtype=bool)))
        open_ += int(np.count_nonzero(a & (s > 0)))
    return OpenCells(area=area, left=left, open=open_)


def check_room_for_sites(
    suitability: Surface,
    *,
    in_area: Surface,
    excluded: Surface,
    excluded_km2: Mapping[str, float],
    grid: RasterGrid,
    campus_area_ha: float,
) -> None:
    """Raise :class:`NoCandidateSitesError` naming the cause when no campus can fit anywhere.

    Three causes are told apart: the ``exclude`` constraints cover the whole study area (the
    message lists the area each one hits, largest first); the constraints leave room but no
    cell there scores above 0 (a criterion has no data there, or scores 0); the campus is larger
    than all the open cells together. When this passes, the site search may still find no
    campus-sized block of open cells (open land in small pieces) and say so itself.

    Parameters
    ----------
    suitability
        Suitability on ``grid``: 0 = excluded, NaN = nodata; a numpy array or a raster read by
        window (``raster[rows, cols]``), read a strip of rows at a time.
    in_area
        Cells of the study area (bool).
    excluded
        Cells the ``exclude`` constraints hit (bool).
    excluded_km2
        Constraint name to the study area it hits alone (km2), for the message.
    grid
        The study grid (metres).
    campus_area_ha
        The land a campus needs (ha).

    Examples
    --------
    >>> grid = RasterGrid.from_bounds((0, 0, 2000, 1000), resolution_m=1000, crs="EPSG:5179")
    >>> area = np.ones(grid.shape, dtype=bool)
    >>> check_room_for_sites(np.zeros(grid.shape), in_area=area, excluded=area,
    ...                      excluded_km2={"sea": 2.0}, grid=grid, campus_area_ha=100)
    Traceback (most recent call last):
    ...
    gridsite.errors.NoCandidateSitesError: the constraints exclude the whole study area (2 km2): sea 2 km2 (each alone). Remove or relax a constraint in [[constraints]] of the study file (smaller buffer_km, a narrower select, or mode = "partial" to penalise rather than exclude)
    """  # noqa: E501
    cells = count_open_cells(suitability, in_area=in_area, excluded=excluded)
    km2_per_cell = grid.cell_area_m2 / _M2_PER_KM2
    if cells.area == 0:
        raise NoCandidateSitesError(
            "the study area covers no cell of the study grid; check the study.area layer and "
            "study.resolution_m (a cell counts when its centre is inside the area)"
        )
    if cells.left == 0:
        ranked = sorted(excluded_km2.items(), key=lambda kv: -kv[1])
        listing = ", ".join(f"{name} {km2:,.0f} km2" for name, km2 in ranked[:_MAX_LISTED])
        more = len(ranked) - _MAX_LISTED
        raise NoCandidateSitesError(
            f"the constraints exclude the whole study area ({cells.area * km2_per_cell:,.0f} "
            f"km2): {listing}{f' and {more} more' if more > 0 else ''} (each alone). Remove "
            "or relax a constraint in [[constraints]] of the study file (smaller buffer_km, a "
            'narrower select, or mode = "partial" to penalise rather than exclude)'
        )
    if cells.open == 0:
        raise NoCandidateSitesError(
            f"the constraints leave {cells.left * km2_per_cell:,.0f} km2 of the study area "
            "open, but no cell there scores above 0: a criterion has no data there (its "
            "transform's nodata = 'exclude', the default, makes such cells nodata) or its "
            "transform gives 0 everywhere. Check the criteria's layers and transforms in "
            "[[criteria]] of the study file"
        )
    open_ha = cells.open * grid.cell_area_m2 / _M2_PER_HA
    if campus_area_ha > open_ha:
        raise NoCandidateSitesError(
            f"campus.campus_area_ha = {campus_area_ha:,.0f} ha is larger than all the open land "
            f"together ({open_ha:,.0f} ha in {cells.open:,} cells of {grid.resolution_m:g} m). "
            "Lower campus.campus_area_ha or relax the constraints"
        )


def _strips(shape: tuple[int, ...]) -> Iterator[slice]:
    rows, cols = int(shape[0]), int(shape[1])
    step = max(1, _STRIP_CELLS // max(1, cols))
    for r in range(0, rows, step):
        yield slice(r, min(rows, r + step))
