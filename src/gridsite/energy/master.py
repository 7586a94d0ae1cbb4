"""The master side of the cutting-plane sizing: the set of allowed capacities and the master LP.

Used by :mod:`gridsite.energy.fastsizing`. Capacities are ``x = (pv_mw, wind_mw, bess_mw,
bess_mwh)`` per site; ``P`` is the set allowed:

- the box ``0 <= x <= x_max`` (:func:`capacity_box`);
- the joint land limit ``pv_mw * pv_km2_per_mw + wind_mw * wind_km2_per_mw <= land_km2``;
- the duration limit ``bess_mwh <= bess_duration_max_h * bess_mw``.

:class:`Limits` moves trial points into ``P`` (``project``: PV and wind scaled down together
onto the land limit, energy cut to the duration limit, never upwards) and to points of ``P`` that
import no more (``dominate``: PV and wind pushed onto the land limit, the battery at its bounds),
which is all phase 1 needs since import never rises with capacity.

*Box.* The master needs finite bounds on the battery. ``bess_mw`` is bounded by
``max(max_t surplus_max_t, max_t load_t)`` (no step can charge or discharge more), and
``bess_mwh`` by the largest swing of a cyclic state of charge, ``min(sqrt(rte) *
sum(min(surplus_max_t, bess_mw_max)), sum(min(load_t, bess_mw_max)) / sqrt(rte)) * dt_h /
(soc_max - soc_min)`` (a cyclic trajectory cannot rise by more than it charges, or fall by more
than it discharges), where ``surplus_max_t`` is the surplus of the largest PV and wind allowed
(each also bounded by the land alone). Import does not decrease beyond either bound. Under a
duration limit ``D`` the power bound is raised to ``bess_mwh_max / D`` and the energy bound
lowered to ``D * bess_mw_max``: any battery of ``P`` then maps to one inside the box (power and
energy each cut to their bound) with the same import, no more cost and a duration still within
``D``, so the optimal value never depends on the bounds, and the upper corner of the box meets
the duration limit. ``bess_max_mw`` and ``bess_max_mwh`` tighten them when given (the caller's
constraints, like the PV and wind potential).

*Master.* :func:`solve_master` solves one HiGHS LP holding every active site as an independent
block: ``min c . x + theta_usd * theta`` s.t. ``theta >= cut_k(x)`` for the site's cuts,
``theta <= theta_hi``, ``x`` in ``P`` (one land and one duration row per site that has them).
:class:`Search` holds the state between rounds: the cuts, the least import evaluated per site and
the incumbents, with the master of phase 1 (least import) and of phase 2 (least cost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog

from gridsite.energy.dispatch import FloatArray
from gridsite.energy.greedy import evaluate_sites
from gridsite.errors import GridsiteError

__all__ = ["FEAS_TOL", "Cuts", "Limits", "Search", "capacity_box", "solve_master"]

IntArray = npt.NDArray[np.int64]

#: Import within this fraction of the period's load counts as meeting a cap, so that rounding in
#: the sums (about 1e-12 of the load) cannot turn a feasible size infeasible; shares are met to
#: 1e-9.
FEAS_TOL = 1e-9


@dataclass(frozen=True)
class Limits:
    """The linear limits of ``P`` besides the box, per site (``inf`` where there is none)."""

    pv_km2_per_mw: float
    wind_km2_per_mw: float
    land_km2: FloatArray
    duration_max_h: FloatArray

    def land_used(self, x: FloatArray) -> FloatArray:
        """Land taken by the PV and wind of ``x`` (capacities first), km2."""
        used: FloatArray = self.pv_km2_per_mw * x[0] + self.wind_km2_per_mw * x[1]
        return used

    def project(self, x: FloatArray, box: FloatArray, sites: IntArray) -> FloatArray:
        """Return lanes ``x`` ``(4, k, m)`` of ``sites`` moved into ``P``, never upwards.

        PV and wind are clipped to the box, then scaled down together onto the land limit; the
        energy is cut to the duration limit (and the box).
        """
        y = np.minimum(np.maximum(x, 0.0), box[:, sites, None])
        land = self.land_km2[sites, None]
        used = self.land_used(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(used > land, land / used, 1.0)
        y[:2] *= scale
        dur = self.duration_max_h[sites, None]
        finite = np.isfinite(dur)
        y[3] = np.where(finite, np.minimum(y[3], np.where(finite, dur, 0.0) * y[2]), y[3])
        return y

    def fill(self, p: FloatArray, w: FloatArray, box: FloatArray, sites: IntArray) -> None:
        """Raise wind, then PV (in place) up to the land limit or their bounds."""
        land = self.land_km2[sites, None]
        for coef, v, ub in ((self.wind_km2_per_mw, w, box[1]), (self.pv_km2_per_mw, p, box[0])):
            slack = np.maximum(land - self.land_used(np.stack([p, w])), 0.0)
            room = slack / coef if coef > 0 else np.full_like(v, np.inf)
            v += np.minimum(ub[sites, None] - v, room)

    def dominate(self, x: FloatArray, box: FloatArray, sites: IntArray) -> FloatArray:
        """Return points of ``P`` importing no more than lanes ``x``.

        PV and wind are scaled up together, then filled, to the land limit or their bounds; the
        battery goes to its bounds.
        """
        y = self.project(x, box, sites)
        ub = box[:, sites, None]
        land = self.land_km2[sites, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.minimum(
                np.where(y[0] > 0, ub[0] / y[0], np.inf), np.where(y[1] > 0, ub[1] / y[1], np.inf)
            )
            up = np.minimum(up, np.where(self.land_used(y) > 0, land / self.land_used(y), np.inf))
        y[:2] *= np.where(np.isfinite(up), np.maximum(up, 1.0), 1.0)
        self.fill(y[0], y[1], box, sites)
        y[2:] = ub[2:]
        return self.project(y, box, sites)

    def line(self, box: FloatArray, sites: IntArray, fractions: tuple[float, ...]) -> FloatArray:
        """Return points of the land line within the box, the batteries at their bounds.

        PV is at ``fractions`` of its bound, wind fills the rest of the land (or its bound).
        """
        ub = box[:, sites, None]
        x = np.empty((4, sites.size, len(fractions)))
        x[0] = np.asarray(fractions) * ub[0]
        x[1] = 0.0
        self.fill(x[0], x[1], box, sites)
        x[2:] = ub[2:]
        return self.project(x, box, sites)


@dataclass
class Cuts:
    """All cuts so far, in the master's scaled units (per site: x / mean load, import / load)."""

    site: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    const: FloatArray = field(default_factory=lambda: np.zeros(0))
    slope: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))

    def add(self, site: IntArray, const: FloatArray, slope: FloatArray) -> None:
        """Append cuts ``theta >= const - slope . x`` of sites ``site``."""
        self.site = np.concatenate([self.site, site])
        self.const = np.concatenate([self.const, const])
        self.slope = np.concatenate([self.slope, slope])


