"""Find layer files under the data root and read them, with a clear error for every bad input.

Vectors (GeoPackage, GeoJSON, Shapefile, anything GDAL reads) come in through pyogrio; CSV tables
with lon/lat columns or a WKT geometry column through pandas; rasters are read aligned to the
study's RasterGrid in :mod:`gridsite.layers.align`.

A layer file that cannot be read, has no features, or has no CRS (and none in the catalog) is a
:class:`~gridsite.errors.LayerError` (:class:`~gridsite.errors.CRSError`). Invalid polygons
(self-intersecting rings, bow-ties) are repaired with :func:`shapely.make_valid`, keeping their
polygonal parts, and a WARNING names the layer and how many were repaired (docs/errors.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from gridsite.errors import CRSError, LayerError
from gridsite.spec import LayerSpec, SelectSpec

__all__ = ["layer_path", "read_table", "read_vector", "select_features"]

log = logging.getLogger(__name__)

#: What pyogrio raises for a file GDAL cannot open or read.
_OGR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
)


def layer_path(spec: LayerSpec, data_root: Path) -> Path:
    """Return the absolute path of a layer's file, checking that it exists."""
    path = spec.path if spec.path.is_absolute() else data_root / spec.path
    if not path.exists():
        raise LayerError(
            f"layer {spec.name!r}: file {path} not found; check the layer's path in the catalog "
            f"(relative to the data root {data_root})"
        )
    return path


