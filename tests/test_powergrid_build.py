# G is networkx's conventional name for a graph.
from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

from gridsite.errors import CRSError, PowerGridError
from gridsite.powergrid import (
    QA_COLUMNS,
    graph_from_osm_lines,
    graph_from_pypsa_tables,
    grid_qa,
    qa_summary,
)

KOREA_GRID = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "korea" / "grid" / "osm_pypsa_earth"
)
CRS = "EPSG:5179"
# Synthetic coordinates are metres east/north of this EPSG:5179 point (about 127.5 E, 37.1 N).
X0, Y0 = 1_000_000.0, 1_900_000.0
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def synthetic_substations() -> gpd.GeoDataFrame:
    # A1 and A2 are 300 m apart (< 500 m): one station, S0, with a 154 and a 345 kV bus.
    # E is one point tagged with two voltages. I1 and I2 are 2 km apart: two stations.
    rows = [
        ("A1", "345000", (0, 0)),
        ("A2", "154000", (300, 0)),
        ("B", "345000", (20_000, 0)),
        ("C", "154000", (20_000, 10_000)),
        ("D", "154000", (0, 20_000)),
        ("E", "154000;345000", (0, -15_000)),
        ("I1", "154000", (50_000, 50_000)),
        ("I2", "154000", (52_000, 50_000)),
    ]
    return gpd.GeoDataFrame(
        {"voltage": [r[1] for r in rows]},
        index=[r[0] for r in rows],
        geometry=[Point(xy(*r[2])) for r in rows],
        crs=CRS,
    )


def synthetic_lines() -> gpd.GeoDataFrame:
    rows = [
        # w1 + w2: two 345 kV ways meeting end to end at (10 km, 0): one line A -> B.
        ("w1", "345000", "6", [(50, 0), (10_000, 0)]),
        ("w2", "345000", "6", [(10_000, 0), (19_900, 0)]),
        # A multi-voltage way from A to E; its 6 cables are shared 3 + 3.
        ("mv", "154000;345000", "6", [(0, -100), (0, -14_900)]),
        # t1, t2, t3 meet at (10 km, 10 km), far from any station: a T-junction.
        ("t1", "154000", "3", [(20_000, 9_900), (10_000, 10_000)]),
        ("t2", "154000", "3", [(10_000, 10_000), (100, 19_900)]),
        ("t3", "154000", "3", [(10_000, 10_000), (400, 100)]),
        # From D to nowhere: the far end is 20 km from the nearest 154 kV bus (D).
        ("dg", "154000", "3", [(0, 20_100), (0, 40_000)]),
        # No voltage: dropped and reported.
        ("nv", None, "3", [(0, -30_000), (5_000, -30_000)]),
        # An island I1 - I2; its start is 700 m from I1, a far snap (> 500 m, < 1000 m).
        ("isl", "154000", "3", [(50_700, 50_000), (51_900, 50_000)]),
    ]
    return gpd.GeoDataFrame(
        {
            "line_id": [r[0] for r in rows],
            "voltage": [r[1] for r in rows],
            "circuits": [r[2] for r in rows],
        },
        geometry=[LineString([xy(*p) for p in r[3]]) for r in rows],
        crs=CRS,
    )


@pytest.fixture(scope="module")
def synthetic() -> tuple[nx.Graph, pd.DataFrame]:
    return graph_from_osm_lines(synthetic_lines(), synthetic_substations(), crs=CRS)


def test_qa_finds_exactly_the_planted_problems(synthetic: tuple[nx.Graph, pd.DataFrame]) -> None:
    _, qa = synthetic
    assert list(qa.columns) == list(QA_COLUMNS)
    expected = [
        ("dangling_end", "E1-154", 154.0, 1),
        ("far_snap", "isl", 154.0, 1),
        ("island", "S5-154", 154.0, 2),
        ("multi_voltage_split", "mv", 345.0, 0),
        ("no_voltage", "nv", math.nan, 0),
    ]
    got = list(
        zip(qa["issue"], qa["element"], qa["voltage_kv"], qa["n_buses"], strict=True),
    )
    assert [(i, e, n) for i, e, _, n in got] == [(i, e, n) for i, e, _, n in expected]
    for (_, _, kv_got, _), (_, _, kv_expected, _) in zip(got, expected, strict=True):
        assert kv_got == kv_expected or (math.isnan(kv_got) and math.isnan(kv_expected))


