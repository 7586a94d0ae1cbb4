# G is networkx's conventional name for a graph.
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely import wkt
from shapely.geometry import LineString, Point

from gridsite.errors import CRSError, PowerGridError
from gridsite.powergrid import (
    circuits_from_cables,
    graph_from_pypsa_tables,
    graph_summary,
    graph_to_gdfs,
    rating_mva_for_voltage,
)

KOREA_GRID = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "korea" / "grid" / "osm_pypsa_earth"
)
CRS = "EPSG:5179"
TABLE = ((154, 452), (345, 2173), (765, 7290))

L1_WKT = "LINESTRING (127 37, 127.05 37.01, 127.1 37)"


def tiny_buses() -> pd.DataFrame:
    # bus_id, station, voltage V, lon, lat
    rows = [
        (1, 10, 154_000, 127.0, 37.0),
        (2, 10, 354_000, 127.001, 37.001),
        (3, 11, 154_000, 127.1, 37.0),
        (4, 12, 354_000, 127.0, 37.2),
        (5, 12, 765_000, 127.001, 37.201),
        (6, 13, 765_000, 127.3, 37.2),
        (7, 14, 154_000, 128.0, 36.0),
        (8, 15, 154_000, 128.05, 36.0),
        (9, 16, 154_000, 128.5, 35.5),
    ]
    df = pd.DataFrame(rows, columns=["bus_id", "station_id", "voltage", "lon", "lat"])
    df["dc"] = False
    return df


def tiny_lines() -> pd.DataFrame:
    # line_id, bus0, bus1, voltage V, cables (PyPSA-Earth's "circuits" column), length m
    rows = [
        ("L1", 1, 3, 154_000, 6.0, 10_000.0, False, L1_WKT),
        ("L2", 3, 1, 154_000, 3.0, 12_000.0, False, None),  # parallel to L1, reversed
        ("L3", 2, 4, 354_000, 12.0, 25_000.0, False, None),
        ("L4", 5, 6, 765_000, 8.0, 100_000.0, False, None),
        ("L5", 7, 8, 154_000, 1.0, 5_000.0, True, None),
        ("L6", 1, 99, 154_000, 6.0, 1_000.0, False, None),  # bus 99 does not exist
        ("L7", 98, 3, 154_000, 6.0, 1_000.0, False, None),  # bus 98 does not exist
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "line_id",
            "bus0",
            "bus1",
            "voltage",
            "circuits",
            "length",
            "underground",
            "geometry",
        ],
    )


def tiny_transformers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line_id": ["T1", "T2"],
            "bus0": [1, 4],
            "bus1": [2, 5],
            "voltage_bus0": [154_000, 354_000],
            "voltage_bus1": [354_000, 765_000],
        }
    )


@pytest.fixture
def tiny_graph():
    return graph_from_pypsa_tables(tiny_buses(), tiny_lines(), tiny_transformers(), crs=CRS)


@pytest.mark.parametrize(
    ("cables", "circuits"),
    [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (6, 2), (8, 2), (9, 3), (12, 4)],
)
def test_circuits_from_cables(cables, circuits):
    assert circuits_from_cables(cables) == circuits


@pytest.mark.parametrize(
    ("kv", "mva"),
    [(154, 452), (145, 452), (180, 452), (249.5, 452), (250, 2173), (354, 2173), (380, 2173),
     (555, 2173), (556, 7290), (765, 7290), (1000, 7290)],
)  # fmt: skip
def test_rating_by_nearest_voltage_class(kv, mva):
    # midpoints: (154+345)/2 = 249.5 (tie -> lower class), (345+765)/2 = 555
    assert rating_mva_for_voltage(kv, TABLE) == mva


def test_nodes_keyed_by_str_bus_id(tiny_graph):
    G = tiny_graph
    assert sorted(G.nodes) == [str(i) for i in range(1, 10)]
    node = G.nodes["2"]
    assert node["bus_id"] == "2"
    assert node["station_id"] == "10"
    assert node["name"] == ""
    assert node["voltage_kv"] == 354.0
    assert (node["lon"], node["lat"]) == (127.001, 37.001)
    assert node["dc"] is False


