"""Summaries of an hourly dispatch for reports: a typical week and the monthly energy balance.

Both work on a :class:`~gridsite.energy.dispatch.DispatchResult` whose step 0 is 1 January 00:00
(local time of the profiles) of the study year. Shares are hourly-matched carbon-free energy (CFE)
shares: local energy that served the load when it was used (direct use plus battery discharge)
divided by the load, ``(used + discharge) / load``, which equals ``(load - import) / load``.
"""

from __future__ import annotations

import calendar
import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridsite.energy.dispatch import DispatchResult, FloatArray
from gridsite.errors import ConfigError

__all__ = ["month_start_hours", "monthly_balance", "typical_week"]

# Two shares closer than this count as equal, so that rounding in the sums does not decide a tie.
_TIE_TOLERANCE = 1e-9

# Columns of :func:`monthly_balance` that are energies, with the dispatch field each one sums.
_ENERGY_COLUMNS = {
    "load_gwh": "load_mw",
    "local_used_gwh": "used_mw",
    "discharge_gwh": "discharge_mw",
    "import_gwh": "import_mw",
    "charge_gwh": "charge_mw",
    "curtailed_gwh": "curtailed_mw",
}


def typical_week(dispatch: DispatchResult, *, hours_per_week: float = 168) -> int:
    """Return the first step of the week whose CFE share is closest to that of the whole period.

    The period is cut into non-overlapping weeks from step 0; a trailing part shorter than a
    week is never chosen (it still counts in the period's share). Each week's share is
    ``sum(used + discharge) / sum(load)`` over its steps, and the period's share is the same
    ratio over all steps. The week with the smallest absolute difference to the period's share
    wins; weeks closer than 1e-9 to the best count as tied, and the earliest tied week wins.
    Weeks with no load have no share and are skipped; if no whole week has load, the first week
    is returned.

    Parameters
    ----------
    dispatch
        Dispatch over the period.
    hours_per_week
        Length of a "week", in hours; a whole number of steps of ``dispatch.dt_h``. Give 24 to
        pick a typical day.

    Returns
    -------
    int
        Index of the first step of the chosen week, a multiple of the steps per week.

    Raises
    ------
    ConfigError
        If ``hours_per_week`` is not a positive whole number of steps, or the period is shorter
        than one week.

    Examples
    --------
    Three flat-load weeks with shares 0.2, 0.5 and 0.8 average to 0.5, the share of the second:

    >>> import numpy as np
    >>> load = np.full(3 * 168, 10.0)
    >>> used = np.repeat([2.0, 5.0, 8.0], 168)
    >>> zero = np.zeros_like(load)
    >>> d = DispatchResult(load, used, used, zero, zero, load - used, zero, zero, 1.0)
    >>> typical_week(d)
    168
    """
    steps = _steps_per_week(dispatch, hours_per_week)
    load = dispatch.load_mw
    n_weeks = load.size // steps
    if n_weeks == 0:
        raise ConfigError(
            f"the dispatch has {load.size} steps of {dispatch.dt_h:g} h, less than one week of "
            f"{hours_per_week:g} h; give a longer series or a shorter hours_per_week"
        )
    served = dispatch.used_mw + dispatch.discharge_mw
    total_load = float(load.sum())
    if not total_load > 0:
        return 0
    period_share = float(served.sum()) / total_load
    whole = n_weeks * steps
    week_load = load[:whole].reshape(n_weeks, steps).sum(axis=1)
    week_served = served[:whole].reshape(n_weeks, steps).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        week_share = np.where(week_load > 0, week_served / week_load, np.nan)
    distance = np.abs(week_share - period_share)
    if np.all(np.isnan(distance)):
        return 0
    best = float(np.nanmin(distance))
    first = int(np.flatnonzero(distance <= best + _TIE_TOLERANCE)[0])
    return first * steps


def month_start_hours(year: int) -> npt.NDArray[np.int64]:
    """Return the hour of the year at which each month starts, and the year's length in hours.

    Parameters
    ----------
    year
        Calendar year (Gregorian, leap years included).

    Returns
    -------
    numpy.ndarray
        13 integers: hour 0 (1 January 00:00), the first hour of February, ..., of December,
        then 8,760 (or 8,784 in a leap year).

    Examples
    --------
    >>> month_start_hours(2025)[:3].tolist(), int(month_start_hours(2025)[-1])
    ([0, 744, 1416], 8760)
    """
    days = [calendar.monthrange(year, month)[1] for month in range(1, 13)]
    return np.concatenate([[0], np.cumsum(days) * 24]).astype(np.int64)


def monthly_balance(dispatch: DispatchResult, *, year: int = 2025) -> pd.DataFrame:
    """Return the energy balance of a year of hourly dispatch, month by month.

    Hours are assigned to months with the real calendar of ``year`` (step 0 is 1 January
    00:00): January holds steps 0-743, February of 2025 the next 672, and so on.

    Parameters
    ----------
    dispatch
        Dispatch over one calendar year in steps of 1 h: 8,760 steps, or 8,784 in a leap year.
    year
        Calendar year of the series.

    Returns
    -------
    pandas.DataFrame
        One row per month, indexed by ``month`` 1-12, with the columns ``load_gwh``,
        ``local_used_gwh`` (local generation serving the load directly), ``discharge_gwh``
        (battery discharge to the load), ``import_gwh``, ``charge_gwh`` (local generation into
        the battery), ``curtailed_gwh`` (surplus exported or curtailed) and ``cfe_share``
        (``(local_used + discharge) / load`` of the month, NaN for a month with no load). Each
        energy column sums to the year's total, and per month ``load = local_used + discharge +
        import``.

    Raises
    ------
    ConfigError
        If the steps are not 1 h long or their number is not the number of hours in ``year``.
    """
    bounds = month_start_hours(year)
    hours_in_year = int(bounds[-1])
    n = dispatch.load_mw.size
    if not math.isclose(dispatch.dt_h, 1.0) or n != hours_in_year:
        raise ConfigError(
            f"monthly_balance needs one calendar year of hourly steps starting 1 January 00:00: "
            f"{hours_in_year} steps of 1 h for year={year}, got {n} steps of {dispatch.dt_h:g} h; "
            f"pass the year the series belongs to (8,784 h for a leap year), or resample the "
            f"series to hours"
        )
    columns: dict[str, FloatArray] = {}
    for column, field in _ENERGY_COLUMNS.items():
        values: FloatArray = getattr(dispatch, field)
        columns[column] = np.add.reduceat(values, bounds[:-1]) * dispatch.dt_h / 1e3
    load = columns["load_gwh"]
    served = columns["local_used_gwh"] + columns["discharge_gwh"]
    with np.errstate(invalid="ignore", divide="ignore"):
        columns["cfe_share"] = np.where(load > 0, served / load, np.nan)
    return pd.DataFrame(columns, index=pd.Index(range(1, 13), name="month"))


def _steps_per_week(dispatch: DispatchResult, hours_per_week: float) -> int:
    """Return ``hours_per_week / dt_h`` as an int, or raise :class:`ConfigError`."""
    ratio = hours_per_week / dispatch.dt_h
    steps = round(ratio) if math.isfinite(ratio) else 0
    if not hours_per_week > 0 or steps < 1 or not math.isclose(ratio, steps):
        raise ConfigError(
            f"hours_per_week={hours_per_week:g} must be a positive whole number of steps of "
            f"{dispatch.dt_h:g} h"
        )
    return steps
