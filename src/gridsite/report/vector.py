"""Write tables and vector layers: RFC 7946 GeoJSON and plain CSV, atomically."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryDtype
from numpy.typing import NDArray

from gridsite.errors import CRSError
from gridsite.report.atomic import atomic_write, atomic_write_text

__all__ = ["GEOJSON_DECIMALS", "write_csv", "write_geojson"]

logger = logging.getLogger(__name__)

GEOJSON_DECIMALS = 7
"""Decimal places of GeoJSON coordinates (degrees): 1e-7 deg is about 1 cm, as GDAL's RFC 7946."""


def _round_coordinates(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.round(coords, GEOJSON_DECIMALS)


def _properties(df: pd.DataFrame) -> list[dict[str, Any]]:
    # pandas' JSON writer turns NaN, +-inf, None, pd.NA and NaT into null, timestamps into ISO 8601
    # strings and numpy scalars into JSON numbers; json.loads gives plain Python values back.
    if df.shape[1] == 0:
        return [{} for _ in range(len(df))]
    text = df.to_json(orient="records", date_format="iso", force_ascii=False, double_precision=15)
    records: list[dict[str, Any]] = json.loads(text)
    return records


def write_geojson(gdf: gpd.GeoDataFrame, path: Path, *, overwrite: bool = False) -> Path:
    """Write ``gdf`` as an RFC 7946 GeoJSON FeatureCollection.

    The geometries are reprojected to WGS 84 (EPSG:4326) with coordinates in **longitude,
    latitude** order (degrees), rounded to :data:`GEOJSON_DECIMALS` places, and polygon rings are
    oriented by the right-hand rule (exterior counter-clockwise). There is no ``crs`` member and no
    feature ``id``. Missing and non-finite property values (NaN, inf, None, NA, NaT) become
    ``null``; timestamps become ISO 8601 strings. The file is UTF-8 and is written atomically.
    Geometries crossing the antimeridian are not split.

    Parameters
    ----------
    gdf
        Features in any CRS; it must have one. Column names become property names (as strings).
    path
        The output file, conventionally ``*.geojson``.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    if gdf.crs is None:
        raise CRSError(
            f"cannot write {path}: the GeoDataFrame has no CRS, so its coordinates cannot be "
            "converted to WGS 84; set it with gdf.set_crs(...) where the data is read"
        )
    wgs84 = gdf.to_crs("EPSG:4326")
    geoms = np.asarray(wgs84.geometry.array, dtype=object)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geoms = shapely.transform(geoms, _round_coordinates)
    props_df = pd.DataFrame(wgs84.drop(columns=wgs84.geometry.name))
    props_df.columns = [str(c) for c in props_df.columns]
    properties = _properties(props_df)
    features = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": None if geom is None else shapely.geometry.mapping(geom),
        }
        for props, geom in zip(properties, geoms, strict=True)
    ]
    collection = {"type": "FeatureCollection", "features": features}
    # allow_nan=False: a NaN that slipped through would make the file invalid JSON, so fail here.
    text = json.dumps(collection, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    atomic_write_text(path, text + "\n", overwrite=overwrite)
    logger.info("wrote %s: %d features (EPSG:4326)", path, len(features))
    return path


def write_csv(df: pd.DataFrame, path: Path, *, overwrite: bool = False) -> Path:
    """Write ``df`` as a UTF-8 CSV without the index and without geometry columns.

    Columns holding geometries (every GeoSeries of a GeoDataFrame, and a column named
    ``geometry``) are dropped; coordinates belong in the GeoJSON. Missing values are empty cells.

    Parameters
    ----------
    df
        The table; its column names carry their units (``capacity_mw``, ``distance_km``).
    path
        The output file, conventionally ``*.csv``.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    geometry_columns = [
        c for c, dtype in df.dtypes.items() if isinstance(dtype, GeometryDtype) or c == "geometry"
    ]
    table = pd.DataFrame(df.drop(columns=geometry_columns))
    with atomic_write(path, overwrite=overwrite) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    logger.info("wrote %s: %d rows, %d columns", path, len(table), table.shape[1])
    return path
