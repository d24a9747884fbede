"""Training and deciding: wall time of the README's training command, the held-out quality it
reaches, and the trained diffusion solver's decision time at batch 1 inside a market.

    python benchmarks/training_speed.py [--epochs 120] [--seeds 3]

The command is the README's (`netsim train scenarios/paper_case_study.yaml
--solver diffusion --epochs 120 --seeds 0..2`), run as a fresh process; the quality is the mean
held-out ratio to the exact optimum over the seeds (evaluation.json); decisions are timed
on held-out states one at a time, as the market asks for them, with the thread count the
market uses. Targets (issue 13): the command in at most 2 minutes, a decision in at most
5 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import netsim
from netsim import solvers
from netsim.mechanisms.base import select
from netsim.training import EVAL_SEED_OFFSET, collect_states

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "paper_case_study.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "train"
        wall0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "netsim.cli", "train", str(SCENARIO),
                        "--solver", "diffusion", "--epochs", str(args.epochs), "--seeds",
                        f"0..{args.seeds - 1}", "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        train_s = time.perf_counter() - wall0
        evaluation = json.loads((out / "evaluation.json").read_text())
        ratio = float(np.mean([v["mean_ratio"] for v in evaluation.values()]))
        solver = solvers.build("diffusion", checkpoint=out / "diffusion-seed0.safetensors")
        mechanism, states = collect_states(netsim.load_scenario(SCENARIO), 64,
                                           EVAL_SEED_OFFSET)
        one = [select(states, np.array([i])) for i in range(64)]
        for state in one[:8]:  # warm-up
            solver.solve(mechanism, state)
        wall0 = time.perf_counter()
        for _ in range(5):
            for state in one:
                solver.solve(mechanism, state)
        decision_ms = (time.perf_counter() - wall0) / (5 * len(one)) * 1e3
    print(f"{'what':>34} {'value':>10}")
    print(f"{'training command wall (s)':>34} {train_s:>10.1f}")
    print(f"{'held-out ratio to the optimum':>34} {ratio:>10.4f}")
    print(f"{'decision at batch 1 (ms)':>34} {decision_ms:>10.2f}")
    print(f"train_s={train_s:.1f} heldout_ratio={ratio:.4f} decision_ms={decision_ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
