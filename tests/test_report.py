"""Tests of the write edge, gridsite.report: GeoJSON, CSV, GeoTIFF, atomic writes, manifest, map."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from gridsite.errors import CRSError, LayerError, MapAssetsError, OutputExistsError
from gridsite.geo import RasterGrid
from gridsite.report import (
    atomic_write,
    atomic_write_text,
    build_manifest,
    write_csv,
    write_geojson,
    write_geotiff,
    write_manifest,
    write_map,
)
from gridsite.report.mapassets import (
    ASSETS_ENV,
    assets_dir,
    check_map_assets,
    external_links,
    map_assets,
)
from gridsite.report.maplayers import (
    HOSTING_MAX_RADIUS_PX,
    HOSTING_MIN_RADIUS_PX,
    hosting_radius_px,
    size_breaks_mw,
)
from gridsite.report.maptext import page_href
from gridsite.report.overlay import (
    SCORE_LEVELS,
    SCORE_RAMP,
    SupplyAreas,
    near_shore,
    palette_png,
    ramp_colours,
    score_codes,
    suitability_rgba,
    suitability_to_web_mercator,
    thin_mask,
)
from gridsite.report.raster import display_sample
from gridsite.report.webmap import LINE_COLOURS, voltage_class_kv

from .conftest import REPO

KOREA = "EPSG:5179"
TO_KOREA = Transformer.from_crs("EPSG:4326", KOREA, always_xy=True)
TO_WGS84 = Transformer.from_crs(KOREA, "EPSG:4326", always_xy=True)
XSS = "<script>alert(1)</script>"

# (lon, lat) in degrees, around Daejeon / Cheongju.
LONLAT = [(127.0, 36.0), (127.5, 36.5), (128.0, 37.0), (127.25, 36.75)]


def _korea_xy(lon: float, lat: float) -> tuple[float, float]:
    x, y = TO_KOREA.transform(lon, lat)
    return float(x), float(y)


@pytest.fixture
def points_5179() -> gpd.GeoDataFrame:
    xy = [_korea_xy(lon, lat) for lon, lat in LONLAT]
    return gpd.GeoDataFrame(
        {
            "name": ["대전", XSS, None, "Cheongju"],
            "capacity_mw": [100.0, np.nan, np.inf, 12.5],
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "when": pd.to_datetime(["2024-01-02", None, "2024-03-04", "2024-05-06"]),
        },
        geometry=[shapely.Point(x, y) for x, y in xy],
        crs=KOREA,
    )


@pytest.fixture
def sites_5179() -> gpd.GeoDataFrame:
    polys = []
    for lon, lat in LONLAT[:3]:
        x, y = _korea_xy(lon, lat)
        polys.append(shapely.box(x - 800, y - 500, x + 800, y + 500))
    return gpd.GeoDataFrame(
        {
            "rank": [1, 2, 3],
            "site_id": ["S-001", "S-002", "S-003"],
            "score": [0.91234, 0.8, 0.55],
            "name": ["Ochang`${x}\\", XSS, 'O\'Brien & Sons "quoted"'],
            "area_km2": [1.6, 1.6, np.nan],
        },
        geometry=polys,
        crs=KOREA,
    )


@pytest.fixture
def buses_5179() -> gpd.GeoDataFrame:
    xy = [_korea_xy(127.1, 36.1), _korea_xy(127.6, 36.6), _korea_xy(127.9, 36.9)]
    return gpd.GeoDataFrame(
        {
            "bus_id": ["b1", "b2", "b3"],
            "name": ["Sinjecheon", XSS, None],
            "voltage_kv": [345.0, 154.0, 22.9],
        },
        geometry=[shapely.Point(p) for p in xy],
        crs=KOREA,
    )


@pytest.fixture
def lines_5179() -> gpd.GeoDataFrame:
    ends = [
        ((127.0, 36.0), (127.5, 36.5)),
        ((127.5, 36.5), (128.0, 37.0)),
        ((127.0, 36.0), (128.0, 37.0)),
        ((127.2, 36.2), (127.3, 36.9)),
    ]
    return gpd.GeoDataFrame(
        {
            "line_id": ["l1", "l2", "l3", "l4"],
            "name": [XSS, "a", "b", None],
            "voltage_kv": [765.0, 345.0, 154.0, np.nan],
        },
        geometry=[shapely.LineString([_korea_xy(*a), _korea_xy(*b)]) for a, b in ends],
        crs=KOREA,
    )


@pytest.fixture
def grid() -> RasterGrid:
    x0, y0 = _korea_xy(127.0, 36.0)
    x1, y1 = _korea_xy(128.0, 37.0)
    return RasterGrid.from_bounds((x0, y0, x1, y1), resolution_m=2000.0, crs=KOREA)


def _suitability(grid: RasterGrid) -> np.ndarray:
    rows, cols = grid.shape
    values = np.tile(np.linspace(0.0, 1.0, cols, dtype=np.float32), (rows, 1))
    values[0, :] = np.nan
    values[:, 0] = 0.0
    return values


def _decode_png_alpha(png: bytes) -> tuple[int, int, np.ndarray]:
    """Decode an 8-bit RGBA, non-interlaced PNG with only filter type 0 (what branca writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8:10] == b"\x08\x06"  # 8 bit, RGBA
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 4 * width)
    assert np.all(raw[:, 0] == 0)
    return width, height, raw[:, 1:].reshape(height, width, 4)


# --- atomic writes ---------------------------------------------------------------------------


def test_atomic_write_failure_keeps_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"
    target.write_text("old")
    seen: list[Path] = []
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target, overwrite=True) as tmp:
        seen.append(tmp)
        tmp.write_text("half written")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert not seen[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_atomic_write_temporary_name_is_hidden_sibling_with_real_suffix(tmp_path: Path) -> None:
    target = tmp_path / "suitability.tif"
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".suitability.tif.tmp-")
        assert tmp.suffix == ".tif"
        assert not tmp.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["suitability.tif"]


def test_atomic_write_refuses_to_clobber_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    atomic_write_text(target, "new", overwrite=True)
    assert target.read_text() == "new"


