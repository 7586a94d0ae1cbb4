"""Sites that share a substation compete for its headroom, in rank order (reV's greedy logic).

reV's supply curve lets the best sites take transmission capacity first, so a later site sees what
is left (NREL reV, ``SupplyCurve`` "competitive" mode). gridsite applies the same to load: sites
are taken best first; each takes its cheapest connection option whose station still has
``campus_mw`` of hosting capacity left, and that capacity is then used up. A site with no such
option keeps its cheapest option, marked as not supplied.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["allocate_headroom"]


def allocate_headroom(
    options: pd.DataFrame, order: Sequence[str], *, campus_mw: float
) -> pd.DataFrame:
    """Choose one connection option per site, best site first, drawing down station headroom.

    Parameters
    ----------
    options
        One row per (site, option): ``site_id``, ``station_id``, ``hosting_capacity_mw`` (of the
        option's bus, before any site) and ``interconnect_cost_musd``; other columns are kept.
    order
        Site ids, best first.
    campus_mw
        Demand of each campus (MW).

    Returns
    -------
    pandas.DataFrame
        One row per site in ``order``: the chosen option's columns, plus ``headroom_mw`` (hosting
        capacity left at the station before this site took its share) and ``supplied`` (bool).

    Examples
    --------
    >>> opts = pd.DataFrame({"site_id": ["a", "b", "b"], "station_id": [1, 1, 2],
    ...                      "hosting_capacity_mw": [700.0, 700.0, 600.0],
    ...                      "interconnect_cost_musd": [10.0, 5.0, 9.0]})
    >>> out = allocate_headroom(opts, ["a", "b"], campus_mw=500)
    >>> out[["site_id", "station_id", "headroom_mw", "supplied"]].values.tolist()
    [['a', 1, 700.0, True], ['b', 2, 600.0, True]]
    """
    used: dict[object, float] = {}
    rows = []
    for site in order:
        mine = options[options["site_id"] == site].sort_values(
            "interconnect_cost_musd", kind="stable"
        )
        if mine.empty:
            continue
        hosting = mine["hosting_capacity_mw"].to_numpy(float)
        taken = np.array([used.get(s, 0.0) for s in mine["station_id"]], dtype=float)
        left = hosting - taken
        ok = np.flatnonzero(left >= campus_mw)
        pick = int(ok[0]) if ok.size else 0
        row = mine.iloc[pick].to_dict()
        row["headroom_mw"] = float(left[pick])
        row["supplied"] = bool(ok.size)
        if ok.size:
            used[row["station_id"]] = used.get(row["station_id"], 0.0) + campus_mw
        rows.append(row)
    return pd.DataFrame(rows)