def test_qa_rows_say_where_and_how_far(synthetic: tuple[nx.Graph, pd.DataFrame]) -> None:
    _, qa = synthetic
    row = qa.set_index("issue")
    # The dangling end is at (0, 40 km); D, the nearest 154 kV bus, is 20 km south.
    assert (row.loc["dangling_end", "lon"], row.loc["dangling_end", "lat"]) == pytest.approx(
        lonlat(0, 40_000), abs=1e-9
    )
    assert "20,000 m" in row.loc["dangling_end", "detail"]
    # The far snap: 700 m in EPSG:5179 (scale factor ~0.9996 here, so geodesic 700 +- 1 m).
    far = float(re.search(r"([\d,]+) m", row.loc["far_snap", "detail"]).group(1).replace(",", ""))
    assert far == pytest.approx(700, abs=2)
    assert "S5-154" in row.loc["far_snap", "detail"]
    assert (row.loc["far_snap", "lon"], row.loc["far_snap", "lat"]) == pytest.approx(
        lonlat(50_700, 50_000), abs=1e-9
    )
    # No load data on the graph: the island's MW is unknown, not zero.
    assert math.isnan(row.loc["island", "mw"])
    assert "S5-154" in row.loc["island", "detail"] and "S6-154" in row.loc["island", "detail"]
    assert "154000;345000" in row.loc["multi_voltage_split", "detail"]


def test_graph_has_the_hand_worked_topology(synthetic: tuple[nx.Graph, pd.DataFrame]) -> None:
    G, _ = synthetic
    edges = {(min(u, v), max(u, v)): d for u, v, d in G.edges(data=True)}
    assert set(edges) == {
        ("S0-345", "S1-345"),  # w1 + w2
        ("S0-154", "S4-154"),  # mv at 154 kV
        ("S0-345", "S4-345"),  # mv at 345 kV
        ("J1-154", "S2-154"),  # t1
        ("J1-154", "S3-154"),  # t2
        ("J1-154", "S0-154"),  # t3
        ("E1-154", "S3-154"),  # dg
        ("S5-154", "S6-154"),  # isl
        ("S0-154", "S0-345"),  # transformer at A
        ("S4-154", "S4-345"),  # transformer at E
    }
    chain = edges[("S0-345", "S1-345")]
    assert chain["line_ids"] == ("w1", "w2")
    assert chain["length_km"] == pytest.approx((9_950 + 9_900) / 1000)
    assert (chain["cables"], chain["circuits"], chain["rating_mva"]) == (6, 2, 2 * 2173.0)
    assert chain["kind"] == "line" and chain["voltage_kv"] == 345.0
    for kv in ("154", "345"):
        split = edges[(f"S0-{kv}", f"S4-{kv}")]
        assert split["cables"] == 3 and split["circuits"] == 1
        assert split["length_km"] == pytest.approx(14.8)
    assert edges[("S0-154", "S4-154")]["line_ids"] == ("mv-1",)
    assert edges[("S0-345", "S4-345")]["line_ids"] == ("mv-2",)
    transformer = edges[("S0-154", "S0-345")]
    assert transformer["kind"] == "transformer" and transformer["voltage_kv"] == 154.0
    assert transformer["length_km"] == 0 and math.isnan(transformer["rating_mva"])
    t1 = edges[("J1-154", "S2-154")]
    assert t1["length_km"] == pytest.approx(math.hypot(10_000, 100) / 1000)
    # Geometry stays WGS84 lon/lat and is the ways', not stretched to the buses.
    ends = sorted([t1["geometry"].coords[0], t1["geometry"].coords[-1]])
    expected = sorted([lonlat(20_000, 9_900), lonlat(10_000, 10_000)])
    assert [c for p in ends for c in p] == pytest.approx([c for p in expected for c in p])


def test_nodes_follow_the_graph_schema(synthetic: tuple[nx.Graph, pd.DataFrame]) -> None:
    G, _ = synthetic
    schema = {"bus_id", "station_id", "name", "voltage_kv", "lon", "lat", "x_m", "y_m", "dc"}
    for n, data in G.nodes(data=True):
        assert schema <= set(data), n
        assert data["bus_id"] == n
    a345, a154 = G.nodes["S0-345"], G.nodes["S0-154"]
    assert a345["station_id"] == a154["station_id"] == "S0"
    assert (a154["x_m"], a154["y_m"]) == pytest.approx(xy(300, 0))
    assert (a154["lon"], a154["lat"]) == pytest.approx(lonlat(300, 0))
    junction = G.nodes["J1-154"]
    assert junction["symbol"] == "junction"
    assert (junction["x_m"], junction["y_m"]) == pytest.approx(xy(10_000, 10_000))
    end = G.nodes["E1-154"]
    assert end["symbol"] == "line_end" and end["nearest_bus_m"] == pytest.approx(20_000)
    assert G.nodes["S1-345"]["symbol"] == "substation"
    assert G.graph["crs"] == CRS


