"""docs/data.md's "Bringing your own region", followed to the letter on a region that is not Korea.

The worked example is the Latrobe Valley (Victoria, Australia) in GDA2020 / MGA zone 55
(EPSG:7855). This module builds its made-up data in real formats in a temporary folder (a GeoJSON
outline, PyPSA-Earth bus/line/transformer CSVs, a GeoNames-layout towns CSV, a GeoTIFF in a third
CRS, EPSG:32755), takes the layer catalog, the study file and the commands **out of the fenced
blocks of docs/data.md** unchanged, and runs them through the installed ``gridsite`` command as
a real subprocess. A stale doc therefore fails here.

The outputs are checked against values worked out independently: distances with pyproj in the
study CRS, the nearest eligible bus and town by brute force, reV's station rule by hand from the
tables below, file hashes with hashlib.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from pyproj import Geod, Transformer
from rasterio.transform import from_origin
from shapely.geometry import Point, Polygon, box, shape

from .conftest import REPO

pytestmark = pytest.mark.integration

DOC = REPO / "docs" / "data.md"
GRIDSITE = Path(sys.executable).with_name("gridsite")
STUDY_CRS = "EPSG:7855"  # what the doc's study file says; checked below
CELL_KM = 0.5

# ---- the example's data (made up; positions near the real stations and towns) ---------------

#: The study area (WGS84 lon, lat): a simplified outline around the Latrobe Valley.
OUTLINE = [
    (145.95, -38.10),
    (146.20, -37.94),
    (146.86, -37.94),
    (146.86, -38.40),
    (146.50, -38.48),
    (145.95, -38.40),
    (145.95, -38.10),
]

#: bus_id, station_id, voltage (V), lon, lat; comments name the station it stands near.
BUSES = [
    (0, 0, 500000, 146.393, -38.272),  # Hazelwood 500 kV
    (1, 0, 220000, 146.394, -38.271),  # Hazelwood 220 kV
    (2, 1, 500000, 146.588, -38.258),  # Loy Yang
    (3, 2, 220000, 146.345, -38.180),  # Yallourn
    (4, 3, 220000, 146.445, -38.345),  # Jeeralang
    (5, 4, 66000, 146.265, -38.175),  # Moe, 66 kV: below min_connection_kv
    (6, 2, 66000, 146.346, -38.179),  # Yallourn 66 kV
    (7, 5, 500000, 145.280, -38.100),  # Cranbourne, outside the study grid
    (8, 5, 220000, 145.281, -38.099),  # Cranbourne 220 kV
    (9, 6, 220000, 147.060, -37.900),  # east of the area
    (10, 7, 220000, 146.700, -38.020),  # north-east, inside the area
]

#: line_id, bus0, bus1, voltage (V), OSM cables (6 = double circuit).
LINES = [
    ("L0", 0, 2, 500000, 6),
    ("L1", 0, 7, 500000, 6),
    ("L2", 1, 3, 220000, 6),
    ("L3", 1, 4, 220000, 3),
    ("L4", 3, 8, 220000, 3),
    ("L5", 6, 5, 66000, 3),
    ("L6", 1, 10, 220000, 3),
    ("L7", 10, 9, 220000, 3),
]

#: line_id, bus0, bus1 of the transformers (each inside one station).
TRANSFORMERS = [("T0", 0, 1), ("T1", 7, 8), ("T2", 3, 6)]

#: The study file's per-circuit ratings (MVA) by voltage class (kV), for the hand-worked reV rule.
RATING_MVA = {66: 229.0, 220: 762.0, 500: 1732.0}

#: geonameid (made up), name, latitude, longitude, population (rounded, illustrative).
TOWNS = [
    (9000001, "Traralgon", -38.1953, 146.5409, 26000),
    (9000002, "Morwell", -38.2354, 146.3950, 14000),
    (9000003, "Moe", -38.1727, 146.2603, 15000),
    (9000004, "Churchill", -38.3099, 146.4135, 5000),
    (9000005, "Warragul", -38.1594, 145.9312, 15000),
    (9000006, "Yallourn North", -38.1600, 146.3600, 1400),
    (9000007, "Rosedale", -38.1540, 146.7870, 1100),
    (9000008, "Heyfield", -37.9800, 146.7850, 1800),
    (9000009, "Mirboo North", -38.4000, 146.1600, 1600),
    (9000010, "Boolarra", -38.3800, 146.2700, 700),
]

#: The protected block of the raster, EPSG:32755 metres (xmin, ymin, xmax, ymax).
PROTECTED_32755 = (425000.0, 5740000.0, 445000.0, 5758000.0)
RASTER_ORIGIN_32755 = (400000.0, 5800000.0)  # top-left corner
RASTER_SHAPE = (650, 800)  # rows, cols of 100 m


# ---- reading the doc -----------------------------------------------------------------------


def _fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^ *```{lang}\n(.*?)^ *```", text, flags=re.S | re.M)


def _doc_toml(first_line: str) -> str:
    """The doc's TOML block whose first line starts with ``first_line``."""
    blocks = _fenced(DOC.read_text(encoding="utf-8"), "toml")
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"docs/data.md needs one ```toml block starting {first_line!r}"
    return found[0]