def test_atomic_write_creates_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(target, "x\n")
    assert target.read_bytes() == b"x\n"


def test_atomic_write_fails_if_body_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "a.txt"):
        pass
    assert list(tmp_path.iterdir()) == []


# --- GeoJSON and CSV -------------------------------------------------------------------------


def test_geojson_is_rfc7946_lon_lat_without_crs(
    tmp_path: Path, points_5179: gpd.GeoDataFrame
) -> None:
    path = write_geojson(points_5179, tmp_path / "points.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    assert len(doc["features"]) == len(LONLAT)
    for feature, (lon, lat) in zip(doc["features"], LONLAT, strict=True):
        assert "id" not in feature
        # Independent oracle: pyproj's inverse of the projection the fixture was built with.
        x, y = feature["geometry"]["coordinates"]
        ref_lon, ref_lat = TO_WGS84.transform(*_korea_xy(lon, lat))
        assert x == pytest.approx(ref_lon, abs=1e-6)
        assert y == pytest.approx(ref_lat, abs=1e-6)
        assert x == pytest.approx(lon, abs=1e-6)
        assert y == pytest.approx(lat, abs=1e-6)


def test_geojson_missing_and_non_finite_values_are_null(
    tmp_path: Path, points_5179: gpd.GeoDataFrame
) -> None:
    path = write_geojson(points_5179, tmp_path / "points.geojson")
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    props = [f["properties"] for f in json.loads(text)["features"]]
    assert props[0] == {"name": "대전", "capacity_mw": 100.0, "count": 1, "when": props[0]["when"]}
    assert props[0]["when"].startswith("2024-01-02")
    assert props[1]["capacity_mw"] is None
    assert props[1]["count"] is None
    assert props[1]["when"] is None
    assert props[1]["name"] == XSS  # data files keep the text as it is; only HTML escapes it
    assert props[2]["capacity_mw"] is None  # inf
    assert props[2]["name"] is None


def test_geojson_polygon_exterior_is_counter_clockwise(
    tmp_path: Path, sites_5179: gpd.GeoDataFrame
) -> None:
    cw = sites_5179.copy()
    cw.geometry = shapely.orient_polygons(np.asarray(cw.geometry.array), exterior_cw=True)
    doc = json.loads(write_geojson(cw, tmp_path / "sites.geojson").read_text(encoding="utf-8"))
    for feature in doc["features"]:
        ring = shapely.LinearRing(feature["geometry"]["coordinates"][0])
        assert ring.is_ccw


def test_geojson_empty_and_geographic_input(tmp_path: Path, points_5179: gpd.GeoDataFrame) -> None:
    empty = write_geojson(points_5179.iloc[:0], tmp_path / "empty.geojson")
    assert json.loads(empty.read_text()) == {"type": "FeatureCollection", "features": []}
    wgs = points_5179.to_crs("EPSG:4326")
    doc = json.loads(write_geojson(wgs, tmp_path / "wgs.geojson").read_text())
    assert doc["features"][3]["geometry"]["coordinates"] == pytest.approx(list(LONLAT[3]), abs=1e-6)


def test_geojson_without_crs_is_an_error(tmp_path: Path, points_5179: gpd.GeoDataFrame) -> None:
    no_crs = gpd.GeoDataFrame(
        points_5179.drop(columns="geometry"), geometry=list(points_5179.geometry)
    )
    with pytest.raises(CRSError, match="no CRS"):
        write_geojson(no_crs, tmp_path / "x.geojson")
    assert not (tmp_path / "x.geojson").exists()


def test_csv_drops_geometry_and_index(tmp_path: Path, points_5179: gpd.GeoDataFrame) -> None:
    table = points_5179.set_index(pd.Index([10, 11, 12, 13]))
    path = write_csv(table, tmp_path / "points.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == ["name", "capacity_mw", "count", "when"]
    assert back["name"].iloc[0] == "대전"
    assert math.isnan(back["capacity_mw"].iloc[1])
    assert len(back) == 4


# --- GeoTIFF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 4), (300, 260)])
def test_geotiff_round_trip(tmp_path: Path, shape: tuple[int, int]) -> None:
    transform = Affine(100.0, 0.0, 950_000.0, 0.0, -100.0, 1_950_000.0)
    grid = RasterGrid(crs=KOREA, transform=transform, shape=shape)
    rng = np.random.default_rng(7)
    values = rng.random(shape).astype(np.float32)
    values[0, 1] = np.nan
    path = write_geotiff(values, grid, tmp_path / "s.tif", description="suitability (0-1)")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 5179
        assert src.transform == transform
        assert src.nodata == -9999.0
        assert src.dtypes == ("float32",)
        assert src.descriptions == ("suitability (0-1)",)
        assert src.compression is not None and src.compression.name.lower() == "deflate"
        assert src.block_shapes[0] == (256, 256)  # a COG is always tiled
        # overviews halve until the smallest fits in one tile
        assert src.overviews(1) == ([2] if max(shape) > 256 else [])
        raw = src.read(1)
        masked = src.read(1, masked=True)
    assert raw[0, 1] == -9999.0
    assert bool(masked.mask[0, 1]) and int(masked.mask.sum()) == 1
    expected = values.copy()
    expected[0, 1] = -9999.0
    np.testing.assert_array_equal(raw, expected)


def test_geotiff_from_a_memory_map_in_strips(tmp_path: Path, monkeypatch: Any) -> None:
    """A memory-mapped raster (a chunked run's suitability) is written strip by strip, whole."""
    import gridsite.report.raster as raster_module

    monkeypatch.setattr(raster_module, "_STRIP_BYTES", 1)  # one tile row per strip
    transform = Affine(30.0, 0.0, 950_000.0, 0.0, -30.0, 1_950_000.0)
    grid = RasterGrid(crs=KOREA, transform=transform, shape=(700, 300))
    values = np.random.default_rng(3).random((700, 300)).astype(np.float32)
    values[650:, :10] = np.nan
    np.save(tmp_path / "v.npy", values)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    path = write_geotiff(mapped, grid, tmp_path / "m.tif")
    with rasterio.open(path) as src:
        back = src.read(1, masked=True)
        assert src.overviews(1) == [2, 4]  # halved until one tile holds it
    np.testing.assert_array_equal(back.filled(np.nan), values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tif", "v.npy"]  # no scratch left


def test_display_sample_keeps_cell_centres(tmp_path: Path) -> None:
    from gridsite.report.raster import display_sample

    grid = RasterGrid.from_bounds((0, 0, 30_000, 21_000), resolution_m=30.0, crs=KOREA)
    values = np.random.default_rng(5).random(grid.shape).astype(np.float32)
    np.save(tmp_path / "v.npy", values)
    sample, coarse = display_sample(np.load(tmp_path / "v.npy", mmap_mode="r"), grid, max_px=100)
    k = 1000 // 200
    np.testing.assert_array_equal(sample, values[k // 2 :: k, k // 2 :: k])
    fine_x, fine_y = grid.cell_centres()
    coarse_x, coarse_y = coarse.cell_centres()
    np.testing.assert_allclose(coarse_x, fine_x[k // 2 :: k])
    np.testing.assert_allclose(coarse_y, fine_y[k // 2 :: k])
    small, same = display_sample(values[:100, :100], RasterGrid.from_bounds(
        (0, 0, 3000, 3000), resolution_m=30.0, crs=KOREA), max_px=100)  # fmt: skip
    assert small.shape == (100, 100) and same.resolution_m == 30.0


def test_geotiff_is_cloud_optimized(tmp_path: Path) -> None:
    """The COG layout, read from the file's bytes (the GDAL COG specification's ghost header)."""
    transform = Affine(100.0, 0.0, 950_000.0, 0.0, -100.0, 1_950_000.0)
    grid = RasterGrid(crs=KOREA, transform=transform, shape=(600, 700))
    path = write_geotiff(np.ones((600, 700), np.float32), grid, tmp_path / "c.tif")
    head = path.read_bytes()[:1024]
    assert head[:4] == b"II*\x00"  # classic little-endian TIFF
    assert b"GDAL_STRUCTURAL_METADATA_SIZE=" in head
    assert b"LAYOUT=IFDS_BEFORE_DATA" in head
    assert b"BLOCK_ORDER=ROW_MAJOR" in head
    assert b"KNOWN_INCOMPATIBLE_EDITION=NO" in head
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4]


def test_geotiff_wrong_shape_is_an_error(tmp_path: Path, grid: RasterGrid) -> None:
    with pytest.raises(ValueError, match="does not match"):
        write_geotiff(np.zeros((2, 2)), grid, tmp_path / "x.tif")
    assert list(tmp_path.iterdir()) == []


# --- manifest --------------------------------------------------------------------------------


def test_manifest_hashes_and_writes_sorted_json(tmp_path: Path) -> None:
    data = tmp_path / "input.bin"
    payload = bytes(range(256)) * 9000  # > 1 MiB, so more than one chunk
    data.write_bytes(payload)
    folder = tmp_path / "shp"
    folder.mkdir()
    (folder / "a.shp").write_bytes(b"a")
    (folder / "a.dbf").write_bytes(b"bb")
    out = tmp_path / "out.csv"
    out.write_text("x\n1\n")
    manifest = build_manifest(
        study_name="korea",
        config={"crs": "EPSG:5179", "root": Path("/data"), "weights": (0.5, 0.5), "nan": math.nan},
        inputs=[("lines", data), ("substations", folder)],
        timings_s={"layers": 1.5},
        attributions=[
            {"source": "OSM", "licence": "ODbL 1.0", "attribution": "© OpenStreetMap contributors"}
        ],
        outputs=[out],
    )
    record = manifest["inputs"][0]
    assert record == {
        "name": "lines",
        "path": str(data),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
    }
    listing = (
        f"{hashlib.sha256(b'bb').hexdigest()}  a.dbf\n{hashlib.sha256(b'a').hexdigest()}  a.shp\n"
    )
    assert manifest["inputs"][1]["sha256"] == hashlib.sha256(listing.encode()).hexdigest()
    assert manifest["inputs"][1]["bytes"] == 3
    assert manifest["outputs"][0]["sha256"] == hashlib.sha256(b"x\n1\n").hexdigest()
    assert manifest["config"] == {
        "crs": "EPSG:5179",
        "root": "/data",
        "weights": [0.5, 0.5],
        "nan": None,
    }
    versions = manifest["versions"]
    for name in (
        "python",
        "gridsite",
        "numpy",
        "scipy",
        "pandas",
        "geopandas",
        "shapely",
        "pyproj",
        "rasterio",
        "networkx",
        "folium",
    ):
        assert isinstance(versions[name], str), name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", manifest["created_utc"])

    path = write_manifest(manifest, tmp_path / "manifest.json")
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == manifest
    assert text == json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_manifest_missing_input_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="'dem'"):
        build_manifest(
            study_name="x",
            config={},
            inputs=[("dem", tmp_path / "missing.tif")],
            timings_s={},
            attributions=[],
            outputs=[],
        )


# --- web map ---------------------------------------------------------------------------------


def test_colour_ramp_and_voltage_classes() -> None:
    rgba = suitability_rgba(np.array([[np.nan, 0.0, -0.1, 1e-6, 0.5, 1.0, 2.0]]))
    assert rgba[0, :, 3].tolist() == [0, 0, 0, 255, 255, 255, 255]
    assert rgba[0, 3, :3].tolist() == [0x44, 0x01, 0x54]
    assert rgba[0, 5, :3].tolist() == [0xFD, 0xE7, 0x25]
    assert rgba[0, 6].tolist() == rgba[0, 5].tolist()
    assert [voltage_class_kv(v) for v in (765, 345.0, 154.4, 22.9, np.nan, None, "x")] == [
        765,
        345,
        154,
        None,
        None,
        None,
        None,
    ]


def test_overlay_is_in_web_mercator_and_lines_up(grid: RasterGrid) -> None:
    # A 3 x 3 block of 1.0 in the north-east of a 0.5 grid: flips or offsets would miss it.
    values = np.full(grid.shape, 0.5, dtype=np.float32)
    r0, c0 = 10, grid.shape[1] - 12
    values[r0 : r0 + 3, c0 : c0 + 3] = 1.0
    image, (south, west, north, east) = suitability_to_web_mercator(values, grid)
    to_merc = Transformer.from_crs(KOREA, "EPSG:3857", always_xy=True)
    lonlat_to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x_w, y_s = lonlat_to_merc.transform(west, south)
    x_e, y_n = lonlat_to_merc.transform(east, north)
    height, width = image.shape

    def pixel(x: float, y: float) -> tuple[int, int]:
        # Where Leaflet draws grid point (x, y): linearly in Web Mercator between the bounds.
        mx, my = to_merc.transform(x, y)
        return int((y_n - my) / (y_n - y_s) * height), int((mx - x_w) / (x_e - x_w) * width)

    xs, ys = grid.rowcol_to_xy(np.array([r0 + 1]), np.array([c0 + 1]))
    assert image[pixel(float(xs[0]), float(ys[0]))] == 1.0
    xs, ys = grid.rowcol_to_xy(np.array([grid.shape[0] - 10]), np.array([10]))
    assert image[pixel(float(xs[0]), float(ys[0]))] == 0.5
    # The overlay covers the whole grid, and at most a pixel more on each side.
    left, bottom, right, top = grid.bounds
    corners = np.array([to_merc.transform(x, y) for x in (left, right) for y in (bottom, top)])
    pixel_m = (x_e - x_w) / width
    assert x_w - 1 <= corners[:, 0].min() < x_w + pixel_m
    assert x_e - pixel_m < corners[:, 0].max() <= x_e + 1
    assert y_s - 1 <= corners[:, 1].min() < y_s + pixel_m
    assert y_n - pixel_m < corners[:, 1].max() <= y_n + 1


def test_overlay_is_downsampled_to_max_px(grid: RasterGrid) -> None:
    image, _ = suitability_to_web_mercator(np.ones(grid.shape, dtype=np.float32), grid, max_px=16)
    assert max(image.shape) <= 16


@pytest.fixture
def map_html(
    tmp_path: Path,
    grid: RasterGrid,
    sites_5179: gpd.GeoDataFrame,
    buses_5179: gpd.GeoDataFrame,
    lines_5179: gpd.GeoDataFrame,
) -> str:
    path = write_map(
        tmp_path / "map.html",
        suitability=_suitability(grid),
        grid=grid,
        sites=sites_5179,
        buses=buses_5179,
        lines=lines_5179,
        attributions=["© OpenStreetMap contributors, ODbL 1.0", "KEPCO <grid> & friends"],
        title="Korea <test> study",
    )
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    return path.read_text(encoding="utf-8")


def test_map_contains_sites_legend_attributions_and_layer_control(map_html: str) -> None:
    for site_id in ("S-001", "S-002", "S-003"):
        assert f"#{site_id[-1]} {site_id}" in map_html
    assert "#1 S-001 0.9123" in map_html
    assert "Suitability (0–1, unitless)" in map_html
    for kv in LINE_COLOURS:
        assert f"{kv} kV" in map_html
    assert "© OpenStreetMap contributors, ODbL 1.0" in map_html
    assert "KEPCO &lt;grid&gt; &amp; friends" in map_html
    assert "L.control.layers" in map_html
    assert "<title>Korea &lt;test&gt; study</title>" in map_html
    assert "L.imageOverlay" in map_html
    assert map_html.count("L.circleMarker") == 3
    for colour in LINE_COLOURS.values():
        assert colour in map_html


def test_map_escapes_names_from_data(map_html: str) -> None:
    assert XSS not in map_html
    assert "alert(1)</script>" not in map_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in map_html
    # Backtick, ${ and backslash would break out of folium's JS template literals.
    assert "Ochang&#96;&#36;{x}&#92;" in map_html
    assert "Ochang`" not in map_html
    assert "O&#x27;Brien &amp; Sons &quot;quoted&quot;" in map_html


def test_map_overlay_png_is_transparent_where_excluded(map_html: str) -> None:
    match = re.search(r'L\.imageOverlay\(\s*"data:image/png;base64,([A-Za-z0-9+/=]+)"', map_html)
    assert match is not None
    width, height, rgba = _decode_png_alpha(base64.b64decode(match.group(1)))
    alpha = rgba[..., 3]
    assert 0 < int((alpha == 255).sum()) < width * height
    assert set(np.unique(alpha).tolist()) <= {0, 255}


def test_map_without_suitability_or_sites(
    tmp_path: Path,
    grid: RasterGrid,
    sites_5179: gpd.GeoDataFrame,
    buses_5179: gpd.GeoDataFrame,
    lines_5179: gpd.GeoDataFrame,
) -> None:
    path = write_map(
        tmp_path / "map.html",
        suitability=None,
        grid=grid,
        sites=sites_5179.iloc[:0],
        buses=buses_5179.iloc[:0],
        lines=lines_5179,
        attributions=[],
        title="empty",
    )
    text = path.read_text(encoding="utf-8")
    assert "L.imageOverlay" not in text
    assert "Suitability (0–1" not in text
    assert "fitBounds" in text


def test_map_rejects_unknown_popup_field(
    tmp_path: Path,
    sites_5179: gpd.GeoDataFrame,
    buses_5179: gpd.GeoDataFrame,
    lines_5179: gpd.GeoDataFrame,
) -> None:
    with pytest.raises(ValueError, match="capacity_mw"):
        write_map(
            tmp_path / "map.html",
            suitability=None,
            grid=None,
            sites=sites_5179,
            buses=buses_5179,
            lines=lines_5179,
            attributions=[],
            title="t",
            popup_fields=["site_id", "capacity_mw"],
        )
    assert not (tmp_path / "map.html").exists()


def test_map_popup_fields_select_columns(
    tmp_path: Path,
    sites_5179: gpd.GeoDataFrame,
    buses_5179: gpd.GeoDataFrame,
    lines_5179: gpd.GeoDataFrame,
) -> None:
    path = write_map(
        tmp_path / "map.html",
        suitability=None,
        grid=None,
        sites=sites_5179.to_crs("EPSG:4326"),
        buses=buses_5179,
        lines=lines_5179,
        attributions=[],
        title="t",
        popup_fields=["site_id", "area_km2"],
    )
    text = path.read_text(encoding="utf-8")
    assert "<th>area_km2</th><td>1.6</td>" in text
    assert "<th>area_km2</th><td>–</td>" in text
    assert "<th>score</th>" not in text


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse the map's scripts")
def test_map_scripts_are_valid_javascript(map_html: str, tmp_path: Path) -> None:
    # Escaping bugs (a quote, backtick or </script> from the data) show up as syntax errors.
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", map_html, flags=re.S)
    assert scripts
    source = tmp_path / "map.js"
    source.write_text("\n;\n".join(scripts), encoding="utf-8")
    result = subprocess.run(
        ["node", "--check", str(source)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- the map's other layers: scores, exclusions, potential, hosting, routes, controls ----------

SCORE_NAME = "near <b>grid</b>"


def test_size_breaks_and_hosting_radius() -> None:
    # Breaks: 1-2-5 numbers, the first at or above the largest capacity, each next <= 1/4.
    assert size_breaks_mw(658.1) == [1000.0, 200.0, 50.0]
    assert size_breaks_mw(1000.0) == [1000.0, 200.0, 50.0]
    assert size_breaks_mw(1000.5) == [2000.0, 500.0, 100.0]
    assert size_breaks_mw(3.0, count=2) == [5.0, 1.0]
    # Circle area proportional to MW: a quarter of the MW is half the radius.
    top = hosting_radius_px(1000.0, scale_mw=1000.0)
    assert top == HOSTING_MAX_RADIUS_PX
    assert hosting_radius_px(250.0, scale_mw=1000.0) == pytest.approx(top / 2)
    assert hosting_radius_px(640.0, scale_mw=1000.0) == pytest.approx(top * 0.8)
    for tiny in (0.0, -5.0, 1e-6, np.nan, None):
        assert hosting_radius_px(tiny, scale_mw=1000.0) == HOSTING_MIN_RADIUS_PX


def test_score_codes_and_palette_png_decode_with_pillow() -> None:
    from PIL import Image  # an independent PNG decoder (pillow, installed with scikit-image)

    codes = score_codes(np.array([[np.nan, 0.0, 0.25], [0.5, 1.0, 1.5]]))
    assert codes.tolist() == [[0, 1, 17], [33, 64, 64]]  # round(v * 63) + 1
    colours = ramp_colours(SCORE_RAMP, SCORE_LEVELS)
    palette = [(0, 0, 0, 0)] + [(int(r), int(g), int(b), 255) for r, g, b in colours]
    image = Image.open(io.BytesIO(palette_png(codes, palette)))
    assert image.mode == "P" and image.size == (3, 2)
    rgba = np.asarray(image.convert("RGBA"))
    assert rgba[0, 0, 3] == 0  # NaN: transparent
    assert rgba[0, 1].tolist() == [0x00, 0x00, 0x04, 255]  # 0: the ramp's first anchor
    assert rgba[1, 1].tolist() == [0xFC, 0xFD, 0xBF, 255]  # 1: its last
    # 0.25 is step 16 of 63: 0.254 on the ramp, 3 % of the way from #4f127b to #812581.
    assert rgba[0, 2].tolist() == [81, 19, 123, 255]
    with pytest.raises(ValueError, match="palette indices"):
        palette_png(np.array([[0, 2]]), [(0, 0, 0, 0), (1, 1, 1, 255)])


@pytest.mark.parametrize("strip_cells", [1 << 24, 7 * 41])
def test_thin_mask_keeps_the_cells_display_sample_keeps(
    monkeypatch: pytest.MonkeyPatch, strip_cells: int
) -> None:
    from gridsite.report import overlay
    from gridsite.study.spill import PackedMasks

    monkeypatch.setattr(overlay, "_STRIP_CELLS", strip_cells)  # one strip, or many
    grid = RasterGrid.from_bounds((0, 0, 41_000, 37_000), resolution_m=1000, crs=KOREA)
    mask = np.random.default_rng(5).random(grid.shape) < 0.3
    packed = PackedMasks(grid.shape, ["other", "mask"])
    packed.write(0, 0, {"other": ~mask, "mask": mask})
    for max_px in (100, 8, 3):
        expected, expected_grid = display_sample(mask.astype(np.float32), grid, max_px=max_px)
        for source in (mask, packed["mask"]):
            sample, sample_grid = thin_mask(source, grid, max_px=max_px)
            assert sample.dtype == bool
            assert sample.tolist() == (expected > 0.5).tolist()
            assert sample_grid == expected_grid
    with pytest.raises(ValueError, match="does not match"):
        thin_mask(mask[1:], grid, max_px=10)


def test_near_shore_counts_sea_within_the_distance_of_land() -> None:
    grid = RasterGrid.from_bounds((0, 0, 6000, 3000), resolution_m=1000, crs=KOREA)
    land = np.zeros(grid.shape, dtype=bool)
    land[:, 0] = True  # a coast along the west edge
    sea = ~land
    sea[0, 1] = False  # a sea exclusion next to the coast
    near = near_shore(sea, land, grid, max_shore_km=2.0)
    # Cells 1 and 2 km east of the coast count; 3 km and more do not.
    assert near.astype(int).tolist() == [[0, 0, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0]]
    assert not near_shore(sea, np.zeros_like(land), grid, max_shore_km=50).any()


@pytest.fixture
def hosting_5179(buses_5179: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return buses_5179.assign(
        hosting_capacity_mw=[600.0, 50.0, np.nan], hosting_capacity_n0_mw=[2000.0, 300.0, np.nan]
    )


@pytest.fixture
def routes_5179(sites_5179: gpd.GeoDataFrame, buses_5179: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ends = zip(sites_5179.geometry.centroid, buses_5179.geometry, strict=True)
    return gpd.GeoDataFrame(
        {
            "site_id": sites_5179["site_id"],
            "rank": sites_5179["rank"],
            "bus_id": [XSS, "b2", "b3"],
            "route_km": [12.5, 3.0, 40.0],
            "interconnect_cost_musd": [30.0, 8.0, 95.5],
        },
        geometry=[shapely.LineString([a, b]) for a, b in ends],
        crs=KOREA,
    )


def _layer_masks(grid: RasterGrid) -> dict[str, np.ndarray]:
    cols = grid.shape[1]
    excluded = np.zeros(grid.shape, dtype=bool)
    excluded[5:15, 5:15] = True
    land = np.zeros(grid.shape, dtype=bool)
    land[:, : cols // 2] = True
    eligible = land.copy()
    eligible[:, :3] = False
    return {"excluded": excluded, "land": land, "eligible": eligible, "sea": ~land}


def _full_map(
    path: Path,
    grid: RasterGrid,
    sites: gpd.GeoDataFrame,
    buses: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    hosting: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
) -> Path:
    masks = _layer_masks(grid)
    cool = np.full(grid.shape, 0.25, dtype=np.float32)
    cool[0, :] = np.nan
    return write_map(
        path,
        suitability=_suitability(grid),
        grid=grid,
        sites=sites,
        buses=buses,
        lines=lines,
        attributions=["© OpenStreetMap contributors, ODbL 1.0"],
        title="all layers",
        site_pages="sites",
        scores={SCORE_NAME: _suitability(grid), "cool": cool},
        score_notes={SCORE_NAME: XSS, "cool": "value in degC"},
        excluded=masks["excluded"],
        hosting=hosting,
        routes=routes,
        supply_areas=SupplyAreas(
            eligible=masks["eligible"],
            land=masks["land"],
            sea=masks["sea"],
            pv_mw_per_km2=50.0,
            wind_mw_per_km2=4.0,
            offshore_mw_per_km2=5.0,
            offshore_max_shore_km=10.0,
        ),
    )


@pytest.fixture
def full_map(
    tmp_path: Path,
    grid: RasterGrid,
    sites_5179: gpd.GeoDataFrame,
    buses_5179: gpd.GeoDataFrame,
    lines_5179: gpd.GeoDataFrame,
    hosting_5179: gpd.GeoDataFrame,
    routes_5179: gpd.GeoDataFrame,
) -> str:
    args = (grid, sites_5179, buses_5179, lines_5179, hosting_5179, routes_5179)
    return _full_map(tmp_path / "map.html", *args).read_text(encoding="utf-8")


def _overlay_names(text: str) -> list[str]:
    """The overlays of the layer control, in order, as the page's script holds them."""
    block = re.search(r"overlays :  \{(.*?)\},\n", text, flags=re.S)
    assert block is not None
    return [json.loads(k) for k in re.findall(r'^\s*("(?:[^"\\]|\\.)*") :', block.group(1), re.M)]


def _png_images(text: str) -> list[np.ndarray]:
    from PIL import Image

    urls = re.findall(r'L\.imageOverlay\(\s*"data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u))).convert("RGBA")) for u in urls]


def test_full_map_has_every_layer_in_order_and_only_suitability_image_on(full_map: str) -> None:
    assert _overlay_names(full_map) == [
        "Basemap: OpenStreetMap (online)",
        "Suitability (0-1)",
        "Score: near &lt;b&gt;grid&lt;/b&gt;",  # escaped: the control sets it as HTML
        "Score: cool",
        "Excluded by constraints",
        "Renewable potential (MW/km²)",
        "Lines 765 kV",
        "Lines 345 kV",
        "Lines 154 kV",
        "Lines, other voltages",
        "Substations (size: N-1 hosting capacity)",
        "Interconnection routes",
        "Sites",
        "Site ranks",
    ]
    assert len(_png_images(full_map)) == 5
    # Added to the map on load: the suitability image only (the others have show=False).
    added = re.findall(r"var (image_overlay_\w+) = L\.imageOverlay", full_map)
    assert [name for name in added if f"{name}.addTo(" in full_map] == added[:1]
    assert XSS not in full_map


def test_full_map_images_show_what_each_layer_says(full_map: str, grid: RasterGrid) -> None:
    _suit, near_grid, cool, excluded, potential = _png_images(full_map)
    opaque = cool[..., 3] == 255
    assert opaque.mean() > 0.9
    assert {tuple(p) for p in cool[opaque][:, :3].tolist()} == {(81, 19, 123)}  # 0.25, as above
    # Each score image: at most MAX_LAYER_PX a side (here: the grid is smaller), 64 colours.
    assert max(near_grid.shape[:2]) <= 1024
    assert len({tuple(p) for p in near_grid.reshape(-1, 4).tolist()}) <= SCORE_LEVELS + 1
    colours = {tuple(p) for p in excluded.reshape(-1, 4).tolist()}
    assert colours == {(0, 0, 0, 0), (0xD6, 0x27, 0x28, 255)}
    # The excluded block is 10 x 10 of the grid's cells, all inside the area (not NaN).
    share = (excluded[..., 3] == 255).sum() / excluded[..., 3].size
    assert share == pytest.approx(100 / (grid.shape[0] * grid.shape[1]), rel=0.25)
    land, sea = (0x31, 0xA3, 0x54, 255), (0x31, 0x82, 0xBD, 255)
    counts = {c: int((potential.reshape(-1, 4) == c).all(axis=1).sum()) for c in (land, sea)}
    rows, cols = grid.shape
    # Eligible land: the west half minus 3 columns; sea within 10 km (5 cells of 2 km) of land.
    expected_land, expected_sea = rows * (cols // 2 - 3), rows * 5
    pixels = potential.shape[0] * potential.shape[1] / (rows * cols)
    assert counts[land] / pixels == pytest.approx(expected_land, rel=0.1)
    assert counts[sea] / pixels == pytest.approx(expected_sea, rel=0.15)


def test_full_map_legends_carry_units_and_start_with_the_visible_layers(full_map: str) -> None:
    legend = re.search(
        r'<div class="gs-box gs-legend">(.*?)</div>\s*<div class="gs-box', full_map, re.S
    )
    assert legend is not None
    parts = re.findall(
        r'<div class="gs-legend-part" id="gs-legend-(\d+)"( style="display: none;")?>',
        legend.group(1),
    )
    assert [(int(i), bool(hidden)) for i, hidden in parts] == [
        (0, False),  # suitability
        (1, True),  # score: near <b>grid</b>
        (2, True),  # score: cool
        (3, True),  # exclusions
        (4, True),  # potential
        (5, False),  # lines
        (6, False),  # substations
        (7, False),  # routes
        (8, False),  # sites
    ]
    text = legend.group(1)
    for unit in (
        "Suitability (0–1, unitless)",
        "Score: near &lt;b&gt;grid&lt;/b&gt; (0–1, unitless)",
        "&lt;script&gt;alert(1)&lt;/script&gt;",  # the note, escaped
        "Score: cool (0–1, unitless)",
        "value in degC",
        "PV 50 or onshore wind 4 MW/km²",
        "offshore wind 5 MW/km²",
        "765 kV",
        "1000 MW",  # the size breaks of 600 MW: 1000, 200, 50
        "200 MW",
        "50 MW",
        "route_km (km)",
    ):
        assert unit in text
    # The circles drawn in the legend have the radii the map draws those capacities with.
    diameters = [float(d) for d in re.findall(r'gs-circle" style="width: ([\d.]+)px', text)]
    assert diameters == pytest.approx(
        [2 * 11.0 * math.sqrt(mw / 1000) for mw in (1000, 200, 50)], abs=0.06
    )


def test_full_map_substations_routes_controls_and_links(full_map: str) -> None:
    radii = [float(r) for r in re.findall(r'"radius": ([\d.]+)', full_map)]
    # On a 1000 MW scale (11 px): 600 MW is 11 px x sqrt(0.6), 50 MW 11 px x sqrt(0.05), and a
    # missing capacity the 2 px floor.
    assert radii == pytest.approx([11.0 * math.sqrt(0.6), 11.0 * math.sqrt(0.05), 2.0])
    assert full_map.count("L.circleMarker") == 3
    assert '"dashArray": "2 2"' in full_map  # the substation with no value
    assert "600 MW N-1 · 2000 MW N-0" in full_map
    assert '"dashArray": "6 4"' in full_map  # the routes
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in full_map  # a route's bus_id, escaped
    assert "L.control.scale({metric: true, imperial: false" in full_map
    for rank, site in ((1, "S-001"), (2, "S-002"), (3, "S-003")):
        assert f'href="sites/{site}.html"' in full_map
        assert f'"#{rank} {site} · score' in full_map  # the site list's entries
    assert full_map.index('"#1 S-001') < full_map.index('"#2 S-002') < full_map.index('"#3 S-003')


def test_full_map_is_byte_identical_when_written_again(
    tmp_path: Path,
    grid: RasterGrid,
    sites_5179: gpd.GeoDataFrame,
    buses_5179: gpd.GeoDataFrame,
    lines_5179: gpd.GeoDataFrame,
    hosting_5179: gpd.GeoDataFrame,
    routes_5179: gpd.GeoDataFrame,
    full_map: str,
) -> None:
    args = (grid, sites_5179, buses_5179, lines_5179, hosting_5179, routes_5179)
    again = _full_map(tmp_path / "again.html", *args).read_text(encoding="utf-8")
    assert again == full_map


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse the map's scripts")
def test_full_map_scripts_are_valid_javascript(full_map: str, tmp_path: Path) -> None:
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", full_map, flags=re.S)
    source = tmp_path / "map.js"
    source.write_text("\n;\n".join(scripts), encoding="utf-8")
    result = subprocess.run(
        ["node", "--check", str(source)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_map_rasters_need_their_grid(
    tmp_path: Path, grid: RasterGrid, sites_5179: gpd.GeoDataFrame, lines_5179: gpd.GeoDataFrame
) -> None:
    with pytest.raises(ValueError, match="scores, excluded need the grid"):
        write_map(
            tmp_path / "map.html",
            suitability=None,
            grid=None,
            sites=sites_5179,
            buses=sites_5179.iloc[:0],
            lines=lines_5179,
            attributions=[],
            title="t",
            scores={"a": _suitability(grid)},
            excluded=np.zeros(grid.shape, dtype=bool),
        )
    assert not (tmp_path / "map.html").exists()


def test_page_links_are_relative_encoded_and_escaped() -> None:
    assert page_href("sites", "korea-0926-1780") == "sites/korea-0926-1780.html"
    # A slash, quote or angle bracket in an id stays inside the one file name and attribute.
    assert page_href("sites", '../x" onclick="y<') == "sites/..%2Fx%22%20onclick%3D%22y%3C.html"
    assert page_href("sites", "a&b") == "sites/a%26b.html"


# --- the map's scripts: inlined or linked (the browser tests are in test_report_browser.py) ----


def _folium_links() -> dict[str, str]:
    import folium

    return dict([*folium.Map.default_js, *folium.Map.default_css])


def _write_small_map(path: Path, sites: gpd.GeoDataFrame, **kw: Any) -> Path:
    return write_map(
        path,
        suitability=None,
        grid=None,
        sites=sites,
        buses=sites.iloc[:0],
        lines=gpd.GeoDataFrame({"voltage_kv": []}, geometry=[], crs=KOREA),
        attributions=[],
        title="t",
        **kw,
    )


def test_map_assets_are_leaflet_and_jquery_as_folium_links_them() -> None:
    links = _folium_links()
    assets = map_assets()
    assert [a.url for a in assets] == [links["leaflet"], links["jquery"], links["leaflet_css"]]
    leaflet = re.fullmatch(
        r"https://cdn\.jsdelivr\.net/npm/leaflet@([\d.]+)/dist/leaflet\.js", links["leaflet"]
    )
    jquery = re.fullmatch(r"https://code\.jquery\.com/jquery-([\d.]+)\.min\.js", links["jquery"])
    assert leaflet is not None and jquery is not None
    specs = [f"leaflet@{leaflet.group(1)}", f"jquery@{jquery.group(1)}"]
    assert [a.npm_spec for a in assets] == [specs[0], specs[1], specs[0]]
    assert [a.path for a in assets] == ["dist/leaflet.js", "dist/jquery.min.js", "dist/leaflet.css"]
    # What `make assets` fetches:
    printed = subprocess.run(
        [sys.executable, "-m", "gridsite.report.mapassets"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed == specs


def test_inline_map_carries_the_installed_release_files_and_links_nothing(map_html: str) -> None:
    assert external_links(map_html) == []
    assert re.search(r"<(?:script|link)\b[^>]*\b(?:src|href)=", map_html) is None
    assert "url(images/" not in map_html  # Leaflet's CSS images are data: URIs
    assert "sourceMappingURL" not in map_html
    versions = {a.package: a.version for a in map_assets()}
    assert f"Leaflet {versions['leaflet']}, a JS library" in map_html  # the release banners
    assert f"jQuery v{versions['jquery']} " in map_html
    for name, path in (("leaflet", "dist/leaflet.js"), ("jquery", "dist/jquery.min.js")):
        release = (assets_dir() / name / path).read_text(encoding="utf-8")
        assert release.split("//# sourceMappingURL=")[0].strip() in map_html
    assert 'typeof L !== "undefined"' not in map_html  # no CDN notice needed


def test_cdn_map_links_the_cdns_and_explains_a_blank_map(
    tmp_path: Path, sites_5179: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path / "nothing-here"))  # not needed for cdn
    text = _write_small_map(tmp_path / "map.html", sites_5179, assets="cdn").read_text("utf-8")
    links = _folium_links()
    assert external_links(text) == [links["leaflet"], links["jquery"], links["leaflet_css"]]
    assert 'typeof L !== "undefined"' in text  # the offline notice
    assert "@preserve" not in text


def test_inline_map_without_installed_assets_says_what_to_do(
    tmp_path: Path, sites_5179: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-assets"
    monkeypatch.setenv(ASSETS_ENV, str(missing))
    assert assets_dir() == missing
    with pytest.raises(MapAssetsError) as info:
        _write_small_map(tmp_path / "map.html", sites_5179)
    message = str(info.value)
    assert str(missing) in message and "leaflet" in message
    assert "make assets" in message and "--map-assets cdn" in message
    assert isinstance(info.value, FileNotFoundError)
    assert not (tmp_path / "map.html").exists()
    with pytest.raises(MapAssetsError, match="make assets"):
        check_map_assets("inline")
    check_map_assets("cdn")


def test_inline_assets_of_another_version_or_incomplete_are_refused(
    tmp_path: Path, sites_5179: gpd.GeoDataFrame
) -> None:
    folder = tmp_path / "assets"
    shutil.copytree(assets_dir(), folder)
    manifest = folder / "jquery" / "package.json"
    manifest.write_text(json.dumps({"name": "jquery", "version": "1.0.0"}), encoding="utf-8")
    with pytest.raises(MapAssetsError, match=r"holds version 1\.0\.0"):
        _write_small_map(tmp_path / "map.html", sites_5179, assets_folder=folder)
    shutil.rmtree(folder / "jquery")
    with pytest.raises(MapAssetsError, match=r"jquery.*package\.json does not exist"):
        _write_small_map(tmp_path / "map.html", sites_5179, assets_folder=folder)
    shutil.copytree(assets_dir() / "jquery", folder / "jquery")
    (folder / "leaflet" / "dist" / "images" / "layers.png").unlink()
    with pytest.raises(MapAssetsError, match=r"refers to images/layers\.png, which is missing"):
        _write_small_map(tmp_path / "map.html", sites_5179, assets_folder=folder)
    assert not (tmp_path / "map.html").exists()


def test_assets_folder_comes_from_the_environment_else_the_venv() -> None:
    assert assets_dir({ASSETS_ENV: "/opt/map-assets"}) == Path("/opt/map-assets")
    assert assets_dir({ASSETS_ENV: " "}) == Path(sys.prefix) / "share" / "gridsite" / "map-assets"
    assert assets_dir({}) == Path(sys.prefix) / "share" / "gridsite" / "map-assets"


def test_unknown_assets_mode_is_an_error(tmp_path: Path, sites_5179: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="'inline', 'cdn'"):
        _write_small_map(tmp_path / "map.html", sites_5179, assets="local")


def test_run_without_map_assets_fails_before_the_study_runs(
    tmp_path: Path, data_root: Path
) -> None:
    out = tmp_path / "out"
    env = {**os.environ, ASSETS_ENV: str(tmp_path / "no-assets")}
    cmd = [sys.executable, "-m", "gridsite.cli", "run", "studies/korea.toml"]
    cmd += ["--data", str(data_root), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=REPO)
    assert proc.returncode == 1
    assert "make assets" in proc.stderr and "--map-assets cdn" in proc.stderr
    assert not out.exists()
    proc = subprocess.run(
        [*cmd, "--map-assets", "local"], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert proc.returncode == 2 and "'inline', 'cdn'" in proc.stderr


def test_write_manifest_converts_values_added_by_the_caller(tmp_path: Path) -> None:
    manifest = build_manifest(
        study_name="x", config={}, inputs=[], timings_s={}, attributions=[], outputs=[]
    )
    manifest["stats"] = {"sites": np.int64(3), "mean_score": np.float32(0.5), "spread": np.nan}
    text = write_manifest(manifest, tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text)["stats"] == {"sites": 3, "mean_score": 0.5, "spread": None}
    manifest["bad"] = object()
    with pytest.raises(TypeError, match=r"manifest\.bad"):
        write_manifest(manifest, tmp_path / "other.json")
    assert not (tmp_path / "other.json").exists()


def test_importing_report_does_not_load_folium() -> None:
    code = (
        "import sys, gridsite.report, gridsite.report.manifest; "
        "print(sorted(m for m in ('folium', 'branca') if m in sys.modules)); "
        "gridsite.report.write_map; print('folium' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]", "True"]
