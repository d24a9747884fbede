"""Training learned solvers on a scenario's market, and learning curves for `netsim report`.

Training states are the scenario's own market states: the state the market builds at t = 0
for its first leader, with the scenario built from seeds 0, 1, 2, ... (so device parameters,
positions and market draws vary as the scenario's distributions say). States with an
unusual number of followers (the modal count wins) are left out, so a batch has a fixed size.
Held-out evaluation states use seeds far from the training ones.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netsim import solvers
from netsim.cores import available_cores
from netsim.engine import Simulation
from netsim.market import MECHANISMS
from netsim.mechanisms import metrics
from netsim.mechanisms.base import Mechanism, followers_of, observe, stack_states
from netsim.scenario.identity import problem_hash
from netsim.scenario.loader import LoadedScenario
from netsim.solvers.learning import Problem
from netsim.solvers.registry import SOLVERS, TRAINABLE
from netsim.solvers.threads import use_torch_threads

log = logging.getLogger("netsim.training")

EVAL_SEED_OFFSET = 1_000_000
Progress = Callable[[int, int], None]  # (done, total)


SOURCES = ("seeds", "runs")


def _drawn_states(loaded: LoadedScenario, first_seed: int) -> Iterator[Any]:
    """The first leader's market state at t = 0 of the scenario built from each seed."""
    seed = first_seed
    while True:
        yield next(Simulation(loaded, Path("unused"), seed=seed).market.games())[2]
        seed += 1


def _recorded_states(loaded: LoadedScenario, first_seed: int) -> Iterator[Any]:
    """Every leader's market state at every epoch of whole runs of the scenario (seeds
    first_seed, first_seed + 1, ...): states that move with mobility, queues and batteries,
    and with what the scenario's own solver decided in earlier epochs."""
    seed = first_seed
    with tempfile.TemporaryDirectory(prefix="netsim-states-") as scratch:
        while True:
            sim = Simulation(loaded, Path(scratch) / str(seed), seed=seed)
            sim.market.recorded = []
            sim.run()
            yield from sim.market.recorded
            seed += 1


def collect_states(loaded: LoadedScenario, n: int, first_seed: int = 0,
                   followers: int | None = None, source: str = "seeds") -> tuple[Mechanism, Any]:
    """n market states of the scenario: with source `seeds`, the first leader's state at
    t = 0 of the scenario built from seeds first_seed + i; with `runs`, every state the market
    met in runs of it. Mechanisms that can pad a state (`pad`) keep all n, padded to the
    scenario's number of devices (no game can have more followers, so a solver trained on
    them serves every game of a run), or up to n padded to `followers`; others keep those
    with the modal number of followers (or up to n with exactly `followers`)."""
    if loaded.scenario.market is None:
        raise ValueError("the scenario has no market: add a `market:` block to train on it")
    if source not in SOURCES:
        raise ValueError(f"unknown state source '{source}' (allowed: {', '.join(SOURCES)})")
    mechanism = MECHANISMS[loaded.scenario.market.mechanism]()
    pad = mechanism.pad
    n_devices = sum(group.count for group in loaded.scenario.devices)
    draws = (_drawn_states if source == "seeds" else _recorded_states)(loaded, first_seed)
    states: list[Any] = []
    with closing(draws):  # a run's scratch folder goes with it
        for tried, state in enumerate(draws, start=1):
            width = followers_of(state)
            if followers is None or width == followers or (pad and width < followers):
                states.append(state)
            if len(states) >= n or tried >= 4 * n or (followers is None and tried >= n):
                break
    if not states:
        raise ValueError(f"no market state with {followers} followers in {4 * n} draws")
    if pad is not None:
        width = followers or n_devices
        return mechanism, stack_states([pad(s, width) for s in states])
    modal = followers or Counter(followers_of(s) for s in states).most_common(1)[0][0]
    return mechanism, stack_states([s for s in states if followers_of(s) == modal])


def problem_for(loaded: LoadedScenario, mechanism: Mechanism, states: Any,
                seed: int) -> Problem:
    """Full or partial information, as the scenario's market says."""
    market = loaded.scenario.market
    problem = Problem.full_information(mechanism, states)
    if market.information == "partial":
        rng = np.random.default_rng(seed)
        problem = Problem(mechanism, states, observe(mechanism, states,
                                                     market.observation_noise, rng),
                          problem.optimum)
    return problem


