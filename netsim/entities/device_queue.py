"""Each device computes its tasks' first layers one at a time, in arrival order: a FIFO
whose next free time is one number per device. Compiled, because it is a loop over every
task (a million in a large run) that numpy cannot express: each end time depends on the
previous one of the same device."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def fifo_finish(times: np.ndarray, devices: np.ndarray, compute_s: np.ndarray,
                free_at: np.ndarray) -> np.ndarray:
    """End times of tasks arriving at `times` (in time order) on `devices` that need
    `compute_s` each; `free_at` (per device) is read and advanced in place. A task with
    nothing to compute (full offloading, a generation request) does not queue: it leaves
    at once."""
    done = np.empty(len(times))
    for i in range(len(times)):
        d = devices[i]
        if compute_s[i] == 0.0:
            done[i] = times[i]
            continue
        start = times[i] if times[i] > free_at[d] else free_at[d]
        done[i] = start + compute_s[i]
        free_at[d] = done[i]
    return done