def _parse_crs(value: str, where: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as exc:
        raise CRSError(f"{where}: {value!r} is not a CRS pyproj understands: {exc}") from exc


def _check_fields(df: pd.DataFrame, spec: LayerSpec, path: Path, extra: tuple[str, ...]) -> None:
    wanted = [f for f in (*spec.fields, *extra) if f]
    missing = [f for f in wanted if f not in df.columns]
    if missing:
        raise LayerError(
            f"layer {spec.name!r} ({path}): field(s) {', '.join(missing)} not found; the file has "
            f"{', '.join(map(str, df.columns[:30]))}. Fix the catalog's fields or the file"
        )


def read_table(spec: LayerSpec, data_root: Path, *, require: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV layer as a plain table (no geometry parsing).

    Parameters
    ----------
    spec
        The catalog entry; ``format`` must be ``csv``.
    data_root
        Folder the layer's path is relative to.
    require
        Fields that must exist besides the catalog's ``fields``.
    """
    path = layer_path(spec, data_root)
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise LayerError(
            f"layer {spec.name!r}: {path} is not a readable CSV file ({exc}); check the layer's "
            "path and format in the catalog, or export the table again as UTF-8 CSV"
        ) from exc
    _check_fields(df, spec, path, require)
    if df.empty:
        raise LayerError(
            f"layer {spec.name!r}: {path} has a header but no rows; check the file, or leave "
            "the layer out of the study"
        )
    return df


def read_vector(
    spec: LayerSpec, data_root: Path, *, crs: str, require: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    """Read a vector layer (or a CSV with lon/lat or WKT columns) reprojected to ``crs``.

    Parameters
    ----------
    spec
        The catalog entry. For a CSV, ``x``/``y`` name the coordinate columns or ``wkt`` the
        geometry column, and ``crs`` their CRS. For other formats the file's own CRS is used, and
        ``spec.crs`` only when the file states none.
    data_root
        Folder the layer's path is relative to.
    crs
        The study CRS to reproject to.
    require
        Fields that must exist besides the catalog's ``fields``.

    Returns
    -------
    geopandas.GeoDataFrame
        The features with a geometry, in ``crs``; invalid polygons repaired (a WARNING is logged).

    Raises
    ------
    LayerError
        File missing or unreadable, a field missing, geometry columns missing, coordinates that
        are not numbers, or no feature with a geometry.
    CRSError
        No CRS in the file nor in the catalog.
    """
    path = layer_path(spec, data_root)
    if spec.format == "csv":
        df = read_table(spec, data_root, require=require)
        if spec.crs is None:
            raise CRSError(
                f"layer {spec.name!r} ({path}): a CSV states no CRS; set crs in the catalog"
            )
        if spec.wkt:
            _check_fields(df, spec, path, (spec.wkt,))
            geom = shapely.from_wkt(df[spec.wkt].astype(str).to_numpy(), on_invalid="ignore")
            df = df.drop(columns=[spec.wkt])
        elif spec.x and spec.y:
            _check_fields(df, spec, path, (spec.x, spec.y))
            x, y = _coordinate(df, spec.x, spec, path), _coordinate(df, spec.y, spec, path)
            # A row without both coordinates has no geometry (and is dropped below).
            points = gpd.GeoSeries(gpd.points_from_xy(x, y), index=df.index)
            geom = points.where(x.notna() & y.notna(), None)
        else:
            raise LayerError(
                f"layer {spec.name!r} ({path}): a CSV layer needs x and y (coordinate columns) "
                "or wkt (a geometry column) in the catalog"
            )
        gdf = gpd.GeoDataFrame(df, geometry=geom, crs=_parse_crs(spec.crs, f"layer {spec.name!r}"))
    elif spec.format == "vector":
        try:
            gdf = pyogrio.read_dataframe(path)
        except _OGR_ERRORS as exc:
            raise LayerError(
                f"layer {spec.name!r}: cannot read {path} as a vector file ({_gdal_reason(exc)}); "
                "check the "
                "layer's path and format in the catalog, or export the file again (GeoPackage "
                "or GeoJSON)"
            ) from exc
        _check_fields(gdf, spec, path, require)
        if gdf.crs is None:
            if spec.crs is None:
                raise CRSError(
                    f"layer {spec.name!r} ({path}) has no CRS; set crs in the layer's catalog "
                    "entry or fix the file (e.g. ogr2ogr -a_srs)"
                )
            gdf = gdf.set_crs(_parse_crs(spec.crs, f"layer {spec.name!r}"))
    else:
        raise LayerError(f"layer {spec.name!r} is a {spec.format} layer, not a vector or table")
    n_rows = len(gdf)
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.empty:
        what = "no features" if n_rows == 0 else f"{n_rows} row(s) but not one with a geometry"
        raise LayerError(
            f"layer {spec.name!r} ({path}) has {what}; check that the catalog points at the "
            "right file and that it was exported whole"
        )
    out = _repair_polygons(gdf.to_crs(crs), spec.name, path)
    log.debug("layer %s: %d features from %s", spec.name, len(out), path)
    return out


def _gdal_reason(exc: Exception) -> str:
    """GDAL's message without its hint about driver prefixes, which is not ours to give."""
    return str(exc).split("; It might help")[0].rstrip(".")


def _coordinate(df: pd.DataFrame, column: str, spec: LayerSpec, path: Path) -> pd.Series:
    """Return a coordinate column as floats; text that is not a number is an error."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & df[column].notna()
    if bad.any():
        rows = [int(i) + 2 for i in np.flatnonzero(bad.to_numpy())[:5]]  # + header, 1-based
        raise LayerError(
            f"layer {spec.name!r} ({path}): column {column!r} holds {int(bad.sum())} value(s) "
            f"that are not numbers, e.g. {df[column][bad].iloc[0]!r} on line {rows[0]} "
            f"(lines {rows}); fix them or blank them (rows without coordinates are skipped)"
        )
    return values


def _repair_polygons(gdf: gpd.GeoDataFrame, layer: str, path: Path) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``make_valid``, keeping their polygonal parts; log a warning.

    A self-intersecting ring makes GEOS operations (clipping, overlay, area) fail or give
    nonsense; the repaired polygon covers the same area by the even-odd rule. Lines and points
    are left alone.
    """
    geoms = gdf.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    invalid = polygonal & ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    reason = shapely.is_valid_reason(geoms[np.flatnonzero(invalid)[0]])
    log.warning(
        "layer %s (%s): repaired %d invalid polygon(s) (e.g. %s); check the source if the "
        "areas look wrong",
        layer,
        path,
        int(invalid.sum()),
        reason,
    )
    out = gdf.copy()
    out.loc[invalid, out.geometry.name] = fixed
    return out[~out.geometry.is_empty]


def select_features(df: pd.DataFrame, select: SelectSpec | None, *, layer: str) -> pd.DataFrame:
    """Keep rows whose ``select.field`` lies in ``[min, max]`` and in ``values`` if given."""
    if select is None:
        return df
    if select.field not in df.columns:
        raise LayerError(
            f"layer {layer!r}: select field {select.field!r} not found; the layer has "
            f"{', '.join(map(str, df.columns[:30]))}"
        )
    col = df[select.field]
    keep = np.ones(len(df), dtype=bool)
    if select.min is not None or select.max is not None:
        num = pd.to_numeric(col, errors="coerce")
        if select.min is not None:
            keep &= (num >= select.min).to_numpy()
        if select.max is not None:
            keep &= (num <= select.max).to_numpy()
    if select.values:
        as_text = {str(v) for v in select.values} | {
            str(int(v)) for v in select.values if isinstance(v, float) and v.is_integer()
        }
        keep &= col.astype(str).isin(as_text).to_numpy()
    return df[keep]
