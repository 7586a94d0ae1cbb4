from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from gridsite.powergrid.redundancy import independent_feeds


def _min_station_cut(G: nx.Graph, bus: str, backbone_kv: float) -> int:
    """Menger by brute force: fewest other stations whose loss cuts the bus off the backbone."""
    own = G.nodes[bus]["station_id"]
    others = sorted({d["station_id"] for _, d in G.nodes(data=True)} - {own})
    backbone = {d["station_id"] for _, d in G.nodes(data=True) if d["voltage_kv"] >= backbone_kv}

    def reaches(removed: set[object]) -> bool:
        keep = [n for n, d in G.nodes(data=True) if d["station_id"] not in removed]
        H = G.subgraph(keep)
        comp = nx.node_connected_component(H, bus)
        return any(H.nodes[n]["station_id"] in backbone - {own} for n in comp)

    for size in range(len(others) + 1):
        for cut in itertools.combinations(others, size):
            if not reaches(set(cut)):
                return size
    return len(others)


@pytest.mark.parametrize("seed", range(12))
def test_independent_feeds_equals_brute_force_menger(seed: int) -> None:
    rng = np.random.default_rng(seed)
    G = nx.gnp_random_graph(9, 0.3, seed=seed)
    G = nx.relabel_nodes(G, {n: str(n) for n in G})
    for n in G:
        G.nodes[n]["station_id"] = int(n) // 2 if int(n) < 4 else int(n)  # two 2-bus stations
        G.nodes[n]["voltage_kv"] = float(rng.choice([154.0, 154.0, 345.0]))
    G.add_edges_from([("0", "1"), ("2", "3")])  # transformers inside the two-bus stations
    buses = [n for n in G if G.degree(n) > 0]
    got = independent_feeds(G, buses, backbone_kv=345.0)
    for b in buses:
        assert got[b] == _min_station_cut(G, b, 345.0), (seed, b)


def test_isolated_bus_has_no_feed() -> None:
    G = nx.Graph()
    G.add_node("a", station_id=1, voltage_kv=154.0)
    G.add_node("b", station_id=2, voltage_kv=345.0)
    assert independent_feeds(G, ["a"]).tolist() == [0]
