"""The GIS outputs of a run: sites.gpkg, the score COGs and suitability.qml, read back by others.

The GeoPackage is read with pyogrio, with Python's own sqlite3 (the GeoPackage tables) and with
GDAL's ``ogrinfo`` when it is installed; the rasters with rasterio; the style with ElementTree.
Values are compared with the run's result in memory (a different path from the files) and with
numbers worked out by hand (the viridis stops, the overview means, the chunk counts).
"""

from __future__ import annotations

import gc
import math
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

import gridsite
from gridsite.geo import RasterGrid
from gridsite.report.atomic import is_temporary_name
from gridsite.report.gpkg import GPKG_TIMESTAMP
from gridsite.report.overlay import SUITABILITY_RAMP
from gridsite.report.qml import suitability_qml
from gridsite.report.raster import write_geotiff
from gridsite.spec import OutputSpec, RankingSpec
from gridsite.study.ahead import RastersAhead
from gridsite.study.result import StudyResult

from .conftest import KOREA_STUDY

LAYERS = [
    ["sites", "Polygon"],
    ["routes", "LineString"],
    ["buses", "Point"],
    ["lines", "LineString"],
    ["hosting", "Point"],
]

#: Viridis sampled every 1/8, as the map draws suitability (matplotlib's _viridis_data).
VIRIDIS_EIGHTHS = [
    ("0", "#440154"),
    ("0.125", "#482878"),
    ("0.25", "#3e4a89"),
    ("0.375", "#31688e"),
    ("0.5", "#26828e"),
    ("0.625", "#1f9e89"),
    ("0.75", "#35b779"),
    ("0.875", "#6ece58"),
    ("1", "#fde725"),
]


@pytest.fixture(scope="module")
def korea(data_root: Path) -> StudyResult:
    return gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(5).run()


@pytest.fixture(scope="module")
def out(korea: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gis") / "korea"
    korea.write(folder, map_assets="cdn")
    return folder


# ---- sites.gpkg -------------------------------------------------------------------------------


@pytest.mark.integration
def test_geopackage_layers_counts_and_crs(out: Path, korea: StudyResult) -> None:
    gpkg = out / "sites.gpkg"
    assert pyogrio.list_layers(gpkg).tolist() == LAYERS
    graph = korea.grid_graph
    assert korea.hosting is not None and korea.routes is not None
    expected = {
        "sites": 5,
        "routes": 5,
        "buses": graph.number_of_nodes(),
        "lines": graph.number_of_edges(),
        "hosting": len(korea.hosting),
    }
    assert expected["buses"] == 648  # the OSM power grid of the data pack
    for name, count in expected.items():
        info = pyogrio.read_info(gpkg, layer=name)
        assert info["features"] == count, name
        assert info["crs"] == "EPSG:5179", name


@pytest.mark.integration
def test_geopackage_values_equal_the_run(out: Path, korea: StudyResult) -> None:
    gpkg = out / "sites.gpkg"
    sites = pyogrio.read_dataframe(gpkg, layer="sites")
    assert sites["rank"].tolist() == [1, 2, 3, 4, 5]
    assert sites["site_id"].tolist() == korea.sites["site_id"].tolist()
    np.testing.assert_allclose(sites["score"], korea.sites["score"], rtol=0, atol=0)
    # Polygons in metres, exactly those of the run (no round trip through degrees).
    assert all(
        a.equals_exact(b, 1e-6) for a, b in zip(sites.geometry, korea.sites.geometry, strict=True)
    )
    area_ha = sites.geometry.area / 1e4
    np.testing.assert_allclose(area_ha, korea.sites["area_ha"], rtol=1e-9)

    # Buses went to WGS 84 for the graph tables and back: within a millimetre of x_m, y_m.
    buses = pyogrio.read_dataframe(gpkg, layer="buses").set_index("bus_id")
    nodes = korea.grid_graph.nodes
    xy = np.array([(nodes[b]["x_m"], nodes[b]["y_m"]) for b in buses.index])
    np.testing.assert_allclose(buses.geometry.x, xy[:, 0], atol=1e-3)
    np.testing.assert_allclose(buses.geometry.y, xy[:, 1], atol=1e-3)

    assert korea.hosting is not None
    hosting = pyogrio.read_dataframe(gpkg, layer="hosting").set_index("bus_id")
    mine = korea.hosting.set_index("bus_id").loc[hosting.index]
    np.testing.assert_array_equal(hosting["hosting_capacity_mw"], mine["hosting_capacity_mw"])
    assert hosting["binding_branch"].isna().tolist() == mine["binding_branch"].isna().tolist()
    assert hosting["connected"].dtype == bool


@pytest.mark.integration
def test_geopackage_tables_and_no_sqlite_side_files(out: Path) -> None:
    gpkg = out / "sites.gpkg"
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith(("-journal", "-wal", "-shm"))]
    assert leftovers == [] and not any(is_temporary_name(p.name) for p in out.rglob("*"))
    with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA application_id").fetchone() == (0x47504B47,)  # "GPKG"
        assert db.execute("PRAGMA user_version").fetchone() == (10200,)  # GeoPackage 1.2
        contents = db.execute(
            "SELECT table_name, srs_id, last_change, description FROM gpkg_contents"
        ).fetchall()
        srs = db.execute(
            "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys "
            "WHERE srs_id = 5179"
        ).fetchone()
    db.close()
    assert [c[0] for c in contents] == [name for name, _ in LAYERS]
    assert {c[1] for c in contents} == {5179} and srs == ("EPSG", 5179)
    assert {c[2] for c in contents} == {GPKG_TIMESTAMP}
    assert all(c[3] for c in contents)  # every layer says what it is


