"""Time the MCDA aggregation and sensitivity functions of issue 4 on synthetic, seeded data.

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_mcda.py                       # both parts
    .venv/bin/python benchmarks/bench_mcda.py --parts mc --repeat 9
    .venv/bin/python benchmarks/bench_mcda.py --parts raster --cells 1000000

Parts (a target missed is printed as ``MISSED``):

1. ``mc``: ``monte_carlo_ranks`` with 1,000 weight draws over 200 candidate sites and 10 criteria
   (Dirichlet and uniform +/- 20 %), median of ``--repeat`` runs. Target: under 5 s. Also
   ``one_at_a_time`` for the base top 10 (101 grid steps, bisection to 1e-6).
2. ``raster``: a stack of 10 float32 criterion layers of ``--cells`` cells (default 11 M,
   3,300 x 3,340; 1 M if the machine lacks the memory, which is printed) with 1 % nodata, through
   WLC (for comparison), OWA (risk attitude 2, and explicit order weights), TOPSIS (vector and
   min-max) and fuzzy gamma; median of ``--raster-repeat`` runs each. No target.

The peak resident memory (``ru_maxrss``) of the process is printed at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from gridsite.mcda import (
    fuzzy_gamma,
    monte_carlo_ranks,
    one_at_a_time,
    ordered_weighted_average,
    topsis,
    weighted_linear_combination,
)

SEED = 0
N_SITES = 200
N_CRITERIA = 10
N_DRAWS = 1000
MC_TARGET_S = 5.0
RASTER_CELLS = 11_000_000
FALLBACK_CELLS = 1_000_000
#: Bytes per cell the raster part needs at most: 10 float32 layers, the float64 TOPSIS
#: accumulators and mask, and the OWA working blocks (bounded, not per cell), with headroom.
BYTES_PER_CELL = 10 * 4 + 6 * 8 + 8


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def verdict(value: float, target: float) -> str:
    return f"{'met' if value <= target else 'MISSED'} ({value / target:.2f}x of target)"


def part_mc(repeat: int) -> None:
    rng = np.random.default_rng(SEED)
    names = [f"c{j}" for j in range(N_CRITERIA)]
    table = pd.DataFrame(rng.random((N_SITES, N_CRITERIA)), columns=names)
    weights = dict(zip(names, rng.uniform(0.5, 2.0, N_CRITERIA).tolist(), strict=True))
    print(f"Monte Carlo ranks: {N_DRAWS:,} draws x {N_SITES} sites x {N_CRITERIA} criteria")
    for method in ("dirichlet", "uniform"):
        median, fastest = timed(
            lambda m=method: monte_carlo_ranks(
                table, weights, n_draws=N_DRAWS, method=m, seed=SEED
            ),
            repeat,
        )
        print(
            f"  {method:<9} median {median:.3f} s, fastest {fastest:.3f} s "
            f"(target < {MC_TARGET_S:g} s): {verdict(median, MC_TARGET_S)}"
        )
    median, fastest = timed(lambda: one_at_a_time(table, weights), repeat)
    print(f"  one_at_a_time, top 10 x {N_CRITERIA} criteria: median {median:.3f} s")


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def part_raster(cells: int, repeat: int) -> None:
    available = available_bytes()
    if available is not None and cells * BYTES_PER_CELL > 0.5 * available:
        print(
            f"raster: {cells:,} cells would need ~{cells * BYTES_PER_CELL / 2**30:.1f} GB of "
            f"{available / 2**30:.1f} GB available; using {FALLBACK_CELLS:,} cells instead"
        )
        cells = FALLBACK_CELLS
    rows = int(math.sqrt(cells))
    shape = (rows, math.ceil(cells / rows))
    rng = np.random.default_rng(SEED)
    stack = {}
    for j in range(N_CRITERIA):
        layer = rng.random(shape, dtype=np.float32)
        layer[rng.random(shape) < 0.001] = np.nan  # about 1 % nodata over the 10 layers
        stack[f"c{j}"] = layer
    weights = {
        name: float(w) for name, w in zip(stack, rng.uniform(0.5, 2.0, N_CRITERIA), strict=True)
    }
    print(
        f"Raster stack: {N_CRITERIA} float32 layers of {shape[0]:,} x {shape[1]:,} = "
        f"{shape[0] * shape[1]:,} cells ({N_CRITERIA * shape[0] * shape[1] * 4 / 2**20:,.0f} MB)"
    )
    order = np.linspace(1.0, 0.1, N_CRITERIA)
    runs: dict[str, Callable[[], object]] = {
        "WLC (reference)": lambda: weighted_linear_combination(stack, weights),
        "OWA, risk attitude 2": lambda: ordered_weighted_average(stack, weights, risk_attitude=2.0),
        "OWA, order weights": lambda: ordered_weighted_average(stack, weights, order_weights=order),
        "TOPSIS, vector": lambda: topsis(stack, weights, benefit=True, normalisation="vector"),
        "TOPSIS, min-max": lambda: topsis(stack, weights, benefit=True, normalisation="minmax"),
        "fuzzy gamma 0.9": lambda: fuzzy_gamma(stack, 0.9),
    }
    for name, run in runs.items():
        median, fastest = timed(run, repeat)
        print(f"  {name:<22} median {median:6.2f} s, fastest {fastest:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=("mc", "raster"), default=["mc", "raster"])
    parser.add_argument("--repeat", type=int, default=5, help="runs of the Monte Carlo part")
    parser.add_argument("--raster-repeat", type=int, default=3, help="runs of each raster rule")
    parser.add_argument("--cells", type=int, default=RASTER_CELLS)
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, pandas {pd.__version__}"
    )
    if "mc" in args.parts:
        part_mc(args.repeat)
    if "raster" in args.parts:
        part_raster(args.cells, args.raster_repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
