"""Time each raster stage of the Korea study against its peers, and the study end to end (issue 6).

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_stages.py                       # 1000 500 250 100 m
    .venv/bin/python benchmarks/bench_stages.py --resolutions 500 --repeat 5
    .venv/bin/python benchmarks/bench_stages.py --stages distance cost --resolutions 100

For each resolution the real inputs are built once, in a child process, from the Korea study
(``studies/korea.toml``, the real data pack): ``Study.run()`` gives the study grid (the country
outline plus its margin), the eight criterion scores and the suitability surface; the
substations are the cells of the ``osm_buses`` layer at >= 154 kV (the ``substation_distance``
criterion's mask); the routing cost is the study's tie-line cost raster (``cost_multiplier_raster``
with the ``urban`` constraint, no slope layer, then ``line_cost_raster`` at the required connection
voltage, MUSD per km) with the study's barriers (outside the area, sea, DMZ and north; substation
cells kept enterable), as in ``gridsite.study.connection``. Building them is not timed.

Stages and tools (each tool runs in a fresh process, so its peak resident memory is its own):

``distance``
    gridsite ``distance_to_mask`` of the substations; SciPy ``distance_transform_edt``; OpenCV
    ``distanceTransform(DIST_L2, DIST_MASK_PRECISE)``; GDAL ``gdal_proximity.py -distunits GEO``
    (the subprocess only, on a GeoTIFF written beforehand); GRASS ``r.grow.distance``.
``cost``
    Accumulated cost from every substation: gridsite ``accumulated_cost``; scikit-image
    ``MCP_Geometric(fully_connected=True).find_costs``; GRASS ``r.cost`` (8 neighbours,
    ``memory=4000``).
``overlay``
    WLC of 10 float32 layers (the study's 8 criterion scores and 2 seeded random layers with the
    same nodata): gridsite ``aggregate_scores`` with the study's rule; NumPy float32 multiply-add in
    place; GRASS ``r.mapcalc``; and the memory-bandwidth bound, bytes moved (10 layers read, one
    written, 4 bytes a cell) over the bandwidth of a 1 GiB ``np.copyto`` on this machine.
``regions``
    gridsite ``locate_regions`` with the study's pool (count x pool_factor, 100-400 ha, 20 km
    apart); ``pick_parcels`` (the method ``studies/korea.toml`` uses); labelling the top 10 % of
    suitable cells and zonal mean and area: SciPy (``bench_regions.baseline``), scikit-image
    ``label`` + ``regionprops_table``, GRASS ``r.clump`` + ``r.stats.zonal``.
``study``
    ``benchmarks/run.py``'s fresh-process run of the whole study (with every output written), its
    peak memory, and the study's own ``criteria`` stage time.

GRASS runs in one ``grass --tmp-location EPSG:5179 --exec`` session per resolution: the rasters are
imported with ``r.in.gdal`` first (not timed), then each module is timed on its own, process
start included; the start-up of a trivial module (``r.info``) is printed apart. Every peer output
is compared with gridsite's over the study area (largest difference).

Printed for each tool: the median of ``--repeat`` runs; the peak resident memory of its process
(for the Python tools, a process that holds the inputs) and, for the Python tools, what the timed
call added to the memory resident before it (``work MB``); its time as a multiple of gridsite's;
and its largest difference from gridsite's output over the study area (m, MUSD or score).
A tool whose first run takes longer than ``--max-seconds`` runs once.
A peer that is not installed is printed as ``not installed``. At 100 m the targets of issue 6 are
checked and printed as met or ``MISSED`` with the measured value as a multiple of the target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_grid import peak_mb, quiet
from run import run_once

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "korea.toml"
STAGES = ("distance", "cost", "overlay", "regions", "study")
SEED = 0
N_LAYERS = 10
GRASS_MEMORY_MB = 4000

#: Targets of issue 6 at 100 m, and the peers' times the issue measured (for ~11 M cells), used
#: only when the peer is not installed here.
TARGET_RES_M = 100.0
COST_TARGET_S = 2.0
REGIONS_TARGET_S = 0.1
STUDY_TARGET_S = 60.0
STUDY_TARGET_MB = 3 * 1024
OVERLAY_BOUND_FACTOR = 3.0
ISSUE_S = {"opencv": 0.12, "gdal_proximity": 0.41, "r.cost": 8.8}

#: Label, stage and gridsite reference of every tool, in the order printed.
TOOLS: dict[str, tuple[str, str]] = {
    "dist_gridsite": ("distance", "gridsite distance_to_mask"),
    "dist_scipy": ("distance", "scipy distance_transform_edt"),
    "dist_opencv": ("distance", "opencv distanceTransform"),
    "gdal_proximity": ("distance", "GDAL gdal_proximity.py"),
    "r.grow.distance": ("distance", "GRASS r.grow.distance"),
    "cost_gridsite": ("cost", "gridsite accumulated_cost"),
    "cost_skimage": ("cost", "skimage MCP_Geometric"),
    "r.cost": ("cost", "GRASS r.cost"),
    "overlay_gridsite": ("overlay", "gridsite aggregate_scores (wlc)"),
    "overlay_numpy": ("overlay", "numpy float32 in place"),
    "r.mapcalc": ("overlay", "GRASS r.mapcalc"),
    "regions_gridsite": ("regions", "gridsite locate_regions"),
    "regions_parcels": ("regions", "gridsite pick_parcels"),
    "regions_scipy": ("regions", "scipy label + bincount"),
    "regions_skimage": ("regions", "skimage label + regionprops_table"),
    "r.clump": ("regions", "GRASS r.clump"),
    "r.clump+r.stats.zonal": ("regions", "GRASS r.clump + r.stats.zonal"),
}
#: Printed names, in the order printed.
LABELS = {tool: name for tool, (stage, name) in TOOLS.items() if stage != "regions"}
LABELS |= {"bound": "memory-bandwidth bound"}
LABELS |= {tool: name for tool, (_, name) in TOOLS.items() if tool not in LABELS}
LABELS |= {"study": "gridsite whole study (run.py)", "criteria": "gridsite criteria stage"}
GRIDSITE = {
    "distance": "dist_gridsite",
    "cost": "cost_gridsite",
    "overlay": "overlay_gridsite",
    "regions": "regions_gridsite",
}


# ---- helpers -------------------------------------------------------------------------------------


def measure(
    fn: Callable[[], Any], repeat: int, max_s: float, save: Path | None = None
) -> list[float]:
    """Run ``fn`` up to ``repeat`` times (once if the first run is slower than ``max_s``)."""
    times: list[float] = []
    for i in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if i == 0 and save is not None:
            np.save(save, np.asarray(out, dtype=np.float32))
        del out
        if times[0] > max_s:
            break
    return times


def run_subprocess(cmd: list[str]) -> tuple[float, float]:
    """Wall time and peak resident memory (MB) of one command, which must succeed."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def measure_subprocess(cmd: list[str], repeat: int, max_s: float) -> dict[str, Any]:
    times, peaks = [], []
    for _ in range(repeat):
        elapsed, peak = run_subprocess(cmd)
        times.append(elapsed)
        peaks.append(peak)
        if times[0] > max_s:
            break
    return {"times": times, "peak_mb": max(peaks)}


