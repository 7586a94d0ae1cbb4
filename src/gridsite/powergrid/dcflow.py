"""DC power flow, PTDF and LODF on the power-grid graph.

The linearised ("DC") power flow of Wood, Wollenberg & Sheblé, *Power Generation, Operation and
Control* (3rd ed., 2014), sections 6.2 and 7.3: losses and reactive power are neglected, voltages
are 1 p.u., and the active flow on a branch of series reactance ``x`` is
``(theta_u - theta_v) / x``.
The power transfer distribution factors (PTDF) give the change of every branch flow per MW
injected at a bus and withdrawn at the slack; the line outage distribution factors (LODF) give the
change of every branch flow per MW that flowed on a branch before it was switched out. The
conventions follow MATPOWER/pandapower ``makePTDF``/``makeLODF`` (Zimmerman et al.), so those can
serve as test oracles.

Electrical attributes read from the graph
-----------------------------------------
``G.graph["base_mva"]`` (default 100). Nodes: ``load_mw``, ``gen_mw``, ``pmax_mw`` (MW; missing
or NaN = 0) and ``slack`` (default False). Edges: ``x_pu``, the series reactance of **one
circuit** in p.u. on ``base_mva``; ``circuits`` (int >= 1, identical parallel circuits);
``rating_mva`` of the whole edge (NaN or inf = unconstrained); ``in_service`` (default True);
``kind``. Note that :func:`gridsite.powergrid.graph_from_pypsa_tables` gives transformers
``circuits = 0``: whoever sets their ``x_pu`` must also set ``circuits >= 1``, or the model
refuses them.

The AC model
------------
- Edges with ``kind == "converter"`` (HVDC) and out-of-service edges are not part of it and do not
  appear in any result; an HVDC link's transfer can later be added as fixed injections.
- Each edge is ``circuits`` identical parallel circuits of reactance ``x_pu``: its susceptance is
  ``circuits / x_pu``. Results are per edge (summed over its circuits). A contingency is the
  outage of **one** circuit (:func:`lodf`).
- **Branch index**: every per-branch result is indexed by a :class:`pandas.MultiIndex` of
  ``(bus0, bus1)`` (:data:`BRANCH_INDEX_NAMES`), in the order and orientation of
  ``G.edges()``; a flow > 0 runs from ``bus0`` to ``bus1``. Bus columns are the str bus ids.
- **Islands**: the model covers the connected component (through in-service AC edges) of the
  reference bus. Buses and edges outside it get NaN PTDF entries and NaN flows, and are counted in
  a warning; their injections are ignored.
- **Reference / slack bus**: ``slack_bus`` if given, else the one node with ``slack=True``, else the
  node with the largest ``pmax_mw`` (first in node order on ties). With ``slack="single"`` it
  balances every injection; with ``slack="distributed"`` the balance is withdrawn from all buses of
  its component in proportion to ``pmax_mw`` (it is then only the angle reference).

Nothing here reads or writes files.
"""

# G is networkx's conventional name for a graph; B, H and L are the textbook matrix names.

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.linalg import cho_factor, cho_solve
from scipy.sparse.linalg import splu

from gridsite.errors import PowerGridError

__all__ = [
    "BRANCH_INDEX_NAMES",
    "DEFAULT_BASE_MVA",
    "DCModel",
    "Slack",
    "dc_bus_results",
    "dc_model",
    "dc_power_flow",
    "islanding_outages",
    "lodf",
    "overloads",
    "ptdf",
]

logger = logging.getLogger(__name__)

#: Power base (MVA) when ``G.graph`` has no ``base_mva``.
DEFAULT_BASE_MVA = 100.0
#: Level names of the branch MultiIndex: flows > 0 run from ``bus0`` to ``bus1``.
BRANCH_INDEX_NAMES = ("bus0", "bus1")

