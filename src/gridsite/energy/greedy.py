"""The oracle of the cutting-plane sizing: cyclic greedy dispatch, least import and exact cuts.

For capacities ``x = (pv_mw, wind_mw, bess_mw, bess_mwh)`` write ``I(x)`` for the least grid
import (MWh over the period) of any dispatch of :func:`~gridsite.energy.sizing.size_supply`'s LP
with those capacities fixed. :func:`evaluate` returns ``I(x)`` for many lanes (site x trial
point) at once, and for each an exact cut, used by :mod:`gridsite.energy.fastsizing`.

*Least import.* For fixed ``x`` the greedy rule of :func:`~gridsite.energy.dispatch.simulate`
(use generation directly, charge all surplus the battery takes, discharge on every deficit)
minimises import over the period for a single battery with losses, from a given start (an
exchange argument: stored energy is worth the same at every deficit, so using it early never
hurts, and charging early never hurts either). Each greedy step is ``soc <- clip(soc + a_t, lo,
hi)`` with ``a_t = sqrt(rte) * dt_h * min(surplus_t, bess_mw) - dt_h / sqrt(rte) *
min(deficit_t, bess_mw)``, so the whole period maps a start ``s`` to ``f(s) = clip(s + A, f(lo),
f(hi))`` with ``A = sum(a_t)``; its largest fixed point is ``f(hi)`` when ``A >= 0`` and
``f(lo)`` otherwise. Two passes (one to find that start, one from it) give the cyclic greedy
dispatch (end state = start state, as the LP's cyclic constraint asks), which imports exactly as
little as the LP's optimal dispatch (argument in :func:`cyclic_greedy`; the tests check it
against an LP). The passes loop once over the steps with numpy arrays holding every lane, never
a Python loop per site.

*Exact cuts.* From the greedy dispatch a backward pass sets the value ``lambda_t`` of one more
MWh stored at step ``t``: ``0`` when the next state-of-charge limit the greedy hits is the full
limit (the energy would be spilled), ``sqrt(rte)`` when it is the empty limit (it would be
delivered). The per-step multipliers of the load, generation and power constraints then follow in
closed form, giving a *feasible* dual solution of the dispatch LP, whose objective is affine in
``x``: a cut ``I(x') >= I_0 - s . x'`` valid for every ``x'`` (weak duality), and tight at ``x``
(checked to 1e-9 in the tests). No finite differences are used, so no cut can remove the optimum.
Every slope ``s`` is >= 0: more capacity never imports more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridsite.energy.dispatch import DispatchResult, FloatArray

__all__ = ["Evaluation", "cyclic_greedy", "evaluate", "evaluate_sites", "greedy_dispatch"]

BoolArray = npt.NDArray[np.bool_]

#: Steps per block of the vectorised passes: small enough for the block arrays of a few hundred
#: lanes to stay in cache, large enough that numpy's per-call overhead does not matter.
_BLOCK = 128
#: Lanes (site x trial point) evaluated together: bounds the memory of the passes (two float64
#: arrays of steps x lanes, 140 MB for a year of hours).
_MAX_LANES = 1024


@dataclass(frozen=True)
class Evaluation:
    """Oracle output for lanes of shape ``(k, m)``: k sites, m trial points each."""

    import_mwh: FloatArray
    #: A cut ``I(x') >= cut_const_mwh - sum_i cut_slope[i] * x'_i``, valid for every x'.
    cut_const_mwh: FloatArray
    cut_slope: FloatArray  # (4, k, m)


def _step_inputs(
    load: FloatArray, pv: FloatArray, wind: FloatArray, x: FloatArray, sl: slice
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Load, PV and wind factors of a block as ``(b, k, 1)``, generation and net ``(b, k, m)``."""
    ld = load[sl, :, None]
    p = pv[sl, :, None]
    w = wind[sl, :, None]
    gen = p * x[0]
    gen += w * x[1]
    return ld, p, w, gen, gen - ld


