"""Time the power-grid computations of issue 3: N-1 hosting capacity, routing 50 sites, PTDF.

Run by hand, never in the tests::

    .venv/bin/python benchmarks/bench_grid.py             # all three parts, 3 runs each, ~6 min
    .venv/bin/python benchmarks/bench_grid.py --parts hosting --repeat 5
    .venv/bin/python benchmarks/bench_grid.py --parts ptdf --ptdf-sizes 2500 5000

Parts (each target missed is printed as ``MISSED``):

1. ``hosting``: the Korea study's electrical graph (``studies/korea.toml``, the real data pack,
   the model of the first screened hour) is built once; then ``hosting_capacity`` N-1 and N-0 with
   the distributed slack for every bus, and ``maxflow_capacity_mw`` for every bus. Target: N-1 for
   every substation in under 10 s.
2. ``routing``: the Korea study at 250 m with 50 sites and ``pool_factor = 1`` (so 50 candidates
   are routed), run end to end; the target is on the ``connection`` stage (< 30 s), which holds
   the cost raster, the routing of every candidate to its k nearest substations, the headroom
   competition, the independent feeds and the re-ranking. The whole ``Study.run()`` is printed too.
3. ``ptdf``: a seeded synthetic meshed grid (a lattice with a random spanning tree kept, 5 % of
   the other lattice lines removed and a diagonal added in 5 % of the cells; one 154 kV level) as
   a pandapower net; pandapower's ``makePTDF(..., using_sparse_solver=True)`` on ``net._ppc``
   against ``gridsite.powergrid.ptdf(graph_from_pandapower(net), slack="single")``, with their
   agreement on a sample of rows and columns. Target: gridsite within 1.5x of pandapower at
   10,000 buses.

Every part (and each PTDF tool at each size) runs in a fresh subprocess, so the peak resident
memory printed (``ru_maxrss``) is that part's own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "korea.toml"
PARTS = ("hosting", "routing", "ptdf")

#: Targets of issue 3.
HOSTING_N1_TARGET_S = 10.0
CONNECTION_TARGET_S = 30.0
PTDF_RATIO_TARGET = 1.5
PTDF_TARGET_BUSES = 10_000

#: Seed of the synthetic grid, and of the sampled rows and columns of the agreement check.
SEED = 0
SAMPLE = 300
#: pandapower's dense makePTDF is also timed up to this many buses (for reference only).
PP_DENSE_MAX_BUSES = 2_500


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quiet() -> None:
    """Silence gridsite's and pandapower's logging (island and numba notices) in a child."""
    import logging

    logging.getLogger("gridsite").setLevel(logging.ERROR)
    logging.getLogger("pandapower").setLevel(logging.ERROR)


# ---- children ------------------------------------------------------------------------------------


def child_hosting(repeat: int) -> dict[str, Any]:
    quiet()
    import gridsite
    from gridsite.powergrid import hosting_capacity, maxflow_capacity_mw
    from gridsite.study.run import _Run

    spec = gridsite.Study.from_toml(STUDY).spec
    t0 = time.perf_counter()
    run = _Run(spec, None)
    model = run.power_grid()
    build_s = time.perf_counter() - t0
    graph = model.graph
    ac = sum(1 for *_, k in graph.edges(data="kind", default="line") if k != "converter")
    times: dict[str, list[float]] = {"n1": [], "n0": [], "maxflow": []}
    n1 = None
    for _ in range(repeat):
        t = time.perf_counter()
        n1 = hosting_capacity(graph, contingency="n-1", slack="distributed")
        times["n1"].append(time.perf_counter() - t)
        t = time.perf_counter()
        hosting_capacity(graph, contingency="n-0", slack="distributed")
        times["n0"].append(time.perf_counter() - t)
        t = time.perf_counter()
        maxflow_capacity_mw(graph)
        times["maxflow"].append(time.perf_counter() - t)
    assert n1 is not None
    return {
        "build_s": build_s,
        "study_hosting_stage_s": run.timings.get("hosting capacity", float("nan")),
        "buses": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "ac_branches": ac,
        "connected": int(n1["connected"].sum()),
        "islanding_outages": int(n1["n_islanding_outages"].iloc[0]),
        "times": times,
        "peak_mb": peak_mb(),
    }


def child_routing(resolution_m: float, count: int, pool_factor: int) -> dict[str, Any]:
    quiet()
    from dataclasses import replace

    import gridsite

    spec = gridsite.Study.from_toml(STUDY, resolution_m=resolution_m).spec
    spec = replace(spec, sites=replace(spec.sites, count=count, pool_factor=pool_factor))
    t0 = time.perf_counter()
    result = gridsite.Study(spec).run()
    run_s = time.perf_counter() - t0
    return {
        "run_s": run_s,
        "stages": dict(result.timings_s),
        "sites": len(result.sites),
        "routes": 0 if result.routes is None else len(result.routes),
        "grid_shape": list(result.stats.get("grid_shape", [])),
        "peak_mb": peak_mb(),
    }


def lattice_shape(size: int) -> tuple[int, int]:
    """Rows x cols of the most nearly square lattice of ``size`` buses."""
    rows = max(r for r in range(1, int(size**0.5) + 1) if size % r == 0)
    if rows < 0.5 * size**0.5:
        raise SystemExit(f"--ptdf-sizes: {size} has no near-square factorisation; try 2500, 5000")
    return rows, size // rows


def synthetic_net(size: int, seed: int = SEED) -> tuple[Any, int]:
    """Return a connected meshed pandapower net of ``size`` buses and its ext_grid bus."""
    import numpy as np
    import pandapower as pp
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

    rows, cols = lattice_shape(size)
    rng = np.random.default_rng(seed)
    idx = np.arange(size).reshape(rows, cols)
    lat = np.vstack(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
        ]
    )
    # A random spanning tree stays, so removing other lines never disconnects the grid.
    weights = rng.random(len(lat)) + 0.1
    tree = minimum_spanning_tree(
        sp.coo_matrix((weights, (lat[:, 0], lat[:, 1])), shape=(size, size))
    ).tocoo()
    pairs = zip(tree.row.tolist(), tree.col.tolist(), strict=True)
    in_tree = {(min(a, b), max(a, b)) for a, b in pairs}
    keep = np.array([(a, b) in in_tree for a, b in lat.tolist()]) | (rng.random(len(lat)) >= 0.05)
    cells = idx[:-1, :-1].ravel()
    cells = cells[rng.random(len(cells)) < 0.05]
    ends = np.vstack([lat[keep], np.column_stack([cells, cells + cols + 1])])
    adjacency = sp.coo_matrix((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(size, size))
    assert connected_components(adjacency, directed=False)[0] == 1

    m = len(ends)
    net = pp.create_empty_network(sn_mva=100.0)
    pp.create_buses(net, size, vn_kv=154.0)
    pp.create_lines_from_parameters(
        net,
        ends[:, 0],
        ends[:, 1],
        length_km=rng.uniform(5.0, 30.0, m),
        r_ohm_per_km=rng.uniform(0.03, 0.08, m),
        x_ohm_per_km=rng.uniform(0.30, 0.42, m),
        c_nf_per_km=10.0,
        max_i_ka=1.7,
    )
    slack = int(idx[rows // 2, cols // 2])
    pp.create_ext_grid(net, slack)
    load_buses = rng.choice(size, size // 20, replace=False)
    pp.create_loads(net, load_buses, p_mw=rng.uniform(5.0, 50.0, len(load_buses)))
    gen_buses = rng.choice(size, max(size // 200, 2), replace=False)
    pp.create_gens(net, gen_buses, p_mw=rng.uniform(100.0, 400.0, len(gen_buses)), max_p_mw=500.0)
    return net, slack


def sample_indices(net: Any) -> tuple[Any, Any]:
    """Seeded sample of line and bus indices (pandapower's) for the agreement check."""
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    lines = rng.choice(net.line.index.to_numpy(), min(SAMPLE, len(net.line)), replace=False)
    buses = rng.choice(net.bus.index.to_numpy(), min(SAMPLE, len(net.bus)), replace=False)
    return lines, buses


def child_ptdf_pandapower(size: int, repeat: int, out: str) -> dict[str, Any]:
    quiet()
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        import pandapower as pp
        from pandapower.pypower.makePTDF import makePTDF

        net, slack = synthetic_net(size)
        t = time.perf_counter()
        pp.rundcpp(net)
        rundcpp_s = time.perf_counter() - t
        ppc = net._ppc
        bus_lookup = net._pd2ppc_lookups["bus"]
        assert (ppc["bus"][:, 0] == np.arange(len(ppc["bus"]))).all()
        slack_ppc = int(bus_lookup[slack])
        times, dense = [], []
        h = None
        for _ in range(repeat):
            h = None
            t = time.perf_counter()
            h = makePTDF(
                ppc["baseMVA"], ppc["bus"], ppc["branch"], slack_ppc, using_sparse_solver=True
            )
            times.append(time.perf_counter() - t)
        if size <= PP_DENSE_MAX_BUSES:
            for _ in range(repeat):
                t = time.perf_counter()
                makePTDF(ppc["baseMVA"], ppc["bus"], ppc["branch"], slack_ppc)
                dense.append(time.perf_counter() - t)
    assert h is not None
    lines, buses = sample_indices(net)
    start = net._pd2ppc_lookups["branch"]["line"][0]
    line_row = start + net.line.index.get_indexer(lines)
    np.save(out, h[np.ix_(line_row, bus_lookup[buses])])
    return {
        "buses": len(ppc["bus"]),
        "branches": len(ppc["branch"]),
        "rundcpp_s": rundcpp_s,
        "times": times,
        "dense_times": dense,
        "peak_mb": peak_mb(),
    }


def child_ptdf_gridsite(size: int, repeat: int, out: str) -> dict[str, Any]:
    quiet()
    import numpy as np

    from gridsite.powergrid import graph_from_pandapower, ptdf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        net, _ = synthetic_net(size)
    convert, times = [], []
    frame = None
    for _ in range(repeat):
        t = time.perf_counter()
        graph = graph_from_pandapower(net)
        convert.append(time.perf_counter() - t)
        frame = None
        t = time.perf_counter()
        frame = ptdf(graph, slack="single")
        times.append(time.perf_counter() - t)
    assert frame is not None
    # Align: rows = pandapower lines (sign flipped where the graph stores the edge reversed),
    # columns = pandapower buses.
    lines, buses = sample_indices(net)
    position = {edge: i for i, edge in enumerate(frame.index)}
    rows, sign = [], []
    for f, t_ in net.line.loc[lines, ["from_bus", "to_bus"]].itertuples(index=False, name=None):
        forward = (str(f), str(t_)) in position
        rows.append(position[(str(f), str(t_))] if forward else position[(str(t_), str(f))])
        sign.append(1.0 if forward else -1.0)
    cols = frame.columns.get_indexer([str(b) for b in buses])
    values = frame.to_numpy()[np.ix_(rows, cols)] * np.array(sign)[:, None]
    np.save(out, values)
    return {
        "buses": len(frame.columns),
        "branches": len(frame),
        "convert_times": convert,
        "times": times,
        "peak_mb": peak_mb(),
    }


# ---- parent --------------------------------------------------------------------------------------


def spawn(*args: str) -> dict[str, Any] | None:
    """Run this file as a child with ``args``; its last stdout line is JSON. None on failure."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        print(f"    child {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
        return None
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def verdict(value: float, target: float) -> str:
    return f"{'met' if value <= target else 'MISSED'} ({value / target:.2f}x of target)"


def med(values: list[float]) -> float:
    return statistics.median(values)


def part_hosting(repeat: int) -> None:
    print(f"\n[1] N-1 hosting capacity, Korea ({STUDY.relative_to(REPO)}), {repeat} runs")
    r = spawn("hosting", "--repeat", str(repeat))
    if r is None:
        return
    t = r["times"]
    print(
        f"    graph: {r['buses']} buses, {r['ac_branches']} AC branches ({r['edges']} edges), "
        f"{r['connected']} buses in the slack's component, "
        f"{r['islanding_outages']} islanding outages skipped"
    )
    print(
        f"    build once (study power grid + electrical model, 2 hours): {r['build_s']:.1f} s "
        f"(of which its 'hosting capacity' stage {r['study_hosting_stage_s']:.1f} s)"
    )
    n1 = med(t["n1"])
    print(
        f"    hosting_capacity n-1, distributed slack, all buses: median {n1:.2f} s "
        f"(min {min(t['n1']):.2f})"
    )
    print(f"    target N-1 <= {HOSTING_N1_TARGET_S:.0f} s: {verdict(n1, HOSTING_N1_TARGET_S)}")
    print(
        f"    hosting_capacity n-0, distributed slack, all buses: median {med(t['n0']):.2f} s "
        f"(min {min(t['n0']):.2f})"
    )
    print(
        f"    maxflow_capacity_mw, all buses: median {med(t['maxflow']):.2f} s "
        f"(min {min(t['maxflow']):.2f})"
    )
    print(f"    peak RSS {r['peak_mb']:,.0f} MB")


def part_routing(repeat: int, resolution_m: float, count: int, pool_factor: int) -> None:
    print(
        f"\n[2] Routing: Korea study at {resolution_m:.0f} m, {count} sites, pool_factor "
        f"{pool_factor}, {repeat} runs (fresh process each)"
    )
    runs = [
        spawn(
            "routing",
            "--resolution",
            str(resolution_m),
            "--sites",
            str(count),
            "--pool-factor",
            str(pool_factor),
        )
        for _ in range(repeat)
    ]
    ok = [r for r in runs if r is not None]
    if not ok:
        return
    conn = [float(r["stages"]["connection"]) for r in ok]
    total = [float(r["run_s"]) for r in ok]
    stages = {s: med([float(r["stages"][s]) for r in ok]) for s in ok[0]["stages"]}
    first = ok[0]
    print(
        f"    grid {first['grid_shape'][0]} x {first['grid_shape'][1]} cells; "
        f"{first['sites']} sites ranked, {first['routes']} routes kept"
    )
    c = med(conn)
    print(
        f"    'connection' stage (cost raster, routing of every candidate to its k nearest "
        f"substations, competition, feeds, re-ranking): median {c:.2f} s (min {min(conn):.2f})"
    )
    print(f"    target <= {CONNECTION_TARGET_S:.0f} s: {verdict(c, CONNECTION_TARGET_S)}")
    print(
        f"    whole Study.run() at {resolution_m:.0f} m (no output writing): median "
        f"{med(total):.1f} s (min {min(total):.1f})"
    )
    print("    stages (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print(f"    peak RSS {max(float(r['peak_mb']) for r in ok):,.0f} MB")


def part_ptdf(repeat: int, sizes: list[int]) -> None:
    import numpy as np

    print(
        f"\n[3] PTDF, synthetic meshed lattice (seed {SEED}), single slack, {repeat} run(s) each "
        "(fresh process per tool and size)"
    )
    print(
        "    pandapower: makePTDF(baseMVA, bus, branch, slack, using_sparse_solver=True) on "
        "net._ppc (SciPy SuperLU via factorized, 32 branches per solve above 2,000 branches)"
    )
    print("    gridsite:   ptdf(graph_from_pandapower(net), slack='single') (ptdf call only)")
    print(
        f"    {'buses':>6} {'branches':>8} {'pp s':>7} {'gs s':>7} {'gs/pp':>6} {'convert s':>9} "
        f"{'max|diff|':>9} {'pp MB':>7} {'gs MB':>7}  pp dense s"
    )
    results: dict[int, float] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            pp_out, gs_out = os.path.join(tmp, "pp.npy"), os.path.join(tmp, "gs.npy")
            rp = spawn(
                "ptdf-pandapower", "--size", str(size), "--repeat", str(repeat), "--out", pp_out
            )
            rg = spawn(
                "ptdf-gridsite", "--size", str(size), "--repeat", str(repeat), "--out", gs_out
            )
            if rp is None or rg is None:
                continue
            diff = float(np.max(np.abs(np.load(pp_out) - np.load(gs_out))))
        tp, tg = med(rp["times"]), med(rg["times"])
        results[size] = tg / tp
        dense = f"{med(rp['dense_times']):.2f}" if rp["dense_times"] else "-"
        print(
            f"    {rp['buses']:>6} {rp['branches']:>8} {tp:>7.2f} {tg:>7.2f} {tg / tp:>5.2f}x "
            f"{med(rg['convert_times']):>9.2f} {diff:>9.1e} {rp['peak_mb']:>7,.0f} "
            f"{rg['peak_mb']:>7,.0f}  {dense}"
        )
        if rg["buses"] != rp["buses"] or rg["branches"] != rp["branches"]:
            print(f"    note: gridsite has {rg['buses']} buses, {rg['branches']} branches")
        if not diff < 1e-8:
            print(f"    DISAGREE: max |difference| {diff:.3g} on the sampled rows and columns")
    if len(results) > 1:
        s = sorted(results)
        print("    gs/pp ratio by size: " + ", ".join(f"{n:,}: {results[n]:.2f}x" for n in s))
    if PTDF_TARGET_BUSES in results:
        ratio = results[PTDF_TARGET_BUSES]
        print(
            f"    target gridsite <= {PTDF_RATIO_TARGET}x pandapower at {PTDF_TARGET_BUSES:,} "
            f"buses: {verdict(ratio, PTDF_RATIO_TARGET)}"
        )
    else:
        print(f"    (target is at {PTDF_TARGET_BUSES:,} buses, not run)")


def header() -> None:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import numpy
        import pandapower
        import scipy
    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--", "src") else ""
    print(
        f"gridsite at {git('rev-parse', '--short', 'HEAD')}{dirty}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy "
        f"{scipy.__version__}, pandapower {pandapower.__version__}; {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per part (median)")
    parser.add_argument("--ptdf-repeat", type=int, help="runs per PTDF size (default: --repeat)")
    parser.add_argument("--ptdf-sizes", type=int, nargs="+", default=[2_500, 5_000, 10_000])
    parser.add_argument("--resolution", type=float, default=250.0, help="part 2 resolution (m)")
    parser.add_argument("--sites", type=int, default=50, help="part 2 site count")
    parser.add_argument("--pool-factor", type=int, default=1, help="part 2 pool factor")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        if args.child == "hosting":
            out = child_hosting(args.repeat)
        elif args.child == "routing":
            out = child_routing(args.resolution, args.sites, args.pool_factor)
        elif args.child == "ptdf-pandapower":
            out = child_ptdf_pandapower(args.size, args.repeat, args.out)
        elif args.child == "ptdf-gridsite":
            out = child_ptdf_gridsite(args.size, args.repeat, args.out)
        else:
            raise SystemExit(f"unknown child {args.child!r}")
        print(json.dumps(out))
        return

    header()
    t0 = time.perf_counter()
    if "hosting" in args.parts:
        part_hosting(args.repeat)
    if "routing" in args.parts:
        part_routing(args.repeat, args.resolution, args.sites, args.pool_factor)
    if "ptdf" in args.parts:
        part_ptdf(args.ptdf_repeat or args.repeat, args.ptdf_sizes)
    print(f"\nbenchmark wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
