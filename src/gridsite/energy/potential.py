"""Renewable potential around each candidate site: eligible land and sea, times power densities.

All rasters are boolean masks on one :class:`~gridsite.geo.RasterGrid` (row 0 north, square cells,
projected CRS in metres, e.g. EPSG:5179). Site coordinates are ``(x, y)`` in that same CRS, metres,
x (easting) first. A cell belongs to a site's catchment when its centre lies within the radius of
the site (centre-to-point Euclidean distance, edge included).

Sharing when catchments overlap
-------------------------------
Neighbouring candidates must not each claim the same land, or the sum of their potentials would
exceed what exists. Every eligible cell's area is therefore split among the sites whose radius
covers it:

``share="equal"``
    a cell covered by ``k`` sites gives ``1/k`` of its area to each of them;
``share="nearest"``
    a cell goes wholly to the covering site nearest to it (ties, equal distance to floating-point
    precision, are split evenly among the tied sites).

Either way the sites' areas add up exactly to the eligible area of the union of their catchments.

Power densities (configurable) follow ``docs/domain.md`` section 6: ground-mounted PV about
40-60 MW per km2 of eligible land, onshore wind about 3-5 MW per km2. ``docs/domain.md`` gives no
offshore figure: the default of 5 MW/km2 of sea is an assumption of this package, of the order of
the installed-capacity densities used in offshore wind planning; set it from the study's own source.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gridsite.criteria.distance import within_distance
from gridsite.errors import ConfigError
from gridsite.geo import M_PER_KM, RasterGrid, WindowedRaster

__all__ = ["eligible_land", "local_potential", "offshore_potential"]

Share = Literal["equal", "nearest"]

M2_PER_KM2 = 1e6

# Squared distances of cell centres on a regular grid can land a few ulps above a radius that the
# cell lies exactly on; this keeps such cells inside, as in ``criteria.distance``.
_REL_TOLERANCE = 1e-9


def _check_positive(value: float, name: str, *, allow_zero: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}")


def _as_sites(sites_xy: ArrayLike) -> NDArray[np.float64]:
    xy = np.asarray(sites_xy, dtype=np.float64)
    if xy.ndim == 2 and xy.shape[0] == 0:
        return xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"sites_xy must have shape (n, 2) of (x, y) in metres, got {xy.shape}")
    if not np.isfinite(xy).all():
        raise ValueError("sites_xy holds non-finite coordinates; every site needs an (x, y)")
    return xy


#: Reads one window ``(rows, cols)`` of a boolean raster.
MaskWindow: TypeAlias = Callable[[slice, slice], NDArray[np.bool_]]


def _as_mask(mask: NDArray[np.bool_] | WindowedRaster, grid: RasterGrid, name: str) -> MaskWindow:
    """Return a reader of ``mask``'s windows as booleans (numpy arrays or windowed rasters)."""
    if tuple(mask.shape) != tuple(grid.shape):
        raise ValueError(f"{name} has shape {tuple(mask.shape)}, the study grid is {grid.shape}")
    if isinstance(mask, np.ndarray):
        array = mask.astype(bool, copy=False)
        return lambda rs, cs: array[rs, cs]
    return lambda rs, cs: np.asarray(mask[rs, cs], dtype=bool)


@dataclass(frozen=True)
class _Disc:
    """A site's catchment: the window holding its disc, in grid rows and columns."""

    x: float
    y: float
    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def window(self) -> tuple[slice, slice]:
        return slice(self.r0, self.r1), slice(self.c0, self.c1)

    def d2(self, grid: RasterGrid, rs: slice, cs: slice, limit_m2: float) -> NDArray[np.float64]:
        """Squared distances from the site to the cell centres of ``rs, cs``; inf beyond."""
        res = grid.resolution_m
        x0, y1 = grid.transform.c, grid.transform.f
        dx = x0 + (np.arange(cs.start, cs.stop) + 0.5) * res - self.x
        dy = y1 - (np.arange(rs.start, rs.stop) + 0.5) * res - self.y
        d2 = dy[:, None] ** 2 + dx[None, :] ** 2
        d2[d2 > limit_m2] = np.inf
        return d2

    def overlap(self, other: _Disc) -> tuple[slice, slice] | None:
        """Grid rows and columns both windows cover, or None."""
        r0, r1 = max(self.r0, other.r0), min(self.r1, other.r1)
        c0, c1 = max(self.c0, other.c0), min(self.c1, other.c1)
        return (slice(r0, r1), slice(c0, c1)) if r0 < r1 and c0 < c1 else None

    def local(self, rs: slice, cs: slice) -> tuple[slice, slice]:
        """Grid rows and columns ``rs, cs`` relative to this window."""
        return (
            slice(rs.start - self.r0, rs.stop - self.r0),
            slice(cs.start - self.c0, cs.stop - self.c0),
        )