Slack = Literal["single", "distributed"]
Edge = tuple[str, str]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class DCModel:
    """The factorised DC model of a graph's AC part (build it with :func:`dc_model`).

    Arrays over buses follow ``buses`` (the node order of ``G``); arrays over branches follow
    ``edges`` (``G.edges()`` order, AC in-service edges only).

    Attributes
    ----------
    buses
        Bus ids, in node order.
    edges
        ``(bus0, bus1)`` of each AC in-service edge.
    kind
        Edge ``kind`` per branch.
    circuits
        Identical parallel circuits per branch.
    x_pu
        Reactance of one circuit (p.u. on ``base_mva``).
    rating_mva
        Rating of the whole edge (MVA); ``inf`` where the graph has NaN or inf.
    bus0, bus1
        Positions of the branch ends in ``buses``.
    ref
        The reference bus (see the module docstring).
    connected
        Bus is in the reference bus's component (bool per bus).
    branch_connected
        Branch is in that component (bool per branch).
    bridge
        Branch is a single-circuit bridge of that component: its outage islands buses.
    ptdf_ref
        Single-slack PTDF with respect to ``ref``, shape ``(n_branches, n_buses)``, MW per MW; NaN
        outside the component.
    load_mw, gen_mw, pmax_mw
        Node attributes per bus (0 where missing).
    base_mva
        Power base (MVA).
    """

    buses: list[str]
    edges: list[Edge]
    kind: list[str]
    circuits: NDArray[np.int64]
    x_pu: FloatArray
    rating_mva: FloatArray
    bus0: NDArray[np.intp]
    bus1: NDArray[np.intp]
    ref: str
    connected: NDArray[np.bool_]
    branch_connected: NDArray[np.bool_]
    bridge: NDArray[np.bool_]
    ptdf_ref: FloatArray
    load_mw: FloatArray
    gen_mw: FloatArray
    pmax_mw: FloatArray
    base_mva: float
    _lu: Any
    _reduced: NDArray[np.intp]

    @property
    def ref_index(self) -> int:
        """Position of ``ref`` in ``buses``."""
        return self.buses.index(self.ref)

    def slack_weights(self, slack: Slack) -> FloatArray:
        """Return the share of the balance each bus takes (sums to 1 over the component).

        Parameters
        ----------
        slack
            ``"single"``: all at ``ref``; ``"distributed"``: in proportion to ``pmax_mw``.

        Raises
        ------
        PowerGridError
            If ``slack`` is unknown, or no bus of the component has ``pmax_mw > 0``.
        """
        w = np.zeros(len(self.buses))
        if slack == "single":
            w[self.ref_index] = 1.0
            return w
        if slack != "distributed":
            raise PowerGridError(f"slack must be 'single' or 'distributed', got {slack!r}")
        pmax = np.where(self.connected, np.clip(self.pmax_mw, 0.0, None), 0.0)
        total = float(pmax.sum())
        if not total > 0.0:
            raise PowerGridError(
                "distributed slack needs pmax_mw > 0 on some bus of the slack's component; "
                "set the buses' pmax_mw or use slack='single'"
            )
        return pmax / total

    def ptdf_matrix(self, slack: Slack) -> FloatArray:
        """Return the PTDF ``(n_branches, n_buses)`` for ``slack`` (MW per MW injected).

        With weights ``w`` (:meth:`slack_weights`) and the single-slack PTDF ``H`` of ``ref``,
        ``PTDF = H - (H w) 1^T``: the injection at bus j is withdrawn as ``w``.
        """
        H = self.ptdf_ref
        if slack == "single":
            self.slack_weights(slack)
            return H.copy()
        w = self.slack_weights(slack)
        Hc = np.where(np.isnan(H), 0.0, H)
        return H - (Hc @ w)[:, None]

    def injections_mw(self, slack: Slack) -> FloatArray:
        """Return the balanced net injection per bus (MW): ``gen - load`` plus the slack's share.

        Buses outside the component get NaN.
        """
        p = np.where(self.connected, self.gen_mw - self.load_mw, 0.0)
        balanced = p - p.sum() * self.slack_weights(slack)
        return np.where(self.connected, balanced, np.nan)

    def flows_mw(self, slack: Slack) -> FloatArray:
        """Return the base-case flow per branch (MW, ``bus0`` -> ``bus1``; NaN off component)."""
        p = np.nan_to_num(self.injections_mw(slack))
        H = np.nan_to_num(self.ptdf_ref)
        return np.where(self.branch_connected, H @ p, np.nan)

    def angles_rad(self, slack: Slack) -> FloatArray:
        """Return the bus voltage angles (rad, 0 at ``ref``, NaN off the component)."""
        p_pu = np.nan_to_num(self.injections_mw(slack)) / self.base_mva
        theta = np.full(len(self.buses), np.nan)
        theta[self.ref_index] = 0.0
        if len(self._reduced):
            theta[self._reduced] = self._lu.solve(p_pu[self._reduced])
        return theta

    def lodf_matrix(self) -> FloatArray:
        """Return the circuit-outage LODF ``(n_branches, n_branches)``; see :func:`lodf`."""
        H = self.ptdf_ref
        # D[l, k]: flow change on l per MW sent from bus0 to bus1 of k.
        D = H[:, self.bus0] - H[:, self.bus1]
        phi = np.diag(D).copy()
        c = self.circuits.astype(np.float64)
        denom = c - phi
        ok = self.branch_connected & ~self.bridge
        L = np.full_like(D, np.nan)
        L[:, ok] = D[:, ok] / denom[ok]
        idx = np.flatnonzero(ok)
        L[idx, idx] = (phi[ok] - 1.0) / denom[ok]
        L[~self.branch_connected, :] = np.nan
        return L


