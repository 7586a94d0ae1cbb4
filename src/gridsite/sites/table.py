"""Turn picked parcels into a table of sites with geometry and per-criterion figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from gridsite.geo import RasterGrid
from gridsite.sites.parcels import Parcel
from gridsite.sites.regions import Region, regions_to_polygons

__all__ = ["assign_region_names", "nearest_names", "parcels_to_sites", "regions_to_sites"]


def parcels_to_sites(
    parcels: Sequence[Parcel],
    grid: RasterGrid,
    *,
    scores: Mapping[str, NDArray[np.floating]],
    values: Mapping[str, NDArray[np.floating]],
    id_prefix: str,
) -> gpd.GeoDataFrame:
    """Build one row per parcel: its square polygon (grid CRS) and mean figures over its cells.

    Columns: ``site_id`` (``<prefix>-<x_km>-<y_km>`` of the parcel centre in the grid CRS, stable
    across runs at one resolution), ``x_m``/``y_m`` (centre, grid CRS), ``lon``/``lat`` (centre,
    WGS84), ``area_ha``, ``suitability`` (the parcel's mean score), and for each criterion
    ``score_<name>`` (mean score) and ``value_<name>`` (mean raw value in the criterion's unit).
    """
    res = grid.resolution_m
    entries: list[_Entry] = []
    for p in parcels:
        x0 = grid.transform.c + p.col * res
        y1 = grid.transform.f - p.row * res
        x1, y0 = x0 + p.size * res, y1 - p.size * res
        win = (slice(p.row, p.row + p.size), slice(p.col, p.col + p.size))
        area_ha = p.size * p.size * grid.cell_area_m2 / 1e4
        entries.append(
            _Entry(
                win,
                (x0 + x1) / 2,
                (y0 + y1) / 2,
                area_ha,
                p.mean_score,
                shapely.box(x0, y0, x1, y1),
            )
        )
    return _sites_frame(entries, grid, scores=scores, values=values, id_prefix=id_prefix)


class _Entry(NamedTuple):
    """A candidate's cells (an index into the grid), centre (m), area, mean score and shape."""

    cells: Any
    x_m: float
    y_m: float
    area_ha: float
    mean_score: float
    geometry: shapely.Geometry


def _sites_frame(
    entries: Sequence[_Entry],
    grid: RasterGrid,
    *,
    scores: Mapping[str, NDArray[np.floating]],
    values: Mapping[str, NDArray[np.floating]],
    id_prefix: str,
) -> gpd.GeoDataFrame:
    rows: list[dict[str, object]] = []
    for e in entries:
        row: dict[str, object] = {
            "site_id": f"{id_prefix}-{e.x_m / 1000:04.0f}-{e.y_m / 1000:04.0f}",
            "x_m": e.x_m,
            "y_m": e.y_m,
            "area_ha": e.area_ha,
            "suitability": e.mean_score,
        }
        for name, arr in scores.items():
            row[f"score_{name}"] = float(np.nanmean(arr[e.cells]))
        for name, arr in values.items():
            row[f"value_{name}"] = float(np.nanmean(arr[e.cells]))
        rows.append(row)
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[e.geometry for e in entries], crs=grid.crs)
    centres = gpd.GeoSeries(gpd.points_from_xy(gdf["x_m"], gdf["y_m"]), crs=grid.crs).to_crs(4326)
    gdf.insert(3, "lon", centres.x.to_numpy())
    gdf.insert(4, "lat", centres.y.to_numpy())
    return gdf


def assign_region_names(
    sites: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, *, field: str, column: str = "province"
) -> gpd.GeoDataFrame:
    """Name the region (e.g. province) holding each site's centre; the nearest one if none does.

    Both frames must share a projected CRS (metres).
    """
    centres = gpd.GeoDataFrame(
        {"_i": np.arange(len(sites))},
        geometry=gpd.points_from_xy(sites["x_m"], sites["y_m"]),
        crs=sites.crs,
    )
    joined = gpd.sjoin_nearest(centres, regions[[field, "geometry"]], how="left")
    names = joined.drop_duplicates("_i").sort_values("_i")[field].astype(str).to_numpy()
    out = sites.copy()
    out[column] = names
    return out


def nearest_names(xy: NDArray[np.floating], places: gpd.GeoDataFrame, *, field: str) -> list[str]:
    """Name of the place nearest to each point.

    Parameters
    ----------
    xy
        ``(n, 2)`` points in the places' projected CRS (metres).
    places
        Point features with a name ``field``.

    Examples
    --------
    >>> import shapely
    >>> towns = gpd.GeoDataFrame({"name": ["A", "B"]},
    ...                          geometry=[shapely.Point(0, 0), shapely.Point(10, 0)])
    >>> nearest_names(np.array([[1.0, 1.0], [8.0, 0.0]]), towns, field="name")
    ['A', 'B']
    """
    pts = places[places.geometry.geom_type == "Point"]
    if pts.empty or len(xy) == 0:
        return [""] * len(xy)
    tree = cKDTree(np.column_stack([pts.geometry.x, pts.geometry.y]))
    _, idx = tree.query(np.asarray(xy, dtype=float))
    names = pts[field].astype(str).to_numpy()
    return [str(names[i]) for i in np.atleast_1d(idx)]


def regions_to_sites(
    regions: Sequence[Region],
    grid: RasterGrid,
    *,
    scores: Mapping[str, NDArray[np.floating]],
    values: Mapping[str, NDArray[np.floating]],
    id_prefix: str,
) -> gpd.GeoDataFrame:
    """Build one row per grown region, with the columns of :func:`parcels_to_sites`.

    The geometry is the union of the region's cells (grid CRS); ``x_m``/``y_m`` its centroid.
    """
    geoms = regions_to_polygons(regions, grid)
    entries = [
        _Entry((r.rows, r.cols), r.x_m, r.y_m, r.area_ha, r.mean_score, g)
        for r, g in zip(regions, geoms, strict=True)
    ]
    return _sites_frame(entries, grid, scores=scores, values=values, id_prefix=id_prefix)
