"""The Korea study end to end on the real data pack, at a coarse 2 km resolution.

Every check compares with something computed here independently of gridsite's own code paths:
the outline and land mask read directly, the demarcation line, a brute-force nearest bus.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer

import gridsite
from gridsite.study import StudyResult

from .conftest import DATA, KOREA_STUDY

pytestmark = pytest.mark.integration

KOREA = DATA / "korea"


@pytest.fixture(scope="module")
def result(data_root: Path) -> StudyResult:
    return gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=2000).run()


@pytest.fixture(scope="module")
def written(result: StudyResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("korea")
    result.write(out)
    return out


def test_ranks_and_scores(result: StudyResult) -> None:
    sites = result.sites
    assert len(sites) == 20
    assert sites["rank"].tolist() == list(range(1, 21))
    assert sites["score"].between(0, 1).all()
    assert sites["score"].is_monotonic_decreasing
    assert sites["suitability"].gt(0).all()
    for c in result.spec.criteria:
        assert sites[f"score_{c.name}"].between(0, 1).all()
    assert sites["site_id"].is_unique


def test_sites_are_on_land_inside_korea(result: StudyResult) -> None:
    outline = gpd.read_file(KOREA / "boundaries" / "kostat_2018_country_outline.geojson")
    korea = shapely.union_all(outline.geometry.to_numpy())
    points = shapely.points(result.sites["lon"], result.sites["lat"])
    assert shapely.contains(korea, points).all()
    with rasterio.open(
        KOREA / "elevation_landmask" / "globe_landmask_30arcsec_korea_bbox.tif"
    ) as m:
        land = [v[0] for v in m.sample(zip(result.sites["lon"], result.sites["lat"], strict=True))]
    assert all(v == 1 for v in land)
    urban = gpd.read_file(KOREA / "landuse_population" / "ne_50m_urban_areas_korea_bbox.geojson")
    assert not shapely.intersects(shapely.union_all(urban.geometry.to_numpy()), points).any()


def test_sites_are_south_of_the_dmz(result: StudyResult) -> None:
    lines = gpd.read_file(
        KOREA / "boundaries" / "ne_10m_admin0_boundary_lines_land_korea_bbox.geojson"
    )
    mdl = lines[lines["name"].str.contains("Demarcation")].to_crs(5179)
    mdl_line = shapely.line_merge(shapely.union_all(mdl.geometry.to_numpy()))
    xy = shapely.points(result.sites["x_m"], result.sites["y_m"])
    # 5 km buffer in the study file, minus half a parcel's diagonal at 2 km cells
    assert (shapely.distance(mdl_line, xy) > 5_000 - 1_500).all()
    # south: the line's northing at each site's easting is above the site
    coords = np.asarray(shapely.get_coordinates(mdl_line))
    order = np.argsort(coords[:, 0])
    line_y = np.interp(result.sites["x_m"], coords[order, 0], coords[order, 1])
    assert (result.sites["y_m"].to_numpy() < line_y).all()


def test_connection_distances_against_the_bus_table(result: StudyResult) -> None:
    buses = pd.read_csv(KOREA / "grid" / "osm_pypsa_earth" / "all_buses_build_network.csv")
    need_kv = result.stats["required_connection_kv"]
    assert need_kv == 345  # 500 MW exceeds one 154 kV circuit (452 MVA)
    bx, by = Transformer.from_crs(4326, 5179, always_xy=True).transform(buses["lon"], buses["lat"])
    xy = pd.DataFrame({"x": bx, "y": by, "kv": buses["voltage"] / 1000}, index=buses["bus_id"])
    ok = xy[(xy["kv"] >= need_kv) & ~buses["dc"].astype(bool).to_numpy()]
    for _, site in result.sites.iterrows():
        sub = xy.loc[int(site["substation_id"])]
        straight = math.hypot(site["x_m"] - sub["x"], site["y_m"] - sub["y"]) / 1000
        nearest = (
            min(
                math.hypot(site["x_m"] - x, site["y_m"] - y)
                for x, y in zip(ok["x"], ok["y"], strict=True)
            )
            / 1000
        )
        assert site["interconnect_km"] == pytest.approx(straight, abs=1e-6)
        assert site["interconnect_km"] >= nearest - 1e-9
        assert site["route_km"] >= site["interconnect_km"] - 1e-9  # routed never below straight
        assert sub["kv"] >= 345


def test_hosting_capacity_outputs(result: StudyResult) -> None:
    hc = result.hosting
    assert hc is not None and len(hc) > 600
    both = hc.dropna(subset=["hosting_capacity_mw", "hosting_capacity_n0_mw"])
    assert (both["hosting_capacity_mw"] >= 0).all()
    # N-1 secure capacity never exceeds the N-0 capacity at the same bus
    assert (both["hosting_capacity_mw"] <= both["hosting_capacity_n0_mw"] + 1e-6).all()
    assert set(hc["binding_hour"].dropna().astype(int)) <= {
        h["hour"] for h in result.stats["hours"]
    }
    # the two screened hours are 2025's peak and trough of total KPG 193 demand
    demand = pd.read_csv(KOREA / "grid" / "kpg193" / "kpg193_v2_0_hourly_demand_mw_2025.csv.gz")
    total = demand.drop(columns="hour_of_year").sum(axis=1)
    hours = [h["hour"] for h in result.stats["hours"]]
    assert hours == [
        int(demand["hour_of_year"][total.idxmax()]),
        int(demand["hour_of_year"][total.idxmin()]),
    ]
    assert result.stats["hours"][0]["demand_mw"] == pytest.approx(total.max(), rel=1e-9)


def test_competition_never_oversubscribes_a_substation(result: StudyResult) -> None:
    hc = result.hosting.set_index("bus_id")["hosting_capacity_mw"]
    supplied = result.sites[result.sites["supplied"] == True]  # noqa: E712
    for bus, group in supplied.groupby("substation_id"):
        assert 500 * len(group) <= hc.loc[bus] + 1e-6
    assert (result.sites["headroom_mw"] <= result.sites["hosting_capacity_mw"] + 1e-6).all()
    unsupplied = result.sites[result.sites["supplied"] == False]  # noqa: E712
    assert (unsupplied["headroom_mw"] < 500).all()


def test_routes(result: StudyResult) -> None:
    routes = result.routes
    assert routes is not None and len(routes) == len(result.sites)
    for _, r in routes.iterrows():
        site = result.sites.set_index("site_id").loc[r["site_id"]]
        x0, y0 = r.geometry.coords[0]
        assert (x0, y0) == pytest.approx((site["x_m"], site["y_m"]))
        assert r.geometry.length / 1000 == pytest.approx(site["route_km"])
    assert (result.sites["interconnect_cost_musd"] > 0).all()
    assert (result.sites["speed_to_power_months"] >= 12).all()
    assert result.sites["independent_feeds"].min() >= 1


def test_grid_graph_is_the_osm_grid(result: StudyResult) -> None:
    g = result.grid_graph
    assert g.number_of_nodes() == 648
    assert all(d["voltage_kv"] > 100 for _, d in g.nodes(data=True))


def test_outputs(written: Path, result: StudyResult) -> None:
    for name in [
        "sites.geojson",
        "sites.csv",
        "suitability.tif",
        "grid.geojson",
        "map.html",
        "manifest.json",
    ]:
        assert (written / name).is_file(), name
    gj = json.loads((written / "sites.geojson").read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection" and "crs" not in gj
    assert len(gj["features"]) == 20
    for f in gj["features"]:
        assert f["geometry"]["type"] == "Polygon"
        for lon, lat in f["geometry"]["coordinates"][0]:
            assert 124 < lon < 132 and 33 < lat < 39
        props = f["properties"]
        for key in [
            "rank",
            "site_id",
            "score",
            "area_ha",
            "lon",
            "lat",
            "province",
            "substation_id",
            "substation_name",
            "substation_kv",
            "interconnect_km",
            "backbone_path_km",
            "capacity_mw",
            "score_substation_distance",
        ]:
            assert key in props, key
    csv = pd.read_csv(written / "sites.csv")
    assert csv["site_id"].tolist() == result.sites["site_id"].tolist()
    with rasterio.open(written / "suitability.tif") as src:
        assert src.crs.to_epsg() == 5179
        assert src.nodata is not None
        arr = src.read(1, masked=True)
        assert float(arr.min()) >= 0 and float(arr.max()) <= 1
    manifest = json.loads((written / "manifest.json").read_text(encoding="utf-8"))
    names = {i["name"] for i in manifest["inputs"]}
    assert {"osm_buses", "osm_lines", "country_outline"} <= names
    assert any("OpenStreetMap" in a["attribution"] for a in manifest["attributions"])
    html = (written / "map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in html
    # each site's popup lists how much each criterion contributed to its score
    assert all(f"contribution_{c.name}" in html for c in result.spec.criteria)
    for f in gj["features"]:
        parts = [v for k, v in f["properties"].items() if k.startswith("contribution_")]
        assert sum(parts) == pytest.approx(f["properties"]["score"], abs=1e-6)


def test_supply_meets_the_target_within_the_potential(result: StudyResult) -> None:
    sites = result.sites
    su = result.spec.supply
    assert su is not None
    feasible = sites["cfe_feasible"].astype(bool)
    assert (sites.loc[feasible, "cfe_share"] >= su.cfe_target - 1e-6).all()
    assert (sites["pv_mw"] <= sites["solar_potential_mw"] + 1e-6).all()
    assert (
        sites["wind_mw"] <= sites["wind_potential_mw"] + sites["offshore_wind_potential_mw"] + 1e-6
    ).all()
    # PV and onshore wind share the land; offshore wind needs none
    onshore_wind = np.maximum(sites["wind_mw"] - sites["offshore_wind_potential_mw"], 0.0)
    land_used = sites["pv_mw"] / su.pv_mw_per_km2 + onshore_wind / su.wind_mw_per_km2
    assert (land_used <= sites["supply_land_km2"] * (1 + 1e-9) + 1e-9).all()
    # potentials are the site's share of land times the densities of the study file
    assert np.allclose(sites["solar_potential_mw"], sites["supply_land_km2"] * su.pv_mw_per_km2)
    # a site's land share is never more than its 30 km disc
    assert (sites["supply_land_km2"] <= math.pi * su.radius_km**2).all()
    # what the ranked sites hold is part of the eligible land the stage counted
    assert sites["supply_land_km2"].sum() <= result.stats["supply"]["eligible_land_km2"]


def test_supply_profiles_are_the_nearest_kpg_bus(result: StudyResult) -> None:
    """Nearest bus by pyproj, annual means from the pack's own per-bus table."""
    kpg = pd.read_csv(KOREA / "grid" / "kpg193" / "kpg193_v2_0_buses.csv")
    annual = pd.read_csv(
        KOREA / "grid" / "kpg193" / "derived_kpg193_v2_0_bus_re_capacity_factor_2025.csv",
        index_col="bus_id",
    )
    bx, by = Transformer.from_crs(4326, 5179, always_xy=True).transform(kpg["lon"], kpg["lat"])
    for _, site in result.sites.iterrows():
        d = np.hypot(np.asarray(bx) - site["x_m"], np.asarray(by) - site["y_m"])
        bus = int(kpg["bus_i"].iloc[int(np.argmin(d))])
        assert str(site["profile_bus"]) == str(bus)
        # the hourly tables hold 4 decimals; PV values above 1 are clipped (means within 1e-3)
        assert site["pv_cf_mean"] == pytest.approx(annual.loc[bus, "pv_cf_mean"], abs=1e-3)
        assert site["wind_cf_mean"] == pytest.approx(annual.loc[bus, "wind_cf_mean"], abs=1e-5)


