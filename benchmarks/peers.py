"""Peers: the same workload in netsim, in bare SimPy and in LEAF, at 100, 1,000 and 10,000
devices; tasks simulated per wall second of each, and netsim's ratio to each.

    python benchmarks/peers.py [--devices 100 1000 10000] [--horizon 600] [--repeat 1]

The workload: N devices with Poisson tasks (0.2/s each), CLIP ViT-B/32 split at layer 4
computed on the device (a FIFO per device), the activations (150 KiB) sent over a 20 Mbit/s
uplink, 1 ms of backhaul, the rest on a FIFO edge server (4 servers of 16 cores), the result
back over 50 Mbit/s.
- bare SimPy: `engine_throughput.py`'s straightforward model (processes and Resources).
- LEAF (`leafsim` from PyPI): `peers_leaf.py`, installed on demand into its own virtual
  environment (`benchmarks/.peers-venv`, never a netsim dependency) and run there.
- netsim: static devices, 625 to a base station, a line-of-sight channel without fading or
  shadowing, and each device's whole-band uplink rate replayed as 20 Mbit/s (a rate trace);
  at 0.2 bit/s/Hz the link is power-limited, so a transfer keeps about that rate whatever
  share of the band it gets. netsim still runs its whole model: the band sharing, the
  attachment, every table written.
Each simulator counts the tasks finished within the horizon; the fastest of `--repeat` runs
counts (the machine's speed drifts between runs). Wall time runs from the call that starts a
simulation to its end, with every simulator's modules already imported (netsim's compiled
kernels load from their cache inside the timed run).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas  # noqa: F401  pyarrow imports it at its first array: load it here too
from engine_throughput import RATE_PER_S, SPLIT, run_straightforward_simpy

import netsim
import netsim.engine  # modules load before any timing, as the peers' do

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"
UPLINK_BPS = 20e6


def netsim_scenario(n: int, horizon_s: float, trace: Path) -> dict:
    grid = max(1, math.ceil(math.sqrt(n / 625)))
    side = 500.0 * grid
    step = side / grid
    return {
        "name": f"peers-{n}", "seed": 0, "horizon_s": horizon_s,
        "area": {"width_m": side, "height_m": side},
        "edge_servers": [{"id": f"es{i}", "position_m": [side / 2, side / 2], "cores": 16,
                          "core_flops": 2e12} for i in range(4)],
        "base_stations": [{"id": f"bs{i}",
                           "position_m": [step * (i % grid + 0.5), step * (i // grid + 0.5)],
                           "server": f"es{i % 4}", "carrier_ghz": 3.5, "bandwidth_hz": 1e8}
                          for i in range(grid * grid)],
        "devices": [{"group": "devices", "count": n, "compute_flops": {"uniform": [5e11, 2e12]},
                     "mobility": {"model": "static"},
                     "arrivals": {"process": "poisson", "rate_per_s": RATE_PER_S},
                     "split_layer": SPLIT}],
        "channel": {"fading": "none", "los": "los", "shadowing_db": 0.0, "interference": "none",
                    "rate_trace": str(trace)},
        "record": {"sample_s": 1.0, "device_sample_s": 10.0},
    }


def run_netsim(n: int, horizon_s: float) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "rates.csv"
        trace.write_text("t_s,device,rate_bps\n"
                         + "".join(f"0,{d},{UPLINK_BPS:g}\n" for d in range(n)))
        path = Path(tmp) / "scenario.yaml"
        path.write_text(yaml.safe_dump(netsim_scenario(n, horizon_s, trace)))
        loaded = netsim.load_scenario(path)
        wall0 = time.perf_counter()
        counts = netsim.run(loaded, Path(tmp) / "run").manifest["counts"]
        wall = time.perf_counter() - wall0
    return counts["done"] + counts["deadline_missed"], wall


def run_simpy(n: int, horizon_s: float) -> tuple[int, float]:
    return run_straightforward_simpy(n, horizon_s, 4)


def leaf_python() -> Path:
    """The peers venv's Python, with leafsim installed (created on first use)."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing leafsim into {PEERS_VENV} (once)", flush=True)
        venv.create(PEERS_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "leafsim"], check=True)
    return python


def run_leaf(n: int, horizon_s: float) -> tuple[int, float]:
    out = subprocess.run([str(leaf_python()), str(HERE / "peers_leaf.py"), str(n),
                          str(horizon_s)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["tasks"], result["wall_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--horizon", type=float, default=600.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    leaf_python()
    models = {"netsim": run_netsim, "bare simpy": run_simpy, "leaf": run_leaf}
    figures = {}
    print(f"{'devices':>8} {'simulator':>12} {'tasks':>10} {'wall_s':>8} {'tasks/s':>10} "
          f"{'netsim x':>9}")
    for n in args.devices:
        best: dict[str, tuple[int, float]] = {}
        for _ in range(args.repeat):  # alternate the simulators: drift hits each alike
            for name, model in models.items():
                run = model(n, args.horizon)
                if name not in best or run[1] < best[name][1]:
                    best[name] = run
        rates = {name: tasks / wall for name, (tasks, wall) in best.items()}
        for name, (tasks, wall) in best.items():
            ratio = rates["netsim"] / rates[name]
            print(f"{n:>8} {name:>12} {tasks:>10} {wall:>8.2f} {rates[name]:>10.0f} "
                  f"{ratio:>9.2f}", flush=True)
        figures[f"netsim_tasks_per_s_{n}"] = round(rates["netsim"])
        figures[f"ratio_vs_simpy_{n}"] = round(rates["netsim"] / rates["bare simpy"], 2)
        figures[f"ratio_vs_leaf_{n}"] = round(rates["netsim"] / rates["leaf"], 2)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
