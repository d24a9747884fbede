"""Random actions, uniform in the mechanism's bounds: the floor every solver must clear."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsim.mechanisms.base import Mechanism


class RandomSolver:
    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        low, high = mechanism.bounds(state)
        return low + (high - low) * self.rng.random(low.shape)


class FixedSolver:
    """Always the same action (e.g. a posted price): for experiments and sanity checks."""

    name = "fixed"

    def __init__(self, action: list[float] | float):
        self.action = np.atleast_1d(np.asarray(action, dtype=float))

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        low, high = mechanism.bounds(state)
        return np.clip(np.broadcast_to(self.action, low.shape), low, high)
