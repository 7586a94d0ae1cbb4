"""The electrical power-grid graph from a pandapower network (test cases, oracles, what-ifs).

:func:`graph_from_pandapower` reads the element tables of a ``pandapowerNet`` (it only needs the
DataFrames, so pandapower is not imported) and returns the same kind of :class:`networkx.Graph`
that :mod:`gridsite.powergrid.dcflow` and :mod:`gridsite.powergrid.hosting` work on. The
conversions follow pandapower's own branch model (``pandapower.build_branch``, pandapower 3.x) so
that the DC results equal ``pandapower.rundcpp`` and ``makePTDF``.

Nothing here reads or writes files.
"""

# G is networkx's conventional name for a graph.

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import networkx as nx
import numpy as np
import pandas as pd

from gridsite.errors import PowerGridError

__all__ = ["graph_from_pandapower"]

logger = logging.getLogger(__name__)

_SQRT3 = math.sqrt(3.0)
TrafoModel = Literal["t", "pi"]
# Element tables whose in-service rows change the DC model in ways not converted here.
_UNSUPPORTED = (
    "trafo3w",
    "impedance",
    "dcline",
    "xward",
    "motor",
    "asymmetric_load",
    "asymmetric_sgen",
    "tcsc",
    "svc",
    "ssc",
    "vsc",
    "line_dc",
)


@dataclass
class _Part:
    kind: str
    branch_id: str
    u: str
    v: str
    x_pu: float  # one circuit, DC-effective (tap ratio included)
    circuits: int
    rating_mva: float  # one circuit
    length_km: float
    voltage_kv: float