def test_island_load_and_generation_are_summed(synthetic: tuple[nx.Graph, pd.DataFrame]) -> None:
    G = synthetic[0].copy()
    G.nodes["S5-154"]["load_mw"] = 30.0
    G.nodes["S6-154"]["load_mw"] = 12.0
    G.nodes["S6-154"]["pmax_mw"] = 200.0
    G.nodes["S0-154"]["load_mw"] = 1000.0  # main island: not counted
    qa = grid_qa(G)
    island = qa[qa["issue"] == "island"].iloc[0]
    assert island["mw"] == 42.0
    assert "generation 200 MW" in island["detail"]
    assert qa_summary(qa).startswith("grid QA: 1 islands (2 buses, 42 MW), 1 dangling ends")


def test_ways_touching_a_way_interior_make_a_t_junction() -> None:
    substations = gpd.GeoDataFrame(
        {"voltage": [154000, 154000, 154000]},
        geometry=[Point(xy(0, 0)), Point(xy(20_000, 0)), Point(xy(10_000, 10_000))],
        crs=CRS,
    )
    lines = gpd.GeoDataFrame(
        {"line_id": ["through", "tap"], "voltage": [154000, 154000], "circuits": [3, 3]},
        geometry=[
            LineString([xy(0, 0), xy(20_000, 0)]),  # not split where the tap meets it
            LineString([xy(10_000, 10_000), xy(10_000, 5)]),
        ],
        crs=CRS,
    )
    G, qa = graph_from_osm_lines(lines, substations, crs=CRS)
    assert sorted(G["J1-154"]) == ["S0-154", "S1-154", "S2-154"]
    assert G.edges["J1-154", "S0-154"]["length_km"] == pytest.approx(10.0)
    assert G.edges["J1-154", "S0-154"]["line_ids"] == ("through",)
    assert qa.empty


def test_parallel_lines_merge_and_cable_tags_pair_with_voltages() -> None:
    substations = gpd.GeoDataFrame(
        {"voltage": ["154000;345000", "154000;345000"]},
        geometry=[Point(xy(0, 0)), Point(xy(10_000, 0))],
        crs=CRS,
    )
    lines = gpd.GeoDataFrame(
        {
            "line_id": ["a", "b", "c"],
            "voltage": ["154000", "154000", "154000;345000"],
            "circuits": ["6", "3", "3;6"],
        },
        geometry=[
            LineString([xy(0, 0), xy(10_000, 0)]),
            LineString([xy(0, 0), xy(5_000, 3_000), xy(10_000, 0)]),
            LineString([xy(0, 0), xy(10_000, 0)]),
        ],
        crs=CRS,
    )
    G, qa = graph_from_osm_lines(lines, substations, crs=CRS)
    low = G.edges["S0-154", "S1-154"]
    assert set(low["line_ids"]) == {"a", "b", "c-1"}
    assert (low["cables"], low["circuits"], low["rating_mva"]) == (12, 4, 4 * 452.0)
    assert low["length_km"] == pytest.approx(10.0)  # the shortest of the parallel lines
    high = G.edges["S0-345", "S1-345"]
    assert (high["line_ids"], high["cables"], high["circuits"]) == (("c-2",), 6, 2)
    assert list(qa["issue"]) == ["multi_voltage_split"]


@pytest.mark.parametrize(
    ("crs", "error"),
    [("EPSG:4326", CRSError), ("not a crs", CRSError)],
)
def test_crs_must_be_projected_metres(crs: str, error: type[Exception]) -> None:
    with pytest.raises(error, match="CRS"):
        graph_from_osm_lines(synthetic_lines(), synthetic_substations(), crs=crs)


def test_inputs_are_checked_all_at_once() -> None:
    lines = synthetic_lines().drop(columns="voltage")
    with pytest.raises(PowerGridError, match="voltage") as info:
        graph_from_osm_lines(lines, synthetic_substations(), crs=CRS, snap_tolerance_m=-1)
    assert "snap_tolerance_m" in str(info.value)
    with_crs = synthetic_lines()
    no_crs = gpd.GeoDataFrame(with_crs.drop(columns="geometry"), geometry=list(with_crs.geometry))
    with pytest.raises(CRSError, match="lines has no CRS"):
        graph_from_osm_lines(no_crs, synthetic_substations(), crs=CRS)


