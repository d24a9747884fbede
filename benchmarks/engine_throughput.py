"""Engine throughput: simulated tasks per wall second, netsim vs a straightforward SimPy model.

Both simulate the same workload: N devices with Poisson arrivals (0.2 tasks/s each), a
CLIP ViT-B/32 split at layer 4, uplink to one of the base stations, backhaul, an edge server
with 16 cores, a result back. netsim models more: mobility, 3GPP path loss, fading, shared and
changing uplink bandwidth, handovers, and records every table. The straightforward model is
how one would write it in SimPy first: a process per device and per task, `simpy.Resource`
for device CPUs, radios and servers, fixed rates.

    python benchmarks/engine_throughput.py [--horizon 600] [--devices 1000 10000] [--repeat 3]

Each model runs `--repeat` times, alternating, and the fastest run counts (as `timeit` does):
the machine's speed drifts by +-10% between runs, and the minimum is the least noisy estimate.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas  # noqa: F401  pyarrow imports it at its first array: load it here too
import simpy
import yaml

import netsim
import netsim.engine  # modules load before any timing, as the peers' do

RATE_PER_S = 0.2
STEM, LAYER, HEAD = 231_211_008, 715_468_800, 786_432
SPLIT = 4


def scenario(n_devices: int, horizon_s: float) -> dict:
    n_bs = 4 if n_devices <= 1000 else 16
    side = 1000.0 if n_devices <= 1000 else 2000.0
    grid = int(n_bs**0.5)
    step = side / grid
    servers = [{"id": f"es{i}", "position_m": [side / 2, side / 2], "cores": 16,
                "core_flops": 2e12} for i in range(4)]
    stations = [{"id": f"bs{i}", "position_m": [step * (i % grid + 0.5), step * (i // grid + 0.5)],
                 "server": f"es{i % 4}", "carrier_ghz": 3.5, "bandwidth_hz": 1e8,
                 "antenna_gain_dbi": 10.0} for i in range(n_bs)]
    return {
        "name": f"bench-{n_devices}", "seed": 0, "horizon_s": horizon_s,
        "area": {"width_m": side, "height_m": side},
        "edge_servers": servers, "base_stations": stations,
        "devices": [{"group": "phones", "count": n_devices,
                     "compute_flops": {"uniform": [5e11, 2e12]},
                     "mobility": {"model": "random_waypoint"},
                     "arrivals": {"process": "poisson", "rate_per_s": RATE_PER_S},
                     "split_layer": SPLIT}],
        # three sub-bands: at this load (625 devices a cell, 240 kbit/s each, full-power
        # uplinks) a reuse-1 network is interference-limited past its capacity (median
        # whole-band SINR -15 dB, queues growing without bound), which no benchmark of
        # throughput should measure
        "channel": {"fading": "rayleigh", "tick_s": 0.1, "frequency_reuse": 3},
        "workload": {"deadline_s": 0.5},
        "record": {"sample_s": 1.0, "device_sample_s": 10.0},
    }


def run_netsim(raw: dict, folder: Path) -> tuple[int, float]:
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw))
    loaded = netsim.load_scenario(path)
    wall0 = time.perf_counter()
    result = netsim.run(loaded, folder / "run")
    wall = time.perf_counter() - wall0
    return result.manifest["counts"]["arrived"], wall


def run_straightforward_simpy(n: int, horizon_s: float, n_bs: int) -> tuple[int, float]:
    """The first SimPy model one would write: processes and Resources everywhere (n devices,
    device d on base station d % n_bs, base station b on server b % 4)."""
    rng = random.Random(0)
    env = simpy.Environment()
    cpu = [simpy.Resource(env, 1) for _ in range(n)]
    radio = [simpy.Resource(env, 1) for _ in range(n)]
    servers = [simpy.Resource(env, 16) for _ in range(4)]
    flops = [rng.uniform(5e11, 2e12) for _ in range(n)]
    device_flops = STEM + SPLIT * LAYER
    server_flops = STEM + 12 * LAYER + HEAD - device_flops
    uplink_s = 153_600 * 8 / 20e6  # a fixed 20 Mbit/s uplink
    downlink_s = 2048 * 8 / 50e6
    records = []

    def task(d: int):
        t0 = env.now
        with cpu[d].request() as req:
            yield req
            yield env.timeout(device_flops / flops[d])
        with radio[d].request() as req:
            yield req
            yield env.timeout(uplink_s)
        yield env.timeout(0.001 + 153_600 * 8 / 1e10)
        with servers[(d % n_bs) % 4].request() as req:
            yield req
            yield env.timeout(server_flops / 2e12)
        yield env.timeout(0.001 + downlink_s)
        records.append((d, t0, env.now))

    def device(d: int):
        while True:
            yield env.timeout(rng.expovariate(RATE_PER_S))
            env.process(task(d))

    for d in range(n):
        env.process(device(d))
    wall0 = time.perf_counter()
    env.run(until=horizon_s)
    wall = time.perf_counter() - wall0
    return len(records), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=float, default=600.0)
    parser.add_argument("--devices", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    figures = {}
    print(f"{'devices':>8} {'model':>22} {'tasks':>10} {'wall_s':>8} {'tasks/s':>10}")
    for n in args.devices:
        raw = scenario(n, args.horizon)
        runs_ns, runs_sp = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs_ns.append(run_netsim(raw, Path(tmp)))
            runs_sp.append(run_straightforward_simpy(n, args.horizon, len(raw["base_stations"])))
        tasks_ns, wall_ns = min(runs_ns, key=lambda r: r[1])
        tasks_sp, wall_sp = min(runs_sp, key=lambda r: r[1])
        rate_ns, rate_sp = tasks_ns / wall_ns, tasks_sp / wall_sp
        print(f"{n:>8} {'netsim':>22} {tasks_ns:>10} {wall_ns:>8.2f} {rate_ns:>10.0f}")
        print(f"{n:>8} {'straightforward simpy':>22} {tasks_sp:>10} {wall_sp:>8.2f} "
              f"{rate_sp:>10.0f}")
        print(f"{n:>8} {'ratio netsim/simpy':>22} {'':>10} {'':>8} {rate_ns / rate_sp:>10.2f}")
        figures[f"tasks_per_s_{n}"] = round(rate_ns)
        figures[f"simpy_tasks_per_s_{n}"] = round(rate_sp)
        figures[f"ratio_vs_simpy_{n}"] = round(rate_ns / rate_sp, 2)
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