def graph_from_pandapower(net: Mapping[str, Any], *, trafo_model: TrafoModel = "t") -> nx.Graph:
    """Build the electrical power-grid graph of a pandapower network.

    Parameters
    ----------
    net
        A ``pandapower.pandapowerNet`` (any mapping of element name to DataFrame, plus
        ``sn_mva``).
    trafo_model
        pandapower's transformer equivalent circuit, as in ``rundcpp(net, trafo_model=...)``:
        ``"t"`` (pandapower's default) or ``"pi"``; they differ only when ``pfe_kw`` or
        ``i0_percent`` is non-zero.

    Returns
    -------
    networkx.Graph
        ``G.graph``: ``base_mva`` (= ``net.sn_mva``), ``source`` (``"pandapower"``),
        ``other_slack_buses`` (ext_grid/slack-gen buses beyond the first) and
        ``ignored_phase_shift`` (count of transformers whose ``shift_degree`` was ignored).

        Nodes, one per in-service bus, keyed by ``str(bus index)``: ``bus_id``, ``name``,
        ``voltage_kv`` (``vn_kv``), ``x_m``/``y_m`` NaN (pandapower's ``geo`` of the test cases is a
        plotting layout, not coordinates), ``load_mw`` (loads' ``p_mw * scaling``, storage
        ``p_mw * scaling``, shunts' ``p_mw * step``, wards' ``ps_mw``), ``gen_mw`` (gens' and sgens'
        ``p_mw * scaling``), ``pmax_mw`` (their ``max_p_mw``, else ``p_mw`` when that is missing;
        ext_grids' ``max_p_mw``, else 0) and ``slack`` (True at the first in-service ext_grid's
        bus, else at the first gen with ``slack=True``).

        Edges: ``kind`` (``"line"`` or ``"transformer"``), ``circuits``, ``x_pu`` (one circuit,
        p.u. on ``base_mva``), ``rating_mva`` (whole edge), ``length_km``, ``voltage_kv``,
        ``in_service`` (True) and ``line_ids`` (e.g. ``("line 3", "trafo 0")``).

        - Lines: ``x_pu = x_ohm_per_km * length_km / (vn_kv^2 / base_mva)`` (``vn_kv`` of the from
          bus), ``circuits = parallel``, ``rating_mva = max_i_ka * sqrt(3) * vn_kv * df *
          parallel``.
        - Transformers (two-winding): pandapower's short-circuit impedance
          ``z = (vkr + j sqrt(vk^2 - vkr^2)) / 100 * base_mva / sn_mva * (vn_lv_kv' / vn_kv(lv
          bus))^2`` (``vn_lv_kv'`` after a low-side tap); with the T model the series reactance of
          its pi equivalent, ``Im(z + z^2 y / 4)`` with ``y`` the magnetising admittance from
          ``pfe_kw`` and ``i0_percent`` (pandapower's ``_wye_delta``), else ``Im(z)``; multiplied
          by the off-nominal ratio ``tau = (vn_hv_kv' / vn_lv_kv') / (vn_kv(hv bus) /
          vn_kv(lv bus))``, because the DC model of MATPOWER and pandapower uses
          ``b = 1 / (x tau)`` (``makeBdc``); a ratio tap changer (``"Ratio"``/``"Symmetrical"``)
          sets ``vn'`` of its side at ``tap_pos``.
          ``circuits = parallel``, ``rating_mva = sn_mva * df * parallel``. Phase shift
          (``shift_degree`` and angle taps) is **ignored**: with a phase shifter the DC flows
          differ from pandapower's, which adds the shift as injections.
        - Branches between the same two buses become one edge. If they are identical (same kind,
          ``x_pu`` and per-circuit rating) their circuits add up. If not, the edge gets the parallel
          reactance ``1 / sum(c_i / x_i)``, ``circuits = 1`` (so an N-1 outage takes out all of
          them: conservative) and the rating at which the first of them reaches its own rating,
          ``min_i(c_i r_i B / b_i)`` with ``b_i = c_i / x_i`` and ``B = sum b_i`` (exact for N-0).

        Out-of-service buses, branches (also those cut by an open line/trafo switch) and elements
        are left out.

    Raises
    ------
    PowerGridError
        If the net has in-service elements this converter does not model (three-winding
        transformers, impedances, DC lines, xwards, motors, asymmetric elements, FACTS, DC grids),
        closed bus-bus switches, tap-dependent impedance tables, or a branch with a non-positive
        reactance. All problems are reported at once.
    """
    base_mva = float(net["sn_mva"])
    problems: list[str] = []
    for name in _UNSUPPORTED:
        table = _table(net, name)
        if len(table) and _in_service(table).any():
            problems.append(f"{int(_in_service(table).sum())} in-service {name} element(s)")

    bus = _table(net, "bus")
    bus = bus[_in_service(bus)]
    vn_kv = bus["vn_kv"].astype(float)
    live = set(bus.index)

    open_branch: set[tuple[str, int]] = set()
    switch = _table(net, "switch")
    if len(switch):
        closed = switch["closed"].astype(bool)
        if (closed & (switch["et"] == "b")).any():
            problems.append(
                f"{int((closed & (switch['et'] == 'b')).sum())} closed bus-bus switch(es): fuse "
                "the buses first (pandapower.toolbox.fuse_buses)"
            )
        opened = switch.loc[~closed & switch["et"].isin(["l", "t"]), ["et", "element"]]
        for et, element in opened.itertuples(index=False, name=None):
            open_branch.add(("line" if et == "l" else "trafo", int(element)))

    parts = _line_parts(net, vn_kv, live, open_branch, base_mva, problems)
    parts += _trafo_parts(net, vn_kv, live, open_branch, base_mva, problems, trafo_model)
    if problems:
        raise PowerGridError(
            "the pandapower network cannot be converted:\n  - " + "\n  - ".join(problems)
        )

    G = nx.Graph()
    for b, row in bus.iterrows():
        G.add_node(
            str(b),
            bus_id=str(b),
            name=str(row["name"]) if "name" in row and row["name"] is not None else "",
            voltage_kv=float(row["vn_kv"]),
            x_m=math.nan,
            y_m=math.nan,
            load_mw=0.0,
            gen_mw=0.0,
            pmax_mw=0.0,
            slack=False,
        )
    _add_injections(G, net, live)
    slack_buses = _slack_buses(net, live)
    if slack_buses:
        G.nodes[slack_buses[0]]["slack"] = True

    groups: dict[frozenset[str], list[_Part]] = {}
    for part in parts:
        groups.setdefault(frozenset((part.u, part.v)), []).append(part)
    for group in groups.values():
        G.add_edge(group[0].u, group[0].v, **_combine(group))

    n_shift = int(_shifted_trafos(net, live, open_branch).sum())
    G.graph["base_mva"] = base_mva
    G.graph["source"] = "pandapower"
    G.graph["other_slack_buses"] = tuple(slack_buses[1:])
    G.graph["ignored_phase_shift"] = n_shift
    if n_shift:
        logger.warning("pandapower net: phase shift of %d transformer(s) ignored", n_shift)
    if len(slack_buses) > 1:
        logger.warning(
            "pandapower net: %d slack buses; only bus %s is the slack",
            len(slack_buses),
            slack_buses[0],
        )
    logger.info(
        "pandapower net: %d buses, %d branches in %d edges, slack bus %s",
        G.number_of_nodes(),
        len(parts),
        G.number_of_edges(),
        slack_buses[0] if slack_buses else None,
    )
    return G


