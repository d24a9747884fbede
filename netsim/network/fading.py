"""Small-scale fading as a deterministic function of (device, time): a sum of sinusoids.

Each device's complex gain is h(t) = sum_m c_m exp(j (2 pi f_D t cos(a_m) + phi_m)), the
Clarke/Jakes model with M paths. The arrival angles a_m are evenly spread with one random
offset per device; the phases phi_m are uniform and the amplitudes c_m Rayleigh with
E c_m^2 = 1/M, all drawn once at the start from the fading stream. Because the path gains are
complex Gaussian, h at any instant is exactly CN(0, 1) across devices for any M (so the
ergodic capacity is Rayleigh's, not an approximation that improves with M), and averaged over
devices the autocorrelation of h is exactly J0(2 pi f_D tau), that of |h|^2 J0^2.
M = 8 follows Jakes' simulator (8 low-frequency oscillators); each look costs 2M sines.

Because h is a function of (device, t) alone, looking at a device (to transmit, to record a
sample) never changes what another run or another look sees: two runs that differ only in a
decision see the same fading (common random numbers).

The Doppler spread follows from the coherence time by the classical definition
T_c = 9 / (16 pi f_D), the lag at which the correlation of |h|^2 falls to 0.5.
"""

from __future__ import annotations

import math

import numpy as np

PATHS = 8


def doppler_hz(coherence_s: float) -> float:
    """Maximum Doppler shift whose coherence time (|h|^2 correlation 0.5) is `coherence_s`."""
    return 9.0 / (16.0 * math.pi * coherence_s)


class SumOfSinusoids:
    """Unit-power Rayleigh gains h(device, t) with Doppler spread `doppler_hz`."""

    varies = True  # changes from tick to tick

    def __init__(self, n_devices: int, doppler_hz: float, rng: np.random.Generator,
                 paths: int = PATHS):
        offset = rng.uniform(0.0, 2.0 * math.pi, (n_devices, 1))
        angles = (2.0 * math.pi * np.arange(paths) + offset) / paths
        phase = rng.uniform(0.0, 2.0 * math.pi, (n_devices, paths))
        amplitude = np.sqrt(rng.exponential(1.0 / paths, (n_devices, paths)))
        # angular frequencies, and each path's complex gain (amplitude and phase) as one
        # number: a look is two gathers, one complex exponential and one weighted sum
        self._omega = 2.0 * math.pi * doppler_hz * np.cos(angles)
        self._gain = amplitude * np.exp(1j * phase)
        self._los, self._scatter = 0.0, 1.0  # no line-of-sight part (see RicianFading)
        from netsim.network.fading_kernel import fading_power  # loads numba: only when used

        self._power = fading_power

    def gain(self, index: np.ndarray, t: float) -> np.ndarray:
        """Complex gains of devices `index` at time t."""
        return np.einsum("ij,ij->i", self._gain[index], np.exp((1j * t) * self._omega[index]))

    def power(self, index: np.ndarray, t: float) -> np.ndarray:
        """|h|^2 of devices `index` at time t (with the line-of-sight part, if any)."""
        return self._power(self._gain, self._omega, np.asarray(index, dtype=np.int64), t,
                           self._los, self._scatter)


class NoFading:
    """`fading: none`: unit gain everywhere."""

    varies = False  # the channel stays as it is between large-scale updates

    def __init__(self, n_devices: int, coherence_s: float, rician_k_db: float,
                 rng: np.random.Generator):
        pass

    def gain(self, index: np.ndarray, t: float) -> np.ndarray:
        return np.ones(len(index), dtype=complex)

    def power(self, index: np.ndarray, t: float) -> float:
        return 1.0


class RayleighFading(SumOfSinusoids):
    """`fading: rayleigh`: the sum of sinusoids above (no line-of-sight part)."""

    def __init__(self, n_devices: int, coherence_s: float, rician_k_db: float,
                 rng: np.random.Generator):
        super().__init__(n_devices, doppler_hz(coherence_s), rng)


class RicianFading(RayleighFading):
    """`fading: rician`: a fixed line-of-sight part plus the scattered one, with power ratio
    K (`rician_k_db`) and unit total power."""

    def __init__(self, n_devices: int, coherence_s: float, rician_k_db: float,
                 rng: np.random.Generator):
        super().__init__(n_devices, coherence_s, rician_k_db, rng)
        k = 10.0 ** (rician_k_db / 10.0)
        self._los = math.sqrt(k / (k + 1.0))
        self._scatter = math.sqrt(1.0 / (k + 1.0))


# one model per scenario `channel.fading` name (a test checks the schema names the same)
FADING_MODELS: dict[str, type] = {"none": NoFading, "rayleigh": RayleighFading,
                                  "rician": RicianFading}
