# G is networkx's conventional name for a graph.
from __future__ import annotations

import contextlib
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from gridsite.errors import PowerGridError
from gridsite.powergrid import (
    CONNECTION_COLUMNS,
    connect_sites,
    graph_from_pypsa_tables,
    required_connection_kv,
    station_capacity_mw,
)

KOREA_GRID = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "korea" / "grid" / "osm_pypsa_earth"
)
CRS = "EPSG:5179"
TO_XY = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)


# --- required_connection_kv ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("campus_mw", "kwargs", "kv"),
    [
        (100.0, {}, 154.0),
        (452.0, {}, 154.0),
        (452.5, {}, 345.0),
        (500.0, {}, 345.0),  # 500 MW > 452 MVA of one 154 kV circuit
        (2173.0, {}, 345.0),
        (3000.0, {}, 765.0),
        (9000.0, {}, 765.0),  # nothing suffices: the highest class
        (100.0, {"min_kv": 345.0}, 345.0),
        (420.0, {"power_factor": 0.9}, 345.0),  # 452 * 0.9 = 406.8 MW
        (400.0, {"power_factor": 0.9}, 154.0),
        (100.0, {"rating_mva_per_circuit": ((220, 300), (110, 100))}, 220.0),
    ],
)
def test_required_connection_kv(campus_mw, kwargs, kv):
    assert required_connection_kv(campus_mw, **kwargs) == kv


@pytest.mark.parametrize(
    ("campus_mw", "kwargs"),
    [(0.0, {}), (-5.0, {}), (math.nan, {}), (100.0, {"min_kv": 800.0}), (1.0, {"power_factor": 0})],
)
def test_required_connection_kv_rejects(campus_mw, kwargs):
    with pytest.raises(PowerGridError):
        required_connection_kv(campus_mw, **kwargs)


# --- station capacity (reV heuristic) ------------------------------------------------------


def station_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    buses = pd.DataFrame(
        {
            "bus_id": [1, 2, 3, 4, 5],
            "station_id": ["A", "A", "B", "C", "A"],
            "voltage": [154_000, 345_000, 154_000, 345_000, 154_000],
            "lon": [127.0, 127.001, 127.1, 127.0, 127.002],
            "lat": [37.0, 37.001, 37.0, 37.2, 37.002],
        }
    )
    lines = pd.DataFrame(
        {
            "line_id": ["a", "b", "c", "d"],
            "bus0": [1, 1, 2, 5],
            "bus1": [3, 3, 4, 1],
            "voltage": [154_000, 154_000, 345_000, 154_000],
            "circuits": [6, 3, 6, 3],  # cables: 2 + 1 circuits, 2 circuits, 1 circuit
            "length": [10_000.0, 12_000.0, 25_000.0, 300.0],
        }
    )
    transformers = pd.DataFrame({"line_id": ["t"], "bus0": [1], "bus1": [2]})
    return buses, lines, transformers


def test_station_capacity_hand_worked():
    G = graph_from_pypsa_tables(*station_tables(), crs=CRS)
    # station A = buses 1, 2, 5; its lines: 1-3 (3 circuits x 452), 2-4 (2 x 2173) and 5-1
    # (1 x 452), counted once although both ends are in A; the transformer is not a line.
    expected_mva = 3 * 452 + 2 * 2173 + 452
    for bus in ("1", "2", "5"):
        assert station_capacity_mw(G, bus) == pytest.approx(expected_mva / 2)
    assert station_capacity_mw(G, "1", power_factor=0.9) == pytest.approx(expected_mva / 2 * 0.9)
    assert station_capacity_mw(G, "3") == pytest.approx(3 * 452 / 2)
    assert station_capacity_mw(G, "4") == pytest.approx(2 * 2173 / 2)


def test_station_capacity_unknown_bus():
    G = graph_from_pypsa_tables(*station_tables(), crs=CRS)
    with pytest.raises(PowerGridError, match="not in the power-grid graph"):
        station_capacity_mw(G, "77")


# --- connect_sites against brute force -----------------------------------------------------


