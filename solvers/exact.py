"""The exact solver: the mechanism's own optimum (closed form, enumeration or convex program).
It is the yardstick every other solver is scored against."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsim.mechanisms.base import Mechanism


class ExactSolver:
    name = "exact"

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        return mechanism.optimum(state)[0]
