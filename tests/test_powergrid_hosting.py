# G is networkx's conventional name for a graph.
"""Hosting capacity against pandapower bisection, brute-force N-1 and hand-worked cases."""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from gridsite.errors import PowerGridError
from gridsite.powergrid import (
    HOSTING_COLUMNS,
    dc_power_flow,
    graph_from_pandapower,
    hosting_capacity,
    maxflow_capacity_mw,
    rev_capacity_mw,
)

with warnings.catch_warnings():
    # pandapower may warn that numba is missing; it only makes pandapower slower.
    warnings.filterwarnings("ignore", message=".*numba.*")
    import pandapower as pp
    import pandapower.networks as pn

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "pandapower"
SQRT3 = math.sqrt(3.0)
# pandapower's bisection stops within 1e-4 MW below the limit.
FIXTURE_TOL_MW = 1e-3


def _rundcpp(net: pp.pandapowerNet) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*numba.*")
        pp.rundcpp(net, numba=False)


def _meshed_net() -> pp.pandapowerNet:
    """Six 110 kV buses: a meshed core with a double circuit 0-2, a radial double circuit 2-5
    and a radial single circuit 3-4 (the one islanding outage)."""
    net = pp.create_empty_network(sn_mva=100.0)
    b = [pp.create_bus(net, vn_kv=110.0) for _ in range(6)]
    pp.create_ext_grid(net, b[0], max_p_mw=500.0)
    pp.create_gen(net, b[1], p_mw=80.0, max_p_mw=150.0)
    for bus, p_mw in ((2, 60.0), (3, 70.0), (4, 20.0), (5, 30.0)):
        pp.create_load(net, b[bus], p_mw=p_mw)
    for f, t, x_ohm, max_i_ka, parallel in (
        (0, 1, 10.0, 0.50, 1),
        (0, 2, 12.0, 0.40, 2),
        (1, 2, 8.0, 0.45, 1),
        (1, 3, 15.0, 0.50, 1),
        (2, 3, 9.0, 0.35, 1),
        (3, 4, 5.0, 0.30, 1),
        (2, 5, 6.0, 0.25, 2),
    ):
        pp.create_line_from_parameters(
            net, b[f], b[t], 1.0, 0.1 * x_ohm, x_ohm, 0.0, max_i_ka, parallel=parallel
        )
    return net


def _without_one_circuit(G: nx.Graph, u: str, v: str) -> nx.Graph:
    K = copy.deepcopy(G)
    d = K.edges[u, v]
    if d["circuits"] > 1:
        d["rating_mva"] *= (d["circuits"] - 1) / d["circuits"]
        d["circuits"] -= 1
    else:
        K.remove_edge(u, v)
    return K


def _islands(G: nx.Graph) -> dict[tuple[str, str], set[str]]:
    """For each islanding outage, the side with fewer buses (found by removing the edge)."""
    out = {}
    for u, v, d in G.edges(data=True):
        if d["circuits"] > 1:
            continue
        cut = G.copy()
        cut.remove_edge(u, v)
        if nx.is_connected(cut):
            continue
        side_u = nx.node_connected_component(cut, u)
        side_v = nx.node_connected_component(cut, v)
        out[(u, v)] = side_u if len(side_u) < len(side_v) else side_v
    return out


