"""Leader-problem solvers behind one protocol (DESIGN 5); `build` makes one by name (the
names and what each needs: solvers/registry.py).

Solver classes are imported when first asked for (`netsim.solvers.DiffusionSolver`, or
`build`), so a simulation without a learned solver never loads torch, and importing this
package loads no solver at all."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from netsim.solvers.base import Solver, timed_solve
from netsim.solvers.registry import NAMES, SOLVERS
from netsim.solvers.threads import use_torch_threads


def solver_class(name: str) -> type:
    """The class of the solver called `name`."""
    if name not in SOLVERS:
        raise ValueError(f"unknown solver '{name}' (allowed: {', '.join(NAMES)})")
    info = SOLVERS[name]
    return getattr(import_module(info.module), info.cls)


def build(name: str, seed: int = 0, checkpoint: str | Path | None = None,
          **params: Any) -> Solver:
    """The solver called `name`; those that need a checkpoint load `checkpoint`, with
    `params` overriding their saved configuration (e.g. mode, k); `fixed` plays
    `params["action"]`; `random` draws from `seed`."""
    cls = solver_class(name)
    if SOLVERS[name].needs_checkpoint or SOLVERS[name].learns_online:
        use_torch_threads(1)  # batch-1 decisions inside a market: see threads.py
        if checkpoint is None:
            raise ValueError(f"solver '{name}' needs a checkpoint (netsim train writes one)")
        return cls.load(checkpoint, **params)
    if name == "fixed":
        if "action" not in params:
            raise ValueError("solver 'fixed' needs an action, e.g. {name: fixed, action: 1.5}")
        return cls(params["action"])
    return cls(seed) if name == "random" else cls()


def __getattr__(attr: str) -> Any:
    """`netsim.solvers.DiffusionSolver` and the other classes, imported on first use."""
    for name, info in SOLVERS.items():
        if info.cls == attr:
            return solver_class(name)
    raise AttributeError(f"module 'netsim.solvers' has no attribute '{attr}'")


__all__ = ["NAMES", "SOLVERS", "Solver", "build", "solver_class", "timed_solve"]
