"""Leader-problem solvers behind one protocol (DESIGN 5); `build` makes one by name."""

from __future__ import annotations

from typing import Any

from solvers.base import Solver, timed_solve
from solvers.convex import ConvexSolver
from solvers.exact import ExactSolver
from solvers.random import FixedSolver, RandomSolver

NAMES = ("exact", "convex", "random", "fixed")


def build(name: str, seed: int = 0, **params: Any) -> Solver:
    """The solver called `name` (exact, convex, random, fixed)."""
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
    raise ValueError(f"unknown solver '{name}' (allowed: {', '.join(NAMES)})")


__all__ = ["NAMES", "Solver", "build", "timed_solve"]
