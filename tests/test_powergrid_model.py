from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from gridsite.powergrid.model import (
    allocate_cluster_values,
    calibrate_reactance,
    dispatch_merit_order,
    load_buses,
    place_plants,
    set_reactance,
)

from .conftest import DATA

KPG = DATA / "korea" / "grid" / "kpg193"
RATINGS = ((154.0, 452.0), (345.0, 2173.0), (765.0, 7290.0))


def _graph() -> nx.Graph:
    G = nx.Graph()
    # station A: 154 and 345 kV; station B: 154 kV; station C: 765 kV
    G.add_node("a1", station_id="A", voltage_kv=154.0, x_m=0.0, y_m=0.0)
    G.add_node("a3", station_id="A", voltage_kv=345.0, x_m=0.0, y_m=0.0)
    G.add_node("b1", station_id="B", voltage_kv=154.0, x_m=10_000.0, y_m=0.0)
    G.add_node("c7", station_id="C", voltage_kv=765.0, x_m=0.0, y_m=50_000.0)
    G.add_edge("a1", "b1", kind="line", voltage_kv=154.0, length_km=10.0, circuits=2)
    G.add_edge("a1", "a3", kind="transformer", voltage_kv=154.0, length_km=0.0)
    G.add_edge("a3", "c7", kind="line", voltage_kv=354.0, length_km=50.0, circuits=1)
    return G


def test_calibration_on_kpg193_matches_a_hand_computation() -> None:
    branches = pd.read_csv(KPG / "kpg193_v2_0_branches.csv")
    got = calibrate_reactance(branches, rating_mva_per_circuit=RATINGS)
    # independent: branch 1-2 style arithmetic on every same-label 154 kV branch by loop
    vals = []
    for _, b in branches.iterrows():
        if b["fbus_kV"] == b["tbus_kV"] == 154.0 and b["straight_km"] >= 1.0:
            n = max(1.0, round(b["rateA"] / 452.0))
            vals.append(b["x"] * 154.0**2 / 100.0 / b["straight_km"] * n)
    assert got[154.0] == pytest.approx(float(np.median(vals)), abs=1e-6)
    assert set(got) == {154.0, 345.0, 765.0}
    # physically plausible per-circuit values (ohm/km) for overhead lines
    assert all(0.1 < v < 0.5 for v in got.values())


def test_set_reactance_per_unit() -> None:
    H = set_reactance(_graph(), {154.0: 0.4, 345.0: 0.3}, transformer_x_pu=0.02)
    assert H.edges["a1", "b1"]["x_pu"] == pytest.approx(0.4 * 10 / (154**2 / 100))
    # 354 kV takes the 345 kV class value but its own voltage for the base impedance
    assert H.edges["a3", "c7"]["x_pu"] == pytest.approx(0.3 * 50 / (354**2 / 100))
    assert H.edges["a1", "a3"]["x_pu"] == 0.02
    assert "x_pu" not in _graph().edges["a1", "b1"]  # the input is untouched


def test_load_buses_are_lowest_voltage_per_station() -> None:
    assert load_buses(_graph()) == ["a1", "b1", "c7"]


def test_allocation_conserves_totals_and_shares_equally() -> None:
    G = _graph()
    clusters = np.array([[1_000.0, 0.0], [0.0, 60_000.0], [500_000.0, 0.0]])
    vals = np.array([[100.0, 10.0], [50.0, 5.0], [7.0, 1.0]])
    got = allocate_cluster_values(G, ["a1", "b1", "c7"], clusters, vals)
    # a1 and b1 join cluster 0 (50/5 each), c7 joins cluster 1; cluster 2 has no bus: its value
    # goes to the bus nearest to it, b1
    assert got.loc["a1"].tolist() == [50.0, 5.0]
    assert got.loc["b1"].tolist() == [57.0, 6.0]
    assert got.loc["c7"].tolist() == [50.0, 5.0]
    assert got.to_numpy().sum(axis=0).tolist() == [157.0, 16.0]


def test_place_plants_by_size() -> None:
    G = _graph()
    xy = np.array([[9_000.0, 0.0], [9_000.0, 0.0], [0.0, 45_000.0]])
    assert place_plants(G, xy, np.array([100.0, 1000.0, 2000.0])) == ["b1", "a3", "c7"]


@pytest.mark.parametrize(
    ("demand", "expected", "short", "marginal"),
    [
        (500.0, [500.0, 0.0, 0.0], 0.0, "Nuclear"),
        (1000.0, [900.0, 100.0, 0.0], 0.0, "Coal"),
        (2000.0, [900.0, 425.0, 450.0], 225.0, "Gas"),
        (-50.0, [0.0, 0.0, 0.0], 0.0, ""),
    ],
)
def test_merit_order_dispatch(demand, expected, short, marginal) -> None:
    # available: nuclear 0.9 x 1000, coal 0.85 x 500, gas 0.9 x 500 (the default factors)
    d = dispatch_merit_order(np.array([1000.0, 500.0, 500.0]), ["Nuclear", "Coal", "Gas"], demand)
    assert d.gen_mw.tolist() == pytest.approx(expected)
    assert d.shortfall_mw == pytest.approx(short)
    assert d.marginal_fuel == marginal
