"""Leader-problem solvers behind one protocol (DESIGN 5); `build` makes one by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solvers.base import Solver, timed_solve
from solvers.constant import ConstantSolver
from solvers.convex import ConvexSolver
from solvers.diffusion import DiffusionSolver
from solvers.exact import ExactSolver
from solvers.ppo import PPOSolver
from solvers.random import FixedSolver, RandomSolver

NAMES = ("exact", "convex", "random", "fixed", "diffusion", "ppo", "constant")
TRAINED = {"diffusion": DiffusionSolver, "ppo": PPOSolver, "constant": ConstantSolver}


def build(name: str, seed: int = 0, checkpoint: str | Path | None = None,
          **params: Any) -> Solver:
    """The solver called `name`; trained ones (diffusion, ppo, constant) load `checkpoint`,
    with `params` overriding their saved configuration (e.g. mode, k)."""
    if name == "exact":
        return ExactSolver()
    if name == "convex":
        return ConvexSolver()
    if name == "random":
        return RandomSolver(seed)
    if name == "fixed":
        if "action" not in params:
            raise ValueError("solver 'fixed' needs an action, e.g. {name: fixed, action: 1.5}")
        return FixedSolver(params["action"])
    if name in TRAINED:
        if checkpoint is None:
            raise ValueError(f"solver '{name}' needs a checkpoint (netsim train writes one)")
        return TRAINED[name].load(checkpoint, **params)
    raise ValueError(f"unknown solver '{name}' (allowed: {', '.join(NAMES)})")


__all__ = ["NAMES", "TRAINED", "ConstantSolver", "DiffusionSolver", "PPOSolver", "RandomSolver",
           "Solver", "build", "timed_solve"]
