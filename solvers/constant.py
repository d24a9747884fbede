"""`constant`: the best single action for the training distribution, ignoring the state.
The baseline a context-aware solver must beat (0.970 of the optimum on DESIGN 4.1's reference
instance with raw prices). Candidates are a grid over a one-dimensional action, or random
actions refined by the cross-entropy method for vectors; each is scored by its mean utility
over the training states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from netsim.mechanisms.base import Mechanism, repeat
from netsim.solvers import checkpoint
from netsim.solvers.diffusion import Callback
from netsim.solvers.learning import Problem, action_dim, to_action

SCORING_STATES = 256


class ConstantSolver:
    name = "constant"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.unit: np.ndarray | None = None
        self.mechanism: str | None = None  # the mechanism it was fitted for

    def _mean_utility(self, problem: Problem, candidates: np.ndarray) -> np.ndarray:
        n, k = problem.n_states, len(candidates)
        true, observed = repeat(problem.true, k), repeat(problem.observed, k)
        unit = np.tile(candidates, (n, 1))
        utility = problem.mechanism.utility(true, to_action(problem.mechanism, observed, unit))
        return utility.reshape(n, k).mean(axis=0)

    def fit(self, problem: Problem, evaluations: int, callback: Callback | None = None) -> None:
        self.mechanism = problem.mechanism.name
        rng = np.random.default_rng(self.seed)
        scoring = problem.subset(rng.choice(problem.n_states,
                                            min(SCORING_STATES, problem.n_states), replace=False))
        dim = action_dim(problem.mechanism, problem.true)
        budget = max(2, evaluations // scoring.n_states)
        if dim == 1:
            candidates = np.linspace(-1.0, 1.0, budget)[:, None]
            scores = self._mean_utility(scoring, candidates)
            self.unit = candidates[int(np.argmax(scores))]
        else:
            mean, std = np.zeros(dim), np.ones(dim)
            rounds = max(1, budget // 32)
            best, best_score = mean, -np.inf
            for step in range(rounds):
                candidates = np.clip(mean + std * rng.standard_normal((32, dim)), -1, 1)
                scores = self._mean_utility(scoring, candidates)
                elite = candidates[np.argsort(scores)[-8:]]
                mean, std = elite.mean(axis=0), elite.std(axis=0) + 1e-3
                if scores.max() > best_score:
                    best, best_score = candidates[int(np.argmax(scores))], scores.max()
                if callback is not None:
                    callback(step, (step + 1) * 32 * scoring.n_states,
                             {"utility": float(best_score)})
            self.unit = best
        if callback is not None and dim == 1:
            callback(0, budget * scoring.n_states, {"utility": float(scores.max())})

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        if self.unit is None:
            raise RuntimeError("the constant solver is not fitted: fit it or load a checkpoint")
        return to_action(mechanism, state, np.tile(self.unit, (state.n_states, 1)))

    def save(self, path: str | Path, extra: dict | None = None) -> None:
        """A safetensors checkpoint holding the action (see solvers/checkpoint.py)."""
        checkpoint.save(path, {"unit": torch.from_numpy(np.asarray(self.unit, float))},
                        {"solver": self.name, "seed": self.seed,
                         "mechanism": self.mechanism, **(extra or {})})

    @classmethod
    def load(cls, path: str | Path, **_: Any) -> ConstantSolver:
        tensors, meta = checkpoint.load(path, cls.name)
        unit = tensors.get("unit")
        seed = meta.get("seed")
        if unit is None or unit.ndim != 1 or not isinstance(seed, int) \
                or not torch.isfinite(unit).all():
            raise checkpoint.CheckpointError(f"{path}: a malformed constant checkpoint")
        solver = cls(seed)
        solver.unit = unit.numpy()
        solver.mechanism = meta.get("mechanism")
        return solver