def _line_parts(
    net: Mapping[str, Any],
    vn_kv: pd.Series[float],
    live: set[Any],
    open_branch: set[tuple[str, int]],
    base_mva: float,
    problems: list[str],
) -> list[_Part]:
    line = _table(net, "line")
    parts = []
    for i, row in line.iterrows():
        f, t = row["from_bus"], row["to_bus"]
        if not _branch_live(row, ("line", cast(int, i)), (f, t), live, open_branch):
            continue
        v = float(vn_kv[f])
        x = float(row["x_ohm_per_km"]) * float(row["length_km"]) / (v * v / base_mva)
        if not x > 0.0:
            problems.append(f"line {i}: reactance {x!r} p.u. is not positive")
        parts.append(
            _Part(
                kind="line",
                branch_id=f"line {i}",
                u=str(f),
                v=str(t),
                x_pu=x,
                circuits=int(row.get("parallel", 1)),
                rating_mva=float(row["max_i_ka"]) * _SQRT3 * v * float(row.get("df", 1.0)),
                length_km=float(row["length_km"]),
                voltage_kv=v,
            )
        )
    return parts


def _trafo_parts(
    net: Mapping[str, Any],
    vn_kv: pd.Series[float],
    live: set[Any],
    open_branch: set[tuple[str, int]],
    base_mva: float,
    problems: list[str],
    trafo_model: TrafoModel,
) -> list[_Part]:
    trafo = _table(net, "trafo")
    parts = []
    for i, row in trafo.iterrows():
        hv, lv = row["hv_bus"], row["lv_bus"]
        if not _branch_live(row, ("trafo", cast(int, i)), (hv, lv), live, open_branch):
            continue
        if bool(_get(row, "tap_dependency_table", False) or False):
            problems.append(f"trafo {i}: tap-dependent impedance (tap_dependency_table)")
            continue
        vn_hv, vn_lv = float(row["vn_hv_kv"]), float(row["vn_lv_kv"])
        factor = _tap_factor(row)
        if str(_get(row, "tap_side", "")) == "lv":
            vn_lv *= factor
        else:
            vn_hv *= factor
        sn = float(row["sn_mva"])
        x = _trafo_x_pu(row, vn_lv, float(vn_kv[lv]), base_mva, trafo_model)
        tau = (vn_hv / vn_lv) / (float(vn_kv[hv]) / float(vn_kv[lv]))
        if not x * tau > 0.0:
            problems.append(f"trafo {i}: reactance {x * tau!r} p.u. is not positive")
        parts.append(
            _Part(
                kind="transformer",
                branch_id=f"trafo {i}",
                u=str(hv),
                v=str(lv),
                x_pu=x * tau,
                circuits=int(row.get("parallel", 1)),
                rating_mva=sn * float(row.get("df", 1.0)),
                length_km=0.0,
                voltage_kv=float(vn_kv[lv]),
            )
        )
    return parts