def brute_force(G: nx.Graph, sites_xy: np.ndarray, min_kv: float, backbone_kv: float) -> list:
    """Independent answers: loops over buses with math.hypot, Dijkstra per site."""
    backbone = [n for n, d in G.nodes(data=True) if d["voltage_kv"] >= backbone_kv]
    answers = []
    for x, y in sites_xy:
        best, best_m = None, math.inf
        for n, d in G.nodes(data=True):
            if d["voltage_kv"] >= min_kv and not d["dc"]:
                dist = math.hypot(d["x_m"] - x, d["y_m"] - y)
                if dist < best_m:
                    best, best_m = n, dist
        path_km = math.inf
        for b in backbone:
            with contextlib.suppress(nx.NetworkXNoPath):
                path_km = min(path_km, nx.dijkstra_path_length(G, best, b, weight="length_km"))
        station = G.nodes[best]["station_id"]
        line_mva = sum(
            d["rating_mva"]
            for u, v, d in G.edges(data=True)
            if d["kind"] == "line"
            and station in (G.nodes[u]["station_id"], G.nodes[v]["station_id"])
        )
        answers.append(
            (best, best_m / 1000, path_km if math.isfinite(path_km) else math.nan, line_mva / 2)
        )
    return answers


def assert_matches_brute_force(result, G, sites_xy, min_kv, backbone_kv):
    expected = brute_force(G, sites_xy, min_kv, backbone_kv)
    assert list(result.columns) == list(CONNECTION_COLUMNS)
    assert len(result) == len(sites_xy)
    for row, (bus, km, path_km, cap_mw) in zip(result.itertuples(), expected, strict=True):
        assert row.substation_id == bus
        assert row.substation_kv == G.nodes[bus]["voltage_kv"]
        assert row.interconnect_km == pytest.approx(km, rel=1e-9, abs=1e-9)
        if math.isnan(path_km):
            assert math.isnan(row.backbone_path_km)
        else:
            assert row.backbone_path_km == pytest.approx(path_km, rel=1e-9, abs=1e-9)
        assert row.capacity_mw == pytest.approx(cap_mw)


