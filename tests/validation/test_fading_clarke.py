"""Small-scale fading against Clarke's model: ergodic Rayleigh capacity
e^(1/rho) E1(1/rho) / ln 2 (e.g. Goldsmith, Wireless Communications, eq. 4.13 with a
Rayleigh SNR), and the autocorrelation J0(2 pi f_D tau) (Clarke 1968), |h|^2's being J0^2."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import exp1, j0

from netsim.network.channel import Channel
from netsim.scenario.schema import ChannelSpec

N = 100_000


def fading_channel(coherence_s: float = 0.05, seed: int = 0) -> Channel:
    spec = ChannelSpec(fading="rayleigh", coherence_s=coherence_s)
    return Channel(spec, np.zeros((1, 2)), np.array([10.0]), np.array([3.5]),
                   np.full(N, 1.5), seed)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_ergodic_capacity_is_rayleighs(snr_db):
    channel = fading_channel()
    every = np.arange(N)
    rho = 10 ** (snr_db / 10)
    # devices at several times far apart: independent draws of |h|^2
    samples = np.concatenate([channel.fading_power(every, t) for t in (3.0, 40.0, 700.0)])
    capacity = np.log2(1.0 + rho * samples)
    expected = np.exp(1 / rho) * exp1(1 / rho) / np.log(2)
    assert abs(capacity.mean() - expected) < 3.5 * capacity.std() / np.sqrt(len(capacity))
    # and not the AWGN capacity, which it would be without fading
    assert expected < 0.9 * np.log2(1 + rho)


def test_autocorrelation_at_the_coherence_time_is_clarkes():
    coherence = 0.05
    channel = fading_channel(coherence, seed=4)
    every = np.arange(N)
    f_d = 9 / (16 * np.pi * coherence)  # the classical T_c = 9 / (16 pi f_D)
    now, later = channel.fading_power(every, 12.0), channel.fading_power(every, 12.0 + coherence)
    # the power correlation at T_c is J0^2 = 0.5 by the definition of T_c
    assert j0(2 * np.pi * f_d * coherence) ** 2 == pytest.approx(0.5, abs=1e-3)
    assert np.corrcoef(now, later)[0, 1] == pytest.approx(0.5, abs=0.015)
    # the complex gain's correlation is J0 itself (0.707 at T_c, -0.40 at 2.5 T_c)
    h0 = channel.fading_gain(every, 12.0)
    for lag in (coherence, 2.5 * coherence):
        h1 = channel.fading_gain(every, 12.0 + lag)
        assert np.mean(h0 * np.conj(h1)).real == pytest.approx(j0(2 * np.pi * f_d * lag),
                                                               abs=0.015)


def test_rician_power_has_unit_mean_and_the_rician_variance():
    """|h|^2 of unit-power Rician fading with factor K has mean 1 and variance
    (2K + 1) / (K + 1)^2 (the moments of a non-central chi-square with 2 degrees)."""
    from netsim.network.fading import FADING_MODELS

    k_db, n = 9.0, 200_000
    fading = FADING_MODELS["rician"](n, 0.05, k_db, np.random.default_rng(5))
    power = fading.power(np.arange(n), 1.234)
    k = 10.0 ** (k_db / 10.0)
    variance = (2.0 * k + 1.0) / (k + 1.0) ** 2
    assert abs(power.mean() - 1.0) < 4.0 * np.sqrt(variance / n)
    assert power.var() == pytest.approx(variance, rel=0.03)
    rayleigh = FADING_MODELS["rayleigh"](n, 0.05, k_db, np.random.default_rng(5))
    assert rayleigh.power(np.arange(n), 1.234).var() == pytest.approx(1.0, rel=0.03)