#: Up to this many buses the reduced B matrix is factorised densely (Cholesky, LAPACK): SciPy's
#: SuperLU solves many right-hand sides one by one, which for a 600-bus grid takes ~1.5 s against
#: ~0.1 s dense. Larger systems use the sparse LU, whose memory grows with the fill, not n^2.
DENSE_MAX_BUSES = 2000


class _Cholesky:
    """Dense Cholesky factor of a symmetric positive definite matrix, with SuperLU's ``solve``."""

    def __init__(self, B: sp.spmatrix) -> None:
        self._factor = cho_factor(B.toarray(), lower=True, check_finite=False)

    def solve(self, rhs: FloatArray) -> FloatArray:
        return np.asarray(cho_solve(self._factor, rhs, check_finite=False))


def _factorise(B: sp.spmatrix) -> Any:
    """Factorise the reduced B' matrix: dense Cholesky when small, sparse LU (SuperLU) else."""
    if B.shape[0] <= DENSE_MAX_BUSES:
        try:
            return _Cholesky(B)
        except np.linalg.LinAlgError:
            pass  # not positive definite (negative reactances): the LU handles it
    return splu(sp.csc_matrix(B))


def _inverse(lu: Any, size: int, *, chunk: int = 256) -> FloatArray:
    """B^-1 from its factorisation, solving identity columns a chunk at a time (bounded memory)."""
    out = np.empty((size, size))
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        eye = np.zeros((size, stop - start))
        eye[np.arange(start, stop), np.arange(stop - start)] = 1.0
        out[:, start:stop] = lu.solve(eye)
    return out