class Search:
    """Cuts, least imports and incumbents of every site, updated by each evaluation.

    ``least_mwh`` / ``least_x`` hold the least import evaluated and where; ``best_obj`` /
    ``best_x`` the cheapest point meeting ``cap_mwh`` (to ``tol``). Until :meth:`set_caps` every
    point is a candidate and the evaluations are kept, to choose again then.
    """

    def __init__(
        self,
        series: tuple[FloatArray, FloatArray, FloatArray],
        box: FloatArray,
        limits: Limits,
        c_usd: FloatArray,
        price: float,
        opts: dict[str, float],
    ) -> None:
        self.series, self.box, self.limits = series, box, limits
        self.c_usd, self.price, self.opts = c_usd, price, opts
        load = series[0]
        n_steps, n = load.shape
        self.load_mwh = load.sum(axis=0) * opts["dt_h"]
        self.tol = FEAS_TOL * self.load_mwh
        # Per-site scaling of the master: x in units of the mean load (hours of it for MWh),
        # import as a share of the load.
        self.x_scale = np.stack([self.load_mwh / (n_steps * opts["dt_h"])] * 4)
        self.cuts = Cuts()
        self.least_mwh = np.full(n, np.inf)  # least import evaluated, and where
        self.least_x = box.copy()
        # Import caps of the incumbents; every point is a candidate until they are set, and the
        # evaluations are kept to choose again then.
        self.cap_mwh = np.full(n, np.inf)
        self.history: list[tuple[IntArray, FloatArray, FloatArray]] | None = []
        self.best_obj = np.full(n, np.inf)
        self.best_x = box.copy()
        self.iterations = np.zeros(n, dtype=np.int64)
        self.lower_least = np.zeros(n)  # phase 1's lower bounds on the least import, MWh

    def evaluate(self, sites: IntArray, x: FloatArray) -> None:
        """Evaluate lanes ``x`` ``(4, k, m)`` of ``sites`` ``(k,)``; record cuts and bests."""
        ev = evaluate_sites(*self.series, sites, x, self.opts)
        k, m = ev.import_mwh.shape
        site_rep = np.repeat(sites, m)
        lm = self.load_mwh[site_rep]
        # Shift each cut down by the rounding allowance so that no cut removes a feasible point.
        const = (ev.cut_const_mwh.ravel() - self.tol[site_rep]) / lm
        slope = ev.cut_slope.reshape(4, -1).T * self.x_scale[:, site_rep].T / lm[:, None]
        self.cuts.add(site_rep, const, slope)
        rows = np.arange(k)
        j = ev.import_mwh.argmin(axis=1)
        better = ev.import_mwh[rows, j] < self.least_mwh[sites]
        self.least_mwh[sites[better]] = ev.import_mwh[rows, j][better]
        self.least_x[:, sites[better]] = x[:, rows[better], j[better]]
        if self.history is not None:
            self.history.append((sites, x, ev.import_mwh))
        self._incumbents(sites, x, ev.import_mwh)

    def _incumbents(self, sites: IntArray, x: FloatArray, import_mwh: FloatArray) -> None:
        obj = np.einsum("i,ikm->km", self.c_usd, x) + self.price * import_mwh
        ok = import_mwh <= (self.cap_mwh + self.tol)[sites, None]
        obj = np.where(ok, obj, np.inf)
        j = obj.argmin(axis=1)
        rows = np.arange(sites.size)
        better = obj[rows, j] < self.best_obj[sites]
        self.best_obj[sites[better]] = obj[rows, j][better]
        self.best_x[:, sites[better]] = x[:, rows[better], j[better]]

    def set_caps(self, cap_mwh: FloatArray) -> None:
        """Fix the import caps and choose the incumbents again among all points so far."""
        self.cap_mwh = cap_mwh
        self.best_obj[:] = np.inf
        for batch in self.history or []:
            self._incumbents(*batch)
        self.history = None

    def master(self, sites: IntArray, *, least_import: bool) -> tuple[FloatArray, FloatArray]:
        """Solve the master of ``sites``: least cost under the caps, or least import (phase 1)."""
        lm = self.load_mwh[sites]
        if least_import:
            c_usd, theta_usd, theta_hi = np.zeros(4), lm, 1.0 + self.tol[sites] / lm
        else:
            c_usd, theta_usd = self.c_usd, self.price * lm
            theta_hi = (self.cap_mwh[sites] + self.tol[sites]) / lm
        return solve_master(
            sites, self.cuts, self.box, self.x_scale, c_usd, theta_usd, theta_hi, self.limits
        )