def test_parallel_lines_merged(tiny_graph):
    edge = tiny_graph.edges["1", "3"]
    assert edge["kind"] == "line"
    assert sorted(edge["line_ids"]) == ["L1", "L2"]
    assert edge["cables"] == 9
    assert edge["circuits"] == 3  # 6 cables -> 2 circuits, 3 cables -> 1
    assert edge["rating_mva"] == 3 * 452
    assert edge["length_km"] == 10.0  # the shorter of 10 and 12 km
    assert edge["geometry"].equals(wkt.loads(L1_WKT))  # the shorter line's geometry is kept
    assert edge["voltage_kv"] == 154.0


def test_line_ratings_and_attributes(tiny_graph):
    G = tiny_graph
    l3 = G.edges["2", "4"]
    assert (l3["circuits"], l3["rating_mva"], l3["length_km"]) == (4, 4 * 2173, 25.0)
    l4 = G.edges["5", "6"]
    assert (l4["cables"], l4["circuits"], l4["rating_mva"]) == (8, 2, 2 * 7290)
    l5 = G.edges["7", "8"]
    assert (l5["circuits"], l5["rating_mva"], l5["underground"]) == (1, 452, True)
    # no WKT: a straight segment between the buses, lon/lat
    assert list(l5["geometry"].coords) == [(128.0, 36.0), (128.05, 36.0)]


def test_transformer_edges(tiny_graph):
    t1 = tiny_graph.edges["1", "2"]
    assert t1["kind"] == "transformer"
    assert t1["line_ids"] == ("T1",)
    assert t1["length_km"] == 0.0
    assert math.isnan(t1["rating_mva"])
    assert t1["voltage_kv"] == 154.0
    assert t1["circuits"] == 0
    assert LineString([(127.0, 37.0), (127.001, 37.001)]).equals(t1["geometry"])
    assert tiny_graph.edges["4", "5"]["voltage_kv"] == 354.0


def test_dangling_lines_skipped_and_counted(tiny_graph, caplog):
    assert tiny_graph.graph["skipped_lines"] == 2
    assert "99" not in tiny_graph and "98" not in tiny_graph
    with caplog.at_level(logging.WARNING, logger="gridsite.powergrid.graph"):
        graph_from_pypsa_tables(tiny_buses(), tiny_lines(), crs=CRS)
    assert "L6" in caplog.text and "L7" in caplog.text


def test_graph_metadata(tiny_graph):
    assert tiny_graph.graph["crs"] == CRS
    assert "452" in tiny_graph.graph["rating_source"]
    G = graph_from_pypsa_tables(tiny_buses(), tiny_lines(), crs=CRS, rating_source="KEPCO")
    assert G.graph["rating_source"] == "KEPCO"


def test_summary_counts_islands(tiny_graph, caplog):
    with caplog.at_level(logging.INFO, logger="gridsite.powergrid.graph"):
        s = graph_summary(tiny_graph)
    # {1,2,3,4,5,6} joined by lines and transformers, {7,8}, {9} alone
    assert s["n_islands"] == 3
    assert s["largest_island_buses"] == 6
    assert (s["n_buses"], s["n_lines"], s["n_line_edges"], s["n_transformers"]) == (9, 5, 4, 2)
    assert s["line_length_km"] == pytest.approx(10 + 25 + 100 + 5)
    assert s["buses_by_voltage_kv"] == {154.0: 5, 354.0: 2, 765.0: 2}
    assert s["lines_by_voltage_kv"] == {154.0: 3, 354.0: 1, 765.0: 1}
    assert "power grid: 9 buses, 5 lines, 2 transformers, 3 islands" in caplog.text


def test_without_transformers_more_islands():
    G = graph_from_pypsa_tables(tiny_buses(), tiny_lines(), crs=CRS)
    # {1,3}, {2,4}, {5,6}, {7,8}, {9}
    assert graph_summary(G)["n_islands"] == 5


def test_converters_join_islands():
    conv = pd.DataFrame({"converter_id": ["C1"], "bus0": [9], "bus1": [8]})
    G = graph_from_pypsa_tables(tiny_buses(), tiny_lines(), tiny_transformers(), conv, crs=CRS)
    edge = G.edges["8", "9"]
    assert edge["kind"] == "converter"
    assert edge["line_ids"] == ("C1",)
    assert graph_summary(G)["n_islands"] == 2


def test_branch_between_already_joined_buses_is_skipped():
    tr = pd.DataFrame({"line_id": ["T9"], "bus0": [3], "bus1": [1]})
    G = graph_from_pypsa_tables(tiny_buses(), tiny_lines(), tr, crs=CRS)
    assert G.edges["1", "3"]["kind"] == "line"
    assert G.graph["skipped_conflicting"] == 1


