# G is networkx's conventional name for a graph; H and L are the textbook matrix names.
"""DC power flow, PTDF and LODF against pandapower (fixtures and live runs) and brute force."""

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
    dc_bus_results,
    dc_power_flow,
    dcflow,
    graph_from_pandapower,
    islanding_outages,
    lodf,
    overloads,
    ptdf,
)

with warnings.catch_warnings():
    # pandapower may warn that numba is missing; it only makes pandapower slower.
    warnings.filterwarnings("ignore", message=".*numba.*")
    import pandapower as pp
    import pandapower.networks as pn
    from pandapower.pypower.makeLODF import makeLODF
    from pandapower.pypower.makePTDF import makePTDF

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "pandapower"
SLACK_BUS = {"case9": 0, "case14": 0, "case30": 0, "case118": 68}
CASES = list(SLACK_BUS)


def _rundcpp(net: pp.pandapowerNet) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*numba.*")
        # pandapower's own shipped cases lack a pandapower-3 column; it warns on every run.
        warnings.filterwarnings(
            "ignore", message="tap_dependency_table is missing", category=DeprecationWarning
        )
        pp.rundcpp(net, numba=False)


def _oriented(index: pd.Index, f: object, t: object) -> tuple[tuple[str, str], float]:
    """The graph edge of pandapower branch f -> t and the sign that turns ours into f -> t."""
    if (str(f), str(t)) in index:
        return (str(f), str(t)), 1.0
    assert (str(t), str(f)) in index, f"no edge between {f} and {t}"
    return (str(t), str(f)), -1.0


def _line_groups(lines: pd.DataFrame) -> dict[frozenset[str], list[int]]:
    """pandapower lines grouped by bus pair (parallel lines become one graph edge)."""
    groups: dict[frozenset[str], list[int]] = {}
    for i, row in lines.iterrows():
        key = frozenset((str(int(row["from_bus"])), str(int(row["to_bus"]))))
        groups.setdefault(key, []).append(int(i))  # type: ignore[call-overload]
    return groups


def _outage(G: nx.Graph, u: str, v: str) -> nx.Graph:
    """The graph with one circuit of edge u-v switched out (brute force)."""
    K = copy.deepcopy(G)
    d = K.edges[u, v]
    if d["circuits"] > 1:
        d["rating_mva"] *= (d["circuits"] - 1) / d["circuits"]
        d["circuits"] -= 1
    else:
        K.remove_edge(u, v)
    return K


def _triangle(**x_pu: float) -> nx.Graph:
    """Hand-worked 3-bus ring A-B-C; equal reactances unless given."""
    G = nx.Graph(base_mva=100.0)
    G.add_node("A", pmax_mw=1.0)
    G.add_node("B", pmax_mw=3.0)
    G.add_node("C", load_mw=4.0)
    for u, v in (("A", "B"), ("A", "C"), ("B", "C")):
        G.add_edge(u, v, kind="line", circuits=1, x_pu=x_pu.get(u + v, 0.1), rating_mva=100.0)
    return G


# --- PTDF and flows against pandapower --------------------------------------------------


