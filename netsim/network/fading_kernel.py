"""The compiled look at sum-of-sinusoids fading (network/fading.py), kept apart so that
importing the fading models (the scenario schema does) does not load numba.

One pass per device instead of numpy's gather, complex exponential and weighted sum on
(devices x paths) temporaries: half the time at the few hundred devices a tick looks at.
The operations and their order are numpy's (cos and sin of t*omega, a running complex sum
over the paths, the line-of-sight part added, |h|^2), so the powers are identical to the
numpy expression's bit for bit (tests/test_fading.py compares them)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def fading_power(gain: np.ndarray, omega: np.ndarray, index: np.ndarray, t: float,
                 los: float, scatter: float) -> np.ndarray:
    """|los + scatter * h(d, t)|^2 for devices d in `index`, h = sum_m gain[d, m]
    exp(j t omega[d, m])."""
    out = np.empty(len(index))
    for n in range(len(index)):
        d = index[n]
        h = 0j
        for m in range(gain.shape[1]):
            angle = t * omega[d, m]
            h += gain[d, m] * complex(np.cos(angle), np.sin(angle))
        total = los + scatter * h
        out[n] = total.real * total.real + total.imag * total.imag
    return out
