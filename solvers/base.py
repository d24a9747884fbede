"""The solver protocol: `solve(mechanism, state) -> actions` for a batch of states.

Solvers import only the mechanism protocol, never the engine. `timed_solve` reports the wall
time per decision, which the market records for every epoch.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

import numpy as np

from netsim.mechanisms.base import Mechanism


@runtime_checkable
class Solver(Protocol):
    name: str

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        """Leader actions [B, A] for a batch of states."""


def timed_solve(solver: Solver, mechanism: Mechanism, state: Any) -> tuple[np.ndarray, float]:
    """Actions and the wall time per decision (seconds)."""
    start = time.perf_counter()
    actions = np.asarray(solver.solve(mechanism, state), dtype=float)
    return actions, (time.perf_counter() - start) / max(state.n_states, 1)