@pytest.mark.parametrize("dense_max", [2000, 0], ids=["cholesky", "superlu"])
@pytest.mark.parametrize("case", CASES)
def test_ptdf_equals_pandapower_makeptdf(
    case: str, dense_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both factorisations (dense Cholesky for small grids, sparse LU for large) must agree.
    monkeypatch.setattr(dcflow, "DENSE_MAX_BUSES", dense_max)
    net = getattr(pn, case)()
    P = ptdf(graph_from_pandapower(net))
    ref = pd.read_csv(REFERENCE / f"{case}_ptdf_slack_bus{SLACK_BUS[case]}.csv", index_col=0)
    assert list(P.columns) == [c.removeprefix("bus_") for c in ref.columns]
    for lines in _line_groups(net.line).values():
        f, t = net.line.loc[lines[0], ["from_bus", "to_bus"]]
        edge, sign = _oriented(P.index, f, t)
        # Parallel lines (case118) are one edge, whose PTDF row is the sum of theirs.
        expected = sum(ref.loc[f"line_{i}"].to_numpy() for i in lines)
        assert np.allclose(sign * P.loc[edge].to_numpy(), expected, rtol=0, atol=1e-6), lines


@pytest.mark.parametrize("case", CASES)
def test_dc_line_flows_equal_pandapower_rundcpp_fixture(case: str) -> None:
    net = getattr(pn, case)()
    flows = dc_power_flow(graph_from_pandapower(net))
    ref = pd.read_csv(REFERENCE / f"{case}_dc_line_flows.csv", index_col=0)
    for lines in _line_groups(net.line).values():
        edge, sign = _oriented(flows.index, *net.line.loc[lines[0], ["from_bus", "to_bus"]])
        # The fixture has 6 decimals: allow 1e-6 MW of rounding per line summed.
        expected = ref.loc[lines, "p_from_mw"].sum()
        assert sign * flows.loc[edge, "flow_mw"] == pytest.approx(expected, abs=1e-6 * len(lines))


@pytest.mark.parametrize("case", ["case14", "case118"])
def test_transformer_reactance_is_the_solved_ppc_branch(case: str) -> None:
    # makeBdc uses b = 1 / (x * tap ratio); the fixture is the ppc branch table pandapower solved.
    net = getattr(pn, case)()
    G = graph_from_pandapower(net)
    branch = pd.read_csv(REFERENCE / f"{case}_ppc_branch.csv", index_col=0)
    trafo_rows = branch.iloc[len(net.line) :]
    assert len(trafo_rows) == len(net.trafo)
    assert (trafo_rows["ratio"] != 1.0).any()  # the case does exercise off-nominal taps
    for (_, row), (_, ref) in zip(net.trafo.iterrows(), trafo_rows.iterrows(), strict=True):
        edge = G.edges[str(row["hv_bus"]), str(row["lv_bus"])]
        assert edge["kind"] == "transformer"
        assert edge["x_pu"] == pytest.approx(ref["x_pu"] * ref["ratio"], rel=1e-7)


@pytest.mark.parametrize("case", ["case9", "case118"])
def test_bus_angles_equal_pandapower_fixture(case: str) -> None:
    net = getattr(pn, case)()
    buses = dc_bus_results(graph_from_pandapower(net))
    ref = pd.read_csv(REFERENCE / f"{case}_dc_bus_results.csv", index_col=0)
    # Our reference angle is 0; pandapower's is the ext_grid's va_degree (30 in case118).
    va_ref = ref["va_degree"] - float(net.ext_grid["va_degree"].iloc[0])
    assert net.ext_grid["va_degree"].iloc[0] != 0 or case == "case9"
    assert np.allclose(buses["va_deg"].to_numpy(), va_ref.to_numpy(), atol=2e-6)
    # pandapower's res_bus.p_mw is consumption-positive.
    assert np.allclose(buses["p_mw"].to_numpy(), -ref["p_mw"].to_numpy(), atol=2e-6)


def test_dc_flows_equal_a_live_rundcpp_with_taps_outages_and_unequal_parallel_lines() -> None:
    net = pn.case118()
    rng = np.random.default_rng(7)
    net.load["p_mw"] *= rng.uniform(0.7, 1.3, len(net.load))
    net.line.loc[10, "in_service"] = False
    net.trafo.loc[0, "tap_pos"] = 2.0  # off-nominal tap, high side
    net.trafo.loc[3, ["tap_side", "tap_pos"]] = ["lv", 3.0]  # and on the low side
    # A second, different line beside line 20: combined as parallel reactance.
    pp.create_line_from_parameters(
        net,
        from_bus=int(net.line.at[20, "from_bus"]),
        to_bus=int(net.line.at[20, "to_bus"]),
        length_km=1.0,
        r_ohm_per_km=1.0,
        x_ohm_per_km=float(net.line.at[20, "x_ohm_per_km"]) * 2.5,
        c_nf_per_km=0.0,
        max_i_ka=1.0,
    )
    G = graph_from_pandapower(net)
    _rundcpp(net)
    flows = dc_power_flow(G)
    live = net.line[net.line["in_service"]]
    for lines in _line_groups(live).values():
        edge, sign = _oriented(flows.index, *net.line.loc[lines[0], ["from_bus", "to_bus"]])
        expected = net.res_line.loc[lines, "p_from_mw"].sum()
        assert sign * flows.loc[edge, "flow_mw"] == pytest.approx(expected, abs=1e-6)
    for i, row in net.trafo.iterrows():
        edge, sign = _oriented(flows.index, row["hv_bus"], row["lv_bus"])
        assert sign * flows.loc[edge, "flow_mw"] == pytest.approx(
            net.res_trafo.at[i, "p_hv_mw"], abs=1e-6
        )


# --- single and distributed slack ---------------------------------------------------------


def test_hand_worked_triangle_single_and_distributed_slack() -> None:
    G = _triangle()
    # Single slack at A (largest pmax is B; force A): 4 MW from A to C splits 2/3 direct.
    single = dc_power_flow(G, slack_bus="A")["flow_mw"]
    assert single.to_dict() == pytest.approx(
        {("A", "B"): 4 / 3, ("A", "C"): 8 / 3, ("B", "C"): 4 / 3}, abs=1e-12
    )
    # Distributed by pmax 1:3: A supplies 1 MW, B 3 MW (superposition worked by hand).
    dist = dc_power_flow(G, slack="distributed")["flow_mw"]
    assert dist.to_dict() == pytest.approx(
        {("A", "B"): -2 / 3, ("A", "C"): 5 / 3, ("B", "C"): 7 / 3}, abs=1e-12
    )
    P = ptdf(G, slack="distributed")
    # 1 MW injected at C is withdrawn 1/4 at A and 3/4 at B.
    assert P["C"].to_dict() == pytest.approx(
        {("A", "B"): 1 / 3 * 0.75 - 1 / 3 * 0.25, ("A", "C"): -5 / 12, ("B", "C"): -7 / 12},
        abs=1e-12,
    )


def test_distributed_ptdf_does_not_depend_on_the_reference_bus() -> None:
    G = graph_from_pandapower(pn.case30())
    base = ptdf(G, slack="distributed")
    for ref in ("5", "17", "29"):
        other = ptdf(G, slack="distributed", slack_bus=ref)
        assert np.allclose(other.to_numpy(), base.to_numpy(), rtol=0, atol=1e-10)
    # And the single-slack PTDF does (a reference bus column is zero).
    assert not np.allclose(ptdf(G, slack_bus="5").to_numpy(), ptdf(G).to_numpy())


def test_distributed_slack_flows_equal_rundcpp_with_the_shares_dispatched() -> None:
    net = pn.case30()
    G = graph_from_pandapower(net)
    pmax = pd.Series({b: d["pmax_mw"] for b, d in G.nodes(data=True)})
    shares = pmax / pmax.sum()
    imbalance = net.load["p_mw"].sum() - net.gen["p_mw"].sum()
    # Give every generator (and the ext_grid bus, via an sgen) its share of the imbalance, so
    # pandapower's ext_grid has nothing left to balance.
    for b, share in shares[shares > 0].items():
        pp.create_sgen(net, bus=int(b), p_mw=float(share * imbalance))
    _rundcpp(net)
    assert abs(net.res_ext_grid["p_mw"].sum()) < 1e-9
    flows = dc_power_flow(G, slack="distributed")
    for i, row in net.line.iterrows():
        edge, sign = _oriented(flows.index, row["from_bus"], row["to_bus"])
        assert sign * flows.loc[edge, "flow_mw"] == pytest.approx(
            net.res_line.at[i, "p_from_mw"], abs=1e-6
        )


# --- LODF -------------------------------------------------------------------------------------


def _case30_with_a_double_circuit() -> nx.Graph:
    G = graph_from_pandapower(pn.case30())
    G.edges["5", "7"]["circuits"] = 2  # same x per circuit: the edge now has half the reactance
    G.edges["5", "7"]["rating_mva"] *= 2
    return G


@pytest.mark.parametrize(
    "make_graph",
    [lambda: graph_from_pandapower(pn.case30()), _case30_with_a_double_circuit],
    ids=["case30", "case30-double-circuit"],
)
def test_lodf_equals_brute_force_outages(make_graph: object) -> None:
    G = make_graph()  # type: ignore[operator]
    L = lodf(G)
    F = dc_power_flow(G)["flow_mw"]
    islanding = set(islanding_outages(G))
    checked = 0
    for k in L.columns:
        if k in islanding:
            assert L[k].isna().all()
            continue
        after = dc_power_flow(_outage(G, *k))["flow_mw"]
        predicted = F + L[k] * F[k]
        common = after.index  # the outaged single-circuit edge is gone from `after`
        assert np.allclose(predicted[common].to_numpy(), after.to_numpy(), rtol=0, atol=1e-8), k
        if k not in after.index:
            assert predicted[k] == pytest.approx(0.0, abs=1e-9)
        checked += 1
    assert checked == len(L) - len(islanding) > 30


def test_lodf_equals_pandapower_makelodf_for_non_islanding_outages() -> None:
    net = pn.case30()
    _rundcpp(net)
    ppc = net._ppc
    H = makePTDF(ppc["baseMVA"], ppc["bus"], ppc["branch"], 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.asarray(makeLODF(ppc["branch"], H))
    L = lodf(graph_from_pandapower(net))
    islanding = set(islanding_outages(graph_from_pandapower(net)))
    edges = [_oriented(L.index, f, t) for f, t in net.line[["from_bus", "to_bus"]].to_numpy()]
    for k, (ek, sk) in enumerate(edges):
        if ek in islanding:
            continue
        for li, (el, sl) in enumerate(edges):
            assert sl * sk * L.at[el, ek] == pytest.approx(ref[li, k], abs=1e-9)


def test_islanding_outages_are_exactly_the_single_circuit_cuts() -> None:
    G = _case30_with_a_double_circuit()
    G.add_edge("28", "40", kind="line", circuits=2, x_pu=0.1, rating_mva=10.0)  # radial double
    G.add_node("40")
    G.add_node("41")
    G.add_edge("41", "42", kind="converter")  # HVDC: not part of the AC model
    G.add_edge("40", "41", kind="converter")
    reported = set(islanding_outages(G))
    ac = nx.Graph((u, v) for u, v, d in G.edges(data=True) if d["kind"] != "converter")
    n_parts = nx.number_connected_components(ac)
    for u, v, d in G.edges(data=True):
        if d["kind"] == "converter":
            assert (u, v) not in reported
            continue
        cut = ac.copy()
        if d["circuits"] == 1:
            cut.remove_edge(u, v)
        assert ((u, v) in reported) == (nx.number_connected_components(cut) > n_parts), (u, v)
    assert len(reported) >= 2


# --- the model's rules --------------------------------------------------------------------------


def test_converters_are_dropped_and_missing_reactance_is_named() -> None:
    G = _triangle()
    G.add_node("D")
    G.add_edge("C", "D", kind="converter")  # no x_pu: fine, HVDC is not in the AC model
    flows = dc_power_flow(G, slack_bus="A")
    assert ("C", "D") not in flows.index
    assert len(flows) == 3
    G.add_edge("A", "D", kind="line", circuits=1, rating_mva=50.0)
    with pytest.raises(PowerGridError, match=r"line A-D: x_pu=None"):
        dc_power_flow(G, slack_bus="A")
    G.edges["A", "D"]["x_pu"] = 0.1
    G.edges["A", "D"]["circuits"] = 0
    with pytest.raises(PowerGridError, match=r"line A-D: circuits=0"):
        ptdf(G, slack_bus="A")


def test_out_of_service_edges_are_not_in_the_model() -> None:
    G = _triangle()
    G.edges["A", "C"]["in_service"] = False
    flows = dc_power_flow(G, slack_bus="A")["flow_mw"]
    assert flows.to_dict() == pytest.approx({("A", "B"): 4.0, ("B", "C"): 4.0})


def test_slack_choice() -> None:
    G = _triangle()
    # Largest pmax_mw (B) by default: the slack column of the PTDF is zero.
    assert (ptdf(G)["B"] == 0).all()
    G.nodes["C"]["slack"] = True
    assert (ptdf(G)["C"] == 0).all()
    G.nodes["A"]["slack"] = True
    with pytest.raises(PowerGridError, match="2 buses have slack=True"):
        ptdf(G)
    with pytest.raises(PowerGridError, match="not a bus"):
        ptdf(G, slack_bus="Z")
    bare = nx.Graph([("a", "b")], base_mva=100.0)
    bare.edges["a", "b"].update(kind="line", circuits=1, x_pu=0.1, rating_mva=1.0)
    with pytest.raises(PowerGridError, match="no slack bus"):
        ptdf(bare)
    with pytest.raises(PowerGridError, match="distributed slack needs pmax_mw"):
        ptdf(bare, slack="distributed", slack_bus="a")


def test_buses_off_the_slacks_component_get_nan_and_the_rest_is_unchanged() -> None:
    G = _triangle()
    G.add_node("X", load_mw=5.0)
    G.add_node("Y", gen_mw=5.0)
    G.add_edge("X", "Y", kind="line", circuits=1, x_pu=0.2, rating_mva=10.0)
    flows = dc_power_flow(G, slack_bus="A")
    assert math.isnan(flows.loc[("X", "Y"), "flow_mw"])
    alone = dc_power_flow(_triangle(), slack_bus="A")
    assert np.allclose(flows["flow_mw"].loc[alone.index], alone["flow_mw"])
    P = ptdf(G, slack_bus="A")
    assert P[["X", "Y"]].isna().all().all()
    assert P.loc[("X", "Y")].isna().all()
    assert dc_bus_results(G, slack_bus="A")["connected"].to_dict() == {
        "A": True,
        "B": True,
        "C": True,
        "X": False,
        "Y": False,
    }


def test_overloads_reports_base_case_overloads_and_not_unrated_branches() -> None:
    G = _triangle()
    G.edges["A", "C"]["rating_mva"] = 2.0  # carries 8/3 MW
    G.edges["A", "B"]["rating_mva"] = math.nan  # unconstrained
    flows = dc_power_flow(G, slack_bus="A")
    over = overloads(flows)
    assert list(over.index) == [("A", "C")]
    assert over.loc[("A", "C"), "loading"] == pytest.approx(4 / 3)
    assert math.isnan(flows.loc[("A", "B"), "loading"])


def test_parallel_identical_lines_add_circuits_and_unequal_ones_combine() -> None:
    net = pp.create_empty_network(sn_mva=100.0)
    b = [pp.create_bus(net, vn_kv=110.0) for _ in range(3)]
    pp.create_ext_grid(net, b[0])
    for _ in range(2):  # two identical lines 0-1
        pp.create_line_from_parameters(net, b[0], b[1], 10.0, 0.1, 0.4, 0.0, 0.5)
    pp.create_line_from_parameters(net, b[1], b[2], 10.0, 0.1, 0.4, 0.0, 0.5, parallel=2)
    pp.create_line_from_parameters(net, b[1], b[2], 5.0, 0.1, 0.4, 0.0, 0.3)  # different
    pp.create_load(net, b[2], p_mw=60.0)
    G = graph_from_pandapower(net)
    zbase = 110.0**2 / 100.0
    e01, e12 = G.edges["0", "1"], G.edges["1", "2"]
    assert e01["circuits"] == 2
    assert e01["x_pu"] == pytest.approx(4.0 / zbase)
    assert e01["rating_mva"] == pytest.approx(2 * 0.5 * math.sqrt(3) * 110.0)
    assert e12["circuits"] == 1
    b_double, b_single = 2 / (4.0 / zbase), 1 / (2.0 / zbase)
    assert e12["x_pu"] == pytest.approx(1 / (b_double + b_single))
    # The single line takes half of the flow and reaches its 0.3 kA first.
    assert e12["rating_mva"] == pytest.approx(2 * 0.3 * math.sqrt(3) * 110.0)
    _rundcpp(net)
    flows = dc_power_flow(G)
    assert flows.loc[("1", "2"), "flow_mw"] == pytest.approx(net.res_line["p_from_mw"][2:].sum())


def test_unsupported_pandapower_elements_are_reported() -> None:
    net = pn.case9()
    pp.create_impedance(net, 3, 4, rft_pu=0.01, xft_pu=0.02, sn_mva=100.0)
    pp.create_switch(net, 3, 4, et="b", closed=True)
    with pytest.raises(PowerGridError, match=r"impedance(.|\n)*bus-bus switch"):
        graph_from_pandapower(net)