def test_supply_hourly_balance_closes(result: StudyResult) -> None:
    assert result.supply is not None
    assert set(result.supply) == set(result.sites["site_id"].astype(str))
    for sid, s in result.supply.items():
        d = s.dispatch
        assert d.load_mw.size == 8760
        np.testing.assert_allclose(d.used_mw + d.discharge_mw + d.import_mw, d.load_mw, atol=1e-6)
        np.testing.assert_allclose(
            d.used_mw + d.charge_mw + d.curtailed_mw, d.generation_mw, atol=1e-6
        )
        np.testing.assert_allclose(s.pv_output_mw + s.wind_output_mw, d.generation_mw, atol=1e-6)
        row = result.sites.set_index("site_id").loc[sid]
        assert d.import_mw.sum() / 1e3 == pytest.approx(row["grid_import_gwh"], rel=1e-9)


def test_supply_outputs(written: Path, result: StudyResult) -> None:
    monthly = pd.read_csv(written / "supply_monthly.csv")
    assert len(monthly) == 12 * len(result.sites)
    per_site = monthly.groupby("site_id")["import_gwh"].sum()
    expected = result.sites.set_index("site_id")["grid_import_gwh"]
    np.testing.assert_allclose(per_site.loc[expected.index], expected, rtol=1e-9)
    plots = sorted((written / "supply_plots").glob("*.svg"))
    assert {p.stem for p in plots} == set(result.sites["site_id"])
    for p in plots[:3]:
        ET.fromstring(p.read_text(encoding="utf-8"))  # well-formed XML
    html = (written / "map.html").read_text(encoding="utf-8")
    assert html.count('class="gs-plot"') >= len(result.sites)
