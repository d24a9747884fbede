"""Long runs: peak memory of the whole `netsim run` command (simulation, summary and plots)
and output size, for `scenarios/urban_6g.yaml` at several simulated lengths.

    python benchmarks/long_run_memory.py [--hours 1 4 24]

Each run is a fresh `netsim run` process; its peak RSS is the kernel's high-water mark of
that child (`resource.getrusage(RUSAGE_CHILDREN)` after it alone has run in a fresh parent
process), so it includes everything the command does after the run. The target: the peak at
the longest run within 10% of the shortest.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "urban_6g.yaml"


def measure_one(hours: float, folder: Path) -> dict:
    """Run `netsim run` for `hours` in a child process; report from inside a fresh parent so
    that RUSAGE_CHILDREN holds this run's peak alone."""
    out = folder / f"run-{hours:g}h"
    wall0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netsim.cli", "run", str(SCENARIO), "--out", str(out),
                    "--set", f"horizon_s={hours * 3600:g}", "--overwrite"],
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - wall0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    tasks = json.loads((out / "manifest.json").read_text())["counts"]["arrived"]
    return {"hours": hours, "wall_s": wall, "peak_rss_mib": peak_mib, "tasks": tasks,
            "output_mib": size / 2**20, "output_mib_per_hour": size / 2**20 / hours}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0, 24.0])
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # the per-run child
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.folder)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for hours in args.hours:
            child = subprocess.run([sys.executable, __file__, "--one", str(hours),
                                    "--folder", tmp], check=True, capture_output=True,
                                   text=True)
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
            for run in Path(tmp).iterdir():  # keep the disk use to one run at a time
                subprocess.run(["rm", "-rf", str(run)], check=True)
    print(f"{'hours':>6} {'tasks':>10} {'wall_s':>8} {'peak_rss_MiB':>13} {'output_MiB':>11} "
          f"{'MiB/hour':>9}")
    for r in rows:
        print(f"{r['hours']:>6g} {r['tasks']:>10} {r['wall_s']:>8.1f} {r['peak_rss_mib']:>13.0f} "
              f"{r['output_mib']:>11.1f} {r['output_mib_per_hour']:>9.2f}")
    growth = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"] - 1.0
    print(f"peak RSS at {rows[-1]['hours']:g} h vs {rows[0]['hours']:g} h: {growth:+.1%} "
          "(target: within 10%)")
    figures = {f"peak_rss_mib_{r['hours']:g}h": round(r["peak_rss_mib"]) for r in rows}
    figures.update({f"output_mib_per_hour_{r['hours']:g}h": round(r["output_mib_per_hour"], 2)
                    for r in rows})
    figures["rss_growth_pct"] = round(100 * growth, 1)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