def dc_model(G: nx.Graph, *, slack_bus: str | None = None) -> DCModel:
    """Build and factorise the DC model of ``G`` (see the module docstring for the rules).

    ``B' = A^T diag(b) A`` is assembled as a sparse matrix and the system reduced by the reference
    bus is factorised once, with :func:`scipy.sparse.linalg.splu` (a dense Cholesky factor for
    systems of at most :data:`DENSE_MAX_BUSES` buses, which is faster there); the PTDF is
    ``diag(b) A B^-1``, with ``B^-1`` solved from the factorisation a block of columns at a time.

    Parameters
    ----------
    G
        The power-grid graph with the electrical attributes.
    slack_bus
        Reference bus id; by default the ``slack`` node, else the largest ``pmax_mw``.

    Returns
    -------
    DCModel

    Raises
    ------
    PowerGridError
        If an AC edge lacks a positive finite ``x_pu``, has ``circuits < 1`` or a rating <= 0 (all
        named at once), or no reference bus can be chosen.
    """
    buses = [str(n) for n in G.nodes]
    position = {n: i for i, n in enumerate(G.nodes)}
    base_mva = float(G.graph.get("base_mva", DEFAULT_BASE_MVA))
    if not (math.isfinite(base_mva) and base_mva > 0.0):
        raise PowerGridError(f"G.graph['base_mva'] must be a positive number, got {base_mva!r}")
    ref = _reference_bus(G, slack_bus)

    edges: list[Edge] = []
    kinds: list[str] = []
    circuits: list[int] = []
    x_pu: list[float] = []
    rating: list[float] = []
    problems: list[str] = []
    n_converters = 0
    for u, v, d in G.edges(data=True):
        kind = str(d.get("kind", "line"))
        if kind == "converter":
            n_converters += 1
            continue
        if not d.get("in_service", True):
            continue
        x = _as_float(d.get("x_pu"))
        c = d.get("circuits", 1)
        r = _as_float(d.get("rating_mva"))
        if not (math.isfinite(x) and x > 0.0):
            problems.append(f"{kind} {u}-{v}: x_pu={d.get('x_pu')!r} (need a positive number)")
        if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
            problems.append(f"{kind} {u}-{v}: circuits={c!r} (need an int >= 1)")
        if not (math.isnan(r) or r > 0.0):
            problems.append(f"{kind} {u}-{v}: rating_mva={r!r} (need > 0, or NaN/inf)")
        edges.append((str(u), str(v)))
        kinds.append(kind)
        circuits.append(int(c) if isinstance(c, int | np.integer) else 1)
        x_pu.append(x)
        rating.append(math.inf if math.isnan(r) else r)
    if problems:
        raise PowerGridError(
            f"{len(problems)} AC branch(es) cannot enter the DC power flow:\n  - "
            + "\n  - ".join(problems[:20])
            + ("\n  - ..." if len(problems) > 20 else "")
            + "\nSet x_pu (one circuit, p.u. on G.graph['base_mva']) and circuits on every AC edge."
        )

    n, m = len(buses), len(edges)
    bus0 = np.array([position[u] for u, _ in edges], dtype=np.intp)
    bus1 = np.array([position[v] for _, v in edges], dtype=np.intp)
    c_arr = np.array(circuits, dtype=np.int64)
    x_arr = np.array(x_pu, dtype=np.float64)

    ac = nx.Graph()
    ac.add_nodes_from(range(n))
    ac.add_edges_from(zip(bus0.tolist(), bus1.tolist(), strict=True))
    ref_i = position[ref]
    component = nx.node_connected_component(ac, ref_i)
    connected = np.zeros(n, dtype=bool)
    connected[list(component)] = True
    branch_connected = connected[bus0] if m else np.zeros(0, dtype=bool)
    bridges = {frozenset(e) for e in nx.bridges(ac.subgraph(component))}
    bridge = np.array(
        [c_arr[e] == 1 and frozenset((bus0[e], bus1[e])) in bridges for e in range(m)],
        dtype=bool,
    )

    # Reduced system: the component's buses without the reference.
    reduced = np.flatnonzero(connected & (np.arange(n) != ref_i))
    col = np.full(n, -1, dtype=np.intp)
    col[reduced] = np.arange(len(reduced))
    rows = np.flatnonzero(branch_connected)
    b = c_arr[rows] / x_arr[rows]
    ptdf_ref = np.full((m, n), np.nan)
    lu: Any = None
    if len(reduced):
        r_idx = np.concatenate([np.arange(len(rows)), np.arange(len(rows))])
        c_idx = np.concatenate([col[bus0[rows]], col[bus1[rows]]])
        vals = np.concatenate([np.ones(len(rows)), -np.ones(len(rows))])
        keep = c_idx >= 0  # the reference bus's column is dropped
        A = sp.csr_matrix((vals[keep], (r_idx[keep], c_idx[keep])), shape=(len(rows), len(reduced)))
        Ab = sp.diags(b) @ A
        B = (A.T @ Ab).tocsc()
        lu = _factorise(B)
        # H = diag(b) A B^-1: solve for B^-1 (one column per bus, fewer than one per branch),
        # then one sparse-times-dense product gives every branch's row.
        H = np.asarray(Ab @ _inverse(lu, len(reduced)))
        block = np.zeros((len(rows), n))
        block[:, reduced] = H
        block[:, ~connected] = np.nan
        if len(rows) == m:
            ptdf_ref = block
        else:
            ptdf_ref[rows] = block  # whole rows: a cheap copy, unlike a 2-D fancy index
    else:
        ptdf_ref[np.ix_(rows, np.flatnonzero(connected))] = 0.0

    n_off = int((~connected).sum())
    if n_off:
        logger.warning(
            "DC model: %d of %d buses and %d of %d AC branches are not connected to the "
            "reference bus %s; they get NaN results",
            n_off,
            n,
            int((~branch_connected).sum()),
            m,
            ref,
        )
    logger.info(
        "DC model: %d buses, %d AC branches (%d converters dropped), reference bus %s, "
        "%d islanding single-circuit outages",
        n,
        m,
        n_converters,
        ref,
        int(bridge.sum()),
    )
    return DCModel(
        buses=buses,
        edges=edges,
        kind=kinds,
        circuits=c_arr,
        x_pu=x_arr,
        rating_mva=np.array(rating, dtype=np.float64),
        bus0=bus0,
        bus1=bus1,
        ref=str(ref),
        connected=connected,
        branch_connected=branch_connected,
        bridge=bridge,
        ptdf_ref=ptdf_ref,
        load_mw=_node_array(G, "load_mw"),
        gen_mw=_node_array(G, "gen_mw"),
        pmax_mw=_node_array(G, "pmax_mw"),
        base_mva=base_mva,
        _lu=lu,
        _reduced=reduced,
    )