def test_projection_to_metres_is_lon_lat_order():
    # UTM 52N: the central meridian 129 E on the equator is (500000, 0) exactly.
    buses = pd.DataFrame(
        {"bus_id": [1], "station_id": [1], "voltage": [154_000], "lon": [129.0], "lat": [0.0]}
    )
    lines = pd.DataFrame(columns=["line_id", "bus0", "bus1", "voltage", "circuits", "length"])
    G = graph_from_pypsa_tables(buses, lines, crs="EPSG:32652")
    assert G.nodes["1"]["x_m"] == pytest.approx(500_000.0, abs=1e-6)
    assert G.nodes["1"]["y_m"] == pytest.approx(0.0, abs=1e-6)


def test_name_column_used_when_present():
    buses = tiny_buses()
    buses["name"] = [f"S{i}" for i in range(len(buses))]
    buses.loc[0, "name"] = None
    G = graph_from_pypsa_tables(buses, tiny_lines(), crs=CRS)
    assert G.nodes["1"]["name"] == ""
    assert G.nodes["2"]["name"] == "S1"


def test_text_columns_and_shapely_geometry_give_the_same_graph(tiny_graph):
    # GDAL's CSV driver returns every field as text, and a GeoDataFrame holds shapely geometries
    buses = tiny_buses().astype(str)
    lines = tiny_lines()
    lines["geometry"] = [wkt.loads(g) if isinstance(g, str) else None for g in lines["geometry"]]
    lines = lines.astype({c: str for c in lines.columns if c != "geometry"})
    transformers = tiny_transformers().astype(str)
    G = graph_from_pypsa_tables(buses, lines, transformers, crs=CRS)
    assert dict(G.nodes(data=True)) == dict(tiny_graph.nodes(data=True))
    assert G.edges.keys() == tiny_graph.edges.keys()
    for u, v, data in tiny_graph.edges(data=True):
        other = G.edges[u, v]
        for key, value in data.items():
            if key == "geometry":
                assert other[key].equals(value)
            elif key == "rating_mva" and math.isnan(value):
                assert math.isnan(other[key])
            else:
                assert other[key] == value, key


def test_missing_columns_reported_together():
    lines = tiny_lines().drop(columns=["bus1", "length"])
    buses = tiny_buses().drop(columns=["lat"])
    with pytest.raises(PowerGridError) as info:
        graph_from_pypsa_tables(buses, lines, crs=CRS)
    message = str(info.value)
    assert "lines table has no column 'bus1'" in message
    assert "lines table has no column 'length'" in message
    assert "buses table has no column 'lat'" in message


def test_missing_transformer_column():
    with pytest.raises(PowerGridError, match="transformers table has no column 'bus0'"):
        graph_from_pypsa_tables(
            tiny_buses(), tiny_lines(), tiny_transformers().drop(columns="bus0"), crs=CRS
        )


def test_voltage_in_kv_rejected():
    buses = tiny_buses()
    buses["voltage"] = buses["voltage"] / 1000
    with pytest.raises(PowerGridError, match="volts"):
        graph_from_pypsa_tables(buses, tiny_lines(), crs=CRS)


def test_duplicate_bus_ids_rejected():
    buses = pd.concat([tiny_buses(), tiny_buses().iloc[[0]]])
    with pytest.raises(PowerGridError, match="repeats"):
        graph_from_pypsa_tables(buses, tiny_lines(), crs=CRS)


@pytest.mark.parametrize("crs", ["EPSG:4326", "not a crs"])
def test_crs_must_be_projected_metres(crs):
    with pytest.raises(CRSError):
        graph_from_pypsa_tables(tiny_buses(), tiny_lines(), crs=crs)


def test_graph_to_gdfs(tiny_graph):
    buses, branches = graph_to_gdfs(tiny_graph)
    assert buses.crs.to_epsg() == 4326 and branches.crs.to_epsg() == 4326
    assert len(buses) == 9 and len(branches) == 6
    bus2 = buses.set_index("bus_id").loc["2"]
    assert bus2["geometry"].equals(Point(127.001, 37.001))
    assert bus2["voltage_kv"] == 354.0
    merged = branches[branches["line_ids"].str.contains("L1")].iloc[0]
    assert sorted(merged["line_ids"].split(";")) == ["L1", "L2"]
    assert {merged["bus0"], merged["bus1"]} == {"1", "3"}
    assert merged["rating_mva"] == 3 * 452
    assert set(branches["kind"]) == {"line", "transformer"}
    assert (branches.geom_type == "LineString").all()
    # every branch starts or ends at its buses' lon/lat
    lonlat = buses.set_index("bus_id")[["lon", "lat"]]
    for row in branches.itertuples():
        ends = {row.geometry.coords[0], row.geometry.coords[-1]}
        assert tuple(lonlat.loc[row.bus0]) in ends and tuple(lonlat.loc[row.bus1]) in ends