def _discs(grid: RasterGrid, sites_xy: NDArray[np.float64], radius_m: float) -> list[_Disc | None]:
    """Per site: the grid window holding its disc (None when it misses the grid)."""
    rows, cols = grid.shape
    res = grid.resolution_m
    x0, y1 = grid.transform.c, grid.transform.f
    discs: list[_Disc | None] = []
    for x, y in sites_xy:
        c0 = max(0, math.floor((x - radius_m - x0) / res))
        c1 = min(cols, math.ceil((x + radius_m - x0) / res) + 1)
        r0 = max(0, math.floor((y1 - (y + radius_m)) / res))
        r1 = min(rows, math.ceil((y1 - (y - radius_m)) / res) + 1)
        ok = c0 < c1 and r0 < r1
        discs.append(_Disc(float(x), float(y), r0, r1, c0, c1) if ok else None)
    return discs


def _shared_cells(
    mask: MaskWindow,
    grid: RasterGrid,
    sites_xy: NDArray[np.float64],
    *,
    radius_m: float,
    share: str,
) -> NDArray[np.float64]:
    """Return each site's share of the True cells of ``mask`` within ``radius_m``, in cells.

    Works site window by site window: a cell's other claimants are the sites whose windows
    overlap there, so no whole-grid array is made (a 30 m grid has half a billion cells).
    """
    if share not in ("equal", "nearest"):
        raise ConfigError(f"share must be 'equal' or 'nearest', got {share!r}")
    limit_m2 = radius_m * radius_m * (1.0 + _REL_TOLERANCE)
    discs = [d for d in _discs(grid, sites_xy, radius_m)]
    # Each site's cells inside its disc and the mask (one byte a cell of its window).
    inside = [
        None if d is None else np.isfinite(d.d2(grid, *d.window, limit_m2)) & mask(*d.window)
        for d in discs
    ]
    result = np.zeros(len(sites_xy), dtype=np.float64)
    for i, disc in enumerate(discs):
        mine = inside[i]
        if disc is None or mine is None or not mine.any():
            continue
        others: list[tuple[_Disc, NDArray[np.bool_], slice, slice]] = []
        for j, other in enumerate(discs):
            overlap = None if other is None or j == i else disc.overlap(other)
            other_inside = inside[j]
            if overlap is not None and other is not None and other_inside is not None:
                others.append((other, other_inside, *overlap))
        if share == "equal":
            # How many sites claim each cell: a whole number, exact in float64.
            claims = mine.astype(np.float64)
            for other, other_inside, ors, ocs in others:
                claims[disc.local(ors, ocs)] += other_inside[other.local(ors, ocs)]
            result[i] = float(np.sum(1.0 / claims[mine]))
            continue
        # "nearest": the smallest distance among the claimants, then how many sites reach it.
        d2 = np.where(mine, disc.d2(grid, *disc.window, limit_m2), np.inf)
        best = d2.copy()
        rivals = []
        for other, other_inside, ors, ocs in others:
            dj = np.where(
                other_inside[other.local(ors, ocs)], other.d2(grid, ors, ocs, limit_m2), np.inf
            )
            view = best[disc.local(ors, ocs)]
            np.minimum(view, dj, out=view)
            rivals.append((disc.local(ors, ocs), dj))
        won = mine & (d2 == best)
        claims = won.astype(np.float64)
        for local, dj in rivals:
            claims[local] += np.isfinite(dj) & (dj == best[local])
        result[i] = float(np.sum(1.0 / claims[won]))
    return result


