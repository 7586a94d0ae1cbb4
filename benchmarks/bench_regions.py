"""Time locate_regions (issue 4, item 4) on an 11 M-cell Korea-like suitability surface at 100 m.

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_regions.py
    .venv/bin/python benchmarks/bench_regions.py --repeat 9 --spacing-km 20 --count 60

The surface is synthetic and seeded (3,300 x 3,350 cells = 330 x 335 km at 100 m): a smooth
land/sea mask (about a third of the cells NaN), smooth exclusion zones and a scatter of small
exclusions set to 0 on land, and a suitability in [0, 1] built from two scales of smooth noise
plus cell-level noise. Generating it is not timed.

Timed, median of ``--repeat`` runs (a target missed is printed as ``MISSED``):

1. ``locate_regions`` with ``count`` 20, 100-400 ha (100-400 cells), ``min_spacing_km`` 5, circle,
   compactness 0.5, mean evaluation. Target: under 0.5 s.
2. The same with ``evaluate="sum"`` (regions grow to the maximum area), for reference.
3. A scikit-image/SciPy baseline doing less: threshold the suitable cells at the 90th
   percentile, ``scipy.ndimage.label`` (4-connected), zonal mean and area by ``np.bincount``,
   keep components of 100-400 cells, take the best 20 by mean. It has no growth, no spacing and
   no area control beyond the filter.
4. The textbook full-resolution seed pass (``uniform_filter`` focal mean + ``maximum_filter``
   local maxima), which ``locate_regions`` replaces by a block-sum lattice.
5. ``pick_parcels`` (the square-parcel picker that ``locate_regions`` may replace) with the same
   count and area, and the same edge gap along rows and columns (parcels are spaced centre to
   centre, so their spacing is the gap plus one parcel side), for time and for the means found.
6. GRASS ``r.clump`` (the clumping step of the baseline), if ``grass`` is on the PATH.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from gridsite.geo import RasterGrid
from gridsite.sites import locate_regions, parcel_size_cells, pick_parcels

RES_M = 100.0
SHAPE = (3300, 3350)
TARGET_S = 0.5


def surface(seed: int) -> tuple[np.ndarray, RasterGrid]:
    """A Korea-like suitability surface: NaN sea, 0 exclusions, smooth scores in [0, 1]."""
    rng = np.random.default_rng(seed)
    rows, cols = SHAPE

    def smooth(scale: int) -> np.ndarray:
        coarse = ndimage.gaussian_filter(rng.standard_normal((rows // scale, cols // scale)), 2)
        fine = ndimage.zoom(coarse, (rows / coarse.shape[0], cols / coarse.shape[1]), order=1)
        return (fine - fine.mean()) / fine.std()

    land = smooth(100) > -0.4  # about 65 % land
    zones = smooth(20) > 0.9  # protected areas, cities: about 18 % of land
    specks = rng.random(SHAPE) < 0.02  # small exclusions (buildings, roads)
    score = 0.6 * smooth(50) + 0.3 * smooth(10) + 0.1 * rng.standard_normal(SHAPE)
    score = np.clip((score + 2.5) / 5.0, 0.0, 1.0).astype(np.float32)
    score[zones | specks] = 0.0
    score[~land] = np.nan
    grid = RasterGrid.from_bounds(
        (0, 0, cols * RES_M, rows * RES_M), resolution_m=RES_M, crs="EPSG:5179"
    )
    return score, grid


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


def baseline(suit: np.ndarray, count: int, min_cells: int, max_cells: int) -> int:
    ok = np.isfinite(suit) & (suit > 0)
    cut = np.quantile(suit[ok], 0.9)
    labels, n = ndimage.label(ok & (suit >= cut))
    flat = labels.ravel()
    area = np.bincount(flat, minlength=n + 1)
    total = np.bincount(flat, weights=np.nan_to_num(suit).ravel(), minlength=n + 1)
    mean = total / np.maximum(area, 1)
    keep = np.flatnonzero((area >= min_cells) & (area <= max_cells))
    keep = keep[keep > 0]
    return int(keep[np.argsort(-mean[keep], kind="stable")][:count].size)


def seeds_full_resolution(suit: np.ndarray, k: int) -> int:
    values = np.fmax(suit, np.float32(0))
    focal = ndimage.uniform_filter(values, k, mode="constant")
    peaks = (focal == ndimage.maximum_filter(focal, k, mode="constant")) & (focal > 0)
    return int(np.count_nonzero(peaks))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--min-ha", type=float, default=100.0)
    ap.add_argument("--max-ha", type=float, default=400.0)
    ap.add_argument("--spacing-km", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    suit, grid = surface(args.seed)
    ok = np.isfinite(suit) & (suit > 0)
    print(
        f"surface: {SHAPE[0]:,} x {SHAPE[1]:,} cells at {RES_M:g} m ({suit.size / 1e6:.1f} M), "
        f"{np.isnan(suit).mean():.0%} nodata, {ok.mean():.0%} suitable; "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    opts = dict(
        count=args.count,
        min_area_ha=args.min_ha,
        max_area_ha=args.max_ha,
        min_spacing_km=args.spacing_km,
        shape="circle",
        compactness=0.5,
    )
    min_cells = round(args.min_ha * 1e4 / grid.cell_area_m2)
    max_cells = round(args.max_ha * 1e4 / grid.cell_area_m2)

    for evaluate in ("mean", "sum"):
        med, best, out = timed(
            lambda ev=evaluate: locate_regions(suit, grid, evaluate=ev, **opts), args.repeat
        )
        regions = out if isinstance(out, list) else []
        areas = [r.area_ha for r in regions]
        line = (
            f"locate_regions evaluate={evaluate}: median {med:.3f} s, fastest {best:.3f} s; "
            f"{len(regions)} regions, {min(areas):.0f}-{max(areas):.0f} ha, "
            f"best mean {regions[0].mean_score:.3f}, "
            f"mean of the {len(regions)} {np.mean([r.mean_score for r in regions]):.3f}"
        )
        if evaluate == "mean":
            verdict = "met" if med < TARGET_S else "MISSED"
            line += f"  [target < {TARGET_S} s: {verdict} ({med / TARGET_S:.2f}x)]"
        print(line)

    med, best, n = timed(lambda: baseline(suit, args.count, min_cells, max_cells), args.repeat)
    print(
        f"baseline ndimage.label of the top 10 % + bincount zonal stats: median {med:.3f} s, "
        f"fastest {best:.3f} s; {n} components of {min_cells}-{max_cells} cells"
    )
    k = int(np.ceil(np.sqrt(min_cells)))
    med, best, n = timed(lambda: seeds_full_resolution(suit, k), args.repeat)
    print(
        f"full-resolution seeds (uniform_filter {k} + maximum_filter {k}): median {med:.3f} s, "
        f"fastest {best:.3f} s; {n:,} local maxima"
    )
    size = parcel_size_cells(args.min_ha, RES_M)
    # parcels are spaced centre to centre: add a side so the edge gap along rows/cols is the same
    edge_to_centre_km = args.spacing_km + size * RES_M / 1000
    med, best, out = timed(
        lambda: pick_parcels(
            suit, grid, size=size, count=args.count, min_spacing_km=edge_to_centre_km
        ),
        args.repeat,
    )
    parcels = out if isinstance(out, list) else []
    print(
        f"pick_parcels {size} x {size} cells, centres {edge_to_centre_km:g} km apart: "
        f"median {med:.3f} s, fastest {best:.3f} s; "
        f"{len(parcels)} parcels, best mean {parcels[0].mean_score:.3f}, "
        f"mean of the {len(parcels)} {np.mean([p.mean_score for p in parcels]):.3f}"
    )
    grass = shutil.which("grass")
    if grass is None:
        print("GRASS r.clump: not installed (no `grass` on the PATH)")
    else:
        print(f"GRASS r.clump: `grass` found at {grass}; not run by this script (needs a location)")


if __name__ == "__main__":
    main()