# --- the real Korean PyPSA-Earth tables ---------------------------------------------------


def read_korea() -> tuple[pd.DataFrame, ...]:
    if not KOREA_GRID.is_dir():
        pytest.skip(f"shared data not found at {KOREA_GRID}")
    return tuple(
        pd.read_csv(KOREA_GRID / f"all_{name}_build_network.csv")
        for name in ("buses", "lines", "transformers", "converters")
    )


def test_korea_graph():
    buses, lines, transformers, converters = read_korea()
    G = graph_from_pypsa_tables(buses, lines, transformers, converters, crs=CRS)
    s = graph_summary(G)
    assert s["n_buses"] == 648
    assert s["n_lines"] == len(lines) == 803
    assert s["n_transformers"] == 139
    assert s["n_converters"] == 4
    assert G.graph["skipped_lines"] == 0

    # islands, counted independently from the raw bus pairs with scipy
    index = {b: i for i, b in enumerate(buses["bus_id"])}
    pairs = pd.concat(
        [lines[["bus0", "bus1"]], transformers[["bus0", "bus1"]], converters[["bus0", "bus1"]]]
    )
    rows = pairs["bus0"].map(index).to_numpy()
    cols = pairs["bus1"].map(index).to_numpy()
    adjacency = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(index), len(index)))
    n_components, labels = connected_components(adjacency, directed=False)
    assert s["n_islands"] == n_components
    assert s["largest_island_buses"] == np.bincount(labels).max()
    # 641 buses in the main island (mainland and Jeju via the HVDC converters), two 2-bus islands
    # and three isolated buses (166, 173, 411)
    assert s["n_islands"] == 6

    # parallel lines: 803 lines over 719 distinct bus pairs
    distinct_pairs = {tuple(sorted(p)) for p in zip(lines["bus0"], lines["bus1"], strict=True)}
    assert s["n_line_edges"] == len(distinct_pairs)

    # the 765 kV line 24059423-1_0 (buses 98-101) has 6 cables: one double-circuit route
    edge = G.edges["98", "101"]
    assert edge["line_ids"] == ("24059423-1_0",)
    assert (edge["cables"], edge["circuits"], edge["rating_mva"]) == (6, 2, 2 * 7290)
    assert edge["length_km"] == pytest.approx(194.94697404841697)

    # circuits summed over merged edges equal the per-line circuits from cables
    total = sum(max(1, int(c) // 3) for c in lines["circuits"])
    assert sum(d["circuits"] for _, _, d in G.edges(data=True) if d["kind"] == "line") == total


def test_lines_far_from_their_rating_class_are_named(caplog):
    # Korea's 354 kV lines are within 3 % of the 345 kV class: no warning. 220 kV lines of another
    # grid would take the 154 kV rating (43 % away) under the default table: one WARNING names them.
    with caplog.at_level(logging.WARNING, logger="gridsite.powergrid.graph"):
        graph_from_pypsa_tables(tiny_buses(), tiny_lines(), crs=CRS)
    assert not [r for r in caplog.records if "rating of a voltage class" in r.message]
    lines = tiny_lines()
    lines.loc[lines["line_id"] == "L3", "voltage"] = 220_000
    with caplog.at_level(logging.WARNING, logger="gridsite.powergrid.graph"):
        graph_from_pypsa_tables(tiny_buses(), lines, crs=CRS)
    (warning,) = [r for r in caplog.records if "rating of a voltage class" in r.message]
    assert "lines at 220 kV" in warning.message and "rating_mva_per_circuit" in warning.message
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gridsite.powergrid.graph"):
        graph_from_pypsa_tables(
            tiny_buses(),
            lines,
            crs=CRS,
            rating_mva_per_circuit=((154, 452), (220, 900), (345, 2173), (765, 7290)),
        )
    assert not [r for r in caplog.records if "rating of a voltage class" in r.message]