def test_qa_summary_counts_each_issue() -> None:
    qa = pd.DataFrame(
        {
            "issue": ["island", "island", "dangling_end", "far_snap", "far_snap", "ring"],
            "n_buses": [3, 9, 1, 1, 1, 0],
            "mw": [0.0, 0.0, math.nan, math.nan, math.nan, math.nan],
        }
    )
    assert qa_summary(qa) == (
        "grid QA: 2 islands (12 buses, 0 MW), 1 dangling ends, 0 lines without voltage, "
        "2 far snaps, 0 buses without lines; also 1 ring"
    )
    empty = grid_qa(nx.Graph())
    assert list(empty.columns) == list(QA_COLUMNS) and empty.empty
    assert qa_summary(empty).startswith("grid QA: 0 islands (0 buses, 0 MW)")


# --- the real Korean data ------------------------------------------------------------------


@pytest.fixture(scope="module")
def korea_osm() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    lines = gpd.read_file(KOREA_GRID / "all_clean_lines.geojson")
    buses = pd.read_csv(KOREA_GRID / "all_buses_build_network.csv", index_col="bus_id")
    points = gpd.GeoDataFrame(
        buses[["voltage", "dc"]],
        geometry=gpd.points_from_xy(buses["lon"], buses["lat"]),
        crs="EPSG:4326",
    )
    return lines, points


def test_korean_osm_lines_build_a_sane_graph(
    korea_osm: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    lines, points = korea_osm
    G, qa = graph_from_osm_lines(lines, points, crs=CRS)
    substation_kv = [d["voltage_kv"] for _, d in G.nodes(data=True) if d["symbol"] == "substation"]
    assert min(substation_kv) >= 100.0
    # Most of the 648 substation buses are reached by a line; PyPSA-Earth has 505 stations.
    assert 400 <= len(substation_kv) <= 648
    stations = {d["station_id"] for _, d in G.nodes(data=True) if d["symbol"] == "substation"}
    assert len(stations) >= 300
    length_km = sum(d["length_km"] for *_, d in G.edges(data=True) if d["kind"] == "line")
    assert length_km == pytest.approx(14_774, rel=0.10)
    # The main island holds most of the network.
    largest = max(nx.connected_components(G), key=len)
    assert len(largest) > 0.5 * G.number_of_nodes()
    assert set(qa.columns) == set(QA_COLUMNS)
    summary = qa_summary(qa)
    assert "islands" in summary and "dangling ends" in summary
    n_islands = int((qa["issue"] == "island").sum())
    assert n_islands == nx.number_connected_components(G) - 1
    # Fewer dangling ends than ways, and each one really is beyond the snap tolerance.
    dangling = [n for n, s in G.nodes(data="symbol") if s == "line_end"]
    assert 0 < len(dangling) < len(lines)
    assert min(G.nodes[n]["nearest_bus_m"] for n in dangling) > 1000.0
    # The Korean file has no ";" voltage tags (PyPSA-Earth split them already), so no splits.
    assert not lines["voltage"].astype(str).str.contains(";").any()
    assert not (qa["issue"] == "multi_voltage_split").any()


def test_grid_qa_finds_the_islands_of_pypsa_earths_build() -> None:
    tables = {
        name: pd.read_csv(KOREA_GRID / f"all_{name}_build_network.csv")
        for name in ("buses", "lines", "transformers", "converters")
    }
    G = graph_from_pypsa_tables(
        tables["buses"], tables["lines"], tables["transformers"], tables["converters"], crs=CRS
    )
    qa = grid_qa(G)
    islands = qa[qa["issue"] == "island"]
    assert len(islands) == 5  # 6 components with the converters, the main one excluded
    assert islands["n_buses"].sum() == 648 - max(len(c) for c in nx.connected_components(G))
    assert islands["mw"].isna().all()
    # Buses with no line: each one has none in the source table either.
    used = set(tables["lines"]["bus0"].astype(str)) | set(tables["lines"]["bus1"].astype(str))
    no_line = set(qa.loc[qa["issue"] == "no_line", "element"])
    assert no_line == set(tables["buses"]["bus_id"].astype(str)) - used
    # PyPSA-Earth starts each line geometry at its buses: no far snaps, no dangling ends.
    assert not qa["issue"].isin(["far_snap", "dangling_end", "no_voltage"]).any()
    assert qa_summary(qa).startswith("grid QA: 5 islands (")
