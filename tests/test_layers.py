from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

from gridsite.errors import CRSError, LayerError
from gridsite.geo import RasterGrid
from gridsite.layers import rasterize_mask, read_raster, read_table, read_vector, select_features
from gridsite.spec import LayerSpec, SelectSpec

STUDY_CRS = "EPSG:5179"


def _spec(path: Path, fmt: str = "vector", **kw: object) -> LayerSpec:
    return LayerSpec(name="mine", path=path, format=fmt, **kw)  # type: ignore[arg-type]


def test_missing_file_names_layer_and_path(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match=r"layer 'mine': file .*absent\.gpkg not found"):
        read_vector(_spec(Path("absent.gpkg")), tmp_path, crs=STUDY_CRS)


def test_vector_without_crs_is_an_error(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(127.0, 36.5)], crs=None)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.to_file(tmp_path / "nocrs.shp")
    with pytest.raises(CRSError, match=r"layer 'mine' .*nocrs\.shp\) has no CRS; set crs"):
        read_vector(_spec(Path("nocrs.shp")), tmp_path, crs=STUDY_CRS)
    # ... and the catalog's crs fills the gap
    out = read_vector(_spec(Path("nocrs.shp"), crs="EPSG:4326"), tmp_path, crs=STUDY_CRS)
    x, y = Transformer.from_crs(4326, 5179, always_xy=True).transform(127.0, 36.5)
    assert out.geometry.iloc[0].x == pytest.approx(x) and out.geometry.iloc[0].y == pytest.approx(y)


def test_user_geopackage_in_another_crs_is_reprojected(tmp_path: Path) -> None:
    utm = Transformer.from_crs(4326, 32652, always_xy=True)
    x, y = utm.transform(128.5, 35.8)
    gpd.GeoDataFrame({"kind": ["a"]}, geometry=[shapely.Point(x, y)], crs=32652).to_file(
        tmp_path / "mine.gpkg"
    )
    out = read_vector(_spec(Path("mine.gpkg"), fields=("kind",)), tmp_path, crs=STUDY_CRS)
    ex, ey = Transformer.from_crs(4326, 5179, always_xy=True).transform(128.5, 35.8)
    assert out.crs.to_epsg() == 5179
    assert out.geometry.iloc[0].x == pytest.approx(ex, abs=1e-3)
    assert out.geometry.iloc[0].y == pytest.approx(ey, abs=1e-3)


def test_missing_field_is_named(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(127, 36)], crs=4326).to_file(
        tmp_path / "f.geojson"
    )
    with pytest.raises(LayerError, match=r"field\(s\) population not found"):
        read_vector(_spec(Path("f.geojson"), fields=("population",)), tmp_path, crs=STUDY_CRS)


def test_csv_layers(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("name,lon,lat,pop\nA,127.0,36.0,10\nB,128.0,37.0,600000\n")
    with pytest.raises(CRSError, match="CSV states no CRS"):
        read_vector(_spec(Path("p.csv"), "csv", x="lon", y="lat"), tmp_path, crs=STUDY_CRS)
    spec = _spec(Path("p.csv"), "csv", x="lon", y="lat", crs="EPSG:4326")
    gdf = read_vector(spec, tmp_path, crs=STUDY_CRS)
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 5179
    big = select_features(gdf, SelectSpec(field="pop", min=500000), layer="p")
    assert big["name"].tolist() == ["B"]
    assert read_table(spec, tmp_path)["pop"].sum() == 600010
    with pytest.raises(LayerError, match="needs x and y"):
        read_vector(_spec(Path("p.csv"), "csv", crs="EPSG:4326"), tmp_path, crs=STUDY_CRS)


def _korea_grid() -> RasterGrid:
    return RasterGrid.from_bounds(
        (900_000, 1_700_000, 1_000_000, 1_800_000), resolution_m=10_000, crs=STUDY_CRS
    )


def test_raster_not_overlapping_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "far.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(0.0, 1.0, 0.25, 0.25),
    ) as dst:
        dst.write(np.ones((1, 4, 4), dtype="float32"))
    with pytest.raises(LayerError, match=r"layer 'mine' .*does not overlap the study area"):
        read_raster(_spec(Path("far.tif"), "raster"), tmp_path, _korea_grid())


def test_raster_aligned_by_nearest_neighbour(tmp_path: Path) -> None:
    # A 0.01-degree raster whose value is its column index; each study cell must take the value
    # of the source pixel holding its centre (computed here independently with pyproj).
    path = tmp_path / "cols.tif"
    west, north, step = 125.5, 37.0, 0.01
    data = np.tile(np.arange(300, dtype="float32"), (300, 1))
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=300,
        height=300,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(west, north, step, step),
    ) as dst:
        dst.write(data[None])
    grid = _korea_grid()
    got = read_raster(_spec(Path("cols.tif"), "raster"), tmp_path, grid)
    xs, ys = grid.cell_centres()
    lon, lat = Transformer.from_crs(5179, 4326, always_xy=True).transform(*np.meshgrid(xs, ys))
    inside = (lon > west) & (lon < west + 3) & (lat < north) & (lat > north - 3)
    col = (lon - west) / step
    expected = np.floor(col)
    # GDAL warps with an approximate transformer (error <= 0.125 px): centres that close to a
    # pixel edge may take the neighbour; everywhere else the value must be exact.
    clear = inside & (np.abs(col - np.round(col)) > 0.15)
    assert clear.sum() > 50
    assert np.array_equal(got[clear], expected[clear])
    assert np.all(np.abs(got[inside] - expected[inside]) <= 1)


def test_rasterize_mask_needs_matching_crs() -> None:
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(127, 36)], crs=4326)
    with pytest.raises(CRSError, match="reproject first"):
        rasterize_mask(gdf, _korea_grid())
