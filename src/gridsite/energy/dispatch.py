"""Hourly rule-based dispatch of local PV, wind and a battery serving a campus load.

Order of merit each time step: local generation serves the load first; surplus charges the battery,
then is exported or curtailed; a deficit is met by battery discharge, then by grid import.

Efficiency convention: the round-trip efficiency ``rte`` is split evenly, ``sqrt(rte)`` on the way
in and ``sqrt(rte)`` on the way out. ``charge_mw`` is the power taken from local generation (the
state of charge rises by ``charge_mw * sqrt(rte) * dt_h``); ``discharge_mw`` is the power delivered
to the load (the state of charge falls by ``discharge_mw / sqrt(rte) * dt_h``). The battery power
rating ``bess_mw`` limits both on this grid-side (AC) basis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridsite.errors import ConfigError

__all__ = ["DispatchResult", "check_profiles", "simulate"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DispatchResult:
    """Hour-by-hour flows of a dispatch, and their totals over the period.

    Attributes
    ----------
    load_mw, generation_mw
        Campus load and local PV + wind generation per step.
    used_mw
        Local generation serving the load directly.
    charge_mw, discharge_mw
        Battery charging (taken from generation) and discharging (delivered to the load).
    import_mw
        Grid import covering the rest of the load.
    curtailed_mw
        Surplus generation exported or curtailed.
    soc_mwh
        Battery state of charge at the end of each step.
    dt_h
        Length of a step, in hours.
    """

    load_mw: FloatArray
    generation_mw: FloatArray
    used_mw: FloatArray
    charge_mw: FloatArray
    discharge_mw: FloatArray
    import_mw: FloatArray
    curtailed_mw: FloatArray
    soc_mwh: FloatArray
    dt_h: float

    @property
    def load_gwh(self) -> float:
        """Load over the period, in GWh."""
        return float(self.load_mw.sum()) * self.dt_h / 1e3

    @property
    def grid_import_gwh(self) -> float:
        """Grid import over the period, in GWh."""
        return float(self.import_mw.sum()) * self.dt_h / 1e3

    @property
    def curtailed_gwh(self) -> float:
        """Surplus exported or curtailed over the period, in GWh."""
        return float(self.curtailed_mw.sum()) * self.dt_h / 1e3

    @property
    def cfe_share(self) -> float:
        """Hourly-matched carbon-free share of the load: (load - import) / load over the period.

        NaN when the load is zero over the whole period.
        """
        load = float(self.load_mw.sum())
        if load <= 0:
            return math.nan
        return (load - float(self.import_mw.sum())) / load


def check_profiles(
    load_mw: npt.ArrayLike, pv_cf: npt.ArrayLike, wind_cf: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return the load and capacity-factor series as float arrays after checking them.

    Parameters
    ----------
    load_mw
        Load per step, MW, >= 0.
    pv_cf, wind_cf
        PV and wind capacity factors per step, in [0, 1].

    Returns
    -------
    tuple of numpy.ndarray
        ``(load_mw, pv_cf, wind_cf)`` as 1-D float64 arrays of one length.

    Raises
    ------
    ConfigError
        If the series differ in length, are empty, hold NaN, or are out of range.
    """
    arrays = {
        name: np.asarray(values, dtype=np.float64).ravel()
        for name, values in (("load_mw", load_mw), ("pv_cf", pv_cf), ("wind_cf", wind_cf))
    }
    problems = []
    lengths = {name: a.size for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        problems.append(f"series lengths differ: {lengths}; give one value per time step")
    for name, a in arrays.items():
        if a.size == 0:
            problems.append(f"{name} is empty")
        elif not np.all(np.isfinite(a)):
            problems.append(f"{name} holds NaN or infinite values")
        elif a.min() < 0:
            problems.append(f"{name} has negative values (min {a.min():g})")
        elif name != "load_mw" and a.max() > 1:
            problems.append(f"{name} exceeds 1 (max {a.max():g}); give capacity factors")
    if problems:
        raise ConfigError("; ".join(problems))
    return arrays["load_mw"], arrays["pv_cf"], arrays["wind_cf"]


def check_battery(round_trip_efficiency: float, soc_min: float, soc_max: float) -> None:
    """Raise :class:`ConfigError` unless 0 < rte <= 1 and 0 <= soc_min <= soc_max <= 1."""
    problems = []
    if not 0 < round_trip_efficiency <= 1:
        problems.append(f"round_trip_efficiency must be in (0, 1], got {round_trip_efficiency}")
    if not 0 <= soc_min <= soc_max <= 1:
        problems.append(f"need 0 <= soc_min <= soc_max <= 1, got {soc_min} and {soc_max}")
    if problems:
        raise ConfigError("; ".join(problems))


def simulate(
    load_mw: npt.ArrayLike,
    pv_cf: npt.ArrayLike,
    wind_cf: npt.ArrayLike,
    *,
    pv_mw: float,
    wind_mw: float,
    bess_mw: float,
    bess_mwh: float,
    round_trip_efficiency: float = 0.85,
    soc_min: float = 0.1,
    soc_max: float = 0.9,
    soc_start: float = 0.5,
    dt_h: float = 1.0,
) -> DispatchResult:
    """Dispatch local PV, wind and a battery against a load, step by step (greedy, no foresight).

    Parameters
    ----------
    load_mw
        Campus load per step, MW; any length (8,760 for a year of hours).
    pv_cf, wind_cf
        PV and wind capacity factors per step, in [0, 1], same length as ``load_mw``.
    pv_mw, wind_mw
        Installed PV and wind capacity, MW.
    bess_mw, bess_mwh
        Battery power rating (grid side, for charge and discharge) and energy capacity.
    round_trip_efficiency
        Battery round-trip efficiency; ``sqrt`` of it applies on charge and on discharge.
    soc_min, soc_max
        State-of-charge limits as fractions of ``bess_mwh``.
    soc_start
        State of charge before the first step, as a fraction of ``bess_mwh``, within the limits.
    dt_h
        Length of a step, in hours.

    Returns
    -------
    DispatchResult
        Per-step flows; every step satisfies ``load = used + discharge + import`` and
        ``generation = used + charge + curtailed``.

    Raises
    ------
    ConfigError
        If a series or parameter is out of range.

    Examples
    --------
    >>> r = simulate([10, 10], [1.0, 0.0], [0.0, 0.0], pv_mw=20, wind_mw=0,
    ...              bess_mw=10, bess_mwh=10, round_trip_efficiency=1.0,
    ...              soc_min=0.0, soc_max=1.0, soc_start=0.0)
    >>> r.charge_mw.tolist(), r.discharge_mw.tolist(), r.cfe_share
    ([10.0, 0.0], [0.0, 10.0], 1.0)
    """
    load, pv, wind = check_profiles(load_mw, pv_cf, wind_cf)
    check_battery(round_trip_efficiency, soc_min, soc_max)
    problems = [
        f"{name} must be >= 0, got {value}"
        for name, value in (
            ("pv_mw", pv_mw),
            ("wind_mw", wind_mw),
            ("bess_mw", bess_mw),
            ("bess_mwh", bess_mwh),
        )
        if not value >= 0
    ]
    if not soc_min <= soc_start <= soc_max:
        problems.append(f"soc_start {soc_start} must lie within [{soc_min}, {soc_max}]")
    if not dt_h > 0:
        problems.append(f"dt_h must be > 0, got {dt_h}")
    if problems:
        raise ConfigError("; ".join(problems))

    generation = pv_mw * pv + wind_mw * wind
    used = np.minimum(generation, load)
    surplus = (generation - used).tolist()
    deficit = (load - used).tolist()
    n = load.size
    charge = [0.0] * n
    discharge = [0.0] * n
    soc = [0.0] * n
    eta = math.sqrt(round_trip_efficiency)
    lo, hi = soc_min * bess_mwh, soc_max * bess_mwh
    level = soc_start * bess_mwh
    # A plain loop over Python floats: the step depends on the previous state, and 8,760 steps
    # take a few milliseconds.
    for t in range(n):
        c = min(surplus[t], bess_mw, max(hi - level, 0.0) / (eta * dt_h))
        d = 0.0 if c > 0 else min(deficit[t], bess_mw, max(level - lo, 0.0) * eta / dt_h)
        level += (c * eta - d / eta) * dt_h
        charge[t], discharge[t], soc[t] = c, d, level
    charge_a = np.asarray(charge)
    discharge_a = np.asarray(discharge)
    return DispatchResult(
        load_mw=load,
        generation_mw=generation,
        used_mw=used,
        charge_mw=charge_a,
        discharge_mw=discharge_a,
        import_mw=load - used - discharge_a,
        curtailed_mw=generation - used - charge_a,
        soc_mwh=np.asarray(soc),
        dt_h=float(dt_h),
    )
