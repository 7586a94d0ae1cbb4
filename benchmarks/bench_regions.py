"""Time region extraction and parcel picking: the real Korea study at 500, 250 and 100 m
(issue 6), then an 11 M-cell Korea-like synthetic surface at 100 m (issue 4, item 4).

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_regions.py                         # Korea, then synthetic
    .venv/bin/python benchmarks/bench_regions.py --resolutions 100 --repeat 9 --no-synthetic
    .venv/bin/python benchmarks/bench_regions.py --resolutions           # synthetic only
    .venv/bin/python benchmarks/bench_regions.py --repeat 9 --spacing-km 20 --count 60

**Korea** (``--resolutions``, default 500 250 100). The inputs are the real ones: the Korea study
(``studies/korea.toml``, the real data pack) runs in a child process at that resolution up to its
``sites`` stage, and the suitability surface and grid it hands to ``pick_parcels`` are saved
(with the arguments of that call) under ``--cache`` (default ``benchmarks/results/
korea_suitability``, not in git; ``--rebuild`` makes them again, e.g. after a data or criteria
change). At 100 m that takes about 4 minutes and 5.5 GB once. Building them is not timed.
Timed on them, median of ``--repeat`` runs (each printed with its fastest run, and the peak of
the memory NumPy allocates during one call, from ``tracemalloc``):

1. ``pick_parcels`` exactly as the study calls it (``[sites] method = "parcels"``: parcels of
   ``parcel_size_cells(campus_area_ha, resolution)``, ``count x pool_factor`` = 60 of them,
   ``min_spacing_km`` 20), and the plain method it replaces (one float64 summed-area table of the
   whole grid, then an argmax over the whole grid and a disk cleared around each pick), timed
   once (``--no-plain`` skips it: about 15 s at 100 m); the two must agree exactly (same parcels,
   order and means), which is printed.
2. ``locate_regions`` with the study's settings for ``method = "regions"`` (60 regions of
   ``campus_area_ha`` to 4 x that, 20 km apart, circle, compactness 0.5, mean). Target (issue 6):
   region extraction in at most 0.1 s at 100 m, printed as met or ``MISSED``.
3. The SciPy labelling baseline below (item 3), which does less.

**Synthetic** (skipped with ``--no-synthetic``). The surface is seeded (3,300 x 3,350 cells = 330
x 335 km at 100 m): a smooth land/sea mask (about a third of the cells NaN), smooth exclusion
zones and a scatter of small exclusions set to 0 on land, and a suitability in [0, 1] built from
two scales of smooth noise plus cell-level noise. Generating it is not timed.

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
import hashlib
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from affine import Affine
from scipy import ndimage

from gridsite.geo import RasterGrid
from gridsite.sites import Parcel, locate_regions, parcel_size_cells, pick_parcels, window_sums

RES_M = 100.0
SHAPE = (3300, 3350)
TARGET_S = 0.5
REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "korea.toml"
KOREA_TARGET_S = 0.1  # issue 6: region extraction at 100 m
KOREA_TARGET_RES_M = 100.0


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


# ---- Korea: the study's own inputs ---------------------------------------------------------------


class _StopStudyError(Exception):
    """Stops the study at its sites stage, carrying what it passed there."""


def build_korea(resolution_m: float, cache: Path) -> None:
    """Child: run the Korea study up to its sites stage and save the suitability it passes."""
    import logging

    import gridsite
    import gridsite.study.run as run_module

    logging.getLogger("gridsite").setLevel(logging.ERROR)

    def capture(suitability: np.ndarray, grid: RasterGrid, **kwargs: Any) -> None:
        raise _StopStudyError(suitability, grid, kwargs)

    spec = gridsite.Study.from_toml(STUDY, resolution_m=resolution_m).spec
    t0 = time.perf_counter()
    with (
        mock.patch.object(run_module, "pick_parcels", capture),
        mock.patch.object(run_module, "locate_regions", capture),
    ):
        try:
            gridsite.Study(spec).run()
        except _StopStudyError as stop:
            suit, grid, kwargs = stop.args
        else:  # pragma: no cover - the study always reaches its sites stage
            raise SystemExit("the study finished without picking sites")
    seconds = time.perf_counter() - t0
    st, campus_ha = spec.sites, spec.campus.campus_area_ha
    meta = {
        "study_sha256": _study_hash(),
        "built": time.strftime("%Y-%m-%d %H:%M"),
        "build_s": round(seconds, 1),
        "crs": grid.crs,
        "transform": list(grid.transform)[:6],
        "shape": list(grid.shape),
        "method": st.method,
        # what _Run.candidates passes for either method
        "parcels": {
            "size": parcel_size_cells(campus_ha, grid.resolution_m),
            "count": st.count * st.pool_factor,
            "min_spacing_km": st.min_spacing_km,
        },
        "regions": {
            "count": st.count * st.pool_factor,
            "min_area_ha": campus_ha,
            "max_area_ha": st.max_area_ha or 4 * campus_ha,
            "min_spacing_km": st.min_spacing_km,
            "shape": st.shape,
            "compactness": st.compactness,
            "evaluate": st.evaluate,
        },
    }
    if st.method == "parcels":
        assert kwargs == meta["parcels"], (kwargs, meta["parcels"])
    np.save(cache / f"suit_{resolution_m:g}m.npy", np.asarray(suit, dtype=np.float32))
    (cache / f"suit_{resolution_m:g}m.json").write_text(json.dumps(meta, indent=1))


def _study_hash() -> str:
    return hashlib.sha256(STUDY.read_bytes()).hexdigest()[:16]


def korea_inputs(
    resolution_m: float, cache: Path, *, rebuild: bool
) -> tuple[np.ndarray, RasterGrid, dict[str, Any]]:
    """The Korea suitability at ``resolution_m``, built once in a child process and cached."""
    npy, meta_path = cache / f"suit_{resolution_m:g}m.npy", cache / f"suit_{resolution_m:g}m.json"
    if rebuild or not (npy.exists() and meta_path.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        print(f"  building the Korea suitability at {resolution_m:g} m (not timed) ...", flush=True)
        cmd = [sys.executable, __file__, "--build", str(resolution_m), "--cache", str(cache)]
        subprocess.run(cmd, check=True)
    meta = json.loads(meta_path.read_text())
    if meta["study_sha256"] != _study_hash():
        print(f"  note: {npy.name} was built from another version of {STUDY.name}; --rebuild")
    grid = RasterGrid(
        crs=meta["crs"], transform=Affine(*meta["transform"]), shape=tuple(meta["shape"])
    )
    return np.load(npy), grid, meta


def plain_pick_parcels(
    suit: np.ndarray, grid: RasterGrid, *, size: int, count: int, min_spacing_km: float
) -> list[Parcel]:
    """The plain method ``pick_parcels`` replaces: a whole-grid float64 summed-area table, then
    the first maximum of the whole grid and a disk cleared around it, once per pick."""
    suitable = np.isfinite(suit) & (suit > 0)
    vals = np.where(suitable, suit, 0.0).astype(np.float64)
    means = window_sums(vals, size) / (size * size)
    means[window_sums(suitable.astype(np.float64), size) < size * size - 0.5] = -np.inf
    radius = min_spacing_km / (grid.resolution_m / 1000.0)
    r_idx = np.arange(means.shape[0])[:, None]
    c_idx = np.arange(means.shape[1])[None, :]
    picked: list[Parcel] = []
    while len(picked) < count:
        flat = int(np.argmax(means))
        best = float(means.flat[flat])
        if not np.isfinite(best):
            break
        r, c = divmod(flat, means.shape[1])
        picked.append(Parcel(row=r, col=c, size=size, mean_score=best))
        if radius > 0:
            means[(r_idx - r) ** 2 + (c_idx - c) ** 2 < radius * radius] = -np.inf
        else:
            means[r, c] = -np.inf
    return picked


def work_mb(fn: Callable[[], object]) -> float:
    """Peak memory allocated while ``fn`` runs (MB; NumPy's arrays included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_korea(args: argparse.Namespace) -> None:
    for res in args.resolutions:
        bench_korea_at(res, args)


def bench_korea_at(res: float, args: argparse.Namespace) -> None:
    suit, grid, meta = korea_inputs(res, args.cache, rebuild=args.rebuild)
    ok = np.isfinite(suit) & (suit > 0)
    print(
        f"Korea {res:g} m: {grid.shape[0]:,} x {grid.shape[1]:,} cells "
        f"({suit.size / 1e6:.1f} M), {np.isfinite(suit).sum() / 1e6:.1f} M in the study area, "
        f"{ok.sum() / 1e6:.2f} M suitable (built {meta['built']}, {meta['build_s']:.0f} s)"
    )
    del ok
    pk, rk = meta["parcels"], meta["regions"]

    def parcels() -> list[Parcel]:
        return pick_parcels(suit, grid, **pk)

    med, best, out = timed(parcels, args.repeat)
    got = out if isinstance(out, list) else []
    print(
        f"  pick_parcels {pk['size']} x {pk['size']} cells, {pk['count']} of them "
        f"{pk['min_spacing_km']:g} km apart: median {med:.3f} s, fastest {best:.3f} s, "
        f"work {work_mb(parcels):.0f} MB; {len(got)} parcels, best mean {got[0].mean_score:.4f}",
        flush=True,
    )
    if args.plain:
        t0 = time.perf_counter()
        plain = plain_pick_parcels(suit, grid, **pk)
        plain_s = time.perf_counter() - t0
        same = [(p.row, p.col, p.mean_score) for p in plain] == [
            (p.row, p.col, p.mean_score) for p in got
        ]
        print(
            f"  plain whole-grid method (once): {plain_s:.3f} s ({plain_s / med:.0f}x "
            f"pick_parcels' median); identical parcels, order and means: "
            f"{'yes' if same else 'NO'}",
            flush=True,
        )

    def regions() -> list[Any]:
        return locate_regions(suit, grid, **rk)

    med, best, out = timed(regions, args.repeat)
    found = out if isinstance(out, list) else []
    line = (
        f"  locate_regions {rk['count']} of {rk['min_area_ha']:g}-{rk['max_area_ha']:g} ha, "
        f"{rk['min_spacing_km']:g} km apart: median {med:.3f} s, fastest {best:.3f} s, "
        f"work {work_mb(regions):.0f} MB; {len(found)} regions, best mean "
        f"{found[0].mean_score:.4f}"
    )
    if res == KOREA_TARGET_RES_M:
        verdict = "met" if med <= KOREA_TARGET_S else "MISSED"
        line += f"  [target <= {KOREA_TARGET_S} s: {verdict} ({med / KOREA_TARGET_S:.2f}x)]"
    print(line, flush=True)
    min_cells = round(rk["min_area_ha"] * 1e4 / grid.cell_area_m2)
    max_cells = round(rk["max_area_ha"] * 1e4 / grid.cell_area_m2)
    med, best, n = timed(lambda: baseline(suit, rk["count"], min_cells, max_cells), args.repeat)
    print(
        f"  baseline ndimage.label of the top 10 % + bincount zonal stats: median {med:.3f} s, "
        f"fastest {best:.3f} s; {n} components of {min_cells}-{max_cells} cells",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--min-ha", type=float, default=100.0)
    ap.add_argument("--max-ha", type=float, default=400.0)
    ap.add_argument("--spacing-km", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--resolutions", type=float, nargs="*", default=[500.0, 250.0, 100.0],
        help="Korea study resolutions (m); none: skip the Korea part",
    )  # fmt: skip
    cache = REPO / "benchmarks" / "results" / "korea_suitability"
    ap.add_argument("--cache", type=Path, default=cache, help="where the Korea inputs are kept")
    ap.add_argument("--rebuild", action="store_true", help="build the Korea inputs again")
    ap.add_argument("--no-plain", dest="plain", action="store_false",
                    help="do not time the plain pick_parcels method")  # fmt: skip
    ap.add_argument("--no-synthetic", dest="synthetic", action="store_false")
    ap.add_argument("--build", type=float, help=argparse.SUPPRESS)  # child: build one resolution
    args = ap.parse_args()
    if args.build is not None:
        build_korea(args.build, args.cache)
        return
    print(
        f"python {platform.python_version()}, numpy {np.__version__}; median of {args.repeat} runs"
    )
    if args.resolutions:
        bench_korea(args)
    if args.synthetic:
        bench_synthetic(args)


def bench_synthetic(args: argparse.Namespace) -> None:
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
