"""Redundancy of supply: independent paths from a substation to the transmission backbone.

Tier III/IV data centres want two independent supplies (docs/domain.md section 3). Here the number
of independent feeds of a connection substation is the number of node-disjoint paths in the power
grid from its station to the backbone: the buses at or above ``backbone_kv`` outside the station.
By Menger's theorem this is the local node connectivity between the station (contracted to one
node) and a super-sink joined to every backbone bus, computed with networkx.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import pandas as pd
from networkx.algorithms.connectivity import local_node_connectivity

__all__ = ["independent_feeds"]

_SINK = "__backbone__"


def independent_feeds(
    G: nx.Graph, buses: Iterable[str], *, backbone_kv: float = 345.0
) -> pd.Series:
    """Node-disjoint supply paths from each bus's station to the backbone.

    Parameters
    ----------
    G
        Power-grid graph (nodes with ``station_id`` and ``voltage_kv``). Converter (HVDC) links
        count as paths like any branch.
    buses
        Connection buses to evaluate.
    backbone_kv
        Buses at or above this voltage, in other stations, form the backbone.

    Returns
    -------
    pandas.Series
        Per bus, the number of independent feeds (0 when the station reaches no backbone bus).

    Examples
    --------
    >>> G = nx.Graph()
    >>> G.add_nodes_from([("s", {"station_id": 1, "voltage_kv": 154.0}),
    ...                   ("a", {"station_id": 2, "voltage_kv": 154.0}),
    ...                   ("b", {"station_id": 3, "voltage_kv": 154.0}),
    ...                   ("x", {"station_id": 4, "voltage_kv": 345.0})])
    >>> G.add_edges_from([("s", "a"), ("s", "b"), ("a", "x"), ("b", "x")])
    >>> independent_feeds(G, ["s"]).tolist()   # both paths need backbone station x
    [1]
    >>> G.add_node("y", station_id=5, voltage_kv=345.0)
    >>> G.remove_edge("b", "x"); G.add_edge("b", "y")
    >>> independent_feeds(G, ["s"]).tolist()   # s-a-x and s-b-y share no bus
    [2]
    """
    # A station fails as a whole, so paths are counted between stations.
    station = {n: ("station", d.get("station_id", n)) for n, d in G.nodes(data=True)}
    S = nx.Graph()
    for u, v in G.edges():
        if station[u] != station[v]:
            S.add_edge(station[u], station[v])
    backbone = {
        station[n] for n, d in G.nodes(data=True) if float(d.get("voltage_kv", 0.0)) >= backbone_kv
    }
    out: dict[str, int] = {}
    for bus in buses:
        own = station[bus]
        if own not in S:
            out[bus] = 0
            continue
        H = S.copy()
        H.add_edges_from((t, _SINK) for t in backbone if t != own and t in H)
        out[bus] = int(local_node_connectivity(H, own, _SINK)) if _SINK in H else 0
    return pd.Series(out, name="independent_feeds", dtype="int64")
