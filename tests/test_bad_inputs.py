"""The bad-input catalogue (issue 7): every bad input ends in a clear GridsiteError.

Each entry builds its bad input for real in ``tmp_path`` (a truncated GeoTIFF, a GeoJSON that is
not JSON, a layer far outside Korea...), writes a small study and layer catalog pointing at it
(4000 m cells, one criterion, one constraint: a few seconds), and runs it as a user would: the
library call for every entry, ``gridsite run`` through click's runner for a representative set,
and one real ``gridsite`` subprocess. Each must raise the named :class:`GridsiteError` subclass
whose message names the file, layer or field at fault and says what to do, and the CLI must exit
non-zero without a traceback unless ``-vv``.

docs/errors.md quotes the messages these tests produce; the last test checks that it documents
every error class.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer
from rasterio.transform import from_origin

import gridsite
from gridsite import errors
from gridsite.cli import main
from gridsite.errors import (
    ConfigError,
    CRSError,
    DataRootError,
    GridsiteError,
    LayerError,
    NoCandidateSitesError,
    PowerGridError,
)
from gridsite.geo import RasterGrid
from gridsite.layers import check_raster_overlap, read_raster_window
from gridsite.mcda.weights import criterion_weights
from gridsite.powergrid import graph_from_osm_lines
from gridsite.spec import LayerSpec
from gridsite.study.checks import check_room_for_sites, count_open_cells
from gridsite.study.spill import DiskRaster

from .conftest import DATA, REPO

# ---- a small study over the real data pack, and bad inputs swapped into it ----------------------

KOREA = DATA / "korea"
OUTLINE = KOREA / "boundaries" / "kostat_2018_country_outline.geojson"
BUSES = KOREA / "grid" / "osm_pypsa_earth" / "all_buses_build_network.csv"
LINES = KOREA / "grid" / "osm_pypsa_earth" / "all_lines_build_network.csv"
LANDMASK = KOREA / "elevation_landmask" / "globe_landmask_30arcsec_korea_bbox.tif"


def _catalog(paths: dict[str, Path], *, outline_crs: bool = True, extra: str = "") -> str:
    crs = 'crs = "EPSG:4326"\n' if outline_crs else ""
    return f"""
[layers.country_outline]
path = "{paths.get("country_outline", OUTLINE).as_posix()}"
format = "vector"
{crs}
[layers.osm_buses]
path = "{paths.get("osm_buses", BUSES).as_posix()}"
format = "csv"
crs = "EPSG:4326"
x = "lon"
y = "lat"
fields = ["bus_id", "station_id", "voltage", "lon", "lat"]

[layers.osm_lines]
path = "{paths.get("osm_lines", LINES).as_posix()}"
format = "csv"
crs = "EPSG:4326"
wkt = "geometry"
fields = ["line_id", "bus0", "bus1", "voltage", "circuits", "length"]

[layers.landmask]
path = "{paths.get("landmask", LANDMASK).as_posix()}"
format = "raster"
crs = "EPSG:4326"
{extra}
"""


STUDY = """
[study]
name = "bad"
catalog = "catalog.toml"
data_root = "{data_root}"
resolution_m = 4000
area = "country_outline"

[[criteria]]
name = "substation_distance"
layer = "osm_buses"
measure = "distance"
select = {{ field = "voltage", min = 154000 }}
transform = {{ kind = "linear", low = 30, high = 0 }}
weight = 1

[[constraints]]
name = "sea"
layer = "landmask"
kind = "raster_values"
values = [0]

[sites]
count = 3

[powergrid]
buses = "osm_buses"
lines = "osm_lines"

[sensitivity]
draws = 0

[outputs]
map_html = false
"""

#: A criterion on a raster layer ``r`` (for the raster entries), placed before the constraints.
RASTER_CRITERION = """[[criteria]]
name = "r"
layer = "r"
measure = "raster"
transform = { kind = "linear", low = 0, high = 1 }
weight = 1

[[constraints]]"""


def _write_study(
    tmp: Path,
    *,
    paths: dict[str, Path] | None = None,
    edit: Callable[[str], str] = lambda s: s,
    outline_crs: bool = True,
    extra_layers: str = "",
    data_root: Path = DATA,
) -> Path:
    """Write ``tmp/catalog.toml`` and ``tmp/study.toml``; return the study's path."""
    catalog = _catalog(paths or {}, outline_crs=outline_crs, extra=extra_layers)
    (tmp / "catalog.toml").write_text(catalog, encoding="utf-8")
    study = tmp / "study.toml"
    study.write_text(edit(STUDY.format(data_root=data_root.as_posix())), encoding="utf-8")
    return study


