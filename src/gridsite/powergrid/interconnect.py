"""Route a campus's tie line to the power grid over a cost raster and price it (the reVX method).

The method (docs/domain.md section 4, after NREL reVX ``least_cost_xmission``):

1. A cost raster in MUSD per km: the base cost of one circuit at the tie line's voltage
   (:func:`~gridsite.powergrid.costs.line_cost_per_km_musd`) times land-use and slope multipliers
   (:func:`cost_multiplier_raster`); see :func:`line_cost_raster`. Barriers are impassable.
2. :func:`route_site` takes the ``k`` substations nearest the site in a straight line among those
   that can take the line (voltage >= the line's), finds the 8-connected least-cost path to each
   inside a window around the site and them, and prices each connection:

   - line cost = cost accumulated along the path (MUSD) x length multiplier of the route length
     (:func:`~gridsite.powergrid.costs.length_multiplier`) x parallel circuits
     (:func:`parallel_circuits`: a campus larger than one circuit's rating gets more circuits;
     reV once dropped such sites, this does not);
   - substation cost = upgrade of the existing substation (or a new substation where the row says
     ``new_substation``), by the line's voltage;
   - transformer cost = cost per MVA between the line's and the substation's voltage x the
     campus's MVA, where the two voltages differ (reVX zeroes it in its TEPPC region; this does
     not, the conservative choice);
   - total = the sum; the cheapest reachable substation is chosen, even when it is farther.

Everything is on the study :class:`~gridsite.geo.RasterGrid`: cells are ``(row, col)`` array
indices, coordinates are cell centres in the grid's projected CRS (metres), lengths in km.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from shapely.geometry import LineString

from gridsite.criteria.costdistance import Cell, least_cost_paths, path_length_m
from gridsite.errors import PowerGridError
from gridsite.geo import M_PER_KM, RasterGrid, WindowedRaster
from gridsite.powergrid.costs import (
    TransmissionCosts,
    length_multiplier,
    line_cost_per_km_musd,
    substation_cost_musd,
)
from gridsite.powergrid.graph import DEFAULT_RATING_MVA_PER_CIRCUIT, rating_mva_for_voltage

__all__ = [
    "ROUTE_COLUMNS",
    "cost_multiplier_raster",
    "line_cost_raster",
    "parallel_circuits",
    "route_site",
]

log = logging.getLogger(__name__)

#: Columns of :func:`route_site`'s table, in order (plus ``geometry``).
ROUTE_COLUMNS = (
    "bus_id",
    "sub_row",
    "sub_col",
    "substation_kv",
    "line_kv",
    "new_substation",
    "reachable",
    "chosen",
    "straight_km",
    "route_km",
    "length_multiplier",
    "parallel_circuits",
    "line_cost_musd",
    "substation_cost_musd",
    "transformer_cost_musd",
    "interconnect_cost_musd",
)

_SUBSTATION_COLUMNS = ("bus_id", "row", "col", "voltage_kv")
# Voltages within this of each other are one class (OSM tags 154 kV as 154000 V, others 154.0 kV).
_KV_TOLERANCE = 0.5
# A campus exactly at a circuit's rating fits on one circuit despite float rounding.
_CIRCUIT_SLACK = 1e-9


def parallel_circuits(
    campus_mw: float,
    *,
    voltage_kv: float,
    rating_mva_per_circuit: float | Sequence[tuple[float, float]] = DEFAULT_RATING_MVA_PER_CIRCUIT,
    power_factor: float = 1.0,
) -> int:
    """Return how many circuits at ``voltage_kv`` a campus of ``campus_mw`` needs (at least 1).

    ``ceil(campus_mw / (rating_mva x power_factor))``, with the rating of one circuit either given
    or taken from a ``(kV, MVA)`` table by the nearest voltage class
    (:func:`~gridsite.powergrid.graph.rating_mva_for_voltage`; the default is KEPCO's figures,
    docs/domain.md section 3). No N-1 margin is added.

    Examples
    --------
    >>> parallel_circuits(500, voltage_kv=154), parallel_circuits(500, voltage_kv=345)
    (2, 1)
    """
    if not (campus_mw > 0 and math.isfinite(campus_mw)):
        raise ValueError(f"campus_mw must be a positive number of MW, got {campus_mw!r}")
    if not (0 < power_factor <= 1):
        raise ValueError(f"power_factor must be in (0, 1], got {power_factor!r}")
    if isinstance(rating_mva_per_circuit, int | float):
        rating_mva = float(rating_mva_per_circuit)
    else:
        rating_mva = rating_mva_for_voltage(voltage_kv, rating_mva_per_circuit)
    if not (rating_mva > 0 and math.isfinite(rating_mva)):
        raise ValueError(f"a circuit's rating must be a positive MVA, got {rating_mva!r}")
    return max(1, math.ceil(campus_mw / (rating_mva * power_factor) - _CIRCUIT_SLACK))


def cost_multiplier_raster(
    grid_shape: tuple[int, int],
    *,
    costs: TransmissionCosts,
    urban: NDArray[np.bool_] | None = None,
    slope_pct: NDArray[np.floating] | None = None,
    landuse_classes: NDArray[np.integer] | None = None,
    landuse_codes: Mapping[str, Sequence[int]] | None = None,
) -> NDArray[np.float64]:
    """Return the line-cost multiplier of every cell: land use x slope, 1.0 where nothing applies.

    As reVX's ``XmissionCostCreator.compute_multipliers``: a land-use multiplier by land-cover
    class, times a slope multiplier. Barriers are not multipliers: pass them to
    :func:`route_site` separately.

    Parameters
    ----------
    grid_shape
        ``(rows, cols)`` of the study grid.
    costs
        Gives the multipliers of each land-use class and the slope classes.
    urban
        Optional mask of urban cells; they take the ``urban`` multiplier, overriding
        ``landuse_classes``.
    slope_pct
        Optional terrain slope in percent grade; ``hill_slope_pct <= slope < mountain_slope_pct``
        takes the hill multiplier and ``slope >= mountain_slope_pct`` the mountain one; NaN is
        flat.
    landuse_classes
        Optional land-cover codes; a code listed under a class in ``landuse_codes`` takes that
        class's multiplier.
    landuse_codes
        Land-use class -> codes; by default ``costs.landuse_codes`` (reVX's NLCD codes). Give the
        codes of the land-cover product actually used (e.g. Korea's) here.
    """
    out = np.ones(grid_shape, dtype=np.float64)

    def _check(arr: NDArray[np.generic], name: str) -> None:
        if arr.shape != tuple(grid_shape):
            raise ValueError(f"{name} shape {arr.shape} differs from the grid shape {grid_shape}")

    if landuse_classes is not None:
        classes = np.asarray(landuse_classes)
        _check(classes, "landuse_classes")
        codes = dict(costs.landuse_codes) if landuse_codes is None else landuse_codes
        for name, class_codes in codes.items():
            mult = costs.landuse_multiplier(name)
            out[np.isin(classes, np.asarray(list(class_codes)))] = mult
    if urban is not None:
        mask = np.asarray(urban, dtype=bool)
        _check(mask, "urban")
        out[mask] = costs.landuse_multiplier("urban")
    if slope_pct is not None:
        slope = np.asarray(slope_pct, dtype=np.float64)
        _check(slope, "slope_pct")
        with np.errstate(invalid="ignore"):
            hilly = (slope >= costs.hill_slope_pct) & (slope < costs.mountain_slope_pct)
            mountain = slope >= costs.mountain_slope_pct
        out[hilly] *= costs.hill_multiplier
        out[mountain] *= costs.mountain_multiplier
    return out


def line_cost_raster(
    multiplier: NDArray[np.floating], *, costs: TransmissionCosts, voltage_kv: float
) -> NDArray[np.float64]:
    """Return the cost of one circuit at ``voltage_kv`` through each cell, MUSD per km.

    ``multiplier`` (from :func:`cost_multiplier_raster`) x
    :func:`~gridsite.powergrid.costs.line_cost_per_km_musd`; NaN stays NaN (impassable).
    """
    return np.asarray(multiplier, dtype=np.float64) * line_cost_per_km_musd(costs, voltage_kv)


def _empty_routes(crs: str) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ROUTE_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _check_substations(substations: pd.DataFrame) -> None:
    missing = [c for c in _SUBSTATION_COLUMNS if c not in substations.columns]
    if missing:
        raise PowerGridError(
            f"substations table lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(_SUBSTATION_COLUMNS)} (row, col on the study grid; voltage in kV)"
        )


def route_site(
    cost_musd_per_km: NDArray[np.floating] | WindowedRaster,
    grid: RasterGrid,
    site_rc: Cell,
    substations: pd.DataFrame,
    *,
    costs: TransmissionCosts,
    campus_mw: float,
    site_kv: float,
    k: int = 5,
    window_m: float | None = 20_000.0,
    barriers: NDArray[np.bool_] | None = None,
    rating_mva_per_circuit: float | Sequence[tuple[float, float]] = DEFAULT_RATING_MVA_PER_CIRCUIT,
    power_factor: float = 1.0,
    length_mult_kind: str = "linear",
    site_xy: tuple[float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Route a site's tie line to its ``k`` nearest feasible substations and price each.

    Parameters
    ----------
    cost_musd_per_km
        Cost of one circuit of the tie line through each cell, MUSD per km, on ``grid``
        (:func:`line_cost_raster`); NaN or ``inf`` is impassable. A numpy array, or any raster
        read by window (:class:`~gridsite.geo.WindowedRaster`): only the search window is read.
    grid
        The study grid (projected CRS, metres); gives the cell size and the route geometry.
    site_rc
        ``(row, col)`` of the site's cell on ``grid``.
    substations
        One row per substation (or line tap) with ``bus_id``, ``row``, ``col`` (cell on ``grid``)
        and ``voltage_kv``; optional boolean ``new_substation`` (a new substation is built, e.g.
        to tap a line; default: the existing substation is upgraded).
    costs
        Unit costs (substations, transformers).
    campus_mw
        The campus's demand, MW.
    site_kv
        The tie line's voltage, kV. Substations below it cannot take the line and are skipped.
    k
        How many substations, nearest in a straight line among the feasible ones, to route to.
    window_m
        Search only inside the bounding box of the site and those substations, grown by this
        many metres; ``None`` searches the whole raster. Memory grows with the window's area.
    barriers
        Optional mask of impassable cells.
    rating_mva_per_circuit, power_factor
        One circuit's rating (MVA, or a ``(kV, MVA)`` table) and the power factor, for
        :func:`parallel_circuits`.
    length_mult_kind
        ``"linear"`` (default) or ``"step"``; see
        :func:`~gridsite.powergrid.costs.length_multiplier`.
    site_xy
        The site's own point (grid CRS, metres). With it, and ``x_m``/``y_m`` columns in
        ``substations``, the route is pinned to the true end points instead of the cell centres:
        ``straight_km`` and ``route_km`` are measured between them, so a route is never shorter
        than the straight line between the site and the substation.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per routed substation, columns :data:`ROUTE_COLUMNS` and ``geometry`` (the route
        through cell centres from the site to the substation, a ``LineString`` in ``grid.crs``),
        sorted by ``interconnect_cost_musd``; the first row is ``chosen``. Substations that cannot
        be reached (barriers, or outside the window) come last with ``reachable`` False, NaN
        costs and no geometry. Costs are MUSD, lengths km. Empty when no substation is feasible.
    """
    # No copy: only the search window is read (a windowed raster makes just that window).
    cost = cost_musd_per_km
    if tuple(cost.shape) != tuple(grid.shape):
        raise ValueError(f"cost raster shape {cost.shape} differs from the grid {grid.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")
    _check_substations(substations)
    rows, cols = grid.shape
    site = (int(site_rc[0]), int(site_rc[1]))
    if not (0 <= site[0] < rows and 0 <= site[1] < cols):
        raise ValueError(f"site cell {site} lies outside the grid of shape {grid.shape}")

    subs = substations.reset_index(drop=True)
    sub_row = subs["row"].to_numpy(dtype=np.int64)
    sub_col = subs["col"].to_numpy(dtype=np.int64)
    sub_kv = subs["voltage_kv"].to_numpy(dtype=np.float64)
    inside = (sub_row >= 0) & (sub_row < rows) & (sub_col >= 0) & (sub_col < cols)
    feasible = inside & (sub_kv >= site_kv - _KV_TOLERANCE)
    if not feasible.any():
        log.debug("site %s: no substation at >= %g kV inside the grid", site, site_kv)
        return _empty_routes(grid.crs)
    res_m = grid.resolution_m
    pinned = site_xy is not None and {"x_m", "y_m"} <= set(subs.columns)
    if pinned:
        assert site_xy is not None
        sub_xy = subs[["x_m", "y_m"]].to_numpy(dtype=np.float64)
        straight_km = np.hypot(sub_xy[:, 0] - site_xy[0], sub_xy[:, 1] - site_xy[1]) / M_PER_KM
    else:
        straight_km = np.hypot(sub_row - site[0], sub_col - site[1]) * res_m / M_PER_KM
    candidates = np.flatnonzero(feasible)
    order = np.lexsort((subs["bus_id"].astype(str).to_numpy()[candidates], straight_km[candidates]))
    chosen_idx = candidates[order[:k]]

    ends = [(int(sub_row[i]), int(sub_col[i])) for i in chosen_idx]
    paths = least_cost_paths(
        cost,
        site,
        ends,
        resolution_m=res_m,
        barriers=barriers,
        window_m=window_m,
        length_unit_m=M_PER_KM,
    )
    circuits = parallel_circuits(
        campus_mw,
        voltage_kv=site_kv,
        rating_mva_per_circuit=rating_mva_per_circuit,
        power_factor=power_factor,
    )
    campus_mva = campus_mw / power_factor
    new_col = subs["new_substation"] if "new_substation" in subs.columns else None
    records: list[dict[str, object]] = []
    geoms: list[LineString | None] = []
    for i, result in zip(chosen_idx, paths, strict=True):
        new_sub = bool(new_col.iloc[i]) if new_col is not None else False
        rec: dict[str, object] = {
            "bus_id": subs["bus_id"].iloc[i],
            "sub_row": int(sub_row[i]),
            "sub_col": int(sub_col[i]),
            "substation_kv": float(sub_kv[i]),
            "line_kv": float(site_kv),
            "new_substation": new_sub,
            "reachable": result is not None,
            "chosen": False,
            "straight_km": float(straight_km[i]),
        }
        if result is None:
            rec.update(
                dict.fromkeys(
                    (
                        "route_km",
                        "length_multiplier",
                        "line_cost_musd",
                        "substation_cost_musd",
                        "transformer_cost_musd",
                        "interconnect_cost_musd",
                    ),
                    math.nan,
                ),
                parallel_circuits=circuits,
            )
            records.append(rec)
            geoms.append(None)
            continue
        cells, path_cost_musd = result
        path = np.asarray(cells, dtype=np.int64)
        xs, ys = grid.rowcol_to_xy(path[:, 0], path[:, 1])
        coords = list(zip(xs.tolist(), ys.tolist(), strict=True))
        if pinned:
            assert site_xy is not None
            # The raster path runs between cell centres; its ends move to the true points.
            coords = [site_xy, *coords[1:-1], (float(sub_xy[i, 0]), float(sub_xy[i, 1]))]
        geometry = LineString(coords if len(coords) > 1 else coords * 2)
        route_km = (
            geometry.length / M_PER_KM
            if pinned
            else path_length_m(cells, resolution_m=res_m) / M_PER_KM
        )
        mult = length_multiplier(route_km, kind=length_mult_kind)
        line_musd = path_cost_musd * mult * circuits
        sub_musd = substation_cost_musd(costs, site_kv, new_substation=new_sub)
        xformer_musd = 0.0
        if abs(sub_kv[i] - site_kv) > _KV_TOLERANCE:
            xformer_musd = costs.transformer_cost_musd_per_mva(site_kv, sub_kv[i]) * campus_mva
        rec.update(
            route_km=route_km,
            length_multiplier=mult,
            parallel_circuits=circuits,
            line_cost_musd=line_musd,
            substation_cost_musd=sub_musd,
            transformer_cost_musd=xformer_musd,
            interconnect_cost_musd=line_musd + sub_musd + xformer_musd,
        )
        records.append(rec)
        geoms.append(geometry)

    frame = pd.DataFrame.from_records(records, columns=list(ROUTE_COLUMNS))
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=grid.crs), crs=grid.crs)
    out = out.sort_values(
        ["reachable", "interconnect_cost_musd", "route_km"],
        ascending=[False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    if bool(out["reachable"].iloc[0]):
        out.loc[0, "chosen"] = True
    unreachable = (~out["reachable"].astype(bool)).sum()
    log.debug(
        "site %s: routed to %d substation(s), %d unreachable; cheapest %.2f MUSD",
        site,
        len(out),
        unreachable,
        out["interconnect_cost_musd"].iloc[0],
    )
    return out
