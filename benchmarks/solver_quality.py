"""Solver quality: every solver trained with the same budget of reward evaluations, scored on
1,000 held-out states against the full-information optimum.

    python benchmarks/solver_quality.py [--budget 100000] [--mechanisms stackelberg contract ...]

States come from the shipped market scenarios (netsim.training.collect_states);
auction_bandwidth_iot is auction_bandwidth with 0 dBm cameras, where the best water level
changes from cell to cell (on auction_bandwidth one level is optimal to 1e-4). Prints
mechanism x information x solver -> mean ratio, 5th percentile, share of states >= 0.99,
decisions per second at batch 1 and 1,024, training wall time; the last line holds the
headline figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import netsim
from netsim import solvers
from netsim.mechanisms.base import followers_of, observe, select
from netsim.solvers.learning import Problem
from netsim.training import collect_states

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {"stackelberg": "paper_case_study", "contract": "contract_aigc",
             "auction_bandwidth": "auction_bandwidth",
             "auction_bandwidth_iot": "auction_bandwidth_iot",  # rates that matter
             "auction_compute": "auction_compute"}


def decisions_per_s(solver, mechanism, states, batch: int) -> float:
    sample = select(states, np.arange(batch) % states.n_states)
    solver.solve(mechanism, sample)  # warm
    start = time.perf_counter()
    repeats = 0
    while time.perf_counter() - start < 0.5 or repeats == 0:
        solver.solve(mechanism, sample)
        repeats += 1
    return repeats * batch / (time.perf_counter() - start)


def trained_solvers(problem: Problem, budget: int):
    """(label, solver, training seconds) for every solver, the same budget each."""
    out = []
    for label, make in (
        ("diffusion-gs16", lambda: solvers.DiffusionSolver(seed=0)),
        ("ppo", lambda: solvers.PPOSolver(seed=0)),
        ("constant", lambda: solvers.ConstantSolver(seed=0)),
    ):
        solver = make()
        start = time.perf_counter()
        solver.fit(problem, budget)
        out.append((label, solver, time.perf_counter() - start))
        if label.startswith("diffusion"):
            out.append(("diffusion-policy", PolicyMode(solver), 0.0))
    out.append(("random", solvers.RandomSolver(0), 0.0))
    return out


class PolicyMode:
    """A trained diffusion solver deciding with one sample (its `policy` mode)."""

    name = "diffusion-policy"

    def __init__(self, solver):
        self.solver = solver

    def solve(self, mechanism, state):
        mode, self.solver.config.mode = self.solver.config.mode, "policy"
        try:
            return self.solver.solve(mechanism, state)
        finally:
            self.solver.config.mode = mode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--train-states", type=int, default=2048)
    parser.add_argument("--test-states", type=int, default=1000)
    parser.add_argument("--mechanisms", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--noise", type=float, nargs="*", default=[0.1, 0.3],
                        help="observation noise levels for partial information (Stackelberg)")
    args = parser.parse_args()
    figures = {}
    header = (f"{'mechanism':>21} {'info':>10} {'solver':>17} {'mean':>8} {'p5':>7} "
              f"{'>=0.99':>7} {'dec/s@1':>9} {'dec/s@1024':>11} {'train_s':>8}")
    print(header)
    for name in args.mechanisms:
        loaded = netsim.load_scenario(ROOT / "scenarios" / f"{SCENARIOS[name]}.yaml")
        mechanism, train_states = collect_states(loaded, args.train_states)
        _, test_states = collect_states(loaded, args.test_states, 1_000_000,
                                        followers_of(train_states))
        n = min(test_states.n_states, args.test_states)
        test_states = select(test_states, np.arange(n))
        levels = [0.0] + (args.noise if name == "stackelberg" else [])
        for noise in levels:
            rng = np.random.default_rng(1)
            info = "full" if noise == 0 else f"noise{noise:g}"
            train = Problem(mechanism, train_states,
                            observe(mechanism, train_states, noise, rng),
                            mechanism.optimum(train_states)[1])
            test = Problem(mechanism, test_states, observe(mechanism, test_states, noise, rng),
                           mechanism.optimum(test_states)[1])
            entries = trained_solvers(train, args.budget)
            if noise > 0:
                entries.append(("plug-in exact", solvers.build("exact"), 0.0))
            for label, solver, train_s in entries:
                actions = solver.solve(mechanism, test.observed)
                ratio = mechanism.utility(test.true, actions) / test.optimum
                fast = decisions_per_s(solver, mechanism, test.observed, 1)
                bulk = decisions_per_s(solver, mechanism, test.observed, 1024)
                print(f"{name:>21} {info:>10} {label:>17} {ratio.mean():>8.5f} "
                      f"{np.percentile(ratio, 5):>7.4f} {np.mean(ratio >= 0.99):>7.3f} "
                      f"{fast:>9.0f} {bulk:>11.0f} {train_s:>8.1f}", flush=True)
                figures[f"{name}_{info}_{label.replace(' ', '_')}"] = round(float(ratio.mean()),
                                                                            5)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
