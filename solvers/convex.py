"""A generic solver of the continuous relaxation: maximise the mechanism's smooth
`relaxed_utility` within its bounds with scipy, state by state.

One-dimensional actions (a price, a reserve): a grid over the bounds, then a bounded scalar
search around the best grid point. Vector actions: L-BFGS-B from the middle of the box with
numeric gradients. Mechanisms that are convex programs (contracts) offer `convex_program_batch`;
then that is used. Integer or discrete games are then played at the relaxed action.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from netsim.mechanisms.base import Mechanism, select

GRID_POINTS = 64


class ConvexSolver:
    name = "convex"

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        if mechanism.convex_program_batch is not None:
            return mechanism.convex_program_batch(state)
        low, high = mechanism.bounds(state)
        if low.shape[1] == 1:
            return self._scalar(mechanism, state, low[:, 0], high[:, 0])[:, None]
        return self._vector(mechanism, state, low, high)

    def _scalar(self, mechanism, state, low, high) -> np.ndarray:
        grid = low[:, None] + (high - low)[:, None] * np.linspace(0, 1, GRID_POINTS)[None, :]
        values = np.stack([mechanism.relaxed_utility(state, grid[:, j:j + 1])
                           for j in range(GRID_POINTS)], axis=1)
        start = np.argmax(values, axis=1)
        out = grid[np.arange(len(grid)), start].copy()
        step = (high - low) / (GRID_POINTS - 1)
        for i in range(len(out)):
            single = select(state, slice(i, i + 1))
            lo = max(low[i], out[i] - step[i])
            hi = min(high[i], out[i] + step[i])
            if hi <= lo:
                continue
            result = minimize_scalar(
                lambda p, s=single: -float(mechanism.relaxed_utility(s, np.array([[p]]))[0]),
                bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
            if -result.fun >= values[i, start[i]]:
                out[i] = result.x
        return out

    def _vector(self, mechanism, state, low, high) -> np.ndarray:
        out = np.empty_like(low)
        for i in range(len(low)):
            single = select(state, slice(i, i + 1))
            result = minimize(
                lambda x, s=single: -float(mechanism.relaxed_utility(s, x[None, :])[0]),
                x0=0.5 * (low[i] + high[i]), bounds=list(zip(low[i], high[i])),
                method="L-BFGS-B")
            out[i] = result.x
        return out
