"""The compiled fading power equals |los + scatter * h|^2 computed by numpy from the complex
gains, bit for bit (so the kernel changed no table), for Rayleigh and Rician fading."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.network.fading import RayleighFading, RicianFading


@pytest.mark.parametrize("model", [RayleighFading, RicianFading])
def test_compiled_power_equals_numpy_power(model):
    fading = model(5000, 0.05, 9.0, np.random.default_rng(3))
    scatter = np.sqrt(1.0 / (10 ** 0.9 + 1.0)) if model is RicianFading else 1.0
    rng = np.random.default_rng(4)
    for t in rng.uniform(0.0, 86_400.0, 20):
        index = np.sort(rng.choice(5000, 700, replace=False))
        h = (np.sqrt(10 ** 0.9 / (10 ** 0.9 + 1.0)) if model is RicianFading else 0.0) \
            + scatter * fading.gain(index, t)
        assert np.array_equal(fading.power(index, t), h.real * h.real + h.imag * h.imag)
