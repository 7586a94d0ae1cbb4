"""Least-cost PV, wind and battery sizing for many sites at once, by cutting planes (Benders).

:func:`size_supply_many` solves, for every site, the same linear programme as
:func:`~gridsite.energy.sizing.size_supply` (same variables, constraints and objective, including
the optional land and battery-duration limits), but decomposed so that a year of hours for a
hundred sites takes seconds instead of tens of seconds per site.

Method
------
Write ``x = (pv_mw, wind_mw, bess_mw, bess_mwh)`` and ``I(x)`` for the least grid import (MWh
over the period) of any dispatch of the sizing LP with capacities ``x``. ``I`` is the value of an
LP whose right-hand side is linear in ``x``, so it is convex, piecewise linear and non-increasing
in every capacity, and the sizing LP is exactly::

    min  c . x + p * I(x)    s.t.  I(x) <= cap,  x in P

with ``c`` the annualised costs, ``p`` the import price scaled to a year, ``cap = (1 -
cfe_target) * load_mwh`` and ``P`` the capacities allowed: the box ``0 <= x <= x_max``, the joint
land limit ``pv_mw * pv_km2_per_mw + wind_mw * wind_km2_per_mw <= land_km2`` and the duration
limit ``bess_mwh <= bess_duration_max_h * bess_mw``, each a linear row per site.

*The oracle* (:mod:`gridsite.energy.greedy`) returns ``I(x)`` of many (site, trial point) lanes
at once from a vectorised cyclic greedy dispatch, and for each an exact cut ``I(x') >= I_0 - s .
x'`` valid for every ``x'`` and tight at ``x``.

*Master and bounds.* Per round one HiGHS LP holds every unconverged site as an independent
block: ``min c . x + p * theta`` s.t. ``theta >= cut_k(x)``, ``theta <= cap``, ``x in P``. Its
value is a lower bound (cuts are lowered by 1e-9 of the load against rounding). Each round
evaluates, per site, the master point, the master point scaled up by fractions of the current
gap, and points on the segment to the incumbent (an in-out stabilisation), all projected onto
``P`` (PV and wind scaled down together onto the land limit, energy cut to the duration limit);
every one adds a cut, and any that meets the cap (to 1e-9 of the load) is an incumbent
candidate, so the sizes returned always lie in ``P`` and meet the target, or the highest share
reachable. Where the target is out of reach only PV and wind at the least import's argmin meet
the cap, so the same batteries are also tried with the incumbent's PV and wind. A site stops
when ``(upper - lower) <= rel_gap * upper``.

*Least import (phase 1).* Whether the target is reachable, and otherwise the cap to use (the
least import ``min_{x in P} I(x)``), is decided first. Without a land limit ``P`` has a largest
point, its upper corner, where ``I`` is least. With one, PV and wind trade against each other
along the land line and the least import is found by the same cutting-plane loop with objective
``theta`` alone (Kelley's method, the battery at its largest and PV and wind pushed onto the land
line, which never imports more), until a point meets the target or the least import is known to
``1e-8`` of the load. Cuts are valid everywhere, so phase 2 (the cost) starts with all of them.

The set ``P``, the finite battery bounds the master needs (which never change the optimum) and
the master LP are in :mod:`gridsite.energy.master`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridsite.energy.costs import SupplyCosts
from gridsite.energy.dispatch import FloatArray, check_battery
from gridsite.energy.greedy import greedy_dispatch
from gridsite.energy.master import IntArray, Limits, Search, capacity_box
from gridsite.energy.sizing import HOURS_PER_YEAR, SizingResult
from gridsite.errors import ConfigError

__all__ = ["FastSizingResult", "size_supply_many"]

log = logging.getLogger(__name__)

#: Phase 1 stops when the least import is known to this fraction of the load.
_LEAST_IMPORT_TOL = 1e-8
#: Initial trial points, as multiples of ``cfe_target * mean load`` for (PV, wind, battery MW,
#: battery MWh): a rough shape of the optimum, scaled over a wide range, to seed the cuts.
_SEED_SHAPE = (3.0, 2.0, 1.0, 8.0)
_SEED_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
#: Phase 1 seeds: points of the land line, this fraction of the PV bound along it.
_LINE_SEEDS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Trial points per site and round: the master point scaled up by these fractions of the
#: current relative gap (0 = the master point itself) ...
_GAP_FRACTIONS = (0.0, 0.01, 0.05, 0.2, 0.5)
#: ... and points this far from the master point towards the incumbent.
_TOWARDS_INCUMBENT = (0.1, 0.3, 0.6)


@dataclass(frozen=True)
class FastSizingResult(SizingResult):
    """A :class:`~gridsite.energy.sizing.SizingResult` with the bounds of the cutting-plane method.

    The inherited fields have their meaning in :class:`SizingResult`, except that ``dispatch``,
    ``cfe_share``, ``grid_import_gwh`` and ``curtailed_gwh`` come from the cyclic greedy dispatch
    of the chosen sizes, which imports exactly as little as the LP's optimal dispatch.

    Attributes
    ----------
    objective_usd_yr
        Objective of the returned sizes: ``annual_cost_usd`` plus the import cost of the year
        (``costs.grid_import_usd_per_mwh``; zero by default).
    objective_lower_bound_usd_yr
        Proven lower bound on the LP optimum of the same objective.
    gap_rel
        ``(objective_usd_yr - objective_lower_bound_usd_yr) / objective_usd_yr``; at most
        ``rel_gap`` unless ``iterations`` reached ``max_iter``.
    iterations
        Master problems solved for this site, both phases.
    """

    objective_usd_yr: float = math.nan
    objective_lower_bound_usd_yr: float = math.nan
    gap_rel: float = 0.0
    iterations: int = 0


def size_supply_many(
    load_mw: npt.ArrayLike,
    pv_cf: npt.ArrayLike,
    wind_cf: npt.ArrayLike,
    *,
    cfe_target: float = 0.8,
    pv_max_mw: npt.ArrayLike,
    wind_max_mw: npt.ArrayLike,
    bess_max_mw: npt.ArrayLike | None = None,
    bess_max_mwh: npt.ArrayLike | None = None,
    land_km2: npt.ArrayLike | None = None,
    pv_km2_per_mw: float | None = None,
    wind_km2_per_mw: float | None = None,
    bess_duration_max_h: npt.ArrayLike | None = None,
    costs: SupplyCosts | None = None,
    round_trip_efficiency: float = 0.85,
    soc_min: float = 0.1,
    soc_max: float = 0.9,
    dt_h: float = 1.0,
    rel_gap: float = 1e-3,
    max_iter: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> list[FastSizingResult]:
    """Size PV, wind and battery at least cost for many sites, each to reach ``cfe_target``.

    Every site gets the optimum of :func:`~gridsite.energy.sizing.size_supply`'s linear
    programme (with the same land and duration limits; no lower bound on the duration) to within
    ``rel_gap``, found by a cutting-plane method with exact cuts; see the module docstring.

    Parameters
    ----------
    load_mw
        Campus load per step, MW: shape ``(T,)`` (the same load at every site) or ``(T, n)``.
    pv_cf, wind_cf
        PV and wind capacity factors per step, in [0, 1], shape ``(T, n)``: column ``j`` is
        site ``j``. A 1-D series is one site.
    cfe_target
        Hourly-matched carbon-free share to reach over the period, in [0, 1].
    pv_max_mw, wind_max_mw
        Each site's potential, MW: a scalar for all sites or shape ``(n,)``.
    bess_max_mw, bess_max_mwh
        Optional upper bounds on battery power (MW) and energy (MWh), scalar or ``(n,)``.
    land_km2
        Optional land each site's PV and wind share, km2, scalar or ``(n,)`` (``inf`` for no
        limit at a site): ``pv_mw * pv_km2_per_mw + wind_mw * wind_km2_per_mw <= land_km2``.
        None for no limit.
    pv_km2_per_mw, wind_km2_per_mw
        Land taken per MW of PV and of wind, km2/MW (e.g. 1/50 and 1/4); required with
        ``land_km2``.
    bess_duration_max_h
        Optional upper bound on ``bess_mwh / bess_mw``, hours, scalar or ``(n,)``.
    costs
        Cost assumptions; :class:`~gridsite.energy.costs.SupplyCosts` defaults when None.
    round_trip_efficiency, soc_min, soc_max
        Battery efficiency (``sqrt`` of it on charge and on discharge) and state-of-charge
        limits as fractions of ``bess_mwh``.
    dt_h
        Length of a step, hours; costs are annualised by scaling the period to 8,760 h.
    rel_gap
        Stop a site when its objective is proven within this fraction of the optimum.
    max_iter
        Most master problems per site and phase; a site that reaches it is returned with its
        gap (``gap_rel``) and a warning is logged.
    progress
        Called as ``progress(done, total)`` with the sites sized so far (of ``total``) after
        each round of master problems, and once at the end.

    Returns
    -------
    list of FastSizingResult
        One per site, in column order; every size meets the site's limits. When the target
        cannot be met within them, ``cfe_feasible`` is False and the sizes are the least-cost
        way to reach the highest share that can be met (to ``1e-8`` of the load), as in
        ``size_supply``.

    Raises
    ------
    ConfigError
        If a series or parameter is out of range (every problem is listed).
    GridsiteError
        If HiGHS fails on a master problem.

    Examples
    --------
    >>> import numpy as np
    >>> hours = np.arange(48)
    >>> pv = np.clip(np.sin((hours % 24 - 6) / 12 * np.pi), 0, None)
    >>> [r] = size_supply_many(np.full(48, 10.0), pv[:, None], np.zeros((48, 1)),
    ...                        cfe_target=0.5, pv_max_mw=100, wind_max_mw=0)
    >>> r.cfe_feasible, round(r.cfe_share, 6) >= 0.5, r.gap_rel <= 1e-3
    (True, True, True)
    """
    problems: list[str] = []
    series = _check_series(load_mw, pv_cf, wind_cf, problems)
    try:
        check_battery(round_trip_efficiency, soc_min, soc_max)
    except ConfigError as err:
        problems.append(str(err))
    if not 0 <= cfe_target <= 1:
        problems.append(f"cfe_target must be in [0, 1], got {cfe_target}")
    if not dt_h > 0:
        problems.append(f"dt_h must be > 0, got {dt_h}")
    if not rel_gap > 0:
        problems.append(f"rel_gap must be > 0, got {rel_gap}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        problems.append(f"max_iter must be an integer >= 1, got {max_iter!r}")
    n = series[1].shape[1] if series is not None else 0
    per_site = {
        name: _as_per_site(v, name, n, problems)
        for name, v in (
            ("pv_max_mw", pv_max_mw),
            ("wind_max_mw", wind_max_mw),
            ("bess_max_mw", bess_max_mw),
            ("bess_max_mwh", bess_max_mwh),
            ("land_km2", land_km2),
            ("bess_duration_max_h", bess_duration_max_h),
        )
    }
    for name in ("pv_max_mw", "wind_max_mw"):
        if not np.isfinite(per_site[name]).all():
            problems.append(f"{name} must be finite (the site's potential)")
    km2_per_mw = (pv_km2_per_mw, wind_km2_per_mw)
    if land_km2 is not None and any(v is None for v in km2_per_mw):
        problems.append("land_km2 needs pv_km2_per_mw and wind_km2_per_mw (km2 per MW)")
    for name, v in zip(("pv_km2_per_mw", "wind_km2_per_mw"), km2_per_mw, strict=True):
        if v is not None and not 0 <= v < math.inf:
            problems.append(f"{name} must be finite and >= 0, got {v}")
    if series is not None:
        empty = np.flatnonzero(series[0].sum(axis=0) <= 0)
        if empty.size:
            problems.append(
                f"load_mw is zero over the whole period at sites {empty[:10].tolist()}; "
                "nothing to size there (drop those sites)"
            )
    if problems or series is None:
        raise ConfigError("; ".join(problems))
    limits = Limits(
        pv_km2_per_mw=float(pv_km2_per_mw or 0.0),
        wind_km2_per_mw=float(wind_km2_per_mw or 0.0),
        land_km2=per_site["land_km2"],
        duration_max_h=per_site["bess_duration_max_h"],
    )
    load, pv, wind = series
    return _solve_many(
        load,
        pv,
        wind,
        np.stack(
            [per_site[k] for k in ("pv_max_mw", "wind_max_mw", "bess_max_mw", "bess_max_mwh")]
        ),
        limits,
        cfe_target=cfe_target,
        costs=SupplyCosts() if costs is None else costs,
        opts={
            "round_trip_efficiency": round_trip_efficiency,
            "soc_min": soc_min,
            "soc_max": soc_max,
            "dt_h": dt_h,
        },
        rel_gap=rel_gap,
        max_iter=max_iter,
        progress=progress,
    )


def _as_per_site(value: npt.ArrayLike | None, name: str, n: int, problems: list[str]) -> FloatArray:
    """Return a scalar or ``(n,)`` bound as ``(n,)``; ``inf`` for None."""
    if value is None:
        return np.full(n, np.inf)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        problems.append(f"{name} must be a scalar or one value per site ({n}), got {arr.shape}")
        return np.full(n, np.inf)
    bad = np.flatnonzero(~(arr >= 0))
    if bad.size:
        problems.append(f"{name} must be >= 0 (or inf), got {arr[bad[0]]} for site {bad[0]}")
    return arr


def _check_series(
    load_mw: npt.ArrayLike, pv_cf: npt.ArrayLike, wind_cf: npt.ArrayLike, problems: list[str]
) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """Return the three series as ``(T, n)`` float arrays, or None after noting the problems."""
    pv = np.asarray(pv_cf, dtype=np.float64)
    wind = np.asarray(wind_cf, dtype=np.float64)
    load = np.asarray(load_mw, dtype=np.float64)
    pv = pv[:, None] if pv.ndim == 1 else pv
    wind = wind[:, None] if wind.ndim == 1 else wind
    if pv.ndim != 2 or pv.shape != wind.shape or pv.size == 0:
        problems.append(
            f"pv_cf and wind_cf must be non-empty (steps, sites) arrays of one shape, got "
            f"{pv.shape} and {wind.shape}; give column j for site j"
        )
        return None
    n_steps, n = pv.shape
    if load.ndim == 1:
        load = load[:, None]
    if load.ndim != 2 or load.shape[0] != n_steps or load.shape[1] not in (1, n):
        problems.append(
            f"load_mw must have shape ({n_steps},) or ({n_steps}, {n}) to match the capacity "
            f"factors, got {load.shape}"
        )
        return None
    load = np.ascontiguousarray(np.broadcast_to(load, (n_steps, n)))
    for name, arr in (("load_mw", load), ("pv_cf", pv), ("wind_cf", wind)):
        if not np.isfinite(arr).all():
            problems.append(f"{name} holds NaN or infinite values")
        elif arr.min() < 0:
            problems.append(f"{name} has negative values (min {arr.min():g})")
        elif name != "load_mw" and arr.max() > 1:
            cols = np.flatnonzero(arr.max(axis=0) > 1)[:5].tolist()
            problems.append(
                f"{name} exceeds 1 (max {arr.max():g}, sites {cols}); give capacity factors "
                "(clip the series to [0, 1])"
            )
    return load, np.ascontiguousarray(pv), np.ascontiguousarray(wind)


def _solve_many(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    caps: FloatArray,
    limits: Limits,
    *,
    cfe_target: float,
    costs: SupplyCosts,
    opts: dict[str, float],
    rel_gap: float,
    max_iter: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[FastSizingResult]:
    clock = time.perf_counter()
    n_steps, n = pv.shape
    dt_h = opts["dt_h"]
    c_usd = np.array(
        [
            costs.pv_usd_per_mw_yr(),
            costs.wind_usd_per_mw_yr(),
            costs.bess_usd_per_mw_yr(),
            costs.bess_usd_per_mwh_yr(),
        ]
    )
    # import price per MWh imported over the period, in USD/year
    price = costs.grid_import_usd_per_mwh * HOURS_PER_YEAR / (n_steps * dt_h)
    box = capacity_box(load, pv, wind, caps, limits, **opts)
    s = Search((load, pv, wind), box, limits, c_usd, price, opts)
    cap = (1.0 - cfe_target) * s.load_mwh
    all_sites = np.arange(n)

    # Round 0: the upper corner of P (least import unless the land limit cuts it off), nothing,
    # all the PV and wind allowed, and a spread of seed shapes; all projected onto P.
    seeds = [box, np.zeros_like(box), np.stack([box[0], box[1], np.zeros(n), np.zeros(n)])]
    for f in _SEED_SCALES:
        shape = np.array(_SEED_SHAPE)[:, None] * (max(cfe_target, 0.05) * f * s.x_scale[0])
        seeds.append(shape)
    s.evaluate(all_sites, limits.project(np.stack(seeds, axis=2), box, all_sites))

    cut_off = limits.land_used(box) > limits.land_km2 * (1 + 1e-12)
    searched = all_sites[cut_off & (s.least_mwh > cap + s.tol)]
    stalled = _least_import(s, searched, cap, max_iter)
    feasible = s.least_mwh <= cap + s.tol
    s.set_caps(np.where(feasible, cap, s.least_mwh))

    lower = np.zeros(n)
    active = all_sites.copy()
    for _ in range(max_iter):
        x_master, lb = s.master(active, least_import=False)
        lower[active] = np.maximum(lower[active], lb)
        s.iterations[active] += 1
        gap = _gap(s.best_obj[active], lower[active])
        keep = gap > rel_gap
        active = active[keep]
        x_master = x_master[:, keep]
        if progress is not None:
            progress(n - active.size, n)
        if active.size == 0:
            break
        # trial points: the master point scaled up by fractions of the gap, and towards the
        # incumbent (in-out); projected onto P
        grow = np.minimum(gap[keep], 1e6)
        trials = [x_master * (1.0 + f * grow) for f in _GAP_FRACTIONS]
        trials += [x_master + t * (s.best_x[:, active] - x_master) for t in _TOWARDS_INCUMBENT]
        x_trial = np.stack(trials, axis=2)
        s.evaluate(active, limits.project(x_trial, box, active))
        # Where the target is out of reach only PV and wind at the least import's argmin (in
        # practice the incumbent's) meet the cap, which the points above miss: try the same
        # batteries with the incumbent's PV and wind too.
        short = ~feasible[active]
        if short.any():
            x_short = x_trial[:, short]
            x_short[:2] = s.best_x[:2, active[short], None]
            s.evaluate(active[short], limits.project(x_short, box, active[short]))
    gaps = _gap(s.best_obj, lower)
    if stalled.size:
        log.warning(
            "supply sizing: the least import of %d of %d sites is known only to %.2g of the "
            "load after max_iter=%d; raise max_iter",
            stalled.size,
            n,
            float(((s.least_mwh - s.lower_least) / s.load_mwh)[stalled].max()),
            max_iter,
        )
    if active.size:
        log.warning(
            "supply sizing: %d of %d sites stopped at max_iter=%d with relative gaps up to %.2g "
            "(rel_gap %.2g); raise max_iter for tighter sizes",
            active.size,
            n,
            max_iter,
            float(gaps[active].max()),
            rel_gap,
        )

    dispatches = greedy_dispatch(load, pv, wind, s.best_x, **opts)
    results = []
    for j in range(n):
        d = dispatches[j]
        x = s.best_x[:, j]
        annual = float(c_usd @ x)
        local_mwh_yr = float((d.used_mw + d.discharge_mw).sum()) * HOURS_PER_YEAR / n_steps
        results.append(
            FastSizingResult(
                pv_mw=float(x[0]),
                wind_mw=float(x[1]),
                bess_mw=float(x[2]),
                bess_mwh=float(x[3]),
                cfe_share=d.cfe_share,
                cfe_share_no_storage=float(np.minimum(d.generation_mw, d.load_mw).sum())
                / float(d.load_mw.sum()),
                grid_import_gwh=d.grid_import_gwh,
                curtailed_gwh=d.curtailed_gwh,
                lcoe_usd_mwh=annual / local_mwh_yr if local_mwh_yr > 0 else math.nan,
                annual_cost_usd=annual,
                cfe_target=cfe_target,
                cfe_feasible=bool(feasible[j]),
                dispatch=d,
                objective_usd_yr=float(s.best_obj[j]),
                objective_lower_bound_usd_yr=float(min(lower[j], s.best_obj[j])),
                gap_rel=float(gaps[j]),
                iterations=int(s.iterations[j]),
            )
        )
    log.info(
        "supply sizing: %d sites x %d steps, %d of them reach the target (%d needed a least-import "
        "search); %d master rounds, largest gap %.2g; %.1f s",
        n,
        n_steps,
        int(feasible.sum()),
        searched.size,
        int(s.iterations.max(initial=0)),
        float(gaps.max(initial=0.0)),
        time.perf_counter() - clock,
    )
    if progress is not None:
        progress(n, n)
    return results


def _least_import(s: Search, sites: IntArray, cap: FloatArray, max_iter: int) -> IntArray:
    """Phase 1: lower ``s.least_mwh`` of ``sites`` to the least import of ``P`` (Kelley's method).

    A site stops when a point meets its cap, or when the least import is proven to
    ``_LEAST_IMPORT_TOL`` of the load. Returns the sites stopped by ``max_iter``.
    """
    if not sites.size:
        return sites
    s.evaluate(sites, s.limits.line(s.box, sites, _LINE_SEEDS))
    active = sites
    for _ in range(max_iter):
        active = active[s.least_mwh[active] > cap[active] + s.tol[active]]
        if not active.size:
            break
        x_master, lb = s.master(active, least_import=True)
        s.iterations[active] += 1
        s.lower_least[active] = np.maximum(s.lower_least[active], lb)
        keep = s.least_mwh[active] - s.lower_least[active] > _LEAST_IMPORT_TOL * s.load_mwh[active]
        active = active[keep]
        x_master = x_master[:, keep]
        if not active.size:
            break
        # the master point and points towards the least import so far, each with its PV and
        # wind pushed onto the land line and the battery at its bounds (never more import)
        trials = [x_master]
        trials += [x_master + t * (s.least_x[:, active] - x_master) for t in _TOWARDS_INCUMBENT]
        s.evaluate(active, s.limits.dominate(np.stack(trials, axis=2), s.box, active))
    stalled: IntArray = active[s.least_mwh[active] > cap[active] + s.tol[active]]
    return stalled


def _gap(upper: FloatArray, lower: FloatArray) -> FloatArray:
    """Relative gap ``(upper - lower) / upper``; 0 when both are 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = (upper - lower) / np.abs(upper)
    gap = np.where(upper <= lower, 0.0, gap)
    return np.where(np.isnan(gap), np.inf, gap)
