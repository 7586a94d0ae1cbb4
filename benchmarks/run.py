"""Time the Korea study end to end at several resolutions: medians, per-stage times, peak memory.

Run by hand (``make bench`` or ``.venv/bin/python benchmarks/run.py``), never in the tests. Each
run is a fresh subprocess, so its peak resident memory (ru_maxrss) is its own.

    python benchmarks/run.py                       # 1000, 500, 250 m, 3 runs each
    python benchmarks/run.py --resolutions 500 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "korea.toml"

#: Targets from the issues, checked and printed as met or missed (seconds, end to end).
TARGETS_S = {500.0: 20.0}

CHILD = r"""
import json, resource, sys, tempfile, time
t0 = time.perf_counter()
import gridsite
study = gridsite.Study.from_toml(sys.argv[1], resolution_m=float(sys.argv[2]))
result = study.run(write_ahead=True)  # as `gridsite run` does
with tempfile.TemporaryDirectory() as out:
    result.write(out)
total = time.perf_counter() - t0
stages = dict(result.timings_s)
print(json.dumps({"total_s": total, "stages": stages,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(resolution_m: float) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(STUDY), str(resolution_m)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=float, nargs="+", default=[1000.0, 500.0, 250.0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"Korea study end to end (study file {STUDY.relative_to(REPO)}), {args.repeat} runs each")
    print(f"{'resolution':>10} {'median s':>9} {'min s':>7} {'peak MB':>8}  stages (median s)")
    for res in args.resolutions:
        runs = [run_once(res) for _ in range(args.repeat)]
        totals = [float(r["total_s"]) for r in runs]  # type: ignore[arg-type]
        peak = max(float(r["peak_mb"]) for r in runs)  # type: ignore[arg-type]
        stage_names = list(runs[0]["stages"])  # type: ignore[call-overload]
        stages = {
            s: statistics.median(float(r["stages"][s]) for r in runs)  # type: ignore[index]
            for s in stage_names
        }
        med = statistics.median(totals)
        line = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        print(f"{res:>8.0f} m {med:>9.2f} {min(totals):>7.2f} {peak:>8.0f}  {line}")
        if res in TARGETS_S:
            target = TARGETS_S[res]
            verdict = "met" if med <= target else "MISSED"
            print(
                f"{'':>10} target <= {target:.0f} s at {res:.0f} m: {verdict} ({med / target:.2f}x)"
            )


if __name__ == "__main__":
    main()