def synthetic_tables(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A random connected mainland of 40 stations, a 5-station island, and one DC bus."""
    rng = np.random.default_rng(seed)
    n_main, n_island = 40, 5
    lon = np.concatenate([rng.uniform(126.5, 129.0, n_main), rng.uniform(126.2, 126.8, n_island)])
    lat = np.concatenate([rng.uniform(35.5, 37.5, n_main), rng.uniform(33.2, 33.5, n_island)])
    kv = rng.choice([154_000, 345_000, 765_000], size=n_main + n_island, p=[0.6, 0.3, 0.1])
    kv[:3] = 765_000  # the mainland has a backbone; the island has none
    kv[n_main:] = rng.choice([154_000, 345_000], size=n_island)
    buses = pd.DataFrame(
        {
            "bus_id": np.arange(n_main + n_island),
            "station_id": np.arange(n_main + n_island),
            "voltage": kv,
            "lon": lon,
            "lat": lat,
            "dc": False,
        }
    )
    # a DC bus right beside bus 5: never chosen as a connection
    dc_bus = pd.DataFrame(
        {"bus_id": [99], "station_id": [5], "voltage": [765_000], "lon": [lon[5] + 1e-4],
         "lat": [lat[5]], "dc": [True]}
    )  # fmt: skip
    buses = pd.concat([buses, dc_bus], ignore_index=True)

    edges = [(i, int(rng.integers(0, i))) for i in range(1, n_main)]  # a random tree
    edges += [tuple(int(v) for v in rng.choice(n_main, 2, replace=False)) for _ in range(20)]
    edges += [(n_main + i, n_main + int(rng.integers(0, i))) for i in range(1, n_island)]
    x, y = TO_XY.transform(lon, lat)
    rows = []
    for k, (a, b) in enumerate(edges):
        straight_m = math.hypot(x[a] - x[b], y[a] - y[b])
        rows.append(
            {
                "line_id": f"l{k}",
                "bus0": a,
                "bus1": b,
                "voltage": int(min(kv[a], kv[b])),
                "circuits": float(rng.choice([3, 6, 12])),
                "length": straight_m * rng.uniform(1.0, 1.5),
            }
        )
    rows.append({"line_id": "dc", "bus0": 99, "bus1": 7, "voltage": 250_000, "circuits": 1.0,
                 "length": 1000.0})  # fmt: skip
    transformers = pd.DataFrame(columns=["line_id", "bus0", "bus1"])
    return buses, pd.DataFrame(rows), transformers


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("min_kv", [154.0, 345.0])
def test_connect_sites_synthetic_matches_brute_force(seed, min_kv):
    G = graph_from_pypsa_tables(*synthetic_tables(seed), crs=CRS)
    rng = np.random.default_rng(100 + seed)
    site_lon = rng.uniform(126.0, 129.5, 60)
    site_lat = rng.uniform(33.0, 38.0, 60)
    sites = np.column_stack(TO_XY.transform(site_lon, site_lat))
    # a site on bus 0 (backbone) and one on bus 5 beside the DC bus
    on_bus = [[G.nodes[n]["x_m"], G.nodes[n]["y_m"]] for n in ("0", "5")]
    sites = np.vstack([sites, on_bus])
    result = connect_sites(G, sites, min_kv=min_kv, backbone_kv=765.0)
    assert_matches_brute_force(result, G, sites, min_kv, 765.0)
    assert result.loc[60, "substation_id"] == "0"
    assert result.loc[60, "interconnect_km"] == 0.0
    assert result.loc[60, "backbone_path_km"] == 0.0
    assert "99" not in set(result["substation_id"])
    # some sites sit near the island, which has no backbone
    assert result["backbone_path_km"].isna().any()


def test_connect_sites_power_factor_scales_capacity():
    G = graph_from_pypsa_tables(*synthetic_tables(0), crs=CRS)
    sites = np.array([[G.nodes["3"]["x_m"], G.nodes["3"]["y_m"]]])
    full = connect_sites(G, sites, min_kv=154.0)
    scaled = connect_sites(G, sites, min_kv=154.0, power_factor=0.9)
    assert scaled.loc[0, "capacity_mw"] == pytest.approx(0.9 * full.loc[0, "capacity_mw"])


def test_connect_sites_no_qualifying_bus():
    G = graph_from_pypsa_tables(*station_tables(), crs=CRS)
    with pytest.raises(PowerGridError, match="at least 500 kV"):
        connect_sites(G, np.zeros((1, 2)), min_kv=500.0)


@pytest.mark.parametrize("bad", [np.zeros(2), np.zeros((3, 3)), np.array([[0.0, np.nan]])])
def test_connect_sites_rejects_bad_sites(bad):
    G = graph_from_pypsa_tables(*station_tables(), crs=CRS)
    with pytest.raises(PowerGridError, match=r"\(n, 2\)"):
        connect_sites(G, bad, min_kv=154.0)


def test_connect_sites_empty():
    G = graph_from_pypsa_tables(*station_tables(), crs=CRS)
    result = connect_sites(G, np.empty((0, 2)), min_kv=154.0)
    assert list(result.columns) == list(CONNECTION_COLUMNS)
    assert len(result) == 0


def test_connect_sites_korea_matches_brute_force():
    if not KOREA_GRID.is_dir():
        pytest.skip(f"shared data not found at {KOREA_GRID}")
    tables = [
        pd.read_csv(KOREA_GRID / f"all_{name}_build_network.csv")
        for name in ("buses", "lines", "transformers", "converters")
    ]
    G = graph_from_pypsa_tables(*tables, crs=CRS)
    rng = np.random.default_rng(7)
    site_lon = rng.uniform(126.0, 129.6, 40)
    site_lat = rng.uniform(33.1, 38.6, 40)  # Jeju to the DMZ
    sites = np.column_stack(TO_XY.transform(site_lon, site_lat))
    result = connect_sites(G, sites, min_kv=345.0, backbone_kv=765.0)
    assert_matches_brute_force(result, G, sites, 345.0, 765.0)
    assert (result["substation_kv"] >= 345.0).all()
