"""Hourly shapes per site: capacity factors from per-bus tables, and the campus load.

Bus and site coordinates are ``(x, y)`` in the study's projected CRS (metres, e.g. EPSG:5179),
x (easting) first. The hourly tables are the KPG 193 per-bus PV and wind capacity factors
(``docs/domain.md`` section 6): wide tables, one row per hour and one column per bus id.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from gridsite.errors import ConfigError, LayerError

__all__ = ["campus_load", "site_profiles"]


def _id_key(value: object) -> str:
    """Normalise a bus id so that ``1``, ``1.0``, ``"1"`` and ``" 1 "`` match."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def _bus_columns(table: pd.DataFrame, bus_ids: Sequence[Hashable]) -> list[Hashable]:
    by_key: dict[str, Hashable] = {}
    for column in table.columns:
        by_key.setdefault(_id_key(column), column)
    missing = [bus for bus in bus_ids if _id_key(bus) not in by_key]
    if missing:
        shown = ", ".join(repr(bus) for bus in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise LayerError(
            f"the hourly table has no column for {len(missing)} of {len(bus_ids)} bus ids "
            f"({shown}{more}); its columns must be the bus ids of the bus table"
        )
    return [by_key[_id_key(bus)] for bus in bus_ids]


def _as_xy(array: ArrayLike, name: str) -> NDArray[np.float64]:
    xy = np.asarray(array, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) of (x, y) in metres, got {xy.shape}")
    if not np.isfinite(xy).all():
        raise ValueError(f"{name} holds non-finite coordinates")
    return xy


def _idw_weights(distances: NDArray[np.float64], power: float) -> NDArray[np.float64]:
    """Normalised inverse-distance weights per row; a zero distance takes all the weight."""
    exact = distances == 0.0
    on_point = exact.any(axis=1)
    weights = np.empty_like(distances)
    # Coincident buses share the site's location: their mean is the only fair value, as in
    # ``criteria.interpolate.idw``.
    weights[on_point] = exact[on_point].astype(np.float64)
    d = distances[~on_point]
    # Scaling by the nearest distance keeps weights in (0, 1]; the factor cancels.
    weights[~on_point] = (d[:, :1] / d) ** power
    normalised: NDArray[np.float64] = weights / weights.sum(axis=1, keepdims=True)
    return normalised


def site_profiles(
    bus_xy: ArrayLike,
    table: pd.DataFrame,
    bus_ids: Sequence[Hashable],
    sites_xy: ArrayLike,
    *,
    method: Literal["nearest", "idw"] = "nearest",
    k: int = 4,
    power: float = 2.0,
) -> NDArray[np.float64]:
    """Return hourly capacity factors at each site from a per-bus hourly table.

    Parameters
    ----------
    bus_xy
        Bus locations, shape ``(m, 2)``, ``(x, y)`` in the study's projected CRS, metres.
    table
        Wide hourly table: one row per hour (in order), one column per bus id; other columns
        (such as ``hour_of_year``) are ignored. Values are capacity factors in [0, 1].
    bus_ids
        The id of each row of ``bus_xy``, length ``m``; matched to ``table``'s columns as integers
        where they look like integers, so ``1``, ``1.0`` and ``"1"`` are the same bus.
    sites_xy
        Site locations, shape ``(n, 2)``, ``(x, y)`` in the same CRS, metres.
    method
        ``"nearest"``: the nearest bus's column, unchanged (ties go to the first bus in
        ``bus_ids`` order). ``"idw"``: the inverse-distance-weighted mean of the ``k`` nearest
        buses' columns, weights ``1 / d ** power``, hour by hour; a site on a bus gets that bus's
        column exactly.
    k
        Number of buses used by ``"idw"``, ``>= 1``; capped at ``m``.
    power
        Distance exponent of ``"idw"``, ``>= 0``.

    Returns
    -------
    NDArray[np.float64]
        Capacity factors, shape ``(hours, n)``, column ``j`` for site ``j``.

    Raises
    ------
    LayerError
        If a bus id has no column in ``table``, or the used columns hold non-finite values.
    ConfigError
        If ``method``, ``k`` or ``power`` is invalid.
    ValueError
        If the coordinate arrays have the wrong shapes or ``bus_ids`` the wrong length.

    Examples
    --------
    >>> table = pd.DataFrame({"1": [0.0, 0.5], "2": [1.0, 0.5]})
    >>> buses = [[0.0, 0.0], [100.0, 0.0]]
    >>> site_profiles(buses, table, [1, 2], [[10.0, 0.0]]).ravel().tolist()
    [0.0, 0.5]
    >>> site_profiles(buses, table, [1, 2], [[50.0, 0.0]], method="idw").ravel().tolist()
    [0.5, 0.5]
    """
    if method not in ("nearest", "idw"):
        raise ConfigError(f"profile method must be 'nearest' or 'idw', got {method!r}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k (number of buses) must be an integer >= 1, got {k!r}")
    if not (math.isfinite(power) and power >= 0):
        raise ConfigError(f"IDW power must be a finite number >= 0, got {power!r}")
    buses = _as_xy(bus_xy, "bus_xy")
    sites = _as_xy(sites_xy, "sites_xy") if len(np.asarray(sites_xy)) else np.empty((0, 2))
    ids = list(bus_ids)
    if len(ids) != len(buses):
        raise ValueError(f"bus_ids has {len(ids)} entries, bus_xy has {len(buses)} rows")
    if not ids:
        raise LayerError("no buses given: site profiles need at least one bus with a column")
    columns = _bus_columns(table, ids)
    values = table.loc[:, columns].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        bad = [ids[j] for j in np.flatnonzero(~np.isfinite(values).all(axis=0))[:10]]
        raise LayerError(f"the hourly table has missing or non-finite values for buses {bad}")

    tree = cKDTree(buses)
    if method == "nearest" or min(int(k), len(ids)) == 1:
        _, nearest = tree.query(sites, k=1)
        picked: NDArray[np.float64] = values[:, np.asarray(nearest, dtype=np.int64)]
        return picked
    k_used = min(int(k), len(ids))
    distances, indices = tree.query(sites, k=k_used)
    weights = _idw_weights(np.asarray(distances, dtype=np.float64), power)
    # (hours, n, k) * (n, k) summed over k, without holding hours x n x k when n is large.
    result = np.empty((values.shape[0], len(sites)), dtype=np.float64)
    for j in range(len(sites)):
        result[:, j] = values[:, indices[j]] @ weights[j]
    return result


def campus_load(
    hours: int,
    *,
    campus_mw: float,
    utilisation: float = 1.0,
    profile: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Return the campus's hourly load in MW: flat, or a given shape scaled to the same mean.

    Parameters
    ----------
    hours
        Number of hours, e.g. 8,760.
    campus_mw
        The campus's rated IT + facility demand, MW.
    utilisation
        Mean fraction of ``campus_mw`` drawn, in (0, 1].
    profile
        Optional hourly shape, length ``hours``, finite and non-negative, not all zero; any unit.
        It is scaled so that its mean equals ``campus_mw * utilisation``: only its shape is used,
        so the annual energy is the same as the flat load's.

    Returns
    -------
    NDArray[np.float64]
        Load per hour in MW, shape ``(hours,)``, mean ``campus_mw * utilisation``.

    Raises
    ------
    ConfigError
        If ``hours``, ``campus_mw`` or ``utilisation`` is out of range, or ``profile`` is invalid.

    Examples
    --------
    >>> campus_load(3, campus_mw=100.0, utilisation=0.5).tolist()
    [50.0, 50.0, 50.0]
    >>> campus_load(2, campus_mw=100.0, profile=[1.0, 3.0]).tolist()
    [50.0, 150.0]
    """
    if isinstance(hours, bool) or not isinstance(hours, int | np.integer) or hours < 1:
        raise ConfigError(f"hours must be an integer >= 1, got {hours!r}")
    if not (math.isfinite(campus_mw) and campus_mw >= 0):
        raise ConfigError(f"campus_mw must be a finite number >= 0, got {campus_mw!r}")
    if not (math.isfinite(utilisation) and 0 < utilisation <= 1):
        raise ConfigError(f"utilisation must be in (0, 1], got {utilisation!r}")
    mean_mw = campus_mw * utilisation
    if profile is None:
        return np.full(int(hours), mean_mw, dtype=np.float64)
    shape = np.asarray(profile, dtype=np.float64)
    if shape.shape != (hours,):
        raise ConfigError(f"load profile must have {hours} hourly values, got shape {shape.shape}")
    if not np.isfinite(shape).all() or (shape < 0).any():
        raise ConfigError("load profile values must be finite and non-negative")
    total = float(shape.sum())
    if total <= 0:
        raise ConfigError("load profile is all zero; give its hourly shape, or omit it for flat")
    scaled: NDArray[np.float64] = shape * (mean_mw * hours / total)
    return scaled