def child(kind: str, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    """Run this script as ``--child kind`` in a fresh process and return its JSON answer."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--work",
        str(args.work),
        "--resolutions",
        str(args.resolution),
        "--repeat",
        str(args.repeat),
        "--max-seconds",
        str(args.max_seconds),
    ]
    proc = subprocess.run([*extra, *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {kind} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def write_tif(path: Path, array: np.ndarray, meta: dict[str, Any], nodata: float | None) -> None:
    import rasterio
    from affine import Affine

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=array.shape[0],
        width=array.shape[1],
        count=1,
        dtype=array.dtype,
        crs=meta["crs"],
        transform=Affine(*meta["transform"]),
        nodata=nodata,
        tiled=True,
    ) as dst:
        dst.write(array, 1)


def read_tif(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return np.asarray(src.read(1, masked=True).filled(np.nan), dtype=np.float32)


def load_meta(work: Path) -> dict[str, Any]:
    return dict(json.loads((work / "meta.json").read_text()))


def study_grid(meta: dict[str, Any]) -> Any:
    from affine import Affine

    from gridsite.geo import RasterGrid

    return RasterGrid(
        crs=meta["crs"], transform=Affine(*meta["transform"]), shape=tuple(meta["shape"])
    )


# ---- children: inputs ----------------------------------------------------------------------------


def prepare(work: Path, resolution_m: float) -> dict[str, Any]:
    """Build and save the real inputs at one resolution (npy for Python, GeoTIFF for the peers)."""
    quiet()
    import gridsite
    from gridsite import layers
    from gridsite.powergrid.interconnect import cost_multiplier_raster, line_cost_raster
    from gridsite.study.rasters import GridWindow, constraint_mask, criterion_key
    from gridsite.study.run import _Run

    spec = gridsite.Study.from_toml(STUDY, resolution_m=resolution_m).spec
    result = gridsite.Study(spec).run()
    grid = result.suitability.grid
    run = _Run(spec, None)
    inputs = run.raster_inputs(grid)
    whole = GridWindow.whole(grid)
    in_area = layers.rasterize_mask(run.vector(spec.area_layer), grid, all_touched=False)
    crit = next(c for c in spec.criteria if c.name == "substation_distance")
    subs = inputs.rasterize(criterion_key(crit), whole)

    ic = spec.interconnect
    assert ic is not None and not ic.slope_layer  # the Korea study routes without a slope layer
    constraints = {k.name: k for k in spec.constraints}
    costs = layers.read_revx_costs(
        layers.layer_path(spec.layers[ic.costs], spec.data_root), region=ic.cost_region
    )
    urban = constraint_mask(inputs, constraints[ic.urban_constraint], whole)
    multiplier = cost_multiplier_raster(grid.shape, costs=costs, urban=urban)
    required_kv = float(result.stats["required_connection_kv"])
    cost = line_cost_raster(multiplier, costs=costs, voltage_kv=required_kv)
    barriers = ~in_area
    for name in ic.barriers:
        barriers |= constraint_mask(inputs, constraints[name], whole)
    barriers[subs] = False

    rng = np.random.default_rng(SEED)
    stack = dict(result.scores)
    for j in range(N_LAYERS - len(stack)):
        extra = rng.random(grid.shape, dtype=np.float32)
        extra[~in_area] = np.nan
        stack[f"random_{j + 1}"] = extra
    weights = dict(result.stats["criterion_weights"])
    weights |= {name: 0.1 for name in stack if name not in weights}
    suit = result.suitability.array
    ok = np.isfinite(suit) & (suit > 0)
    cut = float(np.quantile(suit[ok], 0.9))
    del result

    np.save(work / "subs.npy", subs)
    np.save(work / "in_area.npy", in_area)
    np.save(work / "cost.npy", cost)
    np.save(work / "barriers.npy", barriers)
    np.save(work / "suit.npy", suit)
    for j, name in enumerate(weights):
        np.save(work / f"layer{j}.npy", stack[name])  # one file each: no transient peak on load
    st = spec.sites
    meta = {
        "crs": grid.crs,
        "transform": list(grid.transform)[:6],
        "shape": list(grid.shape),
        "cells": int(subs.size),
        "area_cells": int(in_area.sum()),
        "substations": int(subs.sum()),
        "required_kv": required_kv,
        "weights": weights,
        "cut": cut,
        "regions": {
            "count": st.count * st.pool_factor,
            "min_area_ha": spec.campus.campus_area_ha,
            "max_area_ha": st.max_area_ha or 4 * spec.campus.campus_area_ha,
            "min_spacing_km": st.min_spacing_km,
            "shape": st.shape,
            "compactness": st.compactness,
            "evaluate": st.evaluate,
        },
    }
    (work / "meta.json").write_text(json.dumps(meta))
    if shutil.which("gdal_proximity.py") or shutil.which("grass"):
        write_tif(work / "subs.tif", subs.astype(np.uint8), meta, None)
    if shutil.which("grass"):
        write_tif(
            work / "cost.tif", np.where(barriers, np.nan, cost).astype(np.float32), meta, None
        )
        write_tif(work / "suit.tif", suit, meta, None)
        for j, name in enumerate(weights):
            write_tif(work / f"layer{j}.tif", stack[name], meta, None)
    return meta


def bandwidth_gb_s() -> float:
    """Copy bandwidth of this machine: bytes read plus written by a 1 GiB ``np.copyto``."""
    src = np.ones(1 << 28, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    times = measure(lambda: np.copyto(dst, src), 7, 1e9)
    return 2 * src.nbytes / statistics.median(times) / 1e9


# ---- children: the Python tools ------------------------------------------------------------------


def tool_fn(tool: str, work: Path, res: float) -> Callable[[], Any]:
    """The timed call of a Python tool, with its inputs loaded (not timed)."""
    meta = load_meta(work)
    stage = TOOLS[tool][0]
    if stage == "distance":
        mask = np.load(work / "subs.npy")
        if tool == "dist_gridsite":
            from gridsite.criteria.distance import distance_to_mask

            return lambda: distance_to_mask(mask, resolution_m=res)
        if tool == "dist_scipy":
            from scipy import ndimage

            return lambda: ndimage.distance_transform_edt(~mask, sampling=res)
        import cv2

        def opencv() -> np.ndarray:
            d = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            d *= res
            return np.asarray(d)

        return opencv
    if stage == "cost":
        cost = np.load(work / "cost.npy")
        barriers = np.load(work / "barriers.npy")
        subs = np.load(work / "subs.npy")
        if tool == "cost_gridsite":
            from gridsite.criteria.costdistance import accumulated_cost

            return lambda: accumulated_cost(
                cost, subs, resolution_m=res, barriers=barriers, length_unit_m=1000.0
            )
        from skimage.graph import MCP_Geometric

        cost[barriers] = np.inf
        starts = [tuple(rc) for rc in np.argwhere(subs & np.isfinite(cost))]
        return lambda: (
            MCP_Geometric(cost, fully_connected=True).find_costs(starts)[0] * (res / 1000.0)
        )
    if stage == "overlay":
        names = list(meta["weights"])
        stack = {n: np.load(work / f"layer{j}.npy") for j, n in enumerate(names)}
        if tool == "overlay_gridsite":
            import gridsite
            from gridsite.mcda.aggregate import aggregate_scores

            rule = gridsite.Study.from_toml(STUDY).spec.aggregation
            return lambda: aggregate_scores(stack, meta["weights"], rule)
        total_w = sum(meta["weights"].values())
        w = [np.float32(meta["weights"][n] / total_w) for n in names]

        def numpy_wlc() -> np.ndarray:
            out = np.multiply(stack[names[0]], w[0])
            tmp = np.empty_like(out)
            for name, wj in zip(names[1:], w[1:], strict=True):
                np.multiply(stack[name], wj, out=tmp)
                out += tmp
            return out

        return numpy_wlc
    suit = np.load(work / "suit.npy")
    grid = study_grid(meta)
    reg = meta["regions"]
    cell_ha = res * res / 1e4
    min_cells, max_cells = round(reg["min_area_ha"] / cell_ha), round(reg["max_area_ha"] / cell_ha)
    if tool == "regions_gridsite":
        from gridsite.sites import locate_regions

        return lambda: locate_regions(suit, grid, **reg)
    if tool == "regions_parcels":
        from gridsite.sites import parcel_size_cells, pick_parcels

        size = parcel_size_cells(reg["min_area_ha"], res)
        return lambda: pick_parcels(
            suit, grid, size=size, count=reg["count"], min_spacing_km=reg["min_spacing_km"]
        )
    if tool == "regions_scipy":
        from bench_regions import baseline

        return lambda: baseline(suit, reg["count"], min_cells, max_cells)
    from skimage.measure import label, regionprops_table

    def skimage_regions() -> int:
        ok = np.isfinite(suit) & (suit > 0)
        top = ok & (suit >= np.quantile(suit[ok], 0.9))
        table = regionprops_table(
            label(top, connectivity=1),
            np.nan_to_num(suit),
            properties=("label", "area", "intensity_mean"),
        )
        area, mean = table["area"], table["intensity_mean"]
        keep = np.flatnonzero((area >= min_cells) & (area <= max_cells))
        return int(keep[np.argsort(-mean[keep], kind="stable")][: reg["count"]].size)

    return skimage_regions


def rss_mb() -> float:
    """Resident memory of this process now (MB)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_tool(tool: str, work: Path, res: float, repeat: int, max_s: float) -> dict[str, Any]:
    quiet()
    fn = tool_fn(tool, work, res)
    base = rss_mb()
    save = work / f"out_{tool}.npy" if TOOLS[tool][0] in ("distance", "cost", "overlay") else None
    times = measure(fn, repeat, max_s, save)
    return {"times": times, "peak_mb": peak_mb(), "base_mb": base}


# ---- children: GRASS -----------------------------------------------------------------------------


def run_grass(work: Path, res: float, repeat: int, max_s: float) -> dict[str, Any]:
    """Inside a GRASS session: import the inputs, then time each module (start-up included)."""
    meta = load_meta(work)

    def g(*cmd: str) -> None:
        run_subprocess([*cmd, "--overwrite", "--quiet"])

    for name in ("subs", "cost", "suit", *(f"layer{j}" for j in range(len(meta["weights"])))):
        g("r.in.gdal", f"input={work / name}.tif", f"output={name}")
    g("g.region", "raster=subs")
    g("r.mapcalc", "expression=subs_n = if(subs == 1, 1, null())")
    g("r.mapcalc", f"expression=top = if(suit >= {meta['cut']!r}, 1, null())")
    total_w = sum(meta["weights"].values())
    wlc = " + ".join(f"{w / total_w!r} * layer{j}" for j, w in enumerate(meta["weights"].values()))
    modules = {
        "r.grow.distance": ["r.grow.distance", "input=subs_n", "distance=dist", "metric=euclidean"],
        "r.cost": [
            "r.cost",
            "input=cost",
            "start_raster=subs_n",
            "output=acc",
            f"memory={GRASS_MEMORY_MB}",
        ],
        "r.mapcalc": ["r.mapcalc", f"expression=wlc = {wlc}"],
        "r.clump": ["r.clump", "input=top", "output=clumps"],
        "r.stats.zonal": [
            "r.stats.zonal",
            "base=clumps",
            "cover=suit",
            "method=average",
            "output=zmean",
        ],
    }
    out: dict[str, Any] = {}
    out["startup"] = measure_subprocess(["r.info", "-g", "map=subs"], repeat, max_s)
    for name, cmd in modules.items():
        out[name] = measure_subprocess([*cmd, "--overwrite", "--quiet"], repeat, max_s)
    zonal = out.pop("r.stats.zonal")
    out["r.clump+r.stats.zonal"] = {
        "times": [a + b for a, b in zip(out["r.clump"]["times"], zonal["times"], strict=False)],
        "peak_mb": max(out["r.clump"]["peak_mb"], zonal["peak_mb"]),
    }
    for name, tool in (("dist", "r.grow.distance"), ("acc", "r.cost"), ("wlc", "r.mapcalc")):
        tif = work / f"out_{tool}.tif"
        g("r.out.gdal", "-c", "-f", f"input={name}", f"output={tif}", "type=Float32")
        scale = res / 1000.0 if tool == "r.cost" else 1.0  # GRASS gives cost x cells
        np.save(work / f"out_{tool}.npy", read_tif(tif) * np.float32(scale))
        tif.unlink()
    return out


# ---- the parent ----------------------------------------------------------------------------------


def max_diff(work: Path, tool: str, stage: str) -> float | None:
    path = work / f"out_{tool}.npy"
    ref_path = work / f"out_{GRIDSITE[stage]}.npy"
    if not path.exists() or not ref_path.exists() or tool == GRIDSITE[stage]:
        return None
    area = np.load(work / "in_area.npy")
    a, b = np.load(path), np.load(ref_path)
    both = area & np.isfinite(a) & np.isfinite(b)
    if np.any(np.isfinite(a[area]) != np.isfinite(b[area])):
        return float("inf")  # reachability differs somewhere in the study area
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0


def installed(tool: str) -> str | None:
    """None if the peer is here, else why not."""
    if tool == "dist_opencv":
        try:
            import cv2  # noqa: F401
        except ImportError:
            return "not installed (pip install opencv-python-headless)"
    if tool == "gdal_proximity" and shutil.which("gdal_proximity.py") is None:
        return "not installed (apt-get install gdal-bin python3-gdal)"
    if tool.startswith("r.") and shutil.which("grass") is None:
        return "not installed (apt-get install grass-core)"
    return None


def bench_resolution(args: argparse.Namespace, bw_gb_s: float) -> list[dict[str, Any]]:
    res = args.resolution
    stages = [s for s in args.stages if s != "study"]
    if not stages:  # the whole study only: no inputs to build
        print(f"\n{res:g} m:", flush=True)
        return bench_study(res, args.repeat, args.max_seconds)
    t0 = time.perf_counter()
    meta = child("prepare", args)
    print(
        f"\n{res:g} m: grid {meta['shape'][0]:,} x {meta['shape'][1]:,} = "
        f"{meta['cells'] / 1e6:.1f} M cells ({meta['area_cells'] / 1e6:.1f} M in the study area), "
        f"{meta['substations']} substation cells >= 154 kV; inputs built in "
        f"{time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    found: dict[str, dict[str, Any]] = {}
    for tool, (stage, _) in TOOLS.items():
        if stage not in stages or tool.startswith("r.") or tool == "gdal_proximity":
            continue
        why = installed(tool)
        found[tool] = {"why": why} if why else child(f"tool={tool}", args)
    if "distance" in stages:
        why = installed("gdal_proximity")
        if why:
            found["gdal_proximity"] = {"why": why}
        else:
            tif = args.work / "out_gdal.tif"
            cmd = ["gdal_proximity.py", "-q", "-values", "1", "-distunits", "GEO", "-ot"]
            cmd += ["Float32", str(args.work / "subs.tif"), str(tif)]
            found["gdal_proximity"] = measure_subprocess(cmd, args.repeat, args.max_seconds)
            np.save(args.work / "out_gdal_proximity.npy", read_tif(tif))
    grass_tools = [t for t, (s, _) in TOOLS.items() if t.startswith("r.") and s in stages]
    if grass_tools and shutil.which("grass") is None:
        found |= {t: {"why": installed(t)} for t in grass_tools}
    elif grass_tools:
        session = ["grass", "--tmp-location", "EPSG:5179", "--exec"]
        answer = child("grass", args, *session)
        startup = statistics.median(answer["startup"]["times"])
        print(f"  GRASS start-up of a module (r.info): {startup:.3f} s", flush=True)
        found |= {t: answer[t] for t in grass_tools}

    rows: list[dict[str, Any]] = []
    for tool, data in found.items():
        stage = TOOLS[tool][0]
        row: dict[str, Any] = {"stage": stage, "res_m": res, "tool": tool}
        if "why" in data:
            row["why"] = data["why"]
        else:
            row |= {
                "runs": len(data["times"]),
                "median_s": statistics.median(data["times"]),
                "peak_mb": data["peak_mb"],
                "work_mb": data["peak_mb"] - data["base_mb"] if "base_mb" in data else None,
                "diff": max_diff(args.work, tool, stage),
            }
        rows.append(row)
    if "overlay" in stages:
        moved = meta["cells"] * (N_LAYERS + 1) * 4
        rows.append(
            {
                "stage": "overlay",
                "res_m": res,
                "tool": "bound",
                "runs": 0,
                "median_s": moved / (bw_gb_s * 1e9),
                "note": f"{moved / 1e9:.2f} GB at {bw_gb_s:.1f} GB/s",
            }
        )
    order = list(LABELS)
    rows.sort(key=lambda row: order.index(row["tool"]))
    if "study" in args.stages:
        rows.extend(bench_study(res, args.repeat, args.max_seconds))
    return rows


def bench_study(res: float, repeat: int, max_s: float) -> list[dict[str, Any]]:
    runs = []
    for _ in range(repeat):
        runs.append(run_once(res))
        if float(runs[0]["total_s"]) > max_s:
            break
    stages = {
        s: statistics.median(float(r["stages"][s]) for r in runs)  # type: ignore[index]
        for s in runs[0]["stages"]  # type: ignore[attr-defined]
    }
    slowest = sorted(stages.items(), key=lambda kv: -kv[1])[:4]
    return [
        {
            "stage": "study",
            "res_m": res,
            "tool": "study",
            "runs": len(runs),
            "median_s": statistics.median(float(r["total_s"]) for r in runs),  # type: ignore[arg-type]
            "peak_mb": max(float(r["peak_mb"]) for r in runs),  # type: ignore[arg-type]
            "note": ", ".join(f"{k} {v:.1f}" for k, v in slowest),
        },
        {
            "stage": "criteria",
            "res_m": res,
            "tool": "criteria",
            "runs": len(runs),
            "median_s": stages.get("criteria", float("nan")),
            "note": "the study's criteria stage",
        },
    ]


def print_rows(rows: list[dict[str, Any]]) -> None:
    ref = {
        r["stage"]: r["median_s"] for r in rows if r["tool"] == GRIDSITE.get(r["stage"], "study")
    }
    print(
        f"{'stage':<9} {'res m':>6}  {'tool':<36} {'runs':>4} {'median s':>9} {'peak MB':>8} "
        f"{'work MB':>8} {'x gridsite':>10} {'max |diff|':>10}  note"
    )
    for r in rows:
        name = LABELS[r["tool"]]
        if "why" in r:
            print(f"{r['stage']:<9} {r['res_m']:>6g}  {name:<36} {r['why']}")
            continue
        peak = f"{r['peak_mb']:,.0f}" if r.get("peak_mb") is not None else "-"
        work = f"{r['work_mb']:,.0f}" if r.get("work_mb") is not None else "-"
        base = ref.get(r["stage"])
        ratio = f"{r['median_s'] / base:.2f}" if base and r["stage"] in GRIDSITE else "-"
        diff = f"{r['diff']:.3g}" if r.get("diff") is not None else "-"
        print(
            f"{r['stage']:<9} {r['res_m']:>6g}  {name:<36} {r['runs']:>4} "
            f"{r['median_s']:>9.3f} {peak:>8} {work:>8} {ratio:>10} {diff:>10}  "
            f"{r.get('note', '')}",
            flush=True,
        )


def print_targets(rows: list[dict[str, Any]]) -> None:
    """Issue 6's targets at 100 m: met or MISSED, with the measured value / the allowed value."""
    t = {r["tool"]: r for r in rows if "median_s" in r}

    def s(tool: str) -> float | None:
        return float(t[tool]["median_s"]) if tool in t else None

    def peer(tool: str, issue_key: str) -> tuple[float, str]:
        value = s(tool)
        return (value, "measured here") if value else (ISSUE_S[issue_key], "the issue's figure")

    def check(what: str, value: float | None, allowed: float, unit: str = "s") -> None:
        if value is None:
            print(f"  {what}: not measured")
            return
        verdict = "met" if value <= allowed else "MISSED"
        print(
            f"  {what}: {value:,.3f} {unit} against {allowed:,.3f} {unit}: {verdict} "
            f"({value / allowed:.2f}x)"
        )

    print("targets at 100 m (issue 6; the factor is measured / allowed):")
    dist = s("dist_gridsite")
    cv, src = peer("dist_opencv", "opencv")
    check(f"distance <= OpenCV ({src})", dist, cv)
    gdal, src = peer("gdal_proximity", "gdal_proximity")
    check(f"distance >= 3x faster than gdal_proximity ({src}), i.e. <= gdal / 3", dist, gdal / 3)
    cost = s("cost_gridsite")
    check("cost distance from all substations <= 2 s", cost, COST_TARGET_S)
    rcost, src = peer("r.cost", "r.cost")
    check(f"cost distance >= 4x faster than r.cost ({src}), i.e. <= r.cost / 4", cost, rcost / 4)
    if "bound" in t:
        bound = float(t["bound"]["median_s"])
        check(
            f"overlay within {OVERLAY_BOUND_FACTOR:g}x of the bandwidth bound ({bound:.3f} s)",
            s("overlay_gridsite"),
            OVERLAY_BOUND_FACTOR * bound,
        )
    check("region extraction (locate_regions) <= 0.1 s", s("regions_gridsite"), REGIONS_TARGET_S)
    check("whole study <= 60 s", s("study"), STUDY_TARGET_S)
    if "study" in t:
        check("whole study peak memory <= 3 GB", t["study"]["peak_mb"], STUDY_TARGET_MB, "MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolutions", type=float, nargs="+", default=[1000.0, 500.0, 250.0, 100.0])
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=60.0, help="slower tools run once")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child is not None:
        res = args.resolutions[0]
        if args.child == "prepare":
            answer: Any = prepare(args.work, res)
        elif args.child == "bandwidth":
            answer = {"gb_s": bandwidth_gb_s()}
        elif args.child == "grass":
            answer = run_grass(args.work, res, args.repeat, args.max_seconds)
        else:
            tool = args.child.removeprefix("tool=")
            answer = run_tool(tool, args.work, res, args.repeat, args.max_seconds)
        print(json.dumps(answer))
        return

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, NumPy {np.__version__}; "
        f"{args.repeat} runs each (once if the first takes > {args.max_seconds:g} s)",
        flush=True,
    )
    all_rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_stages_") as tmp:
        args.work, args.resolution = Path(tmp), args.resolutions[0]
        bw = float("nan")
        if "overlay" in args.stages:
            bw = float(child("bandwidth", args)["gb_s"])
            print(f"copy bandwidth (np.copyto of 1 GiB, read + write): {bw:.1f} GB/s", flush=True)
        for res in args.resolutions:
            args.resolution = res
            for old in args.work.iterdir():
                old.unlink()
            rows = bench_resolution(args, bw)
            print_rows(rows)
            if res == TARGET_RES_M:
                print_targets(rows)
            all_rows.extend(rows)
    if args.json is not None:
        args.json.write_text(json.dumps(all_rows, indent=1))


if __name__ == "__main__":
    main()