def _with_raster_criterion(tmp: Path, raster: Path) -> Path:
    layer = f'\n[layers.r]\npath = "{raster.as_posix()}"\nformat = "raster"\n'
    return _write_study(
        tmp,
        extra_layers=layer,
        edit=lambda s: s.replace("[[constraints]]", RASTER_CRITERION, 1),
    )


def _write_tif(
    path: Path,
    values: np.ndarray,
    *,
    west: float = 124.0,
    north: float = 39.0,
    step: float = 0.05,
    nodata: float | None = None,
    crs: str | None = "EPSG:4326",
) -> Path:
    """Write a one-band float32 GeoTIFF in lon/lat with ``step``-degree pixels."""
    rows, cols = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(west, north, step, step),
        nodata=nodata,
    ) as dst:
        dst.write(values[None].astype("float32"))
    return path


def _grid_tables(
    tmp: Path,
    *,
    buses: Callable[[pd.DataFrame], pd.DataFrame] = lambda b: b,
    lines: Callable[[pd.DataFrame], pd.DataFrame] = lambda li: li,
) -> dict[str, Path]:
    """Copies of the OSM bus and line tables, edited."""
    b, li = tmp / "buses.csv", tmp / "lines.csv"
    buses(pd.read_csv(BUSES)).to_csv(b, index=False)
    lines(pd.read_csv(LINES)).to_csv(li, index=False)
    return {"osm_buses": b, "osm_lines": li}


# ---- the entries ------------------------------------------------------------------------------


def _missing_file(tmp: Path) -> Path:
    return _write_study(tmp, paths={"landmask": tmp / "absent.tif"})


def _unreadable_geotiff(tmp: Path) -> Path:
    (tmp / "landmask.tif").write_bytes(b"II*\x00 this is not really a TIFF")
    return _write_study(tmp, paths={"landmask": tmp / "landmask.tif"})