def eligible_land(
    land: NDArray[np.bool_], exclusions: Sequence[NDArray[np.bool_]] = ()
) -> NDArray[np.bool_]:
    """Return the land where ground PV or onshore wind may be built: land and no exclusion.

    Parameters
    ----------
    land
        Boolean raster on the study grid, True on land (row 0 north).
    exclusions
        Boolean rasters of the same shape, True where building is excluded: sea, urban areas, inland
        water, the DMZ, settlement buffers, and user layers such as steep slope or protected areas.

    Returns
    -------
    NDArray[np.bool_]
        True where ``land`` holds and no exclusion does.

    Raises
    ------
    ValueError
        If an exclusion's shape differs from ``land``'s.

    Examples
    --------
    >>> land = np.array([[True, True, False]])
    >>> eligible_land(land, [np.array([[False, True, False]])]).tolist()
    [[True, False, False]]
    """
    result = np.array(land, dtype=bool, copy=True)
    for i, exclusion in enumerate(exclusions):
        excluded = np.asarray(exclusion, dtype=bool)
        if excluded.shape != result.shape:
            raise ValueError(
                f"exclusion {i} has shape {excluded.shape}, the land mask is {result.shape}"
            )
        result &= ~excluded
    return result


def local_potential(
    eligible: NDArray[np.bool_] | WindowedRaster,
    grid: RasterGrid,
    sites_xy: ArrayLike,
    *,
    radius_km: float = 30.0,
    pv_mw_per_km2: float = 50.0,
    wind_mw_per_km2: float = 4.0,
    share: Share = "equal",
) -> pd.DataFrame:
    """Return each site's share of eligible land within ``radius_km`` and its PV and wind potential.

    Parameters
    ----------
    eligible
        Boolean raster on ``grid`` (row 0 north), True where ground PV or onshore wind may be built
        after all exclusions (see :func:`eligible_land`); a numpy array or any raster read by
        window (:class:`~gridsite.geo.WindowedRaster`): only the sites' windows are read.
    grid
        The study grid; projected CRS in metres.
    sites_xy
        Site locations, shape ``(n, 2)``, ``(x, y)`` in ``grid.crs``, metres, x first.
    radius_km
        Catchment radius around each site, km; cells whose centre lies within it count.
    pv_mw_per_km2
        Ground-mounted PV power density, MW per km2 of eligible land; ``docs/domain.md`` section 6
        gives 40-60 (default 50).
    wind_mw_per_km2
        Onshore wind power density, MW per km2 of eligible land; ``docs/domain.md`` section 6
        gives 3-5 (default 4).
    share
        How overlapping catchments split a cell: ``"equal"`` (``1/k`` to each of ``k`` covering
        sites) or ``"nearest"`` (all to the nearest covering site; ties split evenly).

    Returns
    -------
    pandas.DataFrame
        One row per site, in input order (index ``site``, 0..n-1), with columns ``eligible_km2``
        (the site's share of eligible land), ``solar_potential_mw`` and ``wind_potential_mw``.
        PV and wind are alternatives on the same land, each the potential if all of the site's
        share went to that technology; a plan using both must keep
        ``pv_mw / pv_mw_per_km2 + wind_mw / wind_mw_per_km2 <= eligible_km2``.

    Raises
    ------
    ConfigError
        If a radius or density is not a finite positive number, or ``share`` is unknown.
    ValueError
        If ``eligible`` does not match ``grid`` or ``sites_xy`` has the wrong shape.

    Examples
    --------
    >>> from gridsite.geo import RasterGrid
    >>> g = RasterGrid.from_bounds((0, 0, 5000, 5000), resolution_m=1000, crs="EPSG:5179")
    >>> df = local_potential(np.ones(g.shape, bool), g, [[2500.0, 2500.0]], radius_km=1.0)
    >>> float(df.loc[0, "eligible_km2"]), float(df.loc[0, "solar_potential_mw"])
    (5.0, 250.0)
    """
    _check_positive(radius_km, "radius_km")
    _check_positive(pv_mw_per_km2, "pv_mw_per_km2", allow_zero=True)
    _check_positive(wind_mw_per_km2, "wind_mw_per_km2", allow_zero=True)
    mask = _as_mask(eligible, grid, "eligible")
    sites = _as_sites(sites_xy)
    cells = _shared_cells(mask, grid, sites, radius_m=radius_km * M_PER_KM, share=share)
    eligible_km2 = cells * grid.cell_area_m2 / M2_PER_KM2
    return pd.DataFrame(
        {
            "eligible_km2": eligible_km2,
            "solar_potential_mw": eligible_km2 * pv_mw_per_km2,
            "wind_potential_mw": eligible_km2 * wind_mw_per_km2,
        },
        index=pd.RangeIndex(len(sites), name="site"),
    )