def _trafo_x_pu(
    row: pd.Series[Any], vn_lv_kv: float, vn_lv_bus_kv: float, base_mva: float, model: TrafoModel
) -> float:
    """Series reactance (p.u., one unit) as pandapower's ``_calc_r_x_y_from_dataframe``.

    ``vn_lv_kv`` is the rated low voltage after a low-side tap. With the T model the magnetising
    admittance ``y`` sits between the two halves of the leakage impedance ``z``; its pi equivalent
    (``_wye_delta``, equal halves) has the series impedance ``z + z^2 y / 4``.
    """
    sn = float(row["sn_mva"])
    vk, vkr = float(row["vk_percent"]) / 100.0, float(row["vkr_percent"]) / 100.0
    to_pu = base_mva / sn * (vn_lv_kv / vn_lv_bus_kv) ** 2
    z = complex(vkr, math.sqrt(max(vk * vk - vkr * vkr, 0.0))) * to_pu
    if model == "pi":
        return z.imag
    pfe_mw = _num(_get(row, "pfe_kw", 0.0)) / 1000.0
    ym_mva = _num(_get(row, "i0_percent", 0.0)) / 100.0 * sn
    g_mva = pfe_mw if math.isfinite(pfe_mw) else 0.0
    b_mva = -math.sqrt(max(ym_mva * ym_mva - g_mva * g_mva, 0.0)) if math.isfinite(ym_mva) else 0.0
    rated_lv = float(row["vn_lv_kv"])
    # MVA at rated voltage -> p.u. on the network base, referred to the (tapped) low side.
    y_pu = complex(g_mva, b_mva) / base_mva * (rated_lv / vn_lv_kv) ** 2
    return (z + z * z * y_pu / 4.0).imag


def _tap_factor(row: pd.Series[Any]) -> float:
    """Voltage factor of a ratio tap changer at its position (pandapower ``_get_trafo_shift``)."""
    changer = _get(row, "tap_changer_type", None)
    if changer not in ("Ratio", "Symmetrical"):
        return 1.0
    pos, neutral = _num(_get(row, "tap_pos", None)), _num(_get(row, "tap_neutral", None))
    step = _num(_get(row, "tap_step_percent", None))
    if not (math.isfinite(pos) and math.isfinite(step)):
        return 1.0
    steps = (pos - (neutral if math.isfinite(neutral) else 0.0)) * step / 100.0
    angle = math.radians(_num(_get(row, "tap_step_degree", None)) or 0.0)
    if not math.isfinite(angle):
        angle = 0.0
    # |1 + steps * e^{j angle}|: the magnitude part of a (possibly angled) ratio tap.
    return math.hypot(1.0 + steps * math.cos(angle), steps * math.sin(angle))


def _combine(group: list[_Part]) -> dict[str, Any]:
    first = group[0]
    identical = all(
        p.kind == first.kind
        and math.isclose(p.x_pu, first.x_pu, rel_tol=1e-9)
        and (
            math.isclose(p.rating_mva, first.rating_mva, rel_tol=1e-9)
            or (math.isnan(p.rating_mva) and math.isnan(first.rating_mva))
        )
        for p in group
    )
    if identical:
        circuits = sum(p.circuits for p in group)
        x_pu = first.x_pu
        rating = first.rating_mva * circuits
    else:
        b = np.array([p.circuits / p.x_pu for p in group])
        r = np.array([p.circuits * p.rating_mva for p in group])
        r = np.where(np.isnan(r), np.inf, r)
        circuits = 1
        x_pu = float(1.0 / b.sum())
        rating = float(np.min(r * b.sum() / b))
        rating = math.nan if math.isinf(rating) else rating
    return {
        "kind": "transformer" if any(p.kind == "transformer" for p in group) else "line",
        "circuits": circuits,
        "x_pu": x_pu,
        "rating_mva": rating,
        "length_km": min(p.length_km for p in group),
        "voltage_kv": max(p.voltage_kv for p in group),
        "in_service": True,
        "line_ids": tuple(p.branch_id for p in group),
    }