def _over(flows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(flows.index[flows["flow_mw"].abs() > flows["rating_mva"] * (1 + 1e-9) + 1e-9])


def _brute_force_n1(G: nx.Graph, bus: str, slack: str, cap_mw: float) -> float:
    """Bisection on the extra load, re-solving the DC flow for every outage (overloaded="exclude":
    constraints already violated before the new load are skipped)."""
    islands = _islands(G)
    if any(bus in side for side in islands.values()):
        return 0.0
    outages = [(u, v) for u, v in G.edges if (u, v) not in islands]
    cases = [G] + [_without_one_circuit(G, u, v) for u, v in outages]
    skip = [_over(dc_power_flow(K, slack=slack)) for K in cases]  # type: ignore[arg-type]

    def secure(x: float) -> bool:
        for K, excluded in zip(cases, skip, strict=True):
            L = copy.deepcopy(K)
            L.nodes[bus]["load_mw"] += x
            if _over(dc_power_flow(L, slack=slack)) - excluded - skip[0]:  # type: ignore[arg-type]
                return False
        return True

    if secure(cap_mw):
        return cap_mw
    lo, hi = 0.0, cap_mw
    while hi - lo > 1e-7:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if secure(mid) else (lo, mid)
    return lo


# --- N-0 against pandapower ---------------------------------------------------------------


@pytest.mark.parametrize("case", ["case9", "case30"])
def test_n0_hosting_capacity_equals_pandapower_bisection(case: str) -> None:
    G = graph_from_pandapower(getattr(pn, case)())
    ours = hosting_capacity(G, contingency="n-0", cap_mw=5000.0)
    ref = pd.read_csv(REFERENCE / f"{case}_dc_hosting_capacity.csv", index_col="bus")
    assert list(ours.index) == [str(b) for b in ref.index]
    assert np.allclose(
        ours["hosting_capacity_mw"].to_numpy(),
        ref["hosting_load_MW"].to_numpy(),
        rtol=0,
        atol=FIXTURE_TOL_MW,
    )
    assert list(ours.columns) == list(HOSTING_COLUMNS)
    assert ours["binding_outage"].isna().all()
    assert ours.loc["0", "binding_branch"] is None  # the slack: the cap binds


# --- N-1 against brute force ----------------------------------------------------------------


@pytest.mark.parametrize("slack", ["single", "distributed"])
def test_n1_hosting_capacity_equals_brute_force_outages(slack: str) -> None:
    G = graph_from_pandapower(_meshed_net())
    ours = hosting_capacity(G, slack=slack, cap_mw=1000.0)  # type: ignore[arg-type]
    # The case has a pre-existing post-outage overload, excluded on both sides.
    assert ours["n_overloaded_contingency"].iloc[0] >= 1
    for bus in G.nodes:
        expected = _brute_force_n1(G, bus, slack, 1000.0)
        assert ours.loc[bus, "hosting_capacity_mw"] == pytest.approx(expected, abs=1e-5), bus


def test_n1_hosting_capacity_is_bracketed_by_live_pandapower_runs() -> None:
    net = _meshed_net()
    G = graph_from_pandapower(net)
    ours = hosting_capacity(G, cap_mw=1000.0)
    islands = _islands(G)

    def overloaded(n: pp.pandapowerNet) -> set[int]:
        _rundcpp(n)
        vn = n.bus.loc[n.line["from_bus"], "vn_kv"].to_numpy()
        rating = n.line["max_i_ka"].to_numpy() * SQRT3 * vn * n.line["parallel"].to_numpy()
        over = np.abs(n.res_line["p_from_mw"].to_numpy()) > rating + 1e-9
        return {int(i) for i in n.line.index[over & n.line["in_service"].to_numpy()]}

    def variants(extra_bus: int, extra_mw: float) -> list[pp.pandapowerNet]:
        base = copy.deepcopy(net)
        if extra_mw:
            pp.create_load(base, extra_bus, p_mw=extra_mw)
        out = [base]
        for i, row in net.line.iterrows():
            if (str(row["from_bus"]), str(row["to_bus"])) in islands:
                continue
            n = copy.deepcopy(base)
            if row["parallel"] > 1:
                n.line.at[i, "parallel"] -= 1
            else:
                n.line.at[i, "in_service"] = False
            out.append(n)
        return out

    before = [overloaded(n) for n in variants(0, 0.0)]
    for bus, h in ours["hosting_capacity_mw"].items():
        if h == 0.0:
            assert ours.loc[bus, "islanded_by"] is not None
            continue
        below = [
            overloaded(n) - b - before[0]
            for n, b in zip(variants(int(bus), h - 1e-3), before, strict=True)
        ]
        above = [
            overloaded(n) - b - before[0]
            for n, b in zip(variants(int(bus), h + 1e-3), before, strict=True)
        ]
        assert not any(below), bus
        assert h == 1000.0 or any(above), bus


def test_islanding_outages_are_counted_and_their_island_has_no_n1_capacity() -> None:
    G = graph_from_pandapower(_meshed_net())
    n1 = hosting_capacity(G)
    n0 = hosting_capacity(G, contingency="n-0")
    assert (n1["n_islanding_outages"] == 1).all()  # 3-4; the double circuits 0-2, 2-5 are not
    assert n1.loc["4", "islanded_by"] == ("3", "4")
    assert n1.loc["4", "hosting_capacity_mw"] == 0.0
    assert n1.loc["4", "binding_outage"] == ("3", "4")
    assert n0.loc["4", "hosting_capacity_mw"] > 0.0
    assert n1.drop(index="4")["islanded_by"].isna().all()
    # Bus 5 hangs on a double circuit: N-1 leaves one circuit, a finite positive capacity.
    assert 0.0 < n1.loc["5", "hosting_capacity_mw"] < n0.loc["5", "hosting_capacity_mw"]


def test_a_radial_generator_is_the_island_not_the_rest_of_the_grid() -> None:
    # case9: each generator (the slack at bus 0 too) hangs on one single-circuit branch.
    n1 = hosting_capacity(graph_from_pandapower(pn.case9()), cap_mw=5000.0)
    assert n1.loc[["0", "1", "2"], "hosting_capacity_mw"].tolist() == [0.0, 0.0, 0.0]
    assert (n1.loc[["3", "4", "5", "6", "7", "8"], "hosting_capacity_mw"] > 0).all()
    assert (n1["n_islanding_outages"] == 3).all()


# --- overloaded base case: strict vs exclude (hand-worked) -------------------------------------


def _overloaded_triangle() -> nx.Graph:
    """A (slack, 90 MW load) - B - C (90 MW generation), x equal: C->A carries 60 MW on a 50 MVA
    line and 30 MW via B."""
    G = nx.Graph(base_mva=100.0)
    G.add_node("A", load_mw=90.0, slack=True)
    G.add_node("B")
    G.add_node("C", gen_mw=90.0)
    for u, v, rating in (("A", "B", 100.0), ("A", "C", 50.0), ("B", "C", 100.0)):
        G.add_edge(u, v, kind="line", circuits=1, x_pu=0.1, rating_mva=rating)
    return G


def test_strict_and_exclude_on_a_base_case_overload() -> None:
    G = _overloaded_triangle()
    strict = hosting_capacity(G, contingency="n-0", overloaded="strict")
    exclude = hosting_capacity(G, contingency="n-0", overloaded="exclude")
    # Load x at C draws 2x/3 over A->C (now -60 MW): it relieves it until +50 MW, x = 165;
    # A->B and B->C go from -30 MW by x/3 up to 100 MW, x = 390.
    assert strict.loc["C", "hosting_capacity_mw"] == pytest.approx(165.0)
    assert strict.loc["C", "binding_branch"] == ("A", "C")
    assert exclude.loc["C", "hosting_capacity_mw"] == pytest.approx(390.0)
    # Load x at B: A->B -30 + 2x/3 <= 100 gives 195 before A->C (-60 + x/3) gives 330.
    assert strict.loc["B", "hosting_capacity_mw"] == pytest.approx(195.0)
    assert exclude.loc["B", "hosting_capacity_mw"] == pytest.approx(195.0)
    assert (strict["n_overloaded_base"] == 1).all()
    assert (exclude["n_overloaded_base"] == 1).all()


def test_strict_binds_at_zero_when_the_load_adds_to_an_overload() -> None:
    # A (slack) feeds 90 MW of load at C: A->C carries 60 MW on a 50 MVA line.
    G = nx.Graph(base_mva=100.0)
    G.add_node("A", slack=True)
    G.add_node("B")
    G.add_node("C", load_mw=90.0)
    for u, v, rating in (("A", "B", 100.0), ("A", "C", 50.0), ("B", "C", 100.0)):
        G.add_edge(u, v, kind="line", circuits=1, x_pu=0.1, rating_mva=rating)
    strict = hosting_capacity(G, contingency="n-0", overloaded="strict")
    exclude = hosting_capacity(G, contingency="n-0", overloaded="exclude")
    assert strict.loc["C", "hosting_capacity_mw"] == 0.0
    assert strict.loc["C", "binding_branch"] == ("A", "C")
    # Excluding A-C: A->B and B->C carry 30 + x/3 <= 100.
    assert exclude.loc["C", "hosting_capacity_mw"] == pytest.approx(210.0)


# --- bounds -----------------------------------------------------------------------------------


def _four_bus_transport() -> nx.Graph:
    G = nx.Graph()
    G.add_node("A", pmax_mw=100.0)
    G.add_node("B", pmax_mw=50.0)
    G.add_node("C")
    G.add_node("D")
    for u, v, rating in (("A", "C", 80.0), ("B", "C", 100.0), ("C", "D", 100.0), ("A", "D", 30.0)):
        G.add_edge(u, v, kind="line", circuits=1, x_pu=0.1, rating_mva=rating)
    return G


def test_maxflow_capacity_hand_worked() -> None:
    G = _four_bus_transport()
    # D: the cut {C-D, A-D} = 100 + 30. C: all 150 MW (A-C 80, A-D-C 20, B 50).
    # A: its own 100 + B's 50 via C. B: its own 50 + A's 100 via A-C and A-D-C.
    assert maxflow_capacity_mw(G).to_dict() == pytest.approx(
        {"A": 150.0, "B": 150.0, "C": 150.0, "D": 130.0}, abs=2e-3
    )
    G.edges["C", "D"]["rating_mva"] = math.nan  # unconstrained
    G.add_node("E", pmax_mw=1000.0)
    G.add_edge("E", "D", kind="converter")  # HVDC is left out
    assert maxflow_capacity_mw(G, ["D"])["D"] == pytest.approx(150.0, abs=2e-3)


def test_maxflow_bounds_the_n0_hosting_capacity_on_case30() -> None:
    G = graph_from_pandapower(pn.case30())
    # hosting_capacity lets the slack supply without limit; give it the room in max-flow too.
    G.nodes["0"]["pmax_mw"] = 1e4
    n0 = hosting_capacity(G, contingency="n-0", cap_mw=5000.0)["hosting_capacity_mw"]
    bound = maxflow_capacity_mw(G)
    load = pd.Series({b: d["load_mw"] - d["gen_mw"] for b, d in G.nodes(data=True)})
    assert all(G.nodes[b]["gen_mw"] <= G.nodes[b]["pmax_mw"] for b in G.nodes)
    finite = n0 < 5000.0
    assert (bound[finite] - load[finite] >= n0[finite] - 1e-6).all()
    # It is a bound, not an estimate: strictly looser somewhere.
    assert (bound[finite] - load[finite] > n0[finite] + 1.0).any()


def test_rev_capacity_per_bus_and_per_station() -> None:
    G = _four_bus_transport()
    G.add_node("T")
    G.add_edge("D", "T", kind="transformer", circuits=1, x_pu=0.1, rating_mva=500.0)
    rev = rev_capacity_mw(G)
    assert rev["D"] == pytest.approx((100.0 + 30.0) / 2)  # the transformer does not count
    assert rev["C"] == pytest.approx((80.0 + 100.0 + 100.0) / 2)
    # With station ids, buses of one station share its lines (connect.station_capacity_mw).
    for n in G.nodes:
        G.nodes[n]["station_id"] = n
    G.nodes["T"]["station_id"] = "D"
    assert rev_capacity_mw(G, ["T"], power_factor=0.9)["T"] == pytest.approx(130.0 / 2 * 0.9)


# --- edge cases -------------------------------------------------------------------------------


def test_buses_off_the_slacks_component_are_nan_and_unknown_buses_raise() -> None:
    G = _four_bus_transport()
    G.add_node("X")
    G.add_node("Y")
    G.add_edge("X", "Y", kind="line", circuits=1, x_pu=0.1, rating_mva=10.0)
    h = hosting_capacity(G, slack_bus="A")
    assert math.isnan(h.loc["X", "hosting_capacity_mw"])
    assert not h.loc["X", "connected"]
    assert h.loc["A", "hosting_capacity_mw"] == 1e5  # the slack
    with pytest.raises(PowerGridError, match="not in the power-grid graph"):
        hosting_capacity(G, buses=["nope"])
    with pytest.raises(PowerGridError, match="contingency"):
        hosting_capacity(G, contingency="n-2")  # type: ignore[arg-type]


def test_buses_argument_selects_and_orders_rows() -> None:
    G = graph_from_pandapower(pn.case30())
    full = hosting_capacity(G)
    part = hosting_capacity(G, buses=["7", "3"])
    assert list(part.index) == ["7", "3"]
    pd.testing.assert_frame_equal(part, full.loc[["7", "3"]])


def test_maxflow_equals_networkx_maximum_flow_on_case30() -> None:
    G = graph_from_pandapower(pn.case30())
    got = maxflow_capacity_mw(G)
    D = nx.DiGraph()
    for u, v, d in G.edges(data=True):
        cap = d["rating_mva"] if math.isfinite(d["rating_mva"]) else 1e9
        for a, b in ((u, v), (v, u)):
            D.add_edge(a, b, capacity=D.get_edge_data(a, b, {"capacity": 0})["capacity"] + cap)
    for n, d in G.nodes(data=True):
        if d.get("pmax_mw", 0) > 0:
            D.add_edge("source", n, capacity=d["pmax_mw"])
    for bus in G.nodes:
        expected = nx.maximum_flow_value(D, "source", bus)
        # gridsite rounds capacities up to whole kW so its bound stays a bound
        assert expected - 1e-9 <= got[bus] <= expected + 1e-3 * D.number_of_edges(), bus
