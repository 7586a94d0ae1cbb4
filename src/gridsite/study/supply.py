"""Orchestrate each candidate's co-located supply: potential, hourly shapes, least-cost sizing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridsite.energy import (
    DispatchResult,
    SupplyCosts,
    campus_load,
    local_potential,
    offshore_potential,
    site_profiles,
    size_supply_many,
)
from gridsite.errors import LayerError
from gridsite.geo import RasterGrid, WindowedRaster
from gridsite.spec import StudySpec, SupplySpec
from gridsite.study.electrical import Reader
from gridsite.study.progress import Step

__all__ = ["SUPPLY_COLUMNS", "SiteSupply", "SupplyOutcome", "run_supply"]

log = logging.getLogger(__name__)

#: Site columns the supply stage adds, in order.
SUPPLY_COLUMNS = (
    "cfe_target",
    "cfe_feasible",
    "cfe_share",
    "cfe_share_no_storage",
    "pv_mw",
    "wind_mw",
    "bess_mw",
    "bess_mwh",
    "grid_import_gwh",
    "curtailed_gwh",
    "lcoe_usd_mwh",
    "supply_cost_musd_yr",
    "solar_potential_mw",
    "wind_potential_mw",
    "offshore_wind_potential_mw",
    "supply_land_km2",
    "pv_cf_mean",
    "wind_cf_mean",
    "profile_bus",
)


@dataclass(frozen=True)
class SiteSupply:
    """One site's hourly result: the dispatch and the PV and wind output behind it, MW."""

    dispatch: DispatchResult
    pv_output_mw: NDArray[np.float64]
    wind_output_mw: NDArray[np.float64]


@dataclass
class SupplyOutcome:
    """Supply columns (index of the candidate table) and each site's hourly result by site id."""

    columns: pd.DataFrame
    hourly: dict[str, SiteSupply]
    cf_clipped: int


def run_supply(
    reader: Reader,
    table: pd.DataFrame,
    *,
    spec: StudySpec,
    grid: RasterGrid,
    masks: Mapping[str, NDArray[np.bool_] | WindowedRaster],
    progress: Step | None = None,
) -> SupplyOutcome:
    """Size every candidate's own PV, wind and battery to the study's hourly CFE target.

    ``table`` holds the candidates (``site_id``, ``x_m``, ``y_m`` in the study CRS, metres);
    ``masks`` the masks of :func:`~gridsite.study.rasters.derived_masks` (``supply_land``,
    ``supply_eligible``, ``supply_sea``), as arrays or read by window: only the windows around
    the sites are read. ``progress(done, total)`` counts the sites whose sizing has converged.
    """
    su = spec.supply
    assert su is not None  # the caller checks
    xy = table[["x_m", "y_m"]].to_numpy(float)
    pot = local_potential(
        masks["supply_eligible"],
        grid,
        xy,
        radius_km=su.radius_km,
        pv_mw_per_km2=su.pv_mw_per_km2,
        wind_mw_per_km2=su.wind_mw_per_km2,
        share=su.share,
    )
    if su.sea_constraint:
        offshore = offshore_potential(
            masks["supply_sea"],
            masks["supply_land"],
            grid,
            xy,
            max_shore_km=su.offshore_max_shore_km,
            radius_km=su.offshore_radius_km,
            mw_per_km2=su.offshore_mw_per_km2,
            share=su.share,
        ).to_numpy(float)
    else:
        offshore = np.zeros(len(table))

    pv_cf, wind_cf, bus, clipped = _profiles(reader, su, xy)
    load = _load(reader, su, spec.campus.campus_mw, pv_cf.shape[0])
    costs = SupplyCosts(**dict(su.costs))
    # Offshore wind shares the site's wind profile (the pack has no offshore series) and adds to
    # the onshore cap. PV and onshore wind share the land: pv / d_pv + (wind - offshore) / d_wind
    # <= land, i.e. offshore MW count as extra land at the wind density (docs/supply.md).
    d_pv, d_wind = su.pv_mw_per_km2, su.wind_mw_per_km2
    land_km2 = pot["eligible_km2"].to_numpy(float)
    if d_wind > 0:
        land_km2 = land_km2 + offshore / d_wind
    results = size_supply_many(
        load,
        pv_cf,
        wind_cf,
        cfe_target=su.cfe_target,
        pv_max_mw=pot["solar_potential_mw"].to_numpy(float),
        wind_max_mw=pot["wind_potential_mw"].to_numpy(float) + offshore,
        costs=costs,
        round_trip_efficiency=su.round_trip_efficiency,
        soc_min=su.soc_min,
        soc_max=su.soc_max,
        land_km2=land_km2,
        pv_km2_per_mw=1.0 / d_pv if d_pv > 0 else 0.0,
        wind_km2_per_mw=1.0 / d_wind if d_wind > 0 else 0.0,
        bess_duration_max_h=su.bess_duration_max_h,
        progress=progress,
    )
    rows = []
    hourly: dict[str, SiteSupply] = {}
    for j, (site_id, r) in enumerate(zip(table["site_id"], results, strict=True)):
        rows.append(
            {
                "cfe_target": su.cfe_target,
                "cfe_feasible": r.cfe_feasible,
                "cfe_share": r.cfe_share,
                "cfe_share_no_storage": r.cfe_share_no_storage,
                "pv_mw": r.pv_mw,
                "wind_mw": r.wind_mw,
                "bess_mw": r.bess_mw,
                "bess_mwh": r.bess_mwh,
                "grid_import_gwh": r.grid_import_gwh,
                "curtailed_gwh": r.curtailed_gwh,
                "lcoe_usd_mwh": r.lcoe_usd_mwh,
                "supply_cost_musd_yr": r.annual_cost_usd / 1e6,
                "solar_potential_mw": float(pot["solar_potential_mw"].iloc[j]),
                "wind_potential_mw": float(pot["wind_potential_mw"].iloc[j]),
                "offshore_wind_potential_mw": float(offshore[j]),
                "supply_land_km2": float(pot["eligible_km2"].iloc[j]),
                "pv_cf_mean": float(pv_cf[:, j].mean()),
                "wind_cf_mean": float(wind_cf[:, j].mean()),
                "profile_bus": bus[j],
            }
        )
        hourly[str(site_id)] = SiteSupply(
            dispatch=r.dispatch,
            pv_output_mw=r.pv_mw * pv_cf[:, j],
            wind_output_mw=r.wind_mw * wind_cf[:, j],
        )
    columns = pd.DataFrame(rows, index=table.index, columns=list(SUPPLY_COLUMNS))
    feasible = int(columns["cfe_feasible"].sum())
    log.info(
        "supply: %d of %d sites reach %.0f %% hourly CFE locally; median %.0f MW PV, "
        "%.0f MW wind, %.0f MWh battery",
        feasible,
        len(columns),
        100 * su.cfe_target,
        columns["pv_mw"].median(),
        columns["wind_mw"].median(),
        columns["bess_mwh"].median(),
    )
    return SupplyOutcome(columns=columns, hourly=hourly, cf_clipped=clipped)