def _add_injections(G: nx.Graph, net: Mapping[str, Any], live: set[Any]) -> None:
    def add(attr: str, buses: pd.Series[Any], values: pd.Series[float]) -> None:
        for b, value in zip(buses, values, strict=True):
            if b in live and math.isfinite(float(value)):
                G.nodes[str(b)][attr] += float(value)

    for name, sign in (("load", 1.0), ("storage", 1.0)):
        table = _table(net, name)
        table = table[_in_service(table)] if len(table) else table
        if len(table):
            add("load_mw", table["bus"], sign * table["p_mw"] * _col(table, "scaling", 1.0))
    shunt = _table(net, "shunt")
    shunt = shunt[_in_service(shunt)] if len(shunt) else shunt
    if len(shunt):
        add("load_mw", shunt["bus"], shunt["p_mw"] * _col(shunt, "step", 1.0))
    ward = _table(net, "ward")
    ward = ward[_in_service(ward)] if len(ward) else ward
    if len(ward):
        add("load_mw", ward["bus"], ward["ps_mw"])
    for name in ("gen", "sgen"):
        table = _table(net, name)
        table = table[_in_service(table)] if len(table) else table
        if len(table):
            p = table["p_mw"] * _col(table, "scaling", 1.0)
            add("gen_mw", table["bus"], p)
            pmax = _col(table, "max_p_mw", math.nan)
            add("pmax_mw", table["bus"], pmax.where(np.isfinite(pmax), table["p_mw"]))
    ext = _table(net, "ext_grid")
    ext = ext[_in_service(ext)] if len(ext) else ext
    if len(ext):
        add("pmax_mw", ext["bus"], _col(ext, "max_p_mw", 0.0).fillna(0.0))


def _slack_buses(net: Mapping[str, Any], live: set[Any]) -> list[str]:
    found: list[str] = []
    ext = _table(net, "ext_grid")
    if len(ext):
        found += [str(b) for b in ext.loc[_in_service(ext), "bus"] if b in live]
    gen = _table(net, "gen")
    if len(gen) and "slack" in gen:
        chosen = _in_service(gen) & gen["slack"].fillna(False).astype(bool)
        found += [str(b) for b in gen.loc[chosen, "bus"] if b in live]
    return list(dict.fromkeys(found))


def _shifted_trafos(
    net: Mapping[str, Any], live: set[Any], open_branch: set[tuple[str, int]]
) -> pd.Series[bool]:
    trafo = _table(net, "trafo")
    if not len(trafo):
        return pd.Series(dtype=bool)
    shift = _col(trafo, "shift_degree", 0.0).fillna(0.0) != 0.0
    keep = [
        _branch_live(
            row, ("trafo", cast(int, i)), (row["hv_bus"], row["lv_bus"]), live, open_branch
        )
        for i, row in trafo.iterrows()
    ]
    return shift & pd.Series(keep, index=trafo.index)


def _branch_live(
    row: pd.Series[Any],
    key: tuple[str, int],
    ends: tuple[Any, Any],
    live: set[Any],
    open_branch: set[tuple[str, int]],
) -> bool:
    return (
        bool(row.get("in_service", True))
        and ends[0] in live
        and ends[1] in live
        and key not in open_branch
    )


def _table(net: Mapping[str, Any], name: str) -> pd.DataFrame:
    table = net.get(name, None)
    return table if isinstance(table, pd.DataFrame) else pd.DataFrame()


def _in_service(table: pd.DataFrame) -> pd.Series[bool]:
    if "in_service" not in table:
        return pd.Series(True, index=table.index)
    return table["in_service"].fillna(False).astype(bool)


def _col(table: pd.DataFrame, name: str, default: float) -> pd.Series[float]:
    if name in table:
        return table[name].astype(float)
    return pd.Series(default, index=table.index, dtype=float)


def _get(row: pd.Series[Any], name: str, default: object) -> object:
    value = row.get(name, default)
    if value is None or (np.ndim(value) == 0 and bool(pd.isna(value))):
        return default
    return value


def _num(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
