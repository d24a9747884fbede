"""Scale: wall time, tasks per second and peak memory of netsim at 1,000, 10,000 and (with
`--large`) 100,000 devices, 600 simulated seconds, with a Stackelberg market every 60 s.

    python benchmarks/scale.py [--horizon 600] [--large]

The network is `engine_throughput.py`'s (Poisson tasks at 0.2/s a device, CLIP ViT-B/32,
3GPP UMi channel with Rayleigh fading, random-waypoint mobility, reuse-3 bands), with 16
base stations per 10,000 devices on a square grid, and a Stackelberg market (exact solver)
pricing the layers run on devices every 60 s. Each size runs in its own process; its peak RSS
is that process's plus its movement helper's (a forked copy sharing most pages, so the sum
overstates the memory in use); the market's splits are reported as the share of tasks that
upload.
Targets (issue 13): 10,000 devices in at most 10 s wall and 2 GiB; 100,000 devices in at
most 12 times the 10,000-device wall time and 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas  # noqa: F401  pyarrow imports it at its first array: load it here too
from engine_throughput import scenario as throughput_scenario

import netsim
import netsim.engine  # modules load before any timing, as the peers' do


def scenario(n_devices: int, horizon_s: float) -> dict:
    """`engine_throughput`'s network scaled to n devices (625 a base station, at most 160
    base stations), with a Stackelberg market every 60 s."""
    raw = throughput_scenario(n_devices, horizon_s)
    grid = min(max(2, math.ceil(math.sqrt(n_devices / 625))), 13)
    side = 500.0 * grid
    step = side / grid
    raw["area"] = {"width_m": side, "height_m": side}
    raw["edge_servers"] = [{"id": f"es{i}", "position_m": [side / 2, side / 2], "cores": 16,
                            "core_flops": 2e12} for i in range(max(4, grid * grid // 4))]
    n_servers = len(raw["edge_servers"])
    raw["base_stations"] = [
        {"id": f"bs{i}", "position_m": [step * (i % grid + 0.5), step * (i // grid + 0.5)],
         "server": f"es{i % n_servers}", "carrier_ghz": 3.5, "bandwidth_hz": 1e8,
         "antenna_gain_dbi": 10.0} for i in range(grid * grid)]
    raw["name"] = f"scale-{n_devices}"
    raw["market"] = {"mechanism": "stackelberg", "solver": "exact", "epoch_s": 60,
                     "stackelberg": {"compute_unit_flops": 4292812800, "availability": 0.002}}
    return raw


def run_one(n_devices: int, horizon_s: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(yaml.safe_dump(scenario(n_devices, horizon_s)))
        loaded = netsim.load_scenario(path)
        wall0 = time.perf_counter()
        result = netsim.run(loaded, Path(tmp) / "run")
        wall = time.perf_counter() - wall0
        split = ds.dataset(Path(tmp) / "run" / "tasks").to_table(columns=["split_layer"])
        uploading = pc.sum(pc.less(split["split_layer"], 12)).as_py() / max(len(split), 1)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    helper = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"devices": n_devices, "tasks": result.manifest["counts"]["arrived"],
            "wall_s": wall, "peak_rss_mib": own + helper, "helper_rss_mib": helper,
            "uploading": uploading}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=float, default=600.0)
    parser.add_argument("--large", action="store_true", help="also 100,000 devices")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the per-size child
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.horizon)))
        return 0
    sizes = [1_000, 10_000] + ([100_000] if args.large else [])
    rows = []
    print(f"{'devices':>8} {'tasks':>10} {'wall_s':>8} {'tasks/s':>9} {'peak_MiB':>9} "
          f"{'uploading':>9}")
    for n in sizes:
        child = subprocess.run([sys.executable, __file__, "--one", str(n), "--horizon",
                                str(args.horizon)], check=True, capture_output=True, text=True)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"{n:>8} {r['tasks']:>10} {r['wall_s']:>8.2f} {r['tasks'] / r['wall_s']:>9.0f} "
              f"{r['peak_rss_mib']:>9.0f} {r['uploading']:>9.1%}", flush=True)
    figures = {}
    for r in rows:
        n = r["devices"]
        figures[f"wall_s_{n}"] = round(r["wall_s"], 2)
        figures[f"tasks_per_s_{n}"] = round(r["tasks"] / r["wall_s"])
        figures[f"peak_rss_mib_{n}"] = round(r["peak_rss_mib"])
    if args.large:
        figures["wall_ratio_100k_10k"] = round(rows[2]["wall_s"] / rows[1]["wall_s"], 2)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