def _profiles(
    reader: Reader, su: SupplySpec, sites_xy: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[str], int]:
    """Hourly PV and wind capacity factors per site, each site's nearest bus, values clipped."""
    buses = reader.vector(su.profile_buses, require=(su.profile_bus_id_field,))
    bus_ids = [str(b) for b in buses[su.profile_bus_id_field]]
    bus_xy = np.column_stack([buses.geometry.x, buses.geometry.y])
    out = []
    clipped = 0
    for name in (su.pv_profile, su.wind_profile):
        tab = reader.table(name)
        tab = tab.drop(columns=[su.hour_field]) if su.hour_field in tab.columns else tab
        try:
            cf = site_profiles(
                bus_xy, tab, bus_ids, sites_xy, method=su.profile_method, k=su.profile_k
            )
        except LayerError as exc:
            raise LayerError(f"supply profile layer {name!r}: {exc}") from exc
        over = int((cf > 1.0).sum())
        if over:
            # KPG 193's 2025 PV table holds a few hundred values up to 1.08 (clear, cold hours;
            # more DC than AC capacity): output cannot exceed the rating, so they are clipped.
            log.info(
                "supply: %d hourly capacity factors above 1 in %r (max %.3f) clipped to 1",
                over,
                name,
                float(cf.max()),
            )
            cf = np.minimum(cf, 1.0)
            clipped += over
        out.append(cf)
    pv_cf, wind_cf = out
    if pv_cf.shape != wind_cf.shape:
        raise LayerError(
            f"supply: {su.pv_profile!r} has {pv_cf.shape[0]} hours, {su.wind_profile!r} "
            f"{wind_cf.shape[0]}; the PV and wind tables must cover the same hours"
        )
    nearest = np.argmin(
        ((sites_xy[:, None, :] - bus_xy[None, :, :]) ** 2).sum(axis=2), axis=1
    ).tolist()
    return pv_cf, wind_cf, [bus_ids[i] for i in nearest], clipped


def _load(reader: Reader, su: SupplySpec, campus_mw: float, hours: int) -> NDArray[np.float64]:
    """Return the campus's hourly load, MW: flat, or shaped by the load profile layer."""
    profile = None
    if su.load_profile is not None and su.load_profile_field is not None:
        tab = reader.table(su.load_profile, require=(su.load_profile_field,))
        profile = pd.to_numeric(tab[su.load_profile_field], errors="coerce").to_numpy(float)
        if profile.shape != (hours,):
            raise LayerError(
                f"supply.load_profile {su.load_profile!r}: field {su.load_profile_field!r} has "
                f"{profile.size} rows, the PV and wind tables {hours} hours; give one row per hour"
            )
    return campus_load(hours, campus_mw=campus_mw, utilisation=su.utilisation, profile=profile)
