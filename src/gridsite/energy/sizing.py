"""Least-cost sizing of local PV, wind and battery to reach an hourly-matched CFE target.

One linear programme per site, solved with HiGHS through :func:`scipy.optimize.linprog`.

Variables: the capacities ``pv_mw``, ``wind_mw``, ``bess_mw``, ``bess_mwh`` and, per step, the
flows ``used``, ``charge``, ``discharge``, ``import``, ``curtailed`` (MW) and ``soc`` (MWh).

Constraints, per step ``t`` (``eta = sqrt(round_trip_efficiency)``, the convention of
:mod:`gridsite.energy.dispatch`):

- load balance ``used + discharge + import = load``;
- generation balance ``used + charge + curtailed = pv_cf * pv_mw + wind_cf * wind_mw``;
- state of charge ``soc[t] = soc[t-1] + (eta * charge - discharge / eta) * dt_h``, cyclic
  (``soc[-1] = soc[T-1]``), so the period ends with the energy it started with and storage
  cannot lend the period free energy;
- ``soc_min * bess_mwh <= soc <= soc_max * bess_mwh``; ``charge, discharge <= bess_mw``;
- optional duration bounds ``bess_duration_min_h * bess_mw <= bess_mwh <= bess_duration_max_h *
  bess_mw``;
- over the period ``sum(import) <= (1 - cfe_target) * sum(load)``;
- ``pv_mw <= pv_max_mw``, ``wind_mw <= wind_max_mw`` (the site's potential);
- optional joint land limit ``pv_mw * pv_km2_per_mw + wind_mw * wind_km2_per_mw <= land_km2``
  (PV and onshore wind compete for the same land).

Objective: annualised capex (capital recovery factor) plus fixed O&M of the four capacities, plus
the grid import price times the imports scaled to a year. The matrices are sparse (about 11
non-zeros per step). A full year of hours takes HiGHS tens of seconds on synthetic noisy profiles
(see the report of issue 5); shorten the series (representative weeks) if that is too slow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog

from gridsite.energy.costs import SupplyCosts
from gridsite.energy.dispatch import (
    DispatchResult,
    FloatArray,
    check_battery,
    check_profiles,
    simulate,
)
from gridsite.errors import ConfigError, GridsiteError

__all__ = ["SizingResult", "size_supply"]

HOURS_PER_YEAR = 8760.0
# Flow blocks in the variable vector, each one value per step, then the four capacities. Import
# and curtailment are the slacks of the load and generation balances, not variables: two blocks
# fewer make HiGHS several times faster.
_USED, _CHARGE, _DISCHARGE, _SOC = range(4)
_N_BLOCKS = 4


@dataclass(frozen=True)
class SizingResult:
    """Least-cost local supply for one site, and how well it matches the load.

    Attributes
    ----------
    pv_mw, wind_mw, bess_mw, bess_mwh
        Sizes chosen by the linear programme.
    cfe_share
        Hourly-matched carbon-free share of the LP's own (optimal) dispatch.
    cfe_share_no_storage
        Share reached by the same PV and wind with no battery (:func:`simulate`).
    grid_import_gwh, curtailed_gwh
        Grid import and surplus exported or curtailed over the period, LP dispatch.
    lcoe_usd_mwh
        Annualised cost of the local supply per MWh of local energy serving the load (direct use
        plus battery discharge); NaN when no local energy serves the load.
    annual_cost_usd
        Annualised capex plus fixed O&M of the local supply, USD/year (imports excluded).
    cfe_target
        Target asked for.
    cfe_feasible
        False when the target cannot be met within the potential; the sizes are then the
        least-cost way to reach the highest share that can be met (``cfe_share``).
    dispatch
        The LP's per-step flows.
    """

    pv_mw: float
    wind_mw: float
    bess_mw: float
    bess_mwh: float
    cfe_share: float
    cfe_share_no_storage: float
    grid_import_gwh: float
    curtailed_gwh: float
    lcoe_usd_mwh: float
    annual_cost_usd: float
    cfe_target: float
    cfe_feasible: bool
    dispatch: DispatchResult


@dataclass(frozen=True)
class _Programme:
    """Matrices of the sizing LP that do not depend on the target."""

    c: FloatArray
    a_eq: sp.csr_array
    b_eq: FloatArray
    a_ub: sp.csr_array
    b_ub: FloatArray
    bounds: list[tuple[float, float | None]]
    n_steps: int
    load_mwh: float


def _build(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    *,
    pv_max_mw: float,
    wind_max_mw: float,
    bess_max_mw: float | None,
    costs: SupplyCosts,
    round_trip_efficiency: float,
    soc_min: float,
    soc_max: float,
    bess_duration_min_h: float | None,
    bess_duration_max_h: float | None,
    land_km2: float | None,
    pv_km2_per_mw: float,
    wind_km2_per_mw: float,
    dt_h: float,
) -> _Programme:
    n = load.size
    n_flow = _N_BLOCKS * n
    pv_col, wind_col, bmw_col, bmwh_col = n_flow, n_flow + 1, n_flow + 2, n_flow + 3
    n_var = n_flow + 4
    eta = math.sqrt(round_trip_efficiency)
    eye = sp.eye_array(n, format="csr")
    zero = sp.csr_array((n, n))

    def row(blocks: dict[int, sp.csr_array], caps: dict[int, FloatArray]) -> sp.csr_array:
        """One block row of n constraints: flow blocks by index, capacity columns by column."""
        flow = sp.hstack([blocks.get(b, zero) for b in range(_N_BLOCKS)], format="csr")
        rows = np.tile(np.arange(n), len(caps))
        cols = np.repeat([col - n_flow for col in caps], n)
        vals = np.concatenate([*caps.values(), np.zeros(0)])
        cap = sp.csr_array((vals, (rows, cols)), shape=(n, 4))
        return sp.hstack([flow, cap], format="csr")

    # soc[t] - soc[t-1] with soc[-1] = soc[n-1] (for one step, soc[0] - soc[0] = 0)
    shift = sp.eye_array(n, k=-1, format="lil")
    shift[0, n - 1] += 1.0
    soc_step = sp.csr_array(eye - shift)
    ones = np.ones(n)
    a_eq = row({_SOC: soc_step, _CHARGE: -eta * dt_h * eye, _DISCHARGE: dt_h / eta * eye}, {})
    b_eq = np.zeros(n)

    ub_rows = [
        # import = load - used - discharge >= 0
        row({_USED: eye, _DISCHARGE: eye}, {}),
        # curtailed = generation - used - charge >= 0
        row({_USED: eye, _CHARGE: eye}, {pv_col: -pv, wind_col: -wind}),
        row({_SOC: eye}, {bmwh_col: -soc_max * ones}),
        row({_SOC: -eye}, {bmwh_col: soc_min * ones}),
        row({_CHARGE: eye}, {bmw_col: -ones}),
        row({_DISCHARGE: eye}, {bmw_col: -ones}),
    ]
    b_ub_parts = [load, np.zeros(5 * n)]
    # The import cap comes first: -sum(used + discharge) * dt_h <= cap - load_mwh; _solve sets
    # its right-hand side.
    cap_row = sp.lil_array((1, n_var))
    cap_row[0, _USED * n : (_USED + 1) * n] = -dt_h
    cap_row[0, _DISCHARGE * n : (_DISCHARGE + 1) * n] = -dt_h
    single = [sp.csr_array(cap_row)]
    b_single = [0.0]
    if bess_duration_max_h is not None:
        r = sp.lil_array((1, n_var))
        r[0, bmwh_col], r[0, bmw_col] = 1.0, -bess_duration_max_h
        single.append(sp.csr_array(r))
        b_single.append(0.0)
    if bess_duration_min_h is not None:
        r = sp.lil_array((1, n_var))
        r[0, bmwh_col], r[0, bmw_col] = -1.0, bess_duration_min_h
        single.append(sp.csr_array(r))
        b_single.append(0.0)
    if land_km2 is not None and math.isfinite(land_km2):
        r = sp.lil_array((1, n_var))
        r[0, pv_col], r[0, wind_col] = pv_km2_per_mw, wind_km2_per_mw
        single.append(sp.csr_array(r))
        b_single.append(land_km2)
    a_ub = sp.vstack([*single, *ub_rows], format="csr")
    b_ub = np.concatenate([np.asarray(b_single), *b_ub_parts])

    # Objective in MUSD/year keeps the coefficients near 1 for HiGHS.
    c = np.zeros(n_var)
    c[pv_col] = costs.pv_usd_per_mw_yr() / 1e6
    c[wind_col] = costs.wind_usd_per_mw_yr() / 1e6
    c[bmw_col] = costs.bess_usd_per_mw_yr() / 1e6
    c[bmwh_col] = costs.bess_usd_per_mwh_yr() / 1e6
    year_scale = HOURS_PER_YEAR / (n * dt_h)
    # import price * (load - used - discharge); the constant load term is dropped
    import_coef = costs.grid_import_usd_per_mwh * dt_h * year_scale / 1e6
    c[_USED * n : (_USED + 1) * n] = -import_coef
    c[_DISCHARGE * n : (_DISCHARGE + 1) * n] = -import_coef

    bounds: list[tuple[float, float | None]] = [(0.0, None)] * n_flow
    bounds += [(0.0, pv_max_mw), (0.0, wind_max_mw), (0.0, bess_max_mw), (0.0, None)]
    return _Programme(c, a_eq, b_eq, a_ub, b_ub, bounds, n, float(load.sum()) * dt_h)


def _solve(
    prog: _Programme, import_cap_mwh: float, c: FloatArray | None = None
) -> FloatArray | None:
    """Solve with the given cap on total import; None when infeasible."""
    b_ub = prog.b_ub.copy()
    b_ub[0] = import_cap_mwh - prog.load_mwh
    res = linprog(
        prog.c if c is None else c,
        A_ub=prog.a_ub,
        b_ub=b_ub,
        A_eq=prog.a_eq,
        b_eq=prog.b_eq,
        bounds=prog.bounds,
        method="highs",
    )
    if res.status == 2:
        return None
    if res.status != 0:
        raise GridsiteError(f"the sizing LP did not solve: {res.message}")
    return np.asarray(res.x, dtype=np.float64)


def size_supply(
    load_mw: npt.ArrayLike,
    pv_cf: npt.ArrayLike,
    wind_cf: npt.ArrayLike,
    *,
    cfe_target: float = 0.8,
    pv_max_mw: float,
    wind_max_mw: float,
    bess_max_mw: float | None = None,
    costs: SupplyCosts | None = None,
    round_trip_efficiency: float = 0.85,
    soc_min: float = 0.1,
    soc_max: float = 0.9,
    bess_duration_min_h: float | None = None,
    bess_duration_max_h: float | None = None,
    land_km2: float | None = None,
    pv_km2_per_mw: float | None = None,
    wind_km2_per_mw: float | None = None,
    dt_h: float = 1.0,
) -> SizingResult:
    """Size PV, wind and battery at least cost so local supply meets ``cfe_target`` of the load.

    Parameters
    ----------
    load_mw
        Campus load per step, MW (8,760 steps for a year of hours; any length works, and costs
        are annualised by scaling the period to 8,760 h).
    pv_cf, wind_cf
        PV and wind capacity factors per step, in [0, 1].
    cfe_target
        Hourly-matched carbon-free share to reach over the period, in [0, 1]; 1.0 is allowed.
    pv_max_mw, wind_max_mw
        The site's potential: upper bounds on installed PV and wind, MW.
    bess_max_mw
        Optional upper bound on battery power, MW; energy is bounded through the duration.
    costs
        Cost assumptions; :class:`SupplyCosts` defaults when None.
    round_trip_efficiency, soc_min, soc_max
        Battery efficiency (split as ``sqrt`` on charge and discharge) and state-of-charge limits
        as fractions of ``bess_mwh``.
    bess_duration_min_h, bess_duration_max_h
        Optional bounds on ``bess_mwh / bess_mw``, hours; None leaves power and energy free.
    land_km2
        Optional land the site's PV and wind share, km2:
        ``pv_mw * pv_km2_per_mw + wind_mw * wind_km2_per_mw <= land_km2``; None (or inf) for no
        limit.
    pv_km2_per_mw, wind_km2_per_mw
        Land taken per MW of PV and of wind, km2/MW (e.g. 1/50 and 1/4); required with
        ``land_km2``.
    dt_h
        Length of a step, hours.

    Returns
    -------
    SizingResult
        Sizes, shares, energies and cost. When the target cannot be met within the potential,
        ``cfe_feasible`` is False and the result is the least-cost supply reaching the highest
        share that can be met; no exception is raised for that.

    Raises
    ------
    ConfigError
        If a series or parameter is out of range.
    GridsiteError
        If HiGHS fails for a reason other than infeasibility.
    """
    load, pv, wind = check_profiles(load_mw, pv_cf, wind_cf)
    check_battery(round_trip_efficiency, soc_min, soc_max)
    costs = SupplyCosts() if costs is None else costs
    problems = []
    if not 0 <= cfe_target <= 1:
        problems.append(f"cfe_target must be in [0, 1], got {cfe_target}")
    for name, value in (("pv_max_mw", pv_max_mw), ("wind_max_mw", wind_max_mw)):
        if not value >= 0:
            problems.append(f"{name} must be >= 0, got {value}")
    if bess_max_mw is not None and not bess_max_mw >= 0:
        problems.append(f"bess_max_mw must be >= 0, got {bess_max_mw}")
    lo, hi = bess_duration_min_h, bess_duration_max_h
    if (lo is not None and lo < 0) or (lo is not None and hi is not None and lo > hi):
        problems.append(f"need 0 <= bess_duration_min_h <= bess_duration_max_h, got {lo}, {hi}")
    if land_km2 is not None and not land_km2 >= 0:
        problems.append(f"land_km2 must be >= 0 (or inf), got {land_km2}")
    km2_per_mw = (pv_km2_per_mw, wind_km2_per_mw)
    if land_km2 is not None and any(v is None for v in km2_per_mw):
        problems.append("land_km2 needs pv_km2_per_mw and wind_km2_per_mw (km2 per MW)")
    for name, v in zip(("pv_km2_per_mw", "wind_km2_per_mw"), km2_per_mw, strict=True):
        if v is not None and not 0 <= v < math.inf:
            problems.append(f"{name} must be finite and >= 0, got {v}")
    if not dt_h > 0:
        problems.append(f"dt_h must be > 0, got {dt_h}")
    load_mwh = float(load.sum()) * dt_h
    if not load_mwh > 0:
        problems.append("load_mw is zero over the whole period; nothing to size")
    if problems:
        raise ConfigError("; ".join(problems))

    prog = _build(
        load,
        pv,
        wind,
        pv_max_mw=pv_max_mw,
        wind_max_mw=wind_max_mw,
        bess_max_mw=bess_max_mw,
        costs=costs,
        round_trip_efficiency=round_trip_efficiency,
        soc_min=soc_min,
        soc_max=soc_max,
        bess_duration_min_h=bess_duration_min_h,
        bess_duration_max_h=bess_duration_max_h,
        land_km2=land_km2,
        pv_km2_per_mw=pv_km2_per_mw or 0.0,
        wind_km2_per_mw=wind_km2_per_mw or 0.0,
        dt_h=dt_h,
    )
    x = _solve(prog, (1.0 - cfe_target) * load_mwh)
    feasible = x is not None
    if x is None:
        # Highest reachable share: minimise import, then the least-cost supply reaching it.
        n = load.size
        c_import = np.zeros_like(prog.c)
        c_import[_USED * n : (_USED + 1) * n] = -dt_h / load_mwh
        c_import[_DISCHARGE * n : (_DISCHARGE + 1) * n] = -dt_h / load_mwh
        best = _solve(prog, load_mwh, c=c_import)
        if best is None:  # cannot happen: importing the whole load is always feasible
            raise GridsiteError("the sizing LP is infeasible even with all load imported")
        served = best[_USED * n : (_USED + 1) * n] + best[_DISCHARGE * n : (_DISCHARGE + 1) * n]
        min_import_mwh = load_mwh - float(served.sum()) * dt_h
        x = _solve(prog, min_import_mwh + 1e-9 * load_mwh)
        x = best if x is None else x
    return _result(
        x,
        load,
        pv,
        wind,
        prog.n_steps,
        cfe_target,
        feasible,
        costs,
        dt_h,
        round_trip_efficiency=round_trip_efficiency,
        soc_min=soc_min,
        soc_max=soc_max,
    )


def _result(
    x: FloatArray,
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    n: int,
    cfe_target: float,
    feasible: bool,
    costs: SupplyCosts,
    dt_h: float,
    *,
    round_trip_efficiency: float,
    soc_min: float,
    soc_max: float,
) -> SizingResult:
    # HiGHS meets constraints to ~1e-7: clip tiny negatives, then derive import and curtailment
    # from the balances so each step closes exactly.
    x = np.maximum(x, 0.0)
    pv_mw, wind_mw, bess_mw, bess_mwh = (float(v) for v in x[_N_BLOCKS * n :])

    def block(b: int) -> FloatArray:
        return x[b * n : (b + 1) * n]

    generation = pv_mw * pv + wind_mw * wind
    used = np.minimum(block(_USED), np.minimum(load, generation))
    charge = np.minimum(block(_CHARGE), generation - used)
    discharge = np.minimum(block(_DISCHARGE), load - used)
    dispatch = DispatchResult(
        load_mw=load,
        generation_mw=generation,
        used_mw=used,
        charge_mw=charge,
        discharge_mw=discharge,
        import_mw=load - used - discharge,
        curtailed_mw=generation - used - charge,
        soc_mwh=block(_SOC).copy(),
        dt_h=dt_h,
    )
    annual_cost_usd = (
        pv_mw * costs.pv_usd_per_mw_yr()
        + wind_mw * costs.wind_usd_per_mw_yr()
        + bess_mw * costs.bess_usd_per_mw_yr()
        + bess_mwh * costs.bess_usd_per_mwh_yr()
    )
    local_mwh_yr = float((used + discharge).sum()) * HOURS_PER_YEAR / n
    no_storage = simulate(
        load,
        pv,
        wind,
        pv_mw=pv_mw,
        wind_mw=wind_mw,
        bess_mw=0.0,
        bess_mwh=0.0,
        round_trip_efficiency=round_trip_efficiency,
        soc_min=soc_min,
        soc_max=soc_max,
        soc_start=soc_min,
        dt_h=dt_h,
    )
    return SizingResult(
        pv_mw=pv_mw,
        wind_mw=wind_mw,
        bess_mw=bess_mw,
        bess_mwh=bess_mwh,
        cfe_share=dispatch.cfe_share,
        cfe_share_no_storage=no_storage.cfe_share,
        grid_import_gwh=dispatch.grid_import_gwh,
        curtailed_gwh=dispatch.curtailed_gwh,
        lcoe_usd_mwh=annual_cost_usd / local_mwh_yr if local_mwh_yr > 0 else math.nan,
        annual_cost_usd=annual_cost_usd,
        cfe_target=cfe_target,
        cfe_feasible=feasible,
        dispatch=dispatch,
    )