def ptdf(G: nx.Graph, *, slack: Slack = "single", slack_bus: str | None = None) -> pd.DataFrame:
    """Return the power transfer distribution factors of the AC branches.

    Wood & Wollenberg section 7.3 ("generation shift factors"); equal to MATPOWER/pandapower
    ``makePTDF(baseMVA, bus, branch, slack)`` for a single slack.

    Parameters
    ----------
    G
        The power-grid graph with the electrical attributes.
    slack
        ``"single"``: the injection is withdrawn at the slack bus; ``"distributed"``: withdrawn
        from all buses in proportion to ``pmax_mw``.
    slack_bus
        The slack (reference) bus; see the module docstring for the default.

    Returns
    -------
    pandas.DataFrame
        Rows: AC in-service edges, MultiIndex ``(bus0, bus1)``; columns: bus ids. Entry: MW change
        of the ``bus0 -> bus1`` flow per MW injected at the bus. NaN off the slack's component.
    """
    model = dc_model(G, slack_bus=slack_bus)
    return _branch_frame(model, model.ptdf_matrix(slack), model.buses)


def lodf(G: nx.Graph, *, slack_bus: str | None = None) -> pd.DataFrame:
    """Return the line outage distribution factors for single-circuit outages.

    Column k is the outage of **one circuit** of edge k; ``F_l|k = F_l + LODF[l, k] F_k`` with
    ``F_k`` the pre-outage flow of the whole edge k. With ``D[l, k] = PTDF[l, bus0_k] -
    PTDF[l, bus1_k]``, ``phi_k = D[k, k]`` and ``c_k`` circuits, the compensation argument of Wood &
    Wollenberg section 7.3 applied to one of the ``c_k`` identical circuits gives::

        LODF[l, k] = D[l, k] / (c_k - phi_k)            (l != k)
        LODF[k, k] = (phi_k - 1) / (c_k - phi_k)        (flow left on the other c_k - 1 circuits)

    which for ``c_k = 1`` is pandapower's ``makeLODF`` (diagonal -1). The LODF does not depend on
    the slack.

    Parameters
    ----------
    G
        The power-grid graph with the electrical attributes.
    slack_bus
        Only selects the component (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Edges x edges, both indexed by the ``(bus0, bus1)`` MultiIndex. Columns of islanding
        outages (:func:`islanding_outages`; there ``c_k - phi_k = 0``) are NaN, as are rows and
        columns of edges off the slack's component.
    """
    model = dc_model(G, slack_bus=slack_bus)
    index = pd.MultiIndex.from_tuples(model.edges, names=list(BRANCH_INDEX_NAMES))
    return pd.DataFrame(model.lodf_matrix(), index=index, columns=index)


def islanding_outages(G: nx.Graph) -> list[Edge]:
    """Return the AC edges whose single-circuit outage islands part of the grid.

    These are the bridges of the AC graph (in-service, non-converter edges) that have one circuit;
    a bridge of two or more circuits keeps its buses connected when one circuit trips. All
    components are searched.

    Returns
    -------
    list of (bus0, bus1)
        In ``G.edges()`` order and orientation.
    """
    ac = nx.Graph()
    ac.add_nodes_from(G.nodes)
    ac_edges = [
        (u, v, d)
        for u, v, d in G.edges(data=True)
        if d.get("kind", "line") != "converter" and d.get("in_service", True)
    ]
    ac.add_edges_from((u, v) for u, v, _ in ac_edges)
    bridges = {frozenset(e) for e in nx.bridges(ac)}
    return [
        (str(u), str(v))
        for u, v, d in ac_edges
        if frozenset((u, v)) in bridges and d.get("circuits", 1) == 1
    ]


