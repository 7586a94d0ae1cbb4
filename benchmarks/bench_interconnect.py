"""Time routing one site's tie line (route_site) on a Korea-sized 250 m cost raster.

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_interconnect.py
    .venv/bin/python benchmarks/bench_interconnect.py --windows-km 20 60 --repeat 5

The raster is synthetic (2,800 x 2,000 cells = 700 x 500 km at 250 m, random slope and urban
multipliers on the TEPPC 154 kV line cost, 2 % barrier cells) so the timing does not depend on the
data pack; the site is in the middle with substations 5-35 km away. Each window prints the searched
window's size, the median and fastest wall time of ``route_site`` (k=5), and the whole-raster
search for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from gridsite.geo import RasterGrid
from gridsite.powergrid import (
    TransmissionCosts,
    cost_multiplier_raster,
    line_cost_raster,
    route_site,
)

RES_M = 250.0
SHAPE = (2800, 2000)


def build(seed: int) -> tuple[np.ndarray, np.ndarray, RasterGrid, pd.DataFrame, TransmissionCosts]:
    rng = np.random.default_rng(seed)
    costs = TransmissionCosts(
        region="TEPPC-like",
        line_musd_per_km=((154.0, 0.9815), (345.0, 1.8970)),
        line_capacity_mw=(),
        power_classes_mw=(),
        landuse_multipliers=(("urban", 1.59),),
        landuse_codes=(),
        hill_slope_pct=2.0,
        hill_multiplier=1.4,
        mountain_slope_pct=8.0,
        mountain_multiplier=1.75,
        transformer_musd_per_mva=((154.0, 345.0, 0.0061),),
        new_substation_musd=((154.0, 9.171),),
        upgrade_substation_musd=((154.0, 5.5),),
    )
    slope = rng.gamma(2.0, 3.0, size=SHAPE)
    urban = rng.random(SHAPE) < 0.05
    mult = cost_multiplier_raster(SHAPE, costs=costs, slope_pct=slope, urban=urban)
    cost = line_cost_raster(mult, costs=costs, voltage_kv=154.0)
    barriers = rng.random(SHAPE) < 0.02
    grid = RasterGrid(
        crs="EPSG:5179",
        transform=RasterGrid.from_bounds(
            (0, 0, SHAPE[1] * RES_M, SHAPE[0] * RES_M), resolution_m=RES_M, crs="EPSG:5179"
        ).transform,
        shape=SHAPE,
    )
    site = (SHAPE[0] // 2, SHAPE[1] // 2)
    n = 12
    dist_cells = rng.uniform(5_000, 35_000, n) / RES_M
    angle = rng.uniform(0, 2 * np.pi, n)
    rows = (site[0] + dist_cells * np.sin(angle)).astype(int)
    cols = (site[1] + dist_cells * np.cos(angle)).astype(int)
    barriers[rows, cols] = False
    barriers[site] = False
    subs = pd.DataFrame(
        {
            "bus_id": [f"S{i}" for i in range(n)],
            "row": rows,
            "col": cols,
            "voltage_kv": rng.choice([154.0, 345.0], n),
        }
    )
    return cost, barriers, grid, subs, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows-km", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also search the whole raster")
    args = parser.parse_args()
    cost, barriers, grid, subs, costs = build(0)
    site = (SHAPE[0] // 2, SHAPE[1] // 2)
    print(f"raster {SHAPE[0]} x {SHAPE[1]} cells at {RES_M:g} m; site {site}; k=5")
    windows: list[float | None] = [w * 1000.0 for w in args.windows_km]
    if args.full:
        windows.append(None)
    for window_m in windows:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = route_site(
                cost,
                grid,
                site,
                subs,
                costs=costs,
                campus_mw=500.0,
                site_kv=154.0,
                k=5,
                window_m=window_m,
                barriers=barriers,
            )
            times.append(time.perf_counter() - t0)
        chosen = out[out["chosen"]].iloc[0]
        label = "whole raster" if window_m is None else f"window_m {window_m / 1000:g} km"
        span = out["straight_km"].max()
        print(
            f"{label:>18}: median {statistics.median(times):.3f} s, min {min(times):.3f} s; "
            f"farthest of k {span:.1f} km; chosen {chosen['bus_id']} "
            f"{chosen['route_km']:.1f} km {chosen['interconnect_cost_musd']:.1f} MUSD"
        )


if __name__ == "__main__":
    main()