def offshore_potential(
    sea: NDArray[np.bool_] | WindowedRaster,
    shore: NDArray[np.bool_] | NDArray[np.floating] | WindowedRaster,
    grid: RasterGrid,
    sites_xy: ArrayLike,
    *,
    max_shore_km: float = 20.0,
    radius_km: float = 50.0,
    mw_per_km2: float = 5.0,
    share: Share = "equal",
) -> pd.Series:
    """Return each site's offshore wind potential: near-shore sea within ``radius_km``, shared.

    A sea cell counts when it is within ``max_shore_km`` of the coast and its centre within
    ``radius_km`` of the site; overlapping catchments are shared as in :func:`local_potential`.
    Water depth, seabed, shipping lanes and port access are not considered (no data in the pack), so
    this is an upper bound on the fixed-bottom and floating resource near the coast.

    Parameters
    ----------
    sea
        Boolean raster on ``grid`` (row 0 north), True on sea cells where offshore wind may be built
        (exclusions such as shipping lanes or protected waters already removed). Both rasters may
        be numpy arrays or rasters read by window (:class:`~gridsite.geo.WindowedRaster`); only
        the sites' windows (grown by ``max_shore_km``) are read.
    shore
        Either a boolean raster, True on land (or coastline) cells, from which the distance to
        shore is computed centre to centre; or a float raster of distance to shore in metres.
    grid
        The study grid; projected CRS in metres.
    sites_xy
        Site locations, shape ``(n, 2)``, ``(x, y)`` in ``grid.crs``, metres, x first.
    max_shore_km
        Farthest distance from shore at which offshore wind counts, km.
    radius_km
        Catchment radius around each site, km.
    mw_per_km2
        Offshore wind power density, MW per km2 of sea (default 5, an assumption; see module notes).
    share
        ``"equal"`` or ``"nearest"``, as in :func:`local_potential`.

    Returns
    -------
    pandas.Series
        ``offshore_wind_potential_mw`` per site, in input order (index ``site``).

    Raises
    ------
    ConfigError
        If a distance or density is not a finite positive number, or ``share`` is unknown.
    ValueError
        If a raster does not match ``grid`` or ``sites_xy`` has the wrong shape.
    """
    _check_positive(max_shore_km, "max_shore_km", allow_zero=True)
    _check_positive(radius_km, "radius_km")
    _check_positive(mw_per_km2, "mw_per_km2", allow_zero=True)
    sea_window = _as_mask(sea, grid, "sea")
    if tuple(shore.shape) != tuple(grid.shape):
        raise ValueError(f"shore has shape {tuple(shore.shape)}, the study grid is {grid.shape}")
    max_shore_m = max_shore_km * M_PER_KM
    limit_m = max_shore_m * (1.0 + _REL_TOLERANCE)
    # Land within max_shore_m of a window's cells lies within this many cells of the window.
    pad = math.ceil(max_shore_m / grid.resolution_m) + 1
    rows, cols = grid.shape

    def near_shore(rs: slice, cs: slice) -> NDArray[np.bool_]:
        here = np.asarray(shore[rs, cs])
        if here.dtype != bool:  # a distance-to-shore raster in metres
            return sea_window(rs, cs) & (here.astype(np.float64) <= limit_m)
        r0, r1 = max(0, rs.start - pad), min(rows, rs.stop + pad)
        c0, c1 = max(0, cs.start - pad), min(cols, cs.stop + pad)
        land = np.asarray(shore[slice(r0, r1), slice(c0, c1)], dtype=bool)
        within = within_distance(land, distance_m=max_shore_m, resolution_m=grid.resolution_m)
        crop = within[rs.start - r0 : rs.stop - r0, cs.start - c0 : cs.stop - c0]
        return sea_window(rs, cs) & crop

    sites = _as_sites(sites_xy)
    cells = _shared_cells(near_shore, grid, sites, radius_m=radius_km * M_PER_KM, share=share)
    return pd.Series(
        cells * grid.cell_area_m2 / M2_PER_KM2 * mw_per_km2,
        index=pd.RangeIndex(len(sites), name="site"),
        name="offshore_wind_potential_mw",
        dtype=np.float64,
    )