def capacity_box(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    caps: FloatArray,
    limits: Limits,
    *,
    round_trip_efficiency: float,
    soc_min: float,
    soc_max: float,
    dt_h: float,
) -> FloatArray:
    """Return the master's box ``(4, n)``: the caps, and finite battery bounds.

    PV and wind are also bounded by the land alone. Import cannot fall beyond the battery bounds
    (module docstring), so they never change the optimum; the upper corner meets the duration
    limit.
    """
    eta = math.sqrt(round_trip_efficiency)
    land = limits.land_km2
    a, b = limits.pv_km2_per_mw, limits.wind_km2_per_mw
    pv_mw = np.minimum(caps[0], land / a) if a > 0 else caps[0]
    wind_mw = np.minimum(caps[1], land / b) if b > 0 else caps[1]
    surplus_max = np.maximum(pv * pv_mw + wind * wind_mw - load, 0.0)
    # no step charges more than its surplus or discharges more than its load
    bess_mw = np.minimum(np.maximum(surplus_max.max(axis=0), load.max(axis=0)), caps[2])
    span = soc_max - soc_min
    if span > 0:
        # a cyclic state of charge swings by at most what it charges, or what it discharges
        swing = np.minimum(
            eta * np.minimum(surplus_max, bess_mw).sum(axis=0),
            np.minimum(load, bess_mw).sum(axis=0) / eta,
        )
        bess_mwh = np.minimum(swing * dt_h / span, caps[3])
    else:
        bess_mwh = np.zeros(pv.shape[1])  # no usable energy: an energy capacity cannot help
    dur = limits.duration_max_h
    limited = np.isfinite(dur)
    with np.errstate(divide="ignore", invalid="ignore"):
        # a long battery under a duration limit needs more power than it can use
        need_mw = np.where(limited & (dur > 0), bess_mwh / dur, 0.0)
    bess_mw = np.maximum(bess_mw, np.minimum(need_mw, caps[2]))
    bess_mwh = np.where(
        limited, np.minimum(bess_mwh, np.where(limited, dur, 0.0) * bess_mw), bess_mwh
    )
    return np.stack([pv_mw, wind_mw, bess_mw, bess_mwh])