def cyclic_greedy(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    x: FloatArray,
    *,
    eta: float,
    soc_min: float,
    soc_max: float,
    dt_h: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Greedy dispatch of every lane with a cyclic state of charge.

    ``load``, ``pv``, ``wind`` are ``(T, k)``; ``x`` is ``(4, k, m)``. Returns the per-step
    change ``a`` of the state of charge before the limits, the state of charge at the end of each
    step (both ``(T, k, m)``), the start state ``(k, m)`` (equal to the end state) and the
    direct use ``sum_t min(load, generation)`` (``(k, m)``, MW summed over steps).

    Why this start is the LP's: let ``f`` map a start to the greedy end state (``f(s) =
    clip(s + A, f(lo), f(hi))``, non-decreasing) and ``s*`` its largest fixed point. Greedy is
    optimal from any given start with a free end, and more start energy never hurts. An LP-cyclic
    schedule from start ``s`` imports at least greedy from ``s``; if ``s <= s*`` that is at least
    greedy from ``s*``; if ``s > s*`` then ``f(s) < s`` and repeating the LP schedule ``K`` times
    costs ``K`` times its import but no less than greedy over ``K`` periods from ``s``, whose
    starts ``f^k(s)`` fall to ``s*``: in the limit the LP import is at least greedy's from ``s*``.
    """
    n_steps = pv.shape[0]
    bess_mw, bess_mwh = x[2], x[3]
    lo = soc_min * bess_mwh
    hi = soc_max * bess_mwh
    k_charge = eta * dt_h
    k_discharge = dt_h / eta
    a = np.empty((n_steps, *bess_mw.shape))
    direct = np.zeros(bess_mw.shape)
    for t0 in range(0, n_steps, _BLOCK):
        sl = slice(t0, min(t0 + _BLOCK, n_steps))
        ld, _, _, gen, net = _step_inputs(load, pv, wind, x, sl)
        direct += np.minimum(gen, ld).sum(axis=0)
        blk = a[sl]
        np.clip(net, -bess_mw, bess_mw, out=blk)
        # charge at sqrt(rte) on the way in, discharge at 1 / sqrt(rte) on the way out
        np.minimum(blk, 0.0, out=net)
        blk *= k_charge
        net *= k_discharge - k_charge
        blk += net
    # The period maps a start s to clip(s + A, f(lo), f(hi)); its largest fixed point is f(hi)
    # if A >= 0, else f(lo). One pass from that corner finds it, a second stores the trajectory.
    level = np.where(a.sum(axis=0) >= 0, hi, lo)
    # np.maximum / np.minimum with out=: np.clip's Python wrapper costs more than the work here
    for t in range(n_steps):
        level += a[t]
        np.maximum(level, lo, out=level)
        np.minimum(level, hi, out=level)
    start = level.copy()
    soc = np.empty_like(a)
    for t in range(n_steps):
        row = soc[t]
        np.add(level, a[t], out=row)
        np.maximum(row, lo, out=row)
        np.minimum(row, hi, out=row)
        level = row
    return a, soc, start, direct


def evaluate(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    x: FloatArray,
    *,
    round_trip_efficiency: float,
    soc_min: float,
    soc_max: float,
    dt_h: float,
) -> Evaluation:
    """Least import of each lane and an exact cut through it (see the module docstring).

    The dual of the dispatch LP for fixed capacities, per step ``t`` with ``lam`` the value of
    stored energy in {0, sqrt(rte)}, has the cheapest per-step multipliers ``(alpha, beta, gamma,
    delta)`` of the load, generation, charge-power and discharge-power rows:

    - ``lam = 0``: ``beta = delta = 1`` when ``net <= -bess_mw``, else ``alpha = 1``;
    - ``lam = sqrt(rte)``: ``beta = 1`` when ``net <= 0``; ``alpha = 1 - rte``, ``beta = rte``
      when ``0 < net <= bess_mw``; ``alpha = 1``, ``gamma = rte`` when ``net > bess_mw``;

    all times ``dt_h``, where ``net`` is generation minus load. Each state-of-charge limit has a
    multiplier of size ``sqrt(rte)`` where ``lam`` switches, so ``bess_mwh`` earns
    ``(soc_max - soc_min) * sqrt(rte)`` per switch from 0 up to ``sqrt(rte)``. The served energy
    of the dual is ``sum(alpha * load + beta * generation + (gamma + delta) * bess_mw) + bess_mwh
    * (soc_max - soc_min) * sqrt(rte) * switches``; import is the load minus it. With
    ``w_gen = beta`` one has ``alpha = 1 - w_gen``.
    """
    eta = math.sqrt(round_trip_efficiency)
    rte = round_trip_efficiency
    a, soc, start, direct = cyclic_greedy(
        load, pv, wind, x, eta=eta, soc_min=soc_min, soc_max=soc_max, dt_h=dt_h
    )
    n_steps = pv.shape[0]
    bess_mw, bess_mwh = x[2], x[3]
    lo = soc_min * bess_mwh
    hi = soc_max * bess_mwh
    shape = bess_mw.shape

    def events(t0: int, t1: int) -> tuple[BoolArray, BoolArray, FloatArray]:
        """Return where a greedy move hit the full / empty limit, and the state before each step."""
        prev = np.empty((t1 - t0, *shape))
        prev[0] = start if t0 == 0 else soc[t0 - 1]
        prev[1:] = soc[t0 : t1 - 1]
        pre = prev + a[t0:t1]
        return pre > hi, pre < lo, prev

    # lam after the last limit hit of the period is that of the first one (cyclic).
    first = np.zeros(shape, dtype=np.bool_)
    found = np.zeros(shape, dtype=np.bool_)
    for t0 in range(0, n_steps, _BLOCK):
        full, empty, _ = events(t0, min(t0 + _BLOCK, n_steps))
        hit = full | empty
        idx = hit.argmax(axis=0)
        new = hit.any(axis=0) & ~found
        first[new] = np.take_along_axis(empty, idx[None], axis=0)[0][new]
        found |= new
        if found.all():
            break

    lam_next = first  # True: the next limit hit is the empty one (lam = sqrt(rte))
    discharged = np.zeros(shape)
    switches = np.zeros(shape)
    w_load = np.zeros(shape)
    w_pv = np.zeros(shape)
    w_wind = np.zeros(shape)
    w_bess = np.zeros(shape)
    starts = list(range(0, n_steps, _BLOCK))
    for t0 in reversed(starts):
        t1 = min(t0 + _BLOCK, n_steps)
        full, empty, prev = events(t0, t1)
        discharged += np.maximum(prev - soc[t0:t1], 0.0).sum(axis=0)
        not_full = ~full
        lam = np.empty_like(full)
        for i in range(t1 - t0 - 1, -1, -1):
            switches += full[i] & lam_next
            np.logical_and(not_full[i], lam_next, out=lam[i])
            lam[i] |= empty[i]
            lam_next = lam[i]
        ld, p, w, _, net = _step_inputs(load, pv, wind, x, slice(t0, t1))
        low = net <= -bess_mw
        le0 = net <= 0.0
        big = net > bess_mw
        # w_gen = lam ? (le0 + rte * (0 < net <= B)) : low
        w_gen = le0 * (1.0 - rte)
        w_gen += rte
        w_gen -= rte * big
        w_gen -= low
        w_gen *= lam
        w_gen += low
        # w_bess = lam ? rte * big : low
        w_b = rte * big
        w_b -= low
        w_b *= lam
        w_b += low
        w_load += np.einsum("tkm,tk->km", w_gen, ld[:, :, 0])
        w_pv += np.einsum("tkm,tk->km", w_gen, p[:, :, 0])
        w_wind += np.einsum("tkm,tk->km", w_gen, w[:, :, 0])
        w_bess += w_b.sum(axis=0)
    load_mwh = load.sum(axis=0)[:, None] * dt_h
    served_mwh = (direct + discharged * eta / dt_h) * dt_h
    slope = np.stack(
        [
            dt_h * w_pv,
            dt_h * w_wind,
            dt_h * w_bess,
            (soc_max - soc_min) * eta * switches,
        ]
    )
    # served(x') <= sum((1 - w_gen) * load) + slope . x', so I(x') >= sum(w_gen * load) - ...
    return Evaluation(
        import_mwh=np.maximum(load_mwh - served_mwh, 0.0),
        cut_const_mwh=dt_h * w_load,
        cut_slope=slope,
    )


def evaluate_sites(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    sites: npt.NDArray[np.int64],
    x: FloatArray,
    opts: dict[str, float],
) -> Evaluation:
    """:func:`evaluate` on ``sites`` (columns of the series), a bounded number of lanes at once."""
    per_chunk = max(1, _MAX_LANES // x.shape[2])
    parts = [
        evaluate(
            load[:, sites[i : i + per_chunk]],
            pv[:, sites[i : i + per_chunk]],
            wind[:, sites[i : i + per_chunk]],
            x[:, i : i + per_chunk],
            **opts,
        )
        for i in range(0, sites.size, per_chunk)
    ]
    return Evaluation(
        import_mwh=np.concatenate([e.import_mwh for e in parts]),
        cut_const_mwh=np.concatenate([e.cut_const_mwh for e in parts]),
        cut_slope=np.concatenate([e.cut_slope for e in parts], axis=1),
    )


def greedy_dispatch(
    load: FloatArray,
    pv: FloatArray,
    wind: FloatArray,
    x: FloatArray,
    *,
    round_trip_efficiency: float,
    soc_min: float,
    soc_max: float,
    dt_h: float,
) -> list[DispatchResult]:
    """Cyclic greedy dispatch of one size per site (``x`` of shape ``(4, k)``)."""
    eta = math.sqrt(round_trip_efficiency)
    xs = x[:, :, None]
    _, soc, start, _ = cyclic_greedy(
        load, pv, wind, xs, eta=eta, soc_min=soc_min, soc_max=soc_max, dt_h=dt_h
    )
    out = []
    for j in range(pv.shape[1]):
        s = soc[:, j, 0]
        prev = np.concatenate([start[j], s[:-1]])
        gen = x[0, j] * pv[:, j] + x[1, j] * wind[:, j]
        ld = load[:, j]
        used = np.minimum(gen, ld)
        # from the state of charge, capped by the surplus and deficit so that rounding cannot
        # make import or curtailment negative
        charge = np.minimum(np.maximum(s - prev, 0.0) / (eta * dt_h), gen - used)
        discharge = np.minimum(np.maximum(prev - s, 0.0) * eta / dt_h, ld - used)
        out.append(
            DispatchResult(
                load_mw=ld.copy(),
                generation_mw=gen,
                used_mw=used,
                charge_mw=charge,
                discharge_mw=discharge,
                import_mw=ld - used - discharge,
                curtailed_mw=gen - used - charge,
                soc_mwh=s.copy(),
                dt_h=float(dt_h),
            )
        )
    return out