def dc_power_flow(
    G: nx.Graph, *, slack: Slack = "single", slack_bus: str | None = None
) -> pd.DataFrame:
    """Solve the DC power flow of the base case.

    Injections are ``gen_mw - load_mw`` per bus; the imbalance goes to the slack bus
    (``"single"``) or is shared in proportion to ``pmax_mw`` (``"distributed"``).

    Parameters
    ----------
    G
        The power-grid graph with the electrical attributes.
    slack
        ``"single"`` or ``"distributed"``.
    slack_bus
        See the module docstring.

    Returns
    -------
    pandas.DataFrame
        Per AC in-service edge (MultiIndex ``(bus0, bus1)``): ``kind``, ``circuits``, ``flow_mw``
        (``bus0 -> bus1``), ``rating_mva`` (as in the graph, NaN = unconstrained) and ``loading``
        (``|flow_mw| / rating_mva``; NaN where unconstrained). Bus angles and injections are in
        :func:`dc_bus_results`.
    """
    model = dc_model(G, slack_bus=slack_bus)
    return _flow_frame(model, model.flows_mw(slack))


def dc_bus_results(
    G: nx.Graph, *, slack: Slack = "single", slack_bus: str | None = None
) -> pd.DataFrame:
    """Return the DC power flow's bus results.

    Returns
    -------
    pandas.DataFrame
        Indexed by bus id: ``va_deg`` (voltage angle, degrees, 0 at the reference bus),
        ``p_mw`` (net injection after balancing, generation-positive; pandapower's
        ``res_bus.p_mw`` is the negative), ``connected`` (in the slack's component; others NaN).
    """
    model = dc_model(G, slack_bus=slack_bus)
    return pd.DataFrame(
        {
            "va_deg": np.degrees(model.angles_rad(slack)),
            "p_mw": model.injections_mw(slack),
            "connected": model.connected,
        },
        index=pd.Index(model.buses, name="bus"),
    )


def overloads(flows: pd.DataFrame) -> pd.DataFrame:
    """Return the branches loaded above their rating (``loading > 1``), most loaded first.

    Base-case overloads are reported, never hidden: callers decide what to do with them (see
    ``overloaded`` in :func:`gridsite.powergrid.hosting_capacity`).

    Parameters
    ----------
    flows
        A frame from :func:`dc_power_flow` (needs a ``loading`` column).
    """
    if "loading" not in flows.columns:
        raise PowerGridError("overloads() needs a frame with a 'loading' column (dc_power_flow)")
    over = flows[flows["loading"] > 1.0]
    return over.sort_values("loading", ascending=False, kind="stable")


def _flow_frame(model: DCModel, flow_mw: FloatArray) -> pd.DataFrame:
    rating = np.where(np.isinf(model.rating_mva), np.nan, model.rating_mva)
    loading = np.abs(flow_mw) / rating
    return pd.DataFrame(
        {
            "kind": model.kind,
            "circuits": model.circuits,
            "flow_mw": flow_mw,
            "rating_mva": rating,
            "loading": loading,
        },
        index=pd.MultiIndex.from_tuples(model.edges, names=list(BRANCH_INDEX_NAMES)),
    )


def _branch_frame(model: DCModel, values: FloatArray, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        values,
        index=pd.MultiIndex.from_tuples(model.edges, names=list(BRANCH_INDEX_NAMES)),
        columns=pd.Index(columns, name="bus"),
    )


def _reference_bus(G: nx.Graph, slack_bus: str | None) -> str:
    if slack_bus is not None:
        if slack_bus not in G:
            raise PowerGridError(f"slack_bus {slack_bus!r} is not a bus of the graph; use a str id")
        return str(slack_bus)
    flagged = [str(n) for n, s in G.nodes(data="slack", default=False) if s]
    if len(flagged) > 1:
        raise PowerGridError(
            f"{len(flagged)} buses have slack=True ({', '.join(flagged[:5])}); "
            "mark one, or pass slack_bus"
        )
    if flagged:
        return flagged[0]
    best, best_mw = None, 0.0
    for n, p in G.nodes(data="pmax_mw", default=0.0):
        p_mw = _as_float(p)
        if p_mw > best_mw:
            best, best_mw = n, p_mw
    if best is None:
        raise PowerGridError(
            "no slack bus: no node has slack=True and none has pmax_mw > 0; pass slack_bus"
        )
    return str(best)


def _node_array(G: nx.Graph, attr: str) -> FloatArray:
    values = np.array([_as_float(v) for _, v in G.nodes(data=attr, default=0.0)], dtype=float)
    values[np.isnan(values)] = 0.0
    return values


def _as_float(value: object) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
