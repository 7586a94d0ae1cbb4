"""How much new load a bus can take: DC hosting capacity (N-0 / N-1) and two cheaper bounds.

- :func:`hosting_capacity` is the utilities' DC method (docs/domain.md section 3): the largest
  extra load at a bus, balanced by the slack, that keeps every branch within its rating with all
  branches in service (N-0) and after any single-circuit outage (N-1), using PTDF and LODF
  (Wood, Wollenberg & Sheblé, *Power Generation, Operation and Control*, 3rd ed., sections 7.3 and
  7.4: post-outage flows ``F_l|k = F_l + LODF[l, k] F_k``).
- :func:`maxflow_capacity_mw` is a transport bound (no Kirchhoff voltage law): max-flow from the
  generators' capacity to the bus through the branch ratings.
- :func:`rev_capacity_mw` is NREL reV's substation heuristic: half the attached line ratings.

The electrical attributes read from the graph are those of :mod:`gridsite.powergrid.dcflow`.
Nothing here reads or writes files.
"""

# G is networkx's conventional name for a graph; H and L are the textbook matrix names.

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import maximum_flow

from gridsite.errors import PowerGridError
from gridsite.powergrid.connect import station_capacity_mw
from gridsite.powergrid.dcflow import DCModel, Edge, Slack, dc_model

__all__ = [
    "HOSTING_COLUMNS",
    "hosting_capacity",
    "maxflow_capacity_mw",
    "rev_capacity_mw",
]

logger = logging.getLogger(__name__)

#: Columns of :func:`hosting_capacity`'s frame.
HOSTING_COLUMNS = (
    "hosting_capacity_mw",
    "binding_branch",
    "binding_outage",
    "islanded_by",
    "connected",
    "n_islanding_outages",
    "n_overloaded_base",
    "n_overloaded_contingency",
)

# Sensitivities below this (MW per MW) do not constrain: they are round-off of zero.
_SENSITIVITY_EPS = 1e-9
# A flow counts as over its rating when above rating * (1 + this) (+ the same in MW).
_OVERLOAD_TOL = 1e-9
# scipy's maximum_flow takes int32 capacities.
_INT32_MAX = 2**31 - 1