@pytest.mark.integration
def test_geopackage_reads_in_gdal_ogrinfo(out: Path, korea: StudyResult) -> None:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("GDAL's ogrinfo is not installed (apt install gdal-bin)")
    gpkg = out / "sites.gpkg"
    summary = subprocess.run(
        [ogrinfo, "-ro", "-so", "-al", str(gpkg)], capture_output=True, text=True, check=True
    ).stdout
    names = re.findall(r"^Layer name: (\w+)$", summary, flags=re.M)
    counts = [int(n) for n in re.findall(r"^Feature Count: (\d+)$", summary, flags=re.M)]
    assert names == [name for name, _ in LAYERS]
    assert korea.hosting is not None
    assert counts == [5, 5, 648, korea.grid_graph.number_of_edges(), len(korea.hosting)]
    assert summary.count('ID["EPSG",5179]') == len(LAYERS)
    first = subprocess.run(
        [ogrinfo, "-ro", "-q", "-where", "rank = 1", str(gpkg), "sites"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"site_id (String) = {korea.sites['site_id'].iloc[0]}" in first


@pytest.mark.integration
def test_the_same_result_writes_the_same_geopackage_and_rasters(
    out: Path, korea: StudyResult, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    korea.write(again, map_assets="cdn")
    for name in ["sites.gpkg", "suitability.qml", "suitability.tif", "scores/city_distance.tif"]:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.integration
def test_rasters_written_ahead_are_the_same_files(
    out: Path, korea: StudyResult, data_root: Path, tmp_path: Path
) -> None:
    # Study.run(write_ahead=True), as `gridsite run` does: the GeoTIFFs are written during the
    # run, and write() puts the same bytes in place, twice if asked.
    study = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(5)
    ahead = study.run(write_ahead=True)
    assert ahead.ahead is not None and korea.ahead is None
    names = ["suitability.tif", "suitability.qml"]
    names += [f"scores/{c.name}.tif" for c in korea.spec.criteria]
    assert all(name in ahead.ahead for name in names)
    for folder in (tmp_path / "first", tmp_path / "second"):
        written = ahead.write(folder, map_assets="cdn")
        for name in names:
            assert folder / name in written
            assert (folder / name).read_bytes() == (out / name).read_bytes(), name


def test_a_failed_write_ahead_raises_when_placed(tmp_path: Path) -> None:
    def broken(path: Path) -> Path:
        raise OSError(f"disk full writing {path.name}")

    ahead = RastersAhead(workers=1)
    ahead.submit("scores/a.tif", broken)
    with pytest.raises(OSError, match=r"disk full writing a\.tif"):
        ahead.place("scores/a.tif", tmp_path / "a.tif")
    assert not (tmp_path / "a.tif").exists()
    folder = ahead._folder
    assert folder.is_dir()
    del ahead
    gc.collect()
    assert not folder.exists()  # the private folder goes with the object


# ---- score rasters ----------------------------------------------------------------------------


@pytest.mark.integration
def test_score_rasters_are_cogs_of_each_criterion(out: Path, korea: StudyResult) -> None:
    grid = korea.suitability.grid
    with rasterio.open(out / "suitability.tif") as src:
        outside = src.read(1) == src.nodata  # the study area, from the other file
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    assert 0 < outside.sum() < outside.size
    names = sorted(p.stem for p in (out / "scores").iterdir())
    assert names == sorted(c.name for c in korea.spec.criteria)
    weights = korea.stats["criterion_weights"]
    for c in korea.spec.criteria:
        with rasterio.open(out / "scores" / f"{c.name}.tif") as src:
            assert src.crs.to_epsg() == 5179 and src.transform == grid.transform
            assert src.dtypes == ("float32",) and math.isnan(src.nodata)
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            tags = src.tags()
            assert tags["criterion"] == c.name and tags["value_unit"] == c.unit
            assert tags["transform"] == c.transform.kind
            assert float(tags["weight"]) == pytest.approx(weights[c.name], rel=1e-5)
            assert "0-1" in tags["units"] and c.name in src.descriptions[0]
            score = src.read(1)
        assert np.isnan(score[outside]).all(), c.name  # nodata outside the area
        inside = score[~outside & ~np.isnan(score)]
        assert inside.size > 0.9 * (~outside).sum() and inside.min() >= 0 and inside.max() <= 1
        np.testing.assert_array_equal(score, np.asarray(korea.scores[c.name]))


def test_geotiff_writer_adds_averaged_overviews(tmp_path: Path) -> None:
    # 520 x 600 cells of 100 m: the COG driver halves until the raster fits a 256 px tile.
    grid = RasterGrid.from_bounds((0, 0, 60_000, 52_000), resolution_m=100, crs="EPSG:5179")
    assert grid.shape == (520, 600)
    rows, cols = np.indices(grid.shape)
    values = (rows * 1000 + cols).astype(np.float32)
    path = write_geotiff(values, grid, tmp_path / "v.tif", nodata=math.nan, tags={"units": "1"})
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4]
        assert src.tags()["units"] == "1"
    with rasterio.open(path, overview_level=0) as half:
        assert half.shape == (260, 300)
        # The mean of each 2 x 2 block of r * 1000 + c is (2i + 0.5) * 1000 + 2j + 0.5.
        i, j = np.indices(half.shape)
        np.testing.assert_allclose(half.read(1), (2 * i + 0.5) * 1000 + 2 * j + 0.5)


@pytest.mark.integration
def test_chunked_score_rasters_equal_in_memory(data_root: Path, tmp_path: Path) -> None:
    base = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(3).spec
    spec = replace(
        base,
        supply=None,
        electrical=None,
        interconnect=None,
        ranking=RankingSpec(),
        outputs=OutputSpec(map_html=False, grid_geojson=False, sites_gpkg=False),
    )
    gridsite.Study(spec).run().write(tmp_path / "memory")
    chunked = gridsite.Study(replace(spec, chunk_px=37)).run(write_ahead=True)
    assert chunked.ahead is None  # bounded memory: a chunked run writes its rasters in write()
    assert sorted(chunked.scores) == sorted(c.name for c in spec.criteria)
    chunked.write(tmp_path / "chunks")
    for c in spec.criteria:
        with rasterio.open(tmp_path / "memory" / "scores" / f"{c.name}.tif") as a:
            memory = a.read(1)
        with rasterio.open(tmp_path / "chunks" / "scores" / f"{c.name}.tif") as b:
            chunks = b.read(1)
        assert np.array_equal(np.isnan(memory), np.isnan(chunks)), c.name
        np.testing.assert_allclose(chunks, memory, rtol=0, atol=1e-6, equal_nan=True)

    # Without score_tifs a chunked run keeps no scores and writes no scores/ folder.
    quiet = replace(spec, chunk_px=37, outputs=replace(spec.outputs, score_tifs=False))
    bare = gridsite.Study(quiet).run()
    assert dict(bare.scores) == {}
    bare.write(tmp_path / "bare")
    assert not (tmp_path / "bare" / "scores").exists()
    assert (tmp_path / "bare" / "suitability.tif").is_file()


# ---- suitability.qml --------------------------------------------------------------------------


def test_qml_is_a_pseudocolor_style_of_band_1_with_the_map_ramp() -> None:
    root = ET.fromstring(suitability_qml())
    assert root.tag == "qgis"
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None
    assert renderer.get("type") == "singlebandpseudocolor" and renderer.get("band") == "1"
    assert (renderer.get("classificationMin"), renderer.get("classificationMax")) == ("0", "1")
    shader = renderer.find("rastershader/colorrampshader")
    assert shader is not None and shader.get("colorRampType") == "INTERPOLATED"
    stops = [(i.get("value"), i.get("color")) for i in shader.iter("item")]
    assert stops == VIRIDIS_EIGHTHS
    assert stops == [(f"{v:g}", c) for v, c in SUITABILITY_RAMP]  # the map's own ramp
    ramp = {o.get("name"): o.get("value") for o in shader.iter("Option") if o.get("name")}
    assert ramp["color1"] == "68,1,84,255" and ramp["color2"] == "253,231,37,255"
    assert ramp["stops"].split(":")[0] == "0.125;72,40,120,255"
    zero = renderer.find("rasterTransparency/singleValuePixelList/pixelListEntry")
    assert zero is not None and zero.attrib == {"min": "0", "max": "0", "percentTransparent": "100"}


@pytest.mark.integration
def test_qml_sits_beside_the_raster_with_the_map_colours(out: Path) -> None:
    text = (out / "suitability.qml").read_text(encoding="utf-8")
    assert text == suitability_qml()
    legend = (out / "map.html").read_text(encoding="utf-8")
    for _, colour in VIRIDIS_EIGHTHS:
        assert colour in legend  # the map's legend gradient draws the same stops