def make_solver(name: str, seed: int, device: str, reward: str, batch: int = 512):
    """A fresh solver to train: the learning ones (registry: learns_online) take a device,
    a reward and the batch of reward evaluations an epoch is, the others a seed alone."""
    if name not in TRAINABLE:
        raise ValueError(f"cannot train '{name}' (allowed: {', '.join(TRAINABLE)})")
    cls = solvers.solver_class(name)
    if SOLVERS[name].learns_online:
        return cls(seed=seed, device=device, reward=reward, batch=batch)
    return cls(seed)


class TrainingStopped(Exception):
    """A seed's training thread stopping at the end of an epoch, as asked."""


def train(loaded: LoadedScenario, solver_name: str, epochs: int, seeds: int | Sequence[int],
          out_dir: Path,
          n_states: int = 2048, batch: int = 512, device: str = "cpu",
          reward: str = "utility", progress: Progress | None = None,
          source: str = "seeds", save_every: int = 50, resume: bool = False) -> pd.DataFrame:
    """Train a copy of a solver per seed (`seeds`: the seeds, or how many from 0) for
    `epochs` batches of reward evaluations each, on states from `source` (see
    collect_states); write checkpoints and curves-SOLVER.parquet, also every `save_every`
    epochs while training (so an interrupted training keeps its latest checkpoints and
    curves; a learning solver also writes its whole training state, and `resume` continues
    from it exactly); return the curves (one row per epoch and seed). On KeyboardInterrupt
    every seed saves its checkpoint and curves at the end of its current epoch, then the
    interrupt goes on."""
    if resume and solver_name not in ("diffusion", "ppo"):
        raise ValueError(f"resuming is built for the learning solvers, not '{solver_name}'")
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("collecting %d training states from %s", n_states, source)
    mechanism, states = collect_states(loaded, n_states, source=source)
    _, held_out = collect_states(loaded, max(64, n_states // 4), EVAL_SEED_OFFSET,
                                 followers_of(states), source)
    # seeds train side by side on threads, the cores shared out among them (torch releases
    # the GIL inside its kernels; with fewer threads than seeds, the last seeds would run
    # alone on a share of the machine); every seed draws from its own generators, so the
    # results do not depend on how the threads interleave
    workers = max(1, len(seeds))
    use_torch_threads(max(1, available_cores() // workers))
    done, lock = [0], threading.Lock()
    stop = threading.Event()  # set on Ctrl-C: the seeds' threads cannot be interrupted
    total = epochs * len(seeds)
    log.info("training %s: %d seeds x %d epochs", solver_name, len(seeds), epochs)

    def tick() -> None:
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

    all_rows: dict[int, list[dict]] = {}
    meta = {"scenario_hash": problem_hash(loaded.scenario), "mechanism": mechanism.name,
            "scenario": loaded.scenario.name}

    def save_so_far(seed: int, solver) -> None:
        """The seed's checkpoint and every seed's curves so far (one writer at a time)."""
        with lock:
            if solver_name != "random":
                solver.save(out_dir / f"{solver_name}-seed{seed}.safetensors", meta)
            pd.DataFrame([row for rows in all_rows.values() for row in rows]).to_parquet(
                out_dir / f"curves-{solver_name}.parquet", index=False)

    earlier = pd.DataFrame()
    curves_path = out_dir / f"curves-{solver_name}.parquet"
    if resume and curves_path.exists():
        earlier = pd.read_parquet(curves_path)

    def one_seed(seed: int) -> tuple[list[dict], Any]:
        rows: list[dict] = []
        snapshot = out_dir / f"{solver_name}-seed{seed}.resume.pt"
        if snapshot.exists() and not resume:
            snapshot.unlink()  # a fresh start
        if snapshot.exists():  # the epochs the snapshot holds keep their curve rows
            done_steps = int(torch_load_step(snapshot)) + 1
            mine = earlier[(earlier.seed == seed) & (earlier.epoch < done_steps)] \
                if len(earlier) else earlier
            rows.extend(mine.to_dict("records"))
            for _ in range(len(mine)):
                tick()
        all_rows[seed] = rows
        problem = problem_for(loaded, mechanism, states, seed)
        solver = make_solver(solver_name, seed, device, reward, batch)
        start = time.perf_counter()

        def record(step: int, evaluations: int, metrics: dict) -> None:
            rows.append({"epoch": step, "seed": seed, "evaluations": evaluations,
                         "leader_utility": metrics["utility"],
                         "optimum_utility": float(problem.optimum.mean()),
                         "ratio": metrics.get("ratio",
                                              metrics["utility"] / float(problem.optimum.mean())),
                         "wall_s": time.perf_counter() - start})
            tick()
            if stop.is_set():
                save_so_far(seed, solver)
                raise TrainingStopped
            if save_every and (step + 1) % save_every == 0 and step + 1 < epochs:
                save_so_far(seed, solver)

        if solver_name == "random":
            _random_curve(solver, problem, epochs, batch, seed, record)
        else:
            snapshots = ({"snapshot": snapshot, "snapshot_every": save_every}
                         if solver_name in ("diffusion", "ppo") else {})
            solver.fit(problem, epochs * batch, callback=record, **snapshots)
            solver.save(out_dir / f"{solver_name}-seed{seed}.safetensors", meta)
            snapshot.unlink(missing_ok=True)  # trained to the end: nothing to resume
        return rows, solver

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(one_seed, seed) for seed in seeds]
        try:
            finished = [future.result() for future in futures]
        except BaseException:  # Ctrl-C, or a seed failed: the others save and stop at the
            stop.set()  # end of their epoch, and the pool waits for them
            raise
    for seed, (_, solver) in zip(seeds, finished):  # in seed order: one writer of the file
        _write_evaluation(out_dir, solver_name, seed, solver,
                          problem_for(loaded, mechanism, held_out, seed + 7))
    curves = pd.DataFrame([row for rows, _ in finished for row in rows])
    curves.to_parquet(out_dir / f"curves-{solver_name}.parquet", index=False)
    _write_baselines(out_dir, mechanism, states, held_out)
    return curves


def torch_load_step(path: Path) -> int:
    """The last step a training snapshot holds (solvers/diffusion.py `_save_snapshot`)."""
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])


