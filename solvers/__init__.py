"""Leader-problem solvers behind one protocol (DESIGN 5); `build` makes one by name.

The torch-based solvers (diffusion, ppo, constant) are imported only when asked for, so a
simulation without a learned solver never loads torch."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from netsim.solvers.base import Solver, timed_solve
from netsim.solvers.convex import ConvexSolver
from netsim.solvers.exact import ExactSolver
from netsim.solvers.random import FixedSolver, RandomSolver

NAMES = ("exact", "convex", "random", "fixed", "diffusion", "ppo", "constant")
TRAINED = {"diffusion": ("netsim.solvers.diffusion", "DiffusionSolver"),
           "ppo": ("netsim.solvers.ppo", "PPOSolver"),
           "constant": ("netsim.solvers.constant", "ConstantSolver")}


def trained_class(name: str) -> type:
    module, cls = TRAINED[name]
    return getattr(import_module(module), cls)


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
        return trained_class(name).load(checkpoint, **params)
    raise ValueError(f"unknown solver '{name}' (allowed: {', '.join(NAMES)})")


def __getattr__(attr: str) -> Any:
    """`solvers.DiffusionSolver` and friends, imported on first use."""
    for name, (_, cls) in TRAINED.items():
        if cls == attr:
            return trained_class(name)
    raise AttributeError(f"module 'solvers' has no attribute '{attr}'")


__all__ = ["NAMES", "TRAINED", "ConvexSolver", "ExactSolver", "FixedSolver", "RandomSolver",
           "Solver", "build", "timed_solve", "trained_class"]