def _doc_commands() -> list[list[str]]:
    blocks = _fenced(DOC.read_text(encoding="utf-8"), "sh")
    commands = [
        shlex.split(line)
        for block in blocks
        for line in block.splitlines()
        if line.startswith("gridsite ") and "gippsland" in line
    ]
    assert [c[:2] for c in commands] == [["gridsite", "validate"], ["gridsite", "run"]], commands
    return commands


def _doc_csv_blocks() -> list[list[str]]:
    return [
        [line.strip() for line in b.splitlines() if line.strip()]
        for b in _fenced(DOC.read_text(encoding="utf-8"), "csv")
    ]


# ---- building the data in tmp_path ---------------------------------------------------------


def _geod_length_m(coords: list[tuple[float, float]]) -> float:
    lons, lats = zip(*coords, strict=True)
    return float(Geod(ellps="WGS84").line_length(lons, lats))


def _bus_lonlat(bus_id: int) -> tuple[float, float]:
    row = next(b for b in BUSES if b[0] == bus_id)
    return row[3], row[4]


def _linestring(a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"LINESTRING ({a[0]:g} {a[1]:g}, {b[0]:g} {b[1]:g})"


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def build_region(data: Path) -> dict[str, Path]:
    """Write the example's files under ``data`` (the data root); return them by layer name."""
    root = data / "gippsland"
    files = {
        "outline": root / "boundaries" / "outline.geojson",
        "buses": root / "grid" / "buses.csv",
        "lines": root / "grid" / "lines.csv",
        "transformers": root / "grid" / "transformers.csv",
        "cities": root / "places" / "cities.csv",
        "protected_areas": root / "landcover" / "protected_areas.tif",
    }
    files["outline"].parent.mkdir(parents=True)
    outline = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Latrobe Valley (example)"},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in OUTLINE]]},
            }
        ],
    }
    files["outline"].write_text(json.dumps(outline), encoding="utf-8")

    _write_csv(
        files["buses"],
        ["bus_id", "station_id", "voltage", "dc", "lon", "lat"],
        [[b, s, v, "False", f"{lon:g}", f"{lat:g}"] for b, s, v, lon, lat in BUSES],
    )
    line_rows: list[list[object]] = []
    for line_id, b0, b1, volts, cables in LINES:
        ends = [_bus_lonlat(b0), _bus_lonlat(b1)]
        length = round(_geod_length_m(ends), 1)
        line_rows.append(
            [line_id, b0, b1, volts, cables, f"{length:.1f}", "False", _linestring(*ends)]
        )
    _write_csv(
        files["lines"],
        ["line_id", "bus0", "bus1", "voltage", "circuits", "length", "underground", "geometry"],
        line_rows,
    )
    bus_volts = {b[0]: b[2] for b in BUSES}
    _write_csv(
        files["transformers"],
        ["line_id", "bus0", "bus1", "voltage_bus0", "voltage_bus1", "geometry"],
        [
            [t, b0, b1, bus_volts[b0], bus_volts[b1], _linestring(_bus_lonlat(b0), _bus_lonlat(b1))]
            for t, b0, b1 in TRANSFORMERS
        ],
    )
    _write_csv(
        files["cities"],
        ["geonameid", "name", "latitude", "longitude", "countrycode", "population", "timezone"],
        [[g, n, lat, lon, "AU", pop, "Australia/Melbourne"] for g, n, lat, lon, pop in TOWNS],
    )

    files["protected_areas"].parent.mkdir(parents=True)
    arr = np.zeros(RASTER_SHAPE, dtype=np.uint8)
    x0, y0 = RASTER_ORIGIN_32755
    xmin, ymin, xmax, ymax = PROTECTED_32755
    arr[
        int((y0 - ymax) / 100) : int((y0 - ymin) / 100),
        int((xmin - x0) / 100) : int((xmax - x0) / 100),
    ] = 1
    with rasterio.open(
        files["protected_areas"],
        "w",
        driver="GTiff",
        width=RASTER_SHAPE[1],
        height=RASTER_SHAPE[0],
        count=1,
        dtype="uint8",
        crs="EPSG:32755",
        transform=from_origin(x0, y0, 100.0, 100.0),
    ) as dst:
        dst.write(arr, 1)
    return files


