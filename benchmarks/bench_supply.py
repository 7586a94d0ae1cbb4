"""Time least-cost supply sizing (issue 5): 100 candidate sites x 8,760 hours in under 30 s.

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_supply.py              # 2 x 3 runs + two exact LPs, ~2 min
    .venv/bin/python benchmarks/bench_supply.py --repeat 5 --no-exact
    .venv/bin/python benchmarks/bench_supply.py --data-root ../shared/data --sites 50

Inputs (read once, not timed): the KPG 193 hourly PV and wind capacity factors of 2025
(``korea/grid/kpg193/kpg193_v2_0_hourly_{pv,wind}_capacity_factor_2025.csv.gz`` under the data
root), the first ``--sites`` bus columns in file order (buses 1..100 by default), one site per
bus; the PV file holds a few values above 1 (up to 1.08), which are clipped to 1 (the count is
printed). A flat campus load (500 MW), target 0.8, caps 3,000 MW PV and 1,500 MW wind per site,
default costs (``SupplyCosts()``), rte 0.85, state of charge 0.1-0.9.

Timed:

1. ``size_supply_many`` over all sites at once (cutting planes, ``rel_gap`` 1e-3), median of
   ``--repeat`` runs. Target: under 30 s.
2. The same with a joint land limit ``pv_mw / 50 + wind_mw / 4 <= land_km2`` (km2 per MW
   ``--pv-km2-per-mw``, ``--wind-km2-per-mw``), the land of each site drawn uniformly from
   ``--land-km2 LOW HIGH`` (default 20-900 km2, seed 0): unlimited, the sites use 215-410 km2,
   so about a third of them are held back by the limit, and a few cannot reach the target at
   all (their least import is found by a search along the land limit). ``--no-land`` skips it.
3. ``size_supply`` (the exact full-year LP, HiGHS) for the first site, once, for comparison;
   its cost is compared with the first site's cost from part 1; and for the first site that
   misses the target under the land limit (or else the first the limit holds back), with its
   land, compared with part 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy

from gridsite.energy import FastSizingResult, size_supply, size_supply_many

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
PROFILES = "korea/grid/kpg193/kpg193_v2_0_hourly_{}_capacity_factor_2025.csv.gz"

#: Target of issue 5: 100 sites x 8,760 h sized in under this many seconds.
TARGET_S = 30.0


def read_profiles(data_root: Path, n_sites: int) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """PV and wind capacity factors (8,760 x n) of the first n buses, clipped to [0, 1]."""
    tables = {}
    for kind in ("pv", "wind"):
        path = data_root / PROFILES.format(kind)
        if not path.is_file():
            raise SystemExit(f"{path} not found; pass --data-root (the folder holding korea/)")
        tables[kind] = pd.read_csv(path)
    buses = [c for c in tables["pv"].columns if c != "hour_of_year"][:n_sites]
    if len(buses) < n_sites:
        raise SystemExit(f"the profiles have {len(buses)} buses; ask for --sites <= {len(buses)}")
    pv = tables["pv"][buses].to_numpy(float)
    wind = tables["wind"][buses].to_numpy(float)
    clipped = int((pv > 1).sum() + (wind > 1).sum() + (pv < 0).sum() + (wind < 0).sum())
    return np.clip(pv, 0, 1), np.clip(wind, 0, 1), buses, clipped


def header() -> None:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip()

    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--", "src") else ""
    print(
        f"gridsite at {git('rev-parse', '--short', 'HEAD')}{dirty}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}; {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs of size_supply_many (median)")
    parser.add_argument("--load-mw", type=float, default=500.0)
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--pv-max-mw", type=float, default=3000.0)
    parser.add_argument("--wind-max-mw", type=float, default=1500.0)
    parser.add_argument("--rel-gap", type=float, default=1e-3)
    parser.add_argument("--land-km2", type=float, nargs=2, default=(20.0, 900.0))
    parser.add_argument("--pv-km2-per-mw", type=float, default=1 / 50)
    parser.add_argument("--wind-km2-per-mw", type=float, default=1 / 4)
    parser.add_argument("--no-land", action="store_true", help="skip the run with a land limit")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact LPs (~45 s each)")
    args = parser.parse_args()

    header()
    pv, wind, buses, clipped = read_profiles(args.data_root, args.sites)
    n_steps, n = pv.shape
    load = np.full(n_steps, args.load_mw)
    print(
        f"{n} sites (KPG 193 buses {buses[0]}..{buses[-1]}) x {n_steps} h; load {args.load_mw:g} "
        f"MW flat; target {args.target:g}; caps {args.pv_max_mw:g} MW PV, {args.wind_max_mw:g} MW "
        f"wind; {clipped} capacity factors outside [0, 1] clipped"
    )

    def run(label: str, **limits: Any) -> list[FastSizingResult]:
        times = []
        results: list[FastSizingResult] = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            results = size_supply_many(
                load,
                pv,
                wind,
                cfe_target=args.target,
                pv_max_mw=args.pv_max_mw,
                wind_max_mw=args.wind_max_mw,
                rel_gap=args.rel_gap,
                **limits,
            )
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        verdict = "met" if med < TARGET_S else "MISSED"
        print(
            f"\nsize_supply_many, {n} sites{label}: median {med:.2f} s over {args.repeat} runs "
            f"(min {min(times):.2f}, max {max(times):.2f}); target < {TARGET_S:g} s: {verdict} "
            f"({med / TARGET_S:.2f}x)"
        )
        gaps = np.array([r.gap_rel for r in results])
        shares = np.array([r.cfe_share for r in results])
        rounds = np.array([r.iterations for r in results])
        print(
            f"  {sum(r.cfe_feasible for r in results)} of {n} sites reach the target; master "
            f"rounds median {np.median(rounds):.0f}, max {rounds.max()}; gap median "
            f"{np.median(gaps):.1e}, max {gaps.max():.1e}; CFE share min {shares.min():.6f}"
        )
        costs_musd = np.array([r.annual_cost_usd for r in results]) / 1e6
        print(
            f"  annual cost MUSD/yr: median {np.median(costs_musd):.1f} "
            f"({costs_musd.min():.1f}-{costs_musd.max():.1f}); peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        return results

    results = run("")
    exact_cases = [("", 0, {}, results[0])]

    if not args.no_land:
        land = np.random.default_rng(0).uniform(*args.land_km2, n)
        per_mw = {"pv_km2_per_mw": args.pv_km2_per_mw, "wind_km2_per_mw": args.wind_km2_per_mw}
        limited = run(
            f", land {args.land_km2[0]:g}-{args.land_km2[1]:g} km2", land_km2=land, **per_mw
        )
        used = (
            np.array([r.pv_mw for r in limited]) * args.pv_km2_per_mw
            + np.array([r.wind_mw for r in limited]) * args.wind_km2_per_mw
        )
        binding = np.flatnonzero(used >= land * (1 - 1e-9))
        missed = [j for j in binding if not limited[j].cfe_feasible]
        print(
            f"  the land limit binds at {binding.size} of {n} sites ({len(missed)} of them miss "
            f"the target); largest land used / land {float((used / land).max()):.12f}"
        )
        if binding.size:
            j = int(missed[0] if missed else binding[0])
            exact_cases.append(
                (f", land {land[j]:.1f} km2", j, {"land_km2": float(land[j]), **per_mw}, limited[j])
            )

    if args.no_exact:
        return
    for label, j, limits, fast in exact_cases:
        t0 = time.perf_counter()
        exact = size_supply(
            load,
            pv[:, j],
            wind[:, j],
            cfe_target=args.target,
            pv_max_mw=args.pv_max_mw,
            wind_max_mw=args.wind_max_mw,
            **limits,
        )
        exact_s = time.perf_counter() - t0
        print(
            f"\nsize_supply (exact LP, HiGHS), bus {buses[j]}{label}: {exact_s:.1f} s "
            f"(x{n} sites would be ~{exact_s * n / 60:.0f} min)"
        )
        for name, r in (("exact LP", exact), ("cutting planes", fast)):
            print(
                f"  {name:>14}: {r.pv_mw:7.1f} MW PV, {r.wind_mw:7.1f} MW wind, "
                f"{r.bess_mw:6.1f} MW / {r.bess_mwh:7.1f} MWh, share {r.cfe_share:.6f}"
                f"{'' if r.cfe_feasible else ' (target missed)'}, "
                f"{r.annual_cost_usd / 1e6:.3f} MUSD/yr"
            )
        diff = fast.annual_cost_usd / exact.annual_cost_usd - 1
        print(
            f"  cost difference {diff:+.2e}, share difference "
            f"{fast.cfe_share - exact.cfe_share:+.1e} (rel_gap {args.rel_gap:g})"
        )


if __name__ == "__main__":
    main()