def hosting_capacity(
    G: nx.Graph,
    *,
    buses: Iterable[str] | None = None,
    contingency: Literal["n-0", "n-1"] = "n-1",
    slack: Slack = "single",
    slack_bus: str | None = None,
    overloaded: Literal["exclude", "strict"] = "exclude",
    cap_mw: float = 1e5,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Return the largest extra load each bus can take, by the DC power flow.

    For an extra load ``x`` at bus b, withdrawn at b and supplied by the slack, every monitored
    branch l (finite rating, in the slack's component) must keep ``|F_l + s_l x| <= R_l`` with
    ``s = -PTDF[:, b]`` (N-0), and for ``"n-1"`` also, after the outage of one circuit of each edge
    k, ``|F_l|k + s_l|k x| <= R_l|k`` with ``F_l|k = F_l + LODF[l, k] F_k``,
    ``s_l|k = s_l + LODF[l, k] s_k`` and ``R_k|k = R_k (c_k - 1) / c_k`` (the circuits left). Each
    constraint is linear in ``x``, so the capacity is the smallest of their ratios, found
    exactly (no search) and vectorised over all (l, k) pairs per bus.

    Parameters
    ----------
    G
        The power-grid graph with the electrical attributes (see :mod:`.dcflow`).
    buses
        Bus ids to evaluate (default: all, in node order).
    contingency
        ``"n-0"`` (all branches in service) or ``"n-1"`` (also every single-circuit outage).
    slack
        ``"single"`` or ``"distributed"`` (in proportion to ``pmax_mw``); see :mod:`.dcflow`.
    slack_bus
        The slack / reference bus; see :mod:`.dcflow`.
    overloaded
        What to do with a constraint already violated before the new load: ``"exclude"`` leaves it
        out (a branch over its rating in the N-0 base case is dropped from N-0 and from every
        outage; an (l, k) pair over its post-outage rating is dropped for that outage);
        ``"strict"`` keeps it, so it binds at 0 MW if the new load increases ``|flow|`` and allows
        the load until the flow reaches the rating on the other side if it decreases it.
        Either way they are counted (``n_overloaded_base``, ``n_overloaded_contingency``).
    cap_mw
        Search cap (MW): results are at most this. A single slack bus (whose load meets the slack
        directly) gets ``cap_mw``, unless an islanding outage cuts it off under ``"n-1"``.
    progress
        Called as ``progress(done, total)`` with the buses done (of ``total``) as the N-1
        screen goes, and once at the end.

    Returns
    -------
    pandas.DataFrame
        Indexed by bus id (``bus``), columns :data:`HOSTING_COLUMNS`:

        - ``hosting_capacity_mw``: the capacity (MW); NaN for buses not connected to the slack.
        - ``binding_branch``: ``(bus0, bus1)`` of the limiting branch, None if ``cap_mw`` binds.
        - ``binding_outage``: ``(bus0, bus1)`` of the outage under which it binds; None if N-0
          binds (or nothing does).
        - ``islanded_by``: the first islanding outage (below) that puts the bus in the island, the
          side of the outage with fewer buses (on a tie, the side without the reference bus),
          else None. Under ``"n-1"`` such a bus has no N-1-secure supply: its capacity is 0 (the
          slack bus included) and ``binding_outage`` is that edge. (Reported under ``"n-0"`` too,
          without effect.)
        - ``connected``: the bus is in the slack's component.
        - ``n_islanding_outages``: single-circuit bridges in the slack's component (same for all
          buses). Their outages are **skipped from the N-1 set** (the LODF is undefined; the
          islanded part's generation and load would be lost), apart from ``islanded_by``.
        - ``n_overloaded_base``: monitored branches over their rating in the N-0 base case.
        - ``n_overloaded_contingency``: (branch, outage) pairs over the post-outage rating before
          the new load, among branches not overloaded in the base case (0 for ``"n-0"``).

    Raises
    ------
    PowerGridError
        If a bus is unknown, an option is invalid, or the graph lacks electrical attributes.
    """
    if contingency not in ("n-0", "n-1"):
        raise PowerGridError(f"contingency must be 'n-0' or 'n-1', got {contingency!r}")
    if overloaded not in ("exclude", "strict"):
        raise PowerGridError(f"overloaded must be 'exclude' or 'strict', got {overloaded!r}")
    if not (cap_mw > 0.0):
        raise PowerGridError(f"cap_mw must be positive, got {cap_mw!r}")
    model = dc_model(G, slack_bus=slack_bus)
    targets = _bus_positions(model, buses)

    H = model.ptdf_matrix(slack)
    F = model.flows_mw(slack)
    R = model.rating_mva
    strict = overloaded == "strict"

    # Monitored branches M (rated, in the component) and outages K (non-islanding, in it).
    mon = np.flatnonzero(model.branch_connected & np.isfinite(R))
    out = np.flatnonzero(model.branch_connected & ~model.bridge)
    islanding = np.flatnonzero(model.branch_connected & model.bridge)
    over0 = np.abs(F[mon]) > R[mon] * (1.0 + _OVERLOAD_TOL) + _OVERLOAD_TOL
    n_over_base = int(over0.sum())

    up0 = R[mon] - F[mon]
    lo0 = -R[mon] - F[mon]
    if not strict:
        up0[over0], lo0[over0] = np.inf, -np.inf

    n_over_cont = 0
    if contingency == "n-1" and len(mon) and len(out):
        L = model.lodf_matrix()[np.ix_(mon, out)]
        F_post = F[mon][:, None] + L * F[out][None, :]
        R_post = np.broadcast_to(R[mon][:, None], L.shape).copy()
        same = mon[:, None] == out[None, :]
        c_out = model.circuits[out].astype(np.float64)
        R_post[same] = np.broadcast_to(R[mon][:, None] * (c_out - 1.0) / c_out, L.shape)[same]
        # A single-circuit edge monitored under its own outage carries nothing: no constraint.
        gone = same & (model.circuits[out] == 1)[None, :]
        over = np.abs(F_post) > R_post * (1.0 + _OVERLOAD_TOL) + _OVERLOAD_TOL
        over &= ~gone & ~over0[:, None]
        n_over_cont = int(over.sum())
        up_post = R_post - F_post
        lo_post = -R_post - F_post
        drop = gone.copy()
        if not strict:
            drop |= over | over0[:, None]
        up_post[drop], lo_post[drop] = np.inf, -np.inf
    else:
        L = np.zeros((len(mon), 0))
        up_post = lo_post = L

    # Sensitivity of the branch flows to 1 MW of extra load at each target bus.
    S = -H[:, targets]
    S = np.nan_to_num(S)

    # N-0, all buses at once.
    lim0, arg0 = _limits(S[mon], up0[:, None], lo0[:, None], axis=0)

    # Which islanding outage cuts each bus off the bulk of the grid. With the single-slack PTDF of
    # the reference, a bridge carries all (|1|) of an injection beyond it and none (0) of one on
    # the reference side; the island is the side with fewer buses (ties: the far side).
    islanded_by: list[Edge | None] = [None] * len(targets)
    if len(islanding):
        beyond = np.abs(np.nan_to_num(model.ptdf_ref[islanding])) > 0.5
        beyond &= model.connected[None, :]
        n_beyond = beyond.sum(axis=1)
        far_is_island = n_beyond <= int(model.connected.sum()) - n_beyond
        island = np.where(far_is_island[:, None], beyond, ~beyond & model.connected[None, :])
        island = island[:, targets]
        for col in np.flatnonzero(island.any(axis=0)).tolist():
            islanded_by[col] = model.edges[islanding[int(np.argmax(island[:, col]))]]

    lim1 = np.full(len(targets), np.inf)
    arg1 = np.zeros((len(targets), 2), dtype=np.intp)
    if L.size:
        work = np.empty(L.shape)
        lim = np.empty(L.shape)
        mask = np.empty(L.shape, dtype=bool)
        for j in range(len(targets)):
            if progress is not None:
                progress(j, len(targets))
            if islanded_by[j] is not None or not S[:, j].any():
                continue  # no N-1-secure supply at all, or the single slack itself
            s_m, s_k = S[mon, j], S[out, j]
            np.multiply(L, s_k[None, :], out=work)
            work += s_m[:, None]
            lim.fill(np.inf)
            np.greater(work, _SENSITIVITY_EPS, out=mask)
            np.divide(up_post, work, out=lim, where=mask)
            np.less(work, -_SENSITIVITY_EPS, out=mask)
            np.divide(lo_post, work, out=lim, where=mask)
            flat = int(np.argmin(lim))
            lim1[j] = lim.flat[flat]
            arg1[j] = np.unravel_index(flat, lim.shape)

    rows = []
    for j, b in enumerate(targets):
        row: dict[str, object] = {
            "hosting_capacity_mw": float(cap_mw),
            "binding_branch": None,
            "binding_outage": None,
            "islanded_by": islanded_by[j],
            "connected": bool(model.connected[b]),
            "n_islanding_outages": len(islanding),
            "n_overloaded_base": n_over_base,
            "n_overloaded_contingency": n_over_cont if contingency == "n-1" else 0,
        }
        if not model.connected[b]:
            row["hosting_capacity_mw"] = math.nan
        elif contingency == "n-1" and islanded_by[j] is not None:
            row["hosting_capacity_mw"] = 0.0
            row["binding_outage"] = islanded_by[j]
        else:
            n0 = max(float(lim0[j]), 0.0)
            n1 = max(float(lim1[j]), 0.0) if contingency == "n-1" else math.inf
            best = min(n0, n1)
            if best < cap_mw:
                row["hosting_capacity_mw"] = best
                if n0 <= n1:
                    row["binding_branch"] = model.edges[mon[int(arg0[j])]]
                else:
                    row["binding_branch"] = model.edges[mon[arg1[j, 0]]]
                    row["binding_outage"] = model.edges[out[arg1[j, 1]]]
        rows.append(row)
    logger.info(
        "hosting capacity (%s, %s slack): %d buses, %d monitored branches, %d outages, "
        "%d islanding outages skipped, %d base overloads (%s)",
        contingency,
        slack,
        len(targets),
        len(mon),
        len(out) if contingency == "n-1" else 0,
        len(islanding),
        n_over_base,
        overloaded,
    )
    frame = pd.DataFrame(rows, columns=list(HOSTING_COLUMNS))
    frame.index = pd.Index([model.buses[b] for b in targets], name="bus")
    if progress is not None:
        progress(len(targets), len(targets))
    return frame


def maxflow_capacity_mw(
    G: nx.Graph,
    buses: Iterable[str] | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> pd.Series:
    """Return the most power deliverable to each bus, ignoring the power-flow physics.

    A transport (max-flow) model: a super-source feeds every bus with ``pmax_mw > 0`` up to its
    ``pmax_mw``; every AC in-service edge carries up to ``rating_mva`` in either direction (NaN or
    inf = unbounded); the bus is the sink, and its own ``pmax_mw`` counts. Existing loads elsewhere
    are ignored, so this bounds the **total** supply of the bus. It is an upper bound of what a DC
    power flow can deliver there: if the final dispatch of every generator is within its
    ``pmax_mw``, the N-0 hosting capacity is at most ``maxflow - (load_mw - gen_mw)`` of the bus
    (a DC flow is acyclic, so the paths into the bus form a feasible transport flow). Note that
    :func:`hosting_capacity` does not cap the slack's output: give the slack a large ``pmax_mw``
    for that comparison. HVDC converters are left out, as in the DC model.

    Solved with :func:`scipy.sparse.csgraph.maximum_flow` (Dinic) on integer capacities in kW,
    rounded up so the bound stays a bound (error at most 1 kW per edge of the minimum cut); about
    0.2 s for all buses of a 650-bus, 950-branch graph.

    Parameters
    ----------
    G
        The power-grid graph with ``pmax_mw`` on nodes and ``rating_mva`` on edges.
    buses
        Bus ids (default: all, in node order).
    progress
        Called as ``progress(done, total)`` with the buses done (of ``total``).

    Returns
    -------
    pandas.Series
        ``maxflow_capacity_mw`` indexed by bus id (MW).
    """
    nodes = list(G.nodes)
    position = {n: i for i, n in enumerate(nodes)}
    targets = list(nodes) if buses is None else list(buses)
    unknown = [b for b in targets if b not in position]
    if unknown:
        raise PowerGridError(f"buses not in the power-grid graph: {unknown[:10]!r} (use str ids)")
    n = len(nodes)
    pmax = np.array(
        [max(_float(p), 0.0) for _, p in G.nodes(data="pmax_mw", default=0.0)], dtype=float
    )
    pmax = np.nan_to_num(pmax)
    total_mw = float(pmax.sum())
    # kW, unless the total would overflow int32.
    scale = min(1000.0, (_INT32_MAX // 4) / max(total_mw, 1.0))
    big = math.ceil(total_mw * scale) + 1  # no edge can carry more than all generation

    src, dst, cap = [], [], []
    for u, v, d in G.edges(data=True):
        if d.get("kind", "line") == "converter" or not d.get("in_service", True):
            continue
        r = _float(d.get("rating_mva"))
        c = big if not math.isfinite(r) else min(math.ceil(r * scale), big)
        src += [position[u], position[v]]
        dst += [position[v], position[u]]
        cap += [c, c]
    gens = np.flatnonzero(pmax > 0.0)
    src += [n] * len(gens)
    dst += gens.tolist()
    cap += [min(math.ceil(p * scale), big) for p in pmax[gens]]
    graph = sp.csr_matrix(
        (
            np.array(cap, dtype=np.int32),
            (np.array(src, dtype=np.intp), np.array(dst, dtype=np.intp)),
        ),
        shape=(n + 1, n + 1),
    )
    values = []
    for j, b in enumerate(targets):
        values.append(maximum_flow(graph, n, position[b], method="dinic").flow_value / scale)
        if progress is not None:
            progress(j + 1, len(targets))
    return pd.Series(values, index=pd.Index(targets, name="bus"), name="maxflow_capacity_mw")


def rev_capacity_mw(
    G: nx.Graph, buses: Iterable[str] | None = None, *, power_factor: float = 1.0
) -> pd.Series:
    """Return NREL reV's substation capacity: half the summed ratings of the attached lines.

    Where nodes carry a ``station_id`` (graphs from
    :func:`gridsite.powergrid.graph_from_pypsa_tables`) this is
    :func:`gridsite.powergrid.station_capacity_mw`, i.e. per **station**: the lines touching any bus
    of the bus's station, so all voltage levels of a substation share one figure. Without a
    ``station_id`` (e.g. :func:`gridsite.powergrid.graph_from_pandapower`) it is per **bus**: the
    ``kind == "line"`` edges at the bus. Transformers and converters never count. A NaN rating
    makes the result NaN. It ignores where the power comes from, the existing flows and
    contingencies: a heuristic to compare against, not a limit.

    Parameters
    ----------
    G
        The power-grid graph.
    buses
        Bus ids (default: all, in node order).
    power_factor
        MW per MVA, in (0, 1].

    Returns
    -------
    pandas.Series
        ``rev_capacity_mw`` indexed by bus id (MW).
    """
    if not (0.0 < power_factor <= 1.0):
        raise PowerGridError(f"power_factor must be in (0, 1], got {power_factor!r}")
    targets = list(G.nodes) if buses is None else list(buses)
    unknown = [b for b in targets if b not in G]
    if unknown:
        raise PowerGridError(f"buses not in the power-grid graph: {unknown[:10]!r} (use str ids)")
    values = []
    for b in targets:
        if G.nodes[b].get("station_id") is not None:
            values.append(station_capacity_mw(G, b, power_factor=power_factor))
        else:
            rating = sum(
                _float(d.get("rating_mva"))
                for _, _, d in G.edges(b, data=True)
                if d.get("kind", "line") == "line"
            )
            values.append(rating / 2.0 * power_factor)
    return pd.Series(values, index=pd.Index(targets, name="bus"), name="rev_capacity_mw")


def _limits(
    S: NDArray[np.float64],
    up: NDArray[np.float64],
    lo: NDArray[np.float64],
    *,
    axis: int,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Smallest ``x >= 0`` ratio per column of ``lo <= S x <= up`` and where it is reached."""
    lim = np.full(S.shape, np.inf)
    up_b = np.broadcast_to(up, S.shape)
    lo_b = np.broadcast_to(lo, S.shape)
    np.divide(up_b, S, out=lim, where=S > _SENSITIVITY_EPS)
    np.divide(lo_b, S, out=lim, where=S < -_SENSITIVITY_EPS)
    if lim.shape[axis] == 0:
        other: int = lim.shape[1 - axis]
        return np.full(other, np.inf), np.zeros(other, dtype=np.intp)
    return lim.min(axis=axis), lim.argmin(axis=axis)


def _bus_positions(model: DCModel, buses: Iterable[str] | None) -> NDArray[np.intp]:
    if buses is None:
        return np.arange(len(model.buses), dtype=np.intp)
    position = {b: i for i, b in enumerate(model.buses)}
    wanted = list(buses)
    unknown = [b for b in wanted if b not in position]
    if unknown:
        raise PowerGridError(f"buses not in the power-grid graph: {unknown[:10]!r} (use str ids)")
    return np.array([position[b] for b in wanted], dtype=np.intp)


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