def _truncated_geotiff(tmp: Path) -> Path:
    # GDAL writes the header first, so the file still opens; reading its pixels fails.
    tif = _write_tif(tmp / "r.tif", np.ones((400, 400)), step=0.02)
    data = tif.read_bytes()
    tif.write_bytes(data[: len(data) // 2])
    with rasterio.open(tif) as src:
        assert src.shape == (400, 400)  # the header survived the cut
    return _with_raster_criterion(tmp, tif)


def _geojson_not_json(tmp: Path) -> Path:
    (tmp / "outline.geojson").write_text('{"type": "FeatureCollection", "features": [', "utf-8")
    return _write_study(tmp, paths={"country_outline": tmp / "outline.geojson"})


def _empty_layer(tmp: Path) -> Path:
    (tmp / "outline.geojson").write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    return _write_study(tmp, paths={"country_outline": tmp / "outline.geojson"})


def _empty_csv_layer(tmp: Path) -> Path:
    return _write_study(tmp, paths=_grid_tables(tmp, buses=lambda b: b.iloc[:0]))


def _csv_coordinates_not_numbers(tmp: Path) -> Path:
    def typo(b: pd.DataFrame) -> pd.DataFrame:
        b = b.astype({"lon": object})
        b.loc[5, "lon"] = "127,5"  # a decimal comma
        return b

    return _write_study(tmp, paths=_grid_tables(tmp, buses=typo))


def _unknown_crs_in_catalog(tmp: Path) -> Path:
    junk = '\n[layers.junk]\npath = "junk.gpkg"\nformat = "vector"\ncrs = "EPSG:999999"\n'
    return _write_study(tmp, extra_layers=junk)


def _layer_without_crs(tmp: Path) -> Path:
    # A Shapefile without its .prj, and no crs in the catalog entry.
    outline = gpd.read_file(OUTLINE)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame(geometry=list(outline.geometry), crs=None).to_file(tmp / "outline.shp")
    assert not (tmp / "outline.prj").exists()
    return _write_study(tmp, paths={"country_outline": tmp / "outline.shp"}, outline_crs=False)


def _geographic_crs(tmp: Path) -> Path:
    return _write_study(tmp, edit=lambda s: s.replace("resolution_m = 4000", 'crs = "EPSG:4326"'))


def _raster_not_overlapping(tmp: Path) -> Path:
    # A land mask of the Gulf of Guinea (0-2 degrees E, 8-10 degrees N).
    far = _write_tif(tmp / "landmask.tif", np.ones((40, 40)), west=0.0, north=10.0)
    return _write_study(tmp, paths={"landmask": far})


def _vector_not_overlapping(tmp: Path) -> Path:
    paths = _grid_tables(tmp, buses=lambda b: b.assign(lon=b["lon"] - 120.0))  # West Africa
    return _write_study(tmp, paths={"osm_buses": paths["osm_buses"]})


def _all_nodata_raster(tmp: Path) -> Path:
    empty = _write_tif(tmp / "landmask.tif", np.full((100, 120), -9999.0), nodata=-9999.0)
    return _write_study(tmp, paths={"landmask": empty})


def _inf_in_raster(tmp: Path) -> Path:
    values = np.ones((100, 120))
    values[10:40, 10:60] = np.nan
    values[50:70, 40:80] = np.inf
    return _with_raster_criterion(tmp, _write_tif(tmp / "r.tif", values))


def _lines_touch_no_substation(tmp: Path) -> Path:
    def renamed(li: pd.DataFrame) -> pd.DataFrame:
        return li.assign(bus0="x" + li["bus0"].astype(str), bus1="y" + li["bus1"].astype(str))

    return _write_study(tmp, paths=_grid_tables(tmp, lines=renamed))


def _no_bus_at_needed_voltage(tmp: Path) -> Path:
    # Every bus and line at 154 kV: a 500 MW campus needs a 345 kV connection.
    paths = _grid_tables(
        tmp, buses=lambda b: b.assign(voltage=154000), lines=lambda li: li.assign(voltage=154000)
    )
    return _write_study(tmp, paths=paths)


def _duplicate_bus_ids(tmp: Path) -> Path:
    paths = _grid_tables(tmp, buses=lambda b: pd.concat([b, b.iloc[[3, 7]]]))
    return _write_study(tmp, paths=paths)


def _zero_or_negative_line_ratings(tmp: Path) -> Path:
    ratings = '\nrating_mva_per_circuit = { "154" = 0, "345" = -2173, "765" = 7290 }\n'
    return _write_study(
        tmp, edit=lambda s: s.replace('lines = "osm_lines"', 'lines = "osm_lines"' + ratings)
    )


def _negative_weight(tmp: Path) -> Path:
    return _write_study(tmp, edit=lambda s: s.replace("weight = 1", "weight = -1"))


def _zero_weights(tmp: Path) -> Path:
    return _write_study(tmp, edit=lambda s: s.replace("weight = 1", "weight = 0"))


def _negative_group_weight(tmp: Path) -> Path:
    return _write_study(
        tmp,
        edit=lambda s: (
            s.replace("weight = 1", 'weight = 1\ngroup = "grid"')
            + "\n[weights]\ngroup_weights = { grid = -0.5 }\n"
        ),
    )


AHP_STUDY = """[[criteria]]
name = "line_distance"
layer = "osm_lines"
measure = "distance"
transform = { kind = "linear", low = 30, high = 0 }

[[constraints]]"""


def _ahp_study(tmp: Path, matrix: str) -> Path:
    (tmp / "weights.csv").write_text(matrix, encoding="utf-8")
    return _write_study(
        tmp,
        edit=lambda s: (
            s.replace("weight = 1\n", "").replace("[[constraints]]", AHP_STUDY, 1)
            + '\n[weights]\nmethod = "ahp"\nahp_matrix = "weights.csv"\n'
        ),
    )


def _ahp_not_reciprocal(tmp: Path) -> Path:
    # (a, b) = 3 asks for (b, a) = 1/3; 3 was written.
    matrix = "c,substation_distance,line_distance\nsubstation_distance,1,3\nline_distance,3,1\n"
    return _ahp_study(tmp, matrix)


def _ahp_not_square(tmp: Path) -> Path:
    matrix = "c,substation_distance,line_distance\nsubstation_distance,1,3\nline_distance,1/3,1,5\n"
    return _ahp_study(tmp, matrix)


def _constraints_exclude_everything(tmp: Path) -> Path:
    inside = (
        '\n[[constraints]]\nname = "inside_korea"\nlayer = "country_outline"\nkind = "inside"\n'
    )
    return _write_study(tmp, edit=lambda s: s.replace("[sites]", inside + "\n[sites]"))


def _campus_larger_than_any_region(tmp: Path) -> Path:
    # 200,000 km2: twice South Korea.
    campus = "[campus]\ncampus_area_ha = 20000000\n\n[sites]"
    return _write_study(tmp, edit=lambda s: s.replace("[sites]", campus))


def _unknown_key(tmp: Path) -> Path:
    return _write_study(tmp, edit=lambda s: s.replace("count = 3", "cuont = 3"))


def _wrong_type(tmp: Path) -> Path:
    return _write_study(
        tmp, edit=lambda s: s.replace("resolution_m = 4000", 'resolution_m = "4 km"')
    )


def _missing_data_root(tmp: Path) -> Path:
    return _write_study(tmp, data_root=tmp / "no-such-data")


def _missing_study_file(tmp: Path) -> Path:
    return tmp / "no-such-study.toml"


@dataclass(frozen=True)
class Case:
    """One catalogue entry."""

    id: str
    build: Callable[[Path], Path]
    error: type[GridsiteError]
    #: What the message must name (the file, layer or field); ``{tmp}`` is the test's folder.
    names: tuple[str, ...]
    #: What the message must tell the user to do (a regular expression).
    todo: str
    marks: tuple[pytest.MarkDecorator, ...] = ()


CATALOGUE = [
    Case("missing_file", _missing_file, LayerError, ("'landmask'", "{tmp}/absent.tif"),
         "check the layer's path in the catalog"),
    Case("missing_study_file", _missing_study_file, ConfigError, ("{tmp}/no-such-study.toml",),
         "give the path of a TOML file"),
    Case("unreadable_geotiff", _unreadable_geotiff, LayerError,
         ("'landmask'", "{tmp}/landmask.tif"), "download or export it again"),
    Case("truncated_geotiff", _truncated_geotiff, LayerError, ("'r'", "{tmp}/r.tif"),
         "damaged, truncated.*download or export it again"),
    Case("geojson_not_json", _geojson_not_json, LayerError,
         ("'country_outline'", "{tmp}/outline.geojson"), "export the file again"),
    Case("empty_layer", _empty_layer, LayerError, ("'country_outline'", "{tmp}/outline.geojson"),
         "has no features; check that the catalog points at the right file"),
    Case("empty_csv_layer", _empty_csv_layer, LayerError, ("'osm_buses'", "{tmp}/buses.csv"),
         "has a header but no rows; check the file"),
    Case("csv_coordinates_not_numbers", _csv_coordinates_not_numbers, LayerError,
         ("'osm_buses'", "{tmp}/buses.csv", "column 'lon'", "'127,5' on line 7"),
         "fix them or blank them"),
    Case("unknown_crs_in_catalog", _unknown_crs_in_catalog, ConfigError,
         ("{tmp}/catalog.toml", "layers.junk.crs", "'EPSG:999999'"), "give an authority code"),
    Case("layer_without_crs", _layer_without_crs, CRSError,
         ("'country_outline'", "{tmp}/outline.shp"), "set crs in the layer's catalog entry"),
    Case("geographic_crs", _geographic_crs, ConfigError, ("study.crs", "{tmp}/study.toml"),
         "use a projected CRS in metres"),
    Case("layer_not_overlapping_raster", _raster_not_overlapping, LayerError,
         ("'landmask'", "{tmp}/landmask.tif"), "does not overlap the study area.*Check its CRS"),
    Case("layer_not_overlapping_vector", _vector_not_overlapping, LayerError,
         ("'substation_distance'", "'osm_buses'"), "check the filter, the layer's CRS and extent"),
    Case("all_nodata_raster", _all_nodata_raster, LayerError, ("'landmask'", "{tmp}/landmask.tif"),
         "no data over the study area.*Check the file"),
    Case("nan_inf_in_raster", _inf_in_raster, LayerError, ("'r'", "{tmp}/r.tif"),
         "infinite.*set them to the raster's nodata value"),
    Case("lines_touch_no_substation", _lines_touch_no_substation, PowerGridError,
         ("lines table", "bus0", "buses table"), "give buses and lines from the same"),
    Case("no_bus_at_needed_voltage", _no_bus_at_needed_voltage, PowerGridError,
         ("345 kV", "min_connection_kv"), "lower min_connection_kv or check the buses table"),
    Case("duplicate_bus_ids", _duplicate_bus_ids, PowerGridError, ("buses", "bus_id", "['3', '7']"),
         "must be unique"),
    Case("zero_or_negative_line_ratings", _zero_or_negative_line_ratings, ConfigError,
         ("{tmp}/study.toml", "powergrid.rating_mva_per_circuit.154",
          "powergrid.rating_mva_per_circuit.345"), "give the thermal rating of one circuit"),
    Case("negative_weight", _negative_weight, ConfigError,
         ("{tmp}/study.toml", "criteria[0].weight"), "greater than or equal to 0, got -1"),
    Case("zero_weights", _zero_weights, ConfigError, ("{tmp}/study.toml", "criteria"),
         "give one a positive weight"),
    Case("negative_group_weight", _negative_group_weight, ConfigError,
         ("{tmp}/study.toml", "weights.group_weights.grid"), "must be a finite number >= 0"),
    Case("ahp_matrix_not_reciprocal", _ahp_not_reciprocal, ConfigError,
         ("weights.ahp_matrix", "(substation_distance, line_distance) = 3"),
         "write 1/3 rather than 0.3"),
    Case("ahp_matrix_not_square", _ahp_not_square, LayerError,
         ("pairwise matrix", "{tmp}/weights.csv", "row 3 ('line_distance')"),
         "every row needs 2 values"),
    Case("constraints_exclude_everything", _constraints_exclude_everything,
         NoCandidateSitesError, ("inside_korea", "sea", "[[constraints]]"),
         "Remove or relax a constraint"),
    Case("campus_larger_than_any_region", _campus_larger_than_any_region,
         NoCandidateSitesError, ("campus.campus_area_ha",), "Lower campus.campus_area_ha"),
    Case("unknown_key", _unknown_key, ConfigError, ("{tmp}/study.toml", "sites.cuont"),
         "check its spelling against docs/study-file.md"),
    Case("wrong_type", _wrong_type, ConfigError, ("{tmp}/study.toml", "study.resolution_m"),
         "should be a valid number.*got '4 km'"),
    Case("missing_data_root", _missing_data_root, DataRootError, ("{tmp}/no-such-data",),
         "point it at the data pack"),
]  # fmt: skip

BY_ID = {c.id: c for c in CATALOGUE}

#: Entries also run through ``gridsite run``: one per kind of input and error class.
CLI_IDS = [
    "missing_file",
    "truncated_geotiff",
    "layer_without_crs",
    "all_nodata_raster",
    "duplicate_bus_ids",
    "ahp_matrix_not_reciprocal",
    "unknown_key",
    "missing_data_root",
]


#: Entries whose message docs/errors.md quotes word for word (with the test folder as ``bad``);
#: the others hold GDAL's wording or this machine's paths.
DOCUMENTED_IDS = {
    "empty_layer", "empty_csv_layer", "csv_coordinates_not_numbers", "unknown_crs_in_catalog",
    "layer_without_crs", "geographic_crs", "layer_not_overlapping_raster",
    "layer_not_overlapping_vector", "all_nodata_raster", "nan_inf_in_raster",
    "lines_touch_no_substation", "no_bus_at_needed_voltage", "duplicate_bus_ids",
    "zero_or_negative_line_ratings", "negative_weight", "ahp_matrix_not_reciprocal",
    "ahp_matrix_not_square", "unknown_key", "wrong_type", "missing_data_root",
}  # fmt: skip

ERRORS_MD = REPO / "docs" / "errors.md"


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # GRIDSITE_DATA would override the study file's data_root (and hide a missing one).
    monkeypatch.delenv("GRIDSITE_DATA", raising=False)


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    # The CLI reconfigures the root logger onto the runner's stream; put it back afterwards.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _params(cases: list[Case]) -> list[object]:
    return [pytest.param(c, id=c.id, marks=c.marks) for c in cases]


def _check_message(message: str, case: Case, tmp: Path) -> None:
    for name in case.names:
        assert name.format(tmp=tmp.as_posix()) in message, f"{name!r} not named in: {message}"
    assert re.search(case.todo, message, flags=re.DOTALL), f"no {case.todo!r} in: {message}"


def test_every_entry_of_the_issue_is_catalogued() -> None:
    issue = {
        "missing_file", "unreadable_geotiff", "truncated_geotiff", "geojson_not_json",
        "empty_layer", "layer_without_crs", "geographic_crs", "layer_not_overlapping_raster",
        "layer_not_overlapping_vector", "all_nodata_raster", "nan_inf_in_raster",
        "lines_touch_no_substation", "no_bus_at_needed_voltage", "duplicate_bus_ids",
        "zero_or_negative_line_ratings", "negative_weight", "zero_weights",
        "ahp_matrix_not_reciprocal", "ahp_matrix_not_square", "constraints_exclude_everything",
        "campus_larger_than_any_region", "unknown_key", "wrong_type", "missing_data_root",
    }  # fmt: skip
    assert issue <= set(BY_ID)
    assert len(BY_ID) == len(CATALOGUE)
    assert set(CLI_IDS) <= set(BY_ID)
    assert not DOCUMENTED_IDS - set(BY_ID)


@pytest.mark.parametrize("case", _params(CATALOGUE))
def test_library_call_raises_a_clear_error(case: Case, tmp_path: Path) -> None:
    study = case.build(tmp_path)
    with pytest.raises(case.error) as info:
        gridsite.Study.from_toml(study).run()
    assert isinstance(info.value, GridsiteError)
    _check_message(str(info.value), case, tmp_path)
    if case.id in DOCUMENTED_IDS:
        quoted = str(info.value).replace(tmp_path.as_posix(), "bad")
        assert quoted in ERRORS_MD.read_text(encoding="utf-8"), "docs/errors.md is out of date"


@pytest.mark.usefixtures("_restore_logging")
@pytest.mark.parametrize("case", _params([BY_ID[i] for i in CLI_IDS]))
def test_cli_exits_1_with_the_message_and_no_traceback(case: Case, tmp_path: Path) -> None:
    study = case.build(tmp_path)
    args = ["run", str(study), "--out", str(tmp_path / "out"), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    _check_message(result.stderr, case, tmp_path)
    assert not (tmp_path / "out").exists()  # nothing half-written

    # -vv lets the exception (and its traceback) through
    result = CliRunner().invoke(main, [*args, "-vv"])
    assert result.exit_code == 1
    assert isinstance(result.exception, case.error)


def _gridsite_command() -> list[str]:
    script = Path(sys.executable).with_name("gridsite")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gridsite.cli"]


def test_real_gridsite_process_prints_one_error_line(tmp_path: Path) -> None:
    study = _truncated_geotiff(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "GRIDSITE_DATA"}
    cmd = [*_gridsite_command(), "run", str(study), "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    errors_printed = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors_printed) == 1
    assert f"layer 'r': cannot read {tmp_path / 'r.tif'} as a raster" in errors_printed[0]

    proc = subprocess.run([*cmd, "-vv"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "gridsite.errors.LayerError" in proc.stderr


def test_ahp_command_names_the_file_of_a_bad_matrix(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("c,a,b\na,1,3\nb,3,1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["ahp", str(tmp_path / "m.csv")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'm.csv'}: must be reciprocal" in result.stderr
    assert "Traceback" not in result.output


# ---- what is repaired or tolerated, rather than refused -----------------------------------------

#: A bow-tie in central Korea: one ring crossing itself at (127.9, 36.55), lon/lat.
BOWTIE = shapely.Polygon([(127.0, 35.8), (128.8, 37.3), (128.8, 35.8), (127.0, 37.3)])


def test_self_intersecting_polygon_is_repaired_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert not BOWTIE.is_valid
    gpd.GeoDataFrame(geometry=[BOWTIE], crs=4326).to_file(tmp_path / "urban.geojson")
    path = (tmp_path / "urban.geojson").as_posix()
    urban = f'\n[layers.urban]\npath = "{path}"\nformat = "vector"\n'
    exclude = '\n[[constraints]]\nname = "urban"\nlayer = "urban"\nkind = "inside"\n'
    study = _write_study(
        tmp_path, extra_layers=urban, edit=lambda s: s.replace("[sites]", exclude + "\n[sites]")
    )
    with caplog.at_level(logging.WARNING, logger="gridsite.layers.read"):
        result = gridsite.Study.from_toml(study).run()
    warned = [r for r in caplog.records if r.name == "gridsite.layers.read"]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    message = warned[0].getMessage()
    assert f"layer urban ({tmp_path / 'urban.geojson'}): repaired 1 invalid polygon(s)" in message
    # The repair keeps both triangles of the bow-tie, which meet at the crossing; the area the
    # constraint excludes is theirs inside the study area, computed here with shapely alone.
    to_m = Transformer.from_crs(4326, 5179, always_xy=True)
    corners = [[(127.0, 35.8), (127.9, 36.55), (127.0, 37.3)],
               [(128.8, 35.8), (127.9, 36.55), (128.8, 37.3)]]  # fmt: skip
    triangles = shapely.union_all(
        [shapely.Polygon([to_m.transform(*p) for p in tri]) for tri in corners]
    )
    outline = gpd.read_file(OUTLINE).to_crs(5179).union_all()
    expected_km2 = shapely.intersection(triangles, outline).area / 1e6
    assert expected_km2 > 10_000
    # cells whose centre is inside, at 4000 m (16 km2 a cell): the edges put a little either way
    assert result.stats["excluded_km2"]["urban"] == pytest.approx(expected_km2, rel=0.03)


def test_nan_in_a_raster_is_nodata(tmp_path: Path) -> None:
    # A raster criterion that is 1 everywhere but NaN over 35-36 N: there the criterion has no
    # data, so (nodata = "exclude", the default) the cells are nodata, never a site; elsewhere
    # they are open.
    values = np.ones((100, 150))  # 124-131.5 E (Ulleungdo is at 130.9 E), 34-39 N
    values[60:80, :] = np.nan  # 39 - 0.05 * 60 = 36 N down to 35 N
    study = _with_raster_criterion(tmp_path, _write_tif(tmp_path / "r.tif", values))
    result = gridsite.Study.from_toml(study).run()
    suit, grid = result.suitability.array, result.suitability.grid
    xs, ys = grid.cell_centres()
    _, lat = Transformer.from_crs(5179, 4326, always_xy=True).transform(*np.meshgrid(xs, ys))
    # cells of the study area no constraint excludes; a pixel clear of the band's edges
    free = ~np.asarray(result.excluded)
    deep = free & (lat > 35.1) & (lat < 35.9)
    clear = free & (((lat > 36.1) & (lat < 38.9)) | ((lat > 34.1) & (lat < 34.9)))
    assert deep.sum() > 100 and clear.sum() > 100
    assert np.isnan(suit[deep]).all()
    # 0.5 x the distance score + 0.5 x 1: every cell with data is open
    assert (suit[clear] >= 0.5 - 1e-6).all()
    centres = result.sites.geometry.centroid.to_crs(4326)
    assert ((centres.y < 35.0) | (centres.y > 36.0)).all()


def test_south_up_raster_is_read_like_its_north_up_copy(tmp_path: Path) -> None:
    # Rows stored south to north (a positive y step, as some NetCDF exports write them).
    rng = np.random.default_rng(3)
    values = rng.random((50, 60)).astype("float32")
    north_up = _write_tif(tmp_path / "n.tif", values, west=126.0, north=38.0, step=0.05)
    south_up = tmp_path / "s.tif"
    with rasterio.open(
        south_up,
        "w",
        driver="GTiff",
        width=60,
        height=50,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(0.05, 0.0, 126.0, 0.0, 0.05, 38.0 - 50 * 0.05),
    ) as dst:
        dst.write(values[::-1][None])
    grid = RasterGrid.from_bounds(
        (950_000, 1_750_000, 1_050_000, 1_850_000), resolution_m=5000, crs="EPSG:5179"
    )
    got = {}
    for path in (north_up, south_up):
        spec = LayerSpec(name=path.stem, path=path, format="raster")
        check_raster_overlap(spec, tmp_path, grid)
        got[path.stem] = read_raster_window(spec, tmp_path, grid)
    assert np.isfinite(got["n"]).all()
    np.testing.assert_array_equal(got["s"], got["n"])


def test_osm_ways_that_reach_no_substation_are_refused(tmp_path: Path) -> None:
    ways = gpd.GeoDataFrame(
        {"voltage": ["345000", "345000"], "circuits": [6, 6]},
        geometry=[shapely.LineString([(127.0, 36.0), (127.2, 36.0)]),
                  shapely.LineString([(127.2, 36.0), (127.2, 36.3)])],
        crs=4326,
    )  # fmt: skip
    far = gpd.GeoDataFrame({"voltage": ["345000"]}, geometry=[shapely.Point(129.0, 35.0)], crs=4326)
    with pytest.raises(PowerGridError, match=r"not one of the 2 line ways.*raise snap_tolerance_m"):
        graph_from_osm_lines(ways, far, crs="EPSG:5179")
    # one end at a substation: built, the other end reported as dangling
    near = gpd.GeoDataFrame(
        {"voltage": ["345000"]}, geometry=[shapely.Point(127.0, 36.0)], crs=4326
    )
    G, qa = graph_from_osm_lines(ways, near, crs="EPSG:5179")
    assert qa["issue"].tolist().count("dangling_end") == 1
    assert sum(1 for _, s in G.nodes(data="symbol") if s == "substation") == 1


def test_negative_and_zero_weights_in_the_library() -> None:
    with pytest.raises(ConfigError, match=r"criteria\.b\.weight must be a finite number >= 0"):
        criterion_weights({"a": 1.0, "b": -0.5})
    with pytest.raises(ConfigError, match="all criterion weights are zero"):
        criterion_weights({"a": 0.0, "b": 0.0})
    groups = {"a": "g", "b": "h"}
    with pytest.raises(ConfigError, match=r"weights\.group_weights\.h must be a finite number"):
        criterion_weights({"a": 1.0, "b": 1.0}, groups=groups, group_weights={"g": 1, "h": -1})
    with pytest.raises(ConfigError, match=r"weights\.group_weights are all zero"):
        criterion_weights({"a": 1.0, "b": 1.0}, groups=groups, group_weights={"g": 0, "h": 0})


# ---- study-level checks (gridsite.study.checks), on hand-built surfaces ------------------------


def _check_room(
    suit: np.ndarray | DiskRaster,
    area: np.ndarray,
    excluded: np.ndarray,
    excluded_km2: dict[str, float],
    campus_area_ha: float = 100.0,
) -> None:
    grid = RasterGrid.from_bounds((0, 0, 3000, 2000), resolution_m=1000, crs="EPSG:5179")
    check_room_for_sites(
        suit,
        in_area=area,
        excluded=excluded,
        excluded_km2=excluded_km2,
        grid=grid,
        campus_area_ha=campus_area_ha,
    )


#: A 2 x 3 grid of 1 km2 cells; the study area is the left 2 x 2 block.
AREA = np.array([[True, True, False], [True, True, False]])


def test_room_check_names_the_constraints_that_exclude_everything() -> None:
    suit = np.where(AREA, 0.0, np.nan).astype(np.float32)
    with pytest.raises(NoCandidateSitesError) as info:
        _check_room(suit, AREA, AREA, {"sea": 1.0, "urban": 3.0})
    msg = str(info.value)
    assert "exclude the whole study area (4 km2): urban 3 km2, sea 1 km2" in msg  # largest first
    assert "Remove or relax a constraint in [[constraints]]" in msg
    # cells outside the area count for nothing, excluded or not
    with pytest.raises(NoCandidateSitesError, match="exclude the whole study area"):
        _check_room(suit, AREA, AREA | ~AREA, {"sea": 4.0})


def test_room_check_blames_the_criteria_when_the_constraints_leave_room() -> None:
    suit = np.where(AREA, np.nan, np.nan).astype(np.float32)  # no criterion data anywhere
    excluded = AREA & ~np.array([[True, False, False], [False, False, False]])
    with pytest.raises(NoCandidateSitesError, match=r"leave 1 km2 .* open, but no cell there"):
        _check_room(suit, AREA, excluded, {"sea": 3.0})


def test_room_check_refuses_a_campus_larger_than_all_open_land() -> None:
    suit = np.array([[0.5, 0.0, np.nan], [0.2, 0.9, np.nan]], dtype=np.float32)  # 3 open km2
    _check_room(suit, AREA, np.zeros_like(AREA), {}, campus_area_ha=300)
    with pytest.raises(NoCandidateSitesError) as info:
        _check_room(suit, AREA, np.zeros_like(AREA), {}, campus_area_ha=301)
    assert str(info.value).startswith(
        "campus.campus_area_ha = 301 ha is larger than all the open land together (300 ha in "
        "3 cells of 1000 m). Lower campus.campus_area_ha"
    )


def test_room_check_reads_windowed_rasters_by_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    # The chunked path's suitability lives on disk and is read a strip of rows at a time; the
    # counts must be those of the whole arrays, counted here in one go.
    monkeypatch.setattr("gridsite.study.checks._STRIP_CELLS", 7 * 40)  # 7 rows a strip
    rng = np.random.default_rng(7)
    suit = rng.choice([0.0, 0.5, np.nan], size=(300, 40)).astype(np.float32)
    area = rng.random((300, 40)) < 0.8
    excluded = rng.random((300, 40)) < 0.3
    on_disk = DiskRaster(suit.shape, np.float32, fill=np.nan)
    on_disk.write(0, 0, suit)
    expected = (
        int(area.sum()),
        int((area & ~excluded).sum()),
        int((area & (np.nan_to_num(suit) > 0)).sum()),
    )
    assert tuple(count_open_cells(suit, in_area=area, excluded=excluded)) == expected
    assert tuple(count_open_cells(on_disk, in_area=area, excluded=excluded)) == expected


# ---- docs/errors.md ---------------------------------------------------------------------------


def _error_classes() -> list[type[GridsiteError]]:
    found = [getattr(errors, name) for name in errors.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, GridsiteError)]


def test_docs_errors_md_lists_every_error_class() -> None:
    text = ERRORS_MD.read_text(encoding="utf-8")
    headings = set(re.findall(r"^## `(\w+)`", text, flags=re.MULTILINE))
    classes = {c.__name__ for c in _error_classes()}
    assert len(classes) >= 9  # the hierarchy as of issue 7; a new class must be added there
    missing = sorted(classes - headings)
    assert not missing, f"docs/errors.md has no section for {missing}"
    unknown = sorted(headings - classes)
    assert not unknown, f"docs/errors.md documents classes that do not exist: {unknown}"


def test_each_error_section_has_raiser_example_and_fix() -> None:
    # Each documented class's section names what raises it and shows a message.
    text = ERRORS_MD.read_text(encoding="utf-8")
    sections = re.split(r"^## `", text, flags=re.MULTILINE)[1:]
    assert len(sections) == len(_error_classes())
    for section in sections:
        section = section.split("\n## ")[0]  # up to the next section of any kind
        name = section.split("`")[0]
        assert "Raised by" in section, name
        assert "Example" in section and "```" in section, name
        assert "Fix" in section, name


def test_subclasses_keep_their_builtin_bases() -> None:
    # Callers may catch the builtin: docs/errors.md lists these bases.
    assert issubclass(ConfigError, ValueError) and issubclass(LayerError, ValueError)
    assert issubclass(CRSError, LayerError) and issubclass(DataRootError, FileNotFoundError)
    assert issubclass(NoCandidateSitesError, RuntimeError)
    text = ERRORS_MD.read_text(encoding="utf-8")
    for cls in _error_classes():
        bases = ", ".join(b.__name__ for b in cls.__bases__)
        assert f"`{cls.__name__}({bases})`" in text, cls.__name__
