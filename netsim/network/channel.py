"""Wireless channel state of every device, advanced lazily and vectorised with numpy.

Received power = tx power + antenna gains - path loss - shadowing + small-scale fading.
- Path loss: 3GPP 38.901 (see `pathloss`); each device-base-station pair keeps a fixed uniform
  draw u, and is in LOS while u < P_LOS(d), so LOS changes consistently as devices move.
- Shadowing: log-normal, one value per pair, decorrelating with the distance the device has
  travelled since the pair was last measured (Gudmundson: rho = exp(-moved / d_corr), with
  38.901's decorrelation distance for the pair's LOS state unless the scenario sets one).
  Pairs are measured at large-scale updates in a fixed order that depends on positions only.
- Fading: Rayleigh or Rician, a sum of sinusoids per device (`fading.SumOfSinusoids`): a
  function of (device, time), so looking at a device draws nothing.
LOS draws, shadowing and fading each have their own random stream of the root seed, so no
decision, recording setting or order of looks changes what any of them produces.
The rate on a share W Hz of a base station's band is W * log2(1 + P_rx / (N0 * W)), capped at
the scenario's highest spectral efficiency.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from netsim.network.fading import FADING_MODELS
from netsim.network.large_scale_kernels import (
    ALWAYS_LOS,
    LOS_BY_PROBABILITY,
    NEVER_LOS,
    pair_losses,
)
from netsim.network.pathloss import (
    PATH_LOSS_MODELS,
    SHADOWING_DECORRELATION_M,
    SHADOWING_SIGMA_DB,
)
from netsim.rng import stream

if TYPE_CHECKING:  # for type hints only: no runtime dependency
    from netsim.scenario.schema import ChannelSpec


_NO_NORMALS = np.zeros((0, 0))
PAIR_BLOCK_ROWS = 4096


def dbm_to_mw(dbm: np.ndarray | float) -> np.ndarray:
    return np.power(10.0, np.asarray(dbm) / 10.0)


class Channel:
    """Large-scale loss (per device-base-station pair) and fading (per device)."""

    def __init__(
        self,
        spec: ChannelSpec,
        bs_xy: np.ndarray,
        bs_height_m: np.ndarray,
        bs_carrier_ghz: np.ndarray,
        device_height_m: np.ndarray,
        seed: int,
    ):
        self.spec = spec
        self.bs_xy = bs_xy
        self.bs_height_m = bs_height_m
        self.bs_carrier_ghz = bs_carrier_ghz
        self.device_height_m = device_height_m
        n, b = len(device_height_m), len(bs_xy)
        # per (device, base station) pair, side by side so that the update meets one cache
        # line per pair (the arrays are devices x base stations: 135 MB each at 100,000 x
        # 169, far beyond the caches): the LOS draw, the shadowing value and the odometer
        # reading it was taken at. Drawn in blocks of rows: a stream gives the same numbers
        # however its draws are cut, without a whole temporary array.
        self._pair_state = np.zeros((n * b, 3))
        los_rng = stream(seed, "channel/los")
        self._shadow_rng = stream(seed, "channel/shadowing")
        for first in range(0, n, PAIR_BLOCK_ROWS):
            rows = slice(first * b, min(first + PAIR_BLOCK_ROWS, n) * b)
            count = rows.stop - rows.start
            self._pair_state[rows, 0] = los_rng.random(count)
            if self._shadowing_on:
                self._pair_state[rows, 1] = self._shadow_rng.standard_normal(count)
        self._row_base = (np.arange(n) * b)[:, None]
        # the pair-loss kernel's settings: LOS rule, model numbers, and the shadowing sigma
        # and decorrelation distance as (the scenario's or NaN, 38.901's LOS, NLOS)
        model = spec.path_loss
        self._los_mode = {"los": ALWAYS_LOS, "nlos": NEVER_LOS}.get(spec.los,
                                                                    LOS_BY_PROBABILITY)
        self._coefficients = PATH_LOSS_MODELS[model].coefficients
        self._sigma_db = np.array([
            math.nan if spec.shadowing_db is None else spec.shadowing_db,
            SHADOWING_SIGMA_DB[(model, True)], SHADOWING_SIGMA_DB[(model, False)]])
        self._decorrelation_m = np.array([
            math.nan if spec.shadowing_decorrelation_m is None
            else spec.shadowing_decorrelation_m,
            SHADOWING_DECORRELATION_M[(model, True)], SHADOWING_DECORRELATION_M[(model, False)]])
        self._fading = FADING_MODELS[spec.fading](n, spec.coherence_s, spec.rician_k_db,
                                                  stream(seed, "channel/fading"))
        self.noise_mw_per_hz = float(dbm_to_mw(spec.noise_dbm_per_hz + spec.noise_figure_db))

    @property
    def _shadowing_on(self) -> bool:
        return self.spec.shadowing_db is None or self.spec.shadowing_db > 0

    def pair_index(self, cand: np.ndarray) -> np.ndarray:
        """Flat indices into (device, base station) arrays of devices i and base stations
        cand[i, :] (cheaper than take_along_axis at every size here)."""
        return self._row_base[: len(cand)] + cand

    def candidate_loss_db(self, xy: np.ndarray, cand: np.ndarray,
                          odometer_m: np.ndarray) -> np.ndarray:
        """Path loss plus shadowing (dB) of every device i to base stations cand[i, :].

        `cand` is an (N, k) array of distinct base stations per row. Advances each pair's
        shadowing to its device's odometer (distance travelled). Compiled, per pair
        (network/large_scale_kernels.py)."""
        pairs = self.pair_index(cand)
        moved = self._shadowing_on and bool(np.any(odometer_m[:, None]
                                                   > self._pair_state[pairs, 2]))
        normals = self._shadow_rng.standard_normal(cand.shape) if moved else _NO_NORMALS
        return pair_losses(
            xy, cand, pairs, self.bs_xy, self.bs_carrier_ghz, self.bs_height_m,
            self.device_height_m, self._los_mode, self._coefficients,
            self.spec.absorption_db_per_km, self._shadowing_on, self._pair_state, odometer_m,
            normals, self._sigma_db, self._decorrelation_m)

    @property
    def fades(self) -> bool:
        """Whether the channel changes between large-scale updates (small-scale fading)."""
        return self._fading.varies

    def fading_gain(self, index: np.ndarray, t: float) -> np.ndarray:
        """Complex small-scale gains (scattered part, E|h|^2 = 1) of devices `index` at t."""
        return self._fading.gain(index, t)

    def fading_power(self, index: np.ndarray, t: float) -> np.ndarray | float:
        """|h|^2 (mean 1) of devices `index` at time t; 1.0 without fading. Pure: a function
        of (device, t) that draws nothing."""
        return self._fading.power(index, t)

    def rx_for_rate_mw(self, rate_bps: np.ndarray, bandwidth_hz: np.ndarray) -> np.ndarray:
        """The received power at which the whole band gives `rate_bps` (inverse Shannon,
        capped at the top spectral efficiency): how a replayed rate enters the model, so
        that sharing the band then behaves as for any other received power."""
        se = np.minimum(rate_bps / bandwidth_hz, self.spec.max_spectral_efficiency)
        return self.noise_mw_per_hz * bandwidth_hz * (np.exp2(se) - 1.0)

    def rate_bps(self, rx_mw: np.ndarray, share_hz: np.ndarray,
                 noise_mw_per_hz: np.ndarray | float | None = None) -> np.ndarray:
        """Shannon rate on `share_hz` at received power `rx_mw`, capped at the highest MCS,
        over thermal noise or the given noise + interference density."""
        noise = self.noise_mw_per_hz if noise_mw_per_hz is None else noise_mw_per_hz
        # a zero share gives rate 0 through the final product; the floor only avoids 0/0
        snr = rx_mw / np.maximum(noise * share_hz, 1e-300)
        return share_hz * np.minimum(np.log2(1.0 + snr), self.spec.max_spectral_efficiency)
