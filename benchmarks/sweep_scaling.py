"""Sweep scaling: 8 runs of a small scenario on 1 and 2 local workers and on a Dask
LocalCluster with 2 workers; wall time and speed-up (target >= 1.7x on 2 workers).

    python benchmarks/sweep_scaling.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from netsim.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "small.yaml"
SETTINGS = ["horizon_s=900", "devices[0].count=80,100"]
SEEDS = [0, 1, 2, 3]


def timed(backend: str, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        table = sweep(SCENARIO, SETTINGS, SEEDS, Path(tmp), backend, workers)
        wall = time.perf_counter() - start
    if len(table) != 8 or (table.status != "complete").any():
        raise RuntimeError(f"sweep on {backend}/{workers} did not complete all 8 runs")
    return wall


def main() -> int:
    one = timed("local", 1)
    two = timed("local", 2)
    dask = timed("dask", 2)
    print(f"{'backend':>8} {'workers':>8} {'wall_s':>8} {'speed-up':>9}")
    for name, workers, wall in (("local", 1, one), ("local", 2, two), ("dask", 2, dask)):
        print(f"{name:>8} {workers:>8} {wall:>8.2f} {one / wall:>9.2f}")
    print(f"local1_s={one:.2f} local2_s={two:.2f} dask2_s={dask:.2f} "
          f"speedup_local2={one / two:.2f} speedup_dask2={one / dask:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