def solve_master(
    active: IntArray,
    cuts: Cuts,
    box: FloatArray,
    x_scale: FloatArray,
    c_usd: FloatArray,
    theta_usd: FloatArray,
    theta_hi: FloatArray,
    limits: Limits,
) -> tuple[FloatArray, FloatArray]:
    """Solve every active site's master LP as one block-diagonal HiGHS problem.

    Variables per site: the four scaled capacities and ``theta`` (import / load), costing
    ``c_usd`` per MW or MWh and ``theta_usd`` per unit of ``theta``, with ``theta <= theta_hi``.
    Returns the capacities ``(4, k)`` in MW / MWh and each site's lower bound (USD/year).
    """
    k = active.size
    local = np.full(x_scale.shape[1], -1)
    local[active] = np.arange(k)
    sel = np.flatnonzero(local[cuts.site] >= 0)
    pos = local[cuts.site[sel]]
    xs = x_scale[:, active]
    # theta >= const - slope . x  <=>  -slope . x - theta <= -const
    n_cut = sel.size
    rows = [np.repeat(np.arange(n_cut), 5)]
    cols = [(5 * pos[:, None] + np.arange(5)).ravel()]
    vals = [np.concatenate([-cuts.slope[sel], -np.ones((n_cut, 1))], axis=1).ravel()]
    rhs = [-cuts.const[sel]]
    # land: pv * a + wind * b <= land, rows scaled to a largest coefficient of 1
    land = limits.land_km2[active]
    coef = np.stack([limits.pv_km2_per_mw * xs[0], limits.wind_km2_per_mw * xs[1]])
    norm = coef.max(axis=0)
    on = np.flatnonzero(np.isfinite(land) & (norm > 0))
    # duration: bess_mwh - dur * bess_mw <= 0, scaled by bess_mwh's scale
    dur = limits.duration_max_h[active]
    dr = np.flatnonzero(np.isfinite(dur))
    n_row = n_cut
    for sites_i, col0, vals_i, rhs_i in (
        (on, 0, (coef[:, on] / norm[on]).T, land[on] / norm[on]),
        (dr, 2, np.stack([-dur[dr] * xs[2, dr] / xs[3, dr], np.ones(dr.size)], axis=1), 0 * dr),
    ):
        rows.append(np.repeat(n_row + np.arange(sites_i.size), 2))
        cols.append((5 * sites_i[:, None] + col0 + np.arange(2)).ravel())
        vals.append(np.asarray(vals_i, dtype=np.float64).ravel())
        rhs.append(np.asarray(rhs_i, dtype=np.float64))
        n_row += sites_i.size
    a_ub = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, 5 * k)
    )
    # costs relative to the largest coefficient of each site keep HiGHS's tolerances relative
    obj_scale = np.maximum((c_usd[:, None] * xs).max(axis=0), theta_usd)
    obj_scale = np.where(obj_scale > 0, obj_scale, 1.0)
    c = np.empty((k, 5))
    c[:, :4] = (c_usd[:, None] * xs).T / obj_scale[:, None]
    c[:, 4] = theta_usd / obj_scale
    hi = np.empty((k, 5))
    hi[:, :4] = (box[:, active] / np.where(xs > 0, xs, 1.0)).T
    hi[:, 4] = theta_hi
    bounds = np.stack([np.zeros(5 * k), hi.ravel()], axis=1)
    res = linprog(c.ravel(), A_ub=a_ub, b_ub=np.concatenate(rhs), bounds=bounds, method="highs")
    if res.status != 0:
        raise GridsiteError(
            f"the sizing master LP did not solve ({res.message}); report this with the inputs"
        )
    sol = np.asarray(res.x, dtype=np.float64).reshape(k, 5)
    x = np.minimum(np.maximum(sol[:, :4].T, 0.0) * xs, box[:, active])
    # The LP's objective, recomputed from the solution: a valid lower bound up to HiGHS's
    # tolerances (1e-7 of the scaled objective).
    lb = c_usd @ x + theta_usd * np.maximum(sol[:, 4], 0.0)
    return x, lb
