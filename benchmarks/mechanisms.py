"""Exact-solver decisions per second for each mechanism, and the market's share of a run.

    python benchmarks/mechanisms.py

Decisions per second: the exact solver on a batch of 1,000 random states with N = 10, 100 and
1,000 followers (devices; contract types; bidders). Then `urban_6g.yaml` with a Stackelberg
market every 60 s: the market's share of the run's wall time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import netsim
from netsim import solvers
from netsim.mechanisms.auctions import BandwidthAuction, BandwidthState, SlotAuction, SlotState
from netsim.mechanisms.contract import Contract, ContractState
from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState

BATCH = 1000
ROOT = Path(__file__).resolve().parents[1]


def states(name: str, n: int, rng: np.random.Generator):
    if name == "stackelberg":
        return Stackelberg(), StackelbergState.create(
            rng.uniform(5, 15, (BATCH, n)), rng.uniform(25, 35, (BATCH, n)), 2.0, 2.0, 3.0,
            200.0, 0.01, 3.0, 12)
    if name == "contract":
        theta = np.cumsum(rng.uniform(0.01, 1.0, (BATCH, n)), axis=1)
        return Contract(), ContractState.create(theta, rng.integers(1, 20, (BATCH, n)), 20.0)
    if name == "auction_bandwidth":
        return BandwidthAuction(), BandwidthState.create(rng.uniform(0.1, 5, (BATCH, n)),
                                                         rng.uniform(1, 100, (BATCH, n)))
    return SlotAuction(), SlotState.create(8, 0.0, 1.0, rng.random((BATCH, n)))


def main() -> int:
    exact = solvers.build("exact")
    figures = {}
    print(f"{'mechanism':>18} {'N':>6} {'decisions/s':>12}")
    for name in ("stackelberg", "contract", "auction_bandwidth", "auction_compute"):
        for n in (10, 100, 1000):
            mechanism, state = states(name, n, np.random.default_rng(n))
            start = time.perf_counter()
            exact.solve(mechanism, state)
            rate = BATCH / (time.perf_counter() - start)
            print(f"{name:>18} {n:>6} {rate:>12.0f}")
            figures[f"{name}_n{n}_per_s"] = round(rate)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = netsim.load_scenario(ROOT / "scenarios" / "urban_6g.yaml",
                                      ["market={mechanism: stackelberg, epoch_s: 60}"])
        manifest = netsim.run(loaded, Path(tmp) / "run").manifest
    share = manifest["market"]["wall_s"] / manifest["wall_s"]
    print(f"urban_6g with a Stackelberg market: run {manifest['wall_s']:.2f} s, market "
          f"{manifest['market']['wall_s']:.3f} s ({100 * share:.2f}% of wall time)")
    figures["urban_market_share"] = round(share, 4)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