# ---- the test ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionRun:
    """The example built and run in ``top``: its input files, outputs and what validate said."""

    top: Path
    files: dict[str, Path]
    out: Path
    validate_stdout: str
    sites: list[dict[str, Any]]  # the features' properties, plus "geometry" (GeoJSON)
    geojson: dict[str, Any]
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def region_run(tmp_path_factory: pytest.TempPathFactory) -> RegionRun:
    """The doc's example, built and run in a fresh folder with the doc's own commands."""
    top = tmp_path_factory.mktemp("gippsland")
    files = build_region(top / "data")
    for rel, first in (
        ("layers/gippsland.toml", "# layers/gippsland.toml"),
        ("studies/gippsland.toml", "# studies/gippsland.toml"),
    ):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(_doc_toml(first), encoding="utf-8")
    assert GRIDSITE.exists(), f"the gridsite command is not installed beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if k != "GRIDSITE_DATA"}
    stdout = []
    for command in _doc_commands():
        proc = subprocess.run(
            [str(GRIDSITE), *command[1:]],
            cwd=top,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, f"{shlex.join(command)} failed:\n{proc.stderr}"
        stdout.append(proc.stdout)
    out = top / "maps" / "gippsland"
    gj = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))
    return RegionRun(
        top=top,
        files=files,
        out=out,
        validate_stdout=stdout[0],
        sites=[f["properties"] | {"geometry": f["geometry"]} for f in gj["features"]],
        geojson=gj,
        manifest=json.loads((out / "manifest.json").read_text(encoding="utf-8")),
    )


def test_doc_csv_samples_are_the_files_first_lines(region_run: RegionRun) -> None:
    files = region_run.files
    samples = _doc_csv_blocks()
    expected = [files["buses"], files["lines"], files["transformers"]]
    assert len(samples) == len(expected), "docs/data.md shows one CSV sample per grid table"
    for sample, path in zip(samples, expected, strict=True):
        head = path.read_text(encoding="utf-8").splitlines()[: len(sample)]
        assert sample == head, f"docs/data.md's sample of {path.name} is stale"


def test_validate_passes(region_run: RegionRun) -> None:
    assert "gippsland.toml: OK" in region_run.validate_stdout


def test_study_crs_is_the_documented_one() -> None:
    assert f'crs = "{STUDY_CRS}"' in _doc_toml("# studies/gippsland.toml")


