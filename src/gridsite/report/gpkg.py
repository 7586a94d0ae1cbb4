"""Write vector layers into one GeoPackage (OGC GeoPackage 1.2, SQLite), atomically.

GIS users get the sites, routes, power grid and hosting capacities of a run in one file that QGIS
and GDAL open directly, in the study CRS (projected, metres), which the GeoPackage records per
layer (``gpkg_spatial_ref_sys``). GeoJSON stays the WGS 84 web format; this is the one to
measure in.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyproj import CRS

from gridsite.errors import CRSError
from gridsite.report.atomic import atomic_write

__all__ = ["GPKG_TIMESTAMP", "SITES_GPKG_LAYERS", "write_geopackage", "write_sites_gpkg"]

logger = logging.getLogger(__name__)

GPKG_TIMESTAMP = "1970-01-01T00:00:00.000Z"
"""``last_change`` of every layer: a fixed time, so that the same layers give the same bytes."""

#: Layers of :func:`write_sites_gpkg`, in order: description and geometry type.
SITES_GPKG_LAYERS = {
    "sites": ("Ranked candidate sites (campus parcels), best first", "Polygon"),
    "routes": ("Routed tie lines from each ranked site to its substation", "LineString"),
    "buses": ("Power-grid buses (substations, taps)", "Point"),
    "lines": ("Power-grid lines, transformers and converters between buses", "LineString"),
    "hosting": ("Hosting capacity per substation bus (MW, DC N-0 / N-1 screen)", "Point"),
}

#: SQLite side files that would mean a transaction was left open.
_SIDE_FILES = ("-journal", "-wal", "-shm")


def _plain_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give OGR column types it can store: nullable booleans, text for anything else."""
    out = gdf.reset_index(drop=True)
    geometry = out.geometry.name
    for col in out.columns:
        if col == geometry or out[col].dtype != object:
            continue
        values = [v for v in out[col] if v is not None and not _is_nan(v)]
        if values and all(isinstance(v, bool) for v in values):
            out[col] = out[col].astype("boolean")
        elif not all(isinstance(v, str) for v in values):
            out[col] = [None if v is None or _is_nan(v) else str(v) for v in out[col]]
    return out


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def write_geopackage(
    layers: Mapping[str, gpd.GeoDataFrame],
    path: Path,
    *,
    crs: Any,
    descriptions: Mapping[str, str] | None = None,
    empty_types: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``layers`` (name -> features) into one GeoPackage, every layer in ``crs``.

    Each frame is reprojected to ``crs``, which every layer's geometry column records (the
    GeoPackage stores the CRS definition). Layers get a spatial index (R-tree) and their
    description, if given. Columns holding Python booleans (with None) become nullable booleans,
    other object columns text. The file is GeoPackage 1.2 (read by GDAL >= 2.2 and QGIS 3), is
    written under a temporary name and renamed into place, and leaves no SQLite journal behind.
    Every layer's ``last_change`` is :data:`GPKG_TIMESTAMP`, so the same layers give a
    byte-identical file.

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame, in the order to write them; each must have a CRS.
    path
        The output file, conventionally ``*.gpkg``.
    crs
        The CRS of the file's layers (anything pyproj accepts, e.g. ``"EPSG:5179"``).
    descriptions
        Layer name -> description (``gpkg_contents.description``).
    empty_types
        Layer name -> OGR geometry type (``"Point"``, ``"LineString"``, ``"Polygon"``...) of the
        layer when it has no features; a layer with features gets the type of its geometries.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CRSError
        If a layer has no CRS.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    target = CRS.from_user_input(crs)
    missing = [name for name, gdf in layers.items() if gdf.crs is None]
    if missing:
        raise CRSError(
            f"cannot write {path}: layers {missing} have no CRS, so they cannot be converted to "
            f"{target.to_string()}; set it with gdf.set_crs(...) where the data is read"
        )
    descriptions = descriptions or {}
    empty_types = empty_types or {}
    with atomic_write(path, overwrite=overwrite) as tmp:
        for i, (name, gdf) in enumerate(layers.items()):
            pyogrio.write_dataframe(
                _plain_columns(gdf.to_crs(target)),
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type=empty_types.get(name) if gdf.empty else None,
                dataset_options={"VERSION": "1.2"} if i == 0 else None,
                layer_options={"DESCRIPTION": descriptions.get(name, "")},
            )
        with contextlib.closing(sqlite3.connect(tmp)) as db, db:
            db.execute("UPDATE gpkg_contents SET last_change = ?", (GPKG_TIMESTAMP,))
        left = [tmp.name + s for s in _SIDE_FILES if tmp.with_name(tmp.name + s).exists()]
        if left:
            raise RuntimeError(f"writing {path} left SQLite side files {left} open")
    logger.info(
        "wrote %s: %s (%s)",
        path,
        ", ".join(f"{name} {len(gdf)}" for name, gdf in layers.items()),
        target.to_string(),
    )
    return path


def write_sites_gpkg(
    path: Path,
    *,
    crs: Any,
    sites: gpd.GeoDataFrame,
    buses: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame | None = None,
    hosting: gpd.GeoDataFrame | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a run's vector outputs as the layers of :data:`SITES_GPKG_LAYERS` in ``crs``.

    ``routes`` and ``hosting`` are left out when None (studies without ``[interconnect]`` or
    ``[electrical]``); an empty frame is written as an empty layer of the layer's geometry
    type. ``crs`` is the study CRS (projected, metres), e.g. ``"EPSG:5179"``.
    """
    found = {"sites": sites, "routes": routes, "buses": buses, "lines": lines, "hosting": hosting}
    return write_geopackage(
        {name: gdf for name, gdf in found.items() if gdf is not None},
        path,
        crs=crs,
        descriptions={name: d for name, (d, _) in SITES_GPKG_LAYERS.items()},
        empty_types={name: t for name, (_, t) in SITES_GPKG_LAYERS.items()},
        overwrite=overwrite,
    )