def _random_curve(solver, problem: Problem, epochs: int, batch: int, seed: int,
                  record: Callable) -> None:
    rng = np.random.default_rng(seed)
    for step in range(epochs):
        sub = problem.subset(rng.integers(0, problem.n_states, batch))
        utility = problem.mechanism.utility(sub.true, solver.solve(problem.mechanism,
                                                                   sub.observed))
        record(step, (step + 1) * batch, {"utility": float(utility.mean()),
                                          "ratio": float(np.mean(utility / sub.optimum))})


def _write_evaluation(out_dir: Path, name: str, seed: int, solver, problem: Problem) -> None:
    """Held-out ratios to the full-information optimum, appended to evaluation.json."""
    ratio = problem.mechanism.utility(problem.true, solver.solve(problem.mechanism,
                                                                 problem.observed))
    ratio = ratio / problem.optimum
    path = out_dir / "evaluation.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[f"{name}-seed{seed}"] = {"mean_ratio": float(ratio.mean()),
                                  "p5_ratio": float(np.percentile(ratio, 5)),
                                  "share_099": float((ratio >= 0.99).mean())}
    path.write_text(json.dumps(data, indent=2))


def _write_baselines(out_dir: Path, mechanism: Mechanism, states: Any, held_out: Any) -> None:
    """The exact optimum and the constant baseline's utility, as lines for the figures."""
    problem = Problem.full_information(mechanism, states)
    constant = solvers.ConstantSolver(0)
    constant.fit(problem, 256 * 256)
    value = float(mechanism.utility(states, constant.solve(mechanism, states)).mean())
    random = float(metrics.random_utility(mechanism, states).mean())
    (out_dir / "baselines.json").write_text(json.dumps(
        {"optimum_utility": float(problem.optimum.mean()), "constant_utility": value,
         "random_utility": random, "mechanism": mechanism.name}, indent=2))