def test_sites_are_ranked_wgs84_inside_the_outline(region_run: RegionRun) -> None:
    # RFC 7946 has no "crs" member: WGS84 lon/lat is implied (a CRS84 name is tolerated)
    crs84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    assert region_run.geojson.get("crs") in (None, crs84)
    sites = region_run.sites
    assert [s["rank"] for s in sites] == [1, 2, 3, 4, 5]  # [sites] count = 5
    scores = [float(s["score"]) for s in sites]
    assert scores == sorted(scores, reverse=True) and all(0 <= x <= 1 for x in scores)
    outline = shape({"type": "Polygon", "coordinates": [OUTLINE]})
    for s in sites:
        centre = Point(float(s["lon"]), float(s["lat"]))
        assert outline.contains(centre), s["site_id"]
        parcel = shape(s["geometry"])
        # RFC 7946 order is lon, lat: swapped axes would fall far outside these bounds
        minx, miny, maxx, maxy = parcel.bounds
        assert 145.9 < minx < maxx < 146.9 and -38.5 < miny < maxy < -37.9
        assert parcel.contains(centre)


def _to_study(lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", STUDY_CRS, always_xy=True).transform(lon, lat)


def test_substation_is_the_nearest_eligible_bus_at_the_stated_distance(
    region_run: RegionRun,
) -> None:
    """interconnect_km: the straight line in the study CRS, computed here with pyproj."""
    eligible = {b: _to_study(lon, lat) for b, _, v, lon, lat in BUSES if v >= 220000}
    kv = {b: v / 1000 for b, _, v, _, _ in BUSES}
    for s in region_run.sites:
        x, y = _to_study(float(s["lon"]), float(s["lat"]))
        dist_km = {b: math.hypot(x - bx, y - by) / 1000 for b, (bx, by) in eligible.items()}
        nearest = min(dist_km, key=dist_km.__getitem__)
        assert str(s["substation_id"]) == str(nearest), s["site_id"]
        assert float(s["substation_kv"]) == kv[nearest]
        assert float(s["interconnect_km"]) == pytest.approx(dist_km[nearest], abs=0.01)
        assert dist_km[nearest] < 30  # nothing the criterion scores 0 ranks in the top 5


def _rev_capacity_mw(bus: int) -> float:
    """reV's rule by hand: half the summed ratings of the lines at the bus's station."""
    station = {b: s for b, s, _, _, _ in BUSES}
    at_station = {b for b, s in station.items() if s == station[bus]}
    total = sum(
        max(1, cables // 3) * RATING_MVA[volts // 1000]
        for _, b0, b1, volts, cables in LINES
        if b0 in at_station or b1 in at_station
    )
    return total / 2


def test_capacity_is_revs_rule_worked_by_hand(region_run: RegionRun) -> None:
    assert _rev_capacity_mw(1) == 4988.0  # the number docs/data.md works out for Hazelwood
    assert "(6,928 + 3,048) / 2 = 4,988 MW" in " ".join(DOC.read_text(encoding="utf-8").split())
    for s in region_run.sites:
        bus = int(s["substation_id"])
        assert float(s["capacity_mw"]) == pytest.approx(_rev_capacity_mw(bus))


def test_constraints_hold(region_run: RegionRun) -> None:
    """No site on protected land or within 3 km of a town of >= 1,000 people, allowing a cell."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32755", always_xy=True)
    protected = box(*PROTECTED_32755)
    towns = [_to_study(lon, lat) for _, _, lat, lon, pop in TOWNS if pop >= 1000]
    for s in region_run.sites:
        ring = s["geometry"]["coordinates"][0]
        utm = [to_utm.transform(x, y) for x, y in ring]
        # a cell is excluded when its centre is protected: the parcel's inner part, half a cell
        # in from its edge, stays off the block (10 m for the datums and the GeoJSON rounding)
        inner = Polygon(utm).buffer(-(CELL_KM * 500 - 10))
        assert not inner.intersects(protected), s["site_id"]
        x, y = _to_study(float(s["lon"]), float(s["lat"]))
        nearest_town_km = min(math.hypot(x - tx, y - ty) for tx, ty in towns) / 1000
        # centre to centre of cells: the site's cells and the town's cell are each half a
        # diagonal (0.354 km) from the points measured here
        assert nearest_town_km >= 3 - 2 * CELL_KM / math.sqrt(2) - 0.01, s["site_id"]


def test_suitability_raster_shows_the_constraints(region_run: RegionRun) -> None:
    out = region_run.out
    with rasterio.open(out / "suitability.tif") as src:
        assert src.crs.to_epsg() == 7855
        assert src.res == (500.0, 500.0)

        def at(lon: float, lat: float) -> float:
            x, y = _to_study(lon, lat)
            return float(next(src.sample([(x, y)]))[0])

        assert at(146.25, -38.40) == 0.0  # protected block, inside the outline (146.25 E)
        assert src.nodata is not None
        assert at(146.80, -38.47) == src.nodata  # south of the outline's south-east edge
        assert at(146.6, -38.1) > 0.0  # open land between Traralgon and Heyfield


def test_place_is_the_nearest_town(region_run: RegionRun) -> None:
    towns = {n: _to_study(lon, lat) for _, n, lat, lon, _ in TOWNS}
    for s in region_run.sites:
        x, y = _to_study(float(s["lon"]), float(s["lat"]))
        nearest = min(towns, key=lambda n: math.hypot(x - towns[n][0], y - towns[n][1]))
        assert s["place"] == nearest, s["site_id"]


def test_manifest_records_the_inputs_and_their_attributions(region_run: RegionRun) -> None:
    text = json.dumps(region_run.manifest)
    for name, path in region_run.files.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in text, f"manifest lacks the sha256 of layer {name} ({path.name})"
    assert "gridsite example network (illustrative, not AEMO or OSM data)" in text
    out = region_run.out
    for name in ("sites.csv", "grid.geojson", "grid_qa.csv", "map.html"):
        assert (out / name).is_file(), name


def test_validate_lists_every_problem_of_a_broken_catalog(region_run: RegionRun) -> None:
    """docs/data.md: validate names a missing CSV field and a CSV without crs, both at once."""
    top = region_run.top
    catalog = _doc_toml("# layers/gippsland.toml")
    lines_entry = catalog.index("[layers.lines]")
    crs_line = catalog.index('crs = "EPSG:4326"\n', lines_entry)
    broken = catalog[:crs_line] + catalog[crs_line + len('crs = "EPSG:4326"\n') :]
    broken = broken.replace('fields = ["name", "population"]', 'fields = ["name", "pop2020"]')
    (top / "layers" / "broken.toml").write_text(broken, encoding="utf-8")
    study = _doc_toml("# studies/gippsland.toml").replace("gippsland.toml", "broken.toml")
    (top / "studies" / "broken.toml").write_text(study, encoding="utf-8")
    proc = subprocess.run(
        [str(GRIDSITE), "validate", "studies/broken.toml", "--data", "data"],
        cwd=top,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "2 problem(s)" in proc.stderr
    assert "layer 'cities'" in proc.stderr and "pop2020 not found" in proc.stderr
    assert "layer 'lines'" in proc.stderr and "set crs in the catalog" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---- docs/concepts.md explains what this run wrote -----------------------------------------

CONCEPTS = REPO / "docs" / "concepts.md"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_concepts_links_resolve() -> None:
    text = CONCEPTS.read_text(encoding="utf-8")
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith("http"):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (CONCEPTS.parent / path).is_file(), target
        else:
            assert anchor in anchors, target


def test_concepts_explains_every_site_column(region_run: RegionRun) -> None:
    with (region_run.out / "sites.csv").open(encoding="utf-8") as f:
        columns = next(csv.reader(f))
    text = CONCEPTS.read_text(encoding="utf-8")
    generic = {
        "score_": ("`score_<criterion>`", "`score_<term>`"),
        "value_": ("`value_<criterion>`",),
        "contribution_": ("`contribution_<criterion>`", "`contribution_<term>`"),
    }
    missing = []
    for column in columns:
        prefix = next((p for p in generic if column.startswith(p)), None)
        names = generic[prefix] if prefix else (f"`{column}`",)
        if not any(n in text for n in names):
            missing.append(column)
    assert not missing, f"docs/concepts.md does not explain the site columns {missing}"
