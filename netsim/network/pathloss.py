"""Large-scale path loss of 3GPP TR 38.901 (Table 7.4.1-1), compiled per pair.

UMi street canyon and UMa, LOS and NLOS, with the 38.901 LOS probabilities (Table 7.4.2-1)
and shadowing sigmas. 38.901 is specified for 0.5-100 GHz; above 100 GHz (sub-THz) we keep
the same distance and frequency terms, which measurement campaigns at 140 GHz found to hold
for the close-in model, and add molecular absorption as a separate dB/km term (set it in the
scenario: `channel.absorption_db_per_km`). Distances below 10 m are clamped to 10 m, the
formulas' lower validity bound. Both models are specified for user heights of 1.5-22.5 m
(`UT_HEIGHT_RANGE_M`); the scenario loader refuses heights outside it. The breakpoint uses an
effective environment height of 1 m: exact for UMi, and for UMa below 13 m (above, 38.901
draws h_E at random; we keep 1 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import boolean, float64, njit, vectorize

SPEED_OF_LIGHT_MPS = 299_792_458.0
MIN_DISTANCE_M = 10.0



@dataclass(frozen=True)
class PathLossModel:
    """One 38.901 scenario's coefficients: LOS path loss PL = offset + near_slope log10(d3D)
    + 20 log10(fc) before the breakpoint (40 log10(d3D) - far_term log10(d_BP^2 + dh^2)
    after), NLOS PL' = nlos_offset + nlos_distance log10(d3D) + nlos_frequency log10(fc)
    - nlos_height (h_UT - 1.5) (Table 7.4.1-1); the LOS probability's decay (Table 7.4.2-1);
    shadowing sigmas and decorrelation distances, (LOS, NLOS) (Tables 7.4.1-1, 7.5-6)."""

    los_offset: float
    los_near_slope: float
    los_far_term: float
    nlos_offset: float
    nlos_distance: float
    nlos_frequency: float
    nlos_height: float
    los_decay_m: float
    los_height_term: bool  # UMa's C'(h_UT) above 13 m
    shadowing_sigma_db: tuple[float, float]
    decorrelation_m: tuple[float, float]

    @property
    def coefficients(self) -> tuple[float, ...]:
        """The formulas' numbers, in the order the compiled functions take them."""
        return (self.los_offset, self.los_near_slope, self.los_far_term, self.nlos_offset,
                self.nlos_distance, self.nlos_frequency, self.nlos_height, self.los_decay_m,
                float(self.los_height_term))


# one model per scenario `channel.path_loss` name (a test checks the schema names the same)
PATH_LOSS_MODELS = {
    "umi_street_canyon": PathLossModel(32.4, 21.0, 9.5, 22.4, 35.3, 21.3, 0.3, 36.0, False,
                                       (4.0, 7.82), (10.0, 13.0)),
    "uma": PathLossModel(28.0, 22.0, 9.0, 13.54, 39.08, 20.0, 0.6, 63.0, True,
                         (4.0, 6.0), (37.0, 50.0)),
}
SHADOWING_SIGMA_DB = {(name, los): model.shadowing_sigma_db[0 if los else 1]
                      for name, model in PATH_LOSS_MODELS.items() for los in (True, False)}
SHADOWING_DECORRELATION_M = {(name, los): model.decorrelation_m[0 if los else 1]
                             for name, model in PATH_LOSS_MODELS.items()
                             for los in (True, False)}
UT_HEIGHT_RANGE_M = (1.5, 22.5)


def _model(name: str) -> PathLossModel:
    model = PATH_LOSS_MODELS.get(name)
    if model is None:
        raise ValueError(f"unknown path-loss model '{name}' (allowed: "
                         f"{', '.join(PATH_LOSS_MODELS)})")
    return model


# The formulas are written once, for one pair, and compiled: the array functions below apply
# them element-wise (as numpy ufuncs), and the radio access's compiled update calls them per
# pair without intermediate arrays (network/access_kernel.py).

@njit(cache=True, nogil=True)
def pair_los_probability(d2d_m, h_ut_m, c):  # pragma: no cover
    """P(LOS) of one pair (see `los_probability`); `c` = `PathLossModel.coefficients`."""
    d = d2d_m if d2d_m > 1e-9 else 1e-9
    if d <= 18.0:
        return 1.0
    p = 18.0 / d + math.exp(-d / c[7]) * (1.0 - 18.0 / d)
    if c[8] != 0.0:
        excess = (h_ut_m - 13.0) / 10.0
        c_prime = (excess if excess > 0.0 else 0.0) ** 1.5
        p = p * (1.0 + c_prime * 1.25 * (d / 100.0) ** 3.0 * math.exp(-d / 150.0))
    return p


@njit(cache=True, nogil=True)
def pair_path_loss_db(d2d_m, carrier_ghz, h_bs_m, h_ut_m, los, c):  # pragma: no cover
    """Path loss (dB) of one pair (see `path_loss_db`); `c` = `PathLossModel.coefficients`."""
    d2d = d2d_m if d2d_m > MIN_DISTANCE_M else MIN_DISTANCE_M
    dh = h_bs_m - h_ut_m
    dh2 = dh * dh
    d3d = math.sqrt(d2d * d2d + dh2)
    # breakpoint distance with an effective environment height of 1 m
    d_bp = 4.0 * (h_bs_m - 1.0) * (h_ut_m - 1.0) * carrier_ghz * 1e9 / SPEED_OF_LIGHT_MPS
    log_d3d, log_fc = math.log10(d3d), math.log10(carrier_ghz)
    if d2d > d_bp:
        pl_los = c[0] + 40.0 * log_d3d + 20.0 * log_fc - c[2] * math.log10(d_bp * d_bp + dh2)
    else:
        pl_los = c[0] + c[1] * log_d3d + 20.0 * log_fc
    if los:
        return pl_los
    nlos = c[3] + c[4] * log_d3d + c[5] * log_fc - c[6] * (h_ut_m - 1.5)
    return pl_los if pl_los > nlos else nlos


@vectorize([float64(float64, float64, float64, float64, float64, float64, float64, float64,
                    float64, float64, float64)], cache=True)
def _los_probability_ufunc(d2d_m, h_ut_m, c0, c1, c2, c3, c4, c5, c6, c7,
                           c8):  # pragma: no cover
    return pair_los_probability(d2d_m, h_ut_m, (c0, c1, c2, c3, c4, c5, c6, c7, c8))


@vectorize([float64(float64, float64, float64, float64, boolean, float64, float64, float64,
                    float64, float64, float64, float64, float64, float64)], cache=True)
def _path_loss_ufunc(d2d_m, carrier_ghz, h_bs_m, h_ut_m, los, c0, c1, c2, c3, c4, c5, c6, c7,
                     c8):  # pragma: no cover
    return pair_path_loss_db(d2d_m, carrier_ghz, h_bs_m, h_ut_m, los,
                             (c0, c1, c2, c3, c4, c5, c6, c7, c8))


def los_probability(model: str, d2d_m: np.ndarray,
                    h_ut_m: np.ndarray | float = 1.5) -> np.ndarray:
    """Probability of line of sight at 2-D distance d for outdoor users (38.901 Table
    7.4.2-1), with UMa's height term C'(h_UT) = ((h_UT - 13) / 10)^1.5 above 13 m."""
    return _los_probability_ufunc(np.asarray(d2d_m, dtype=float),
                                  np.asarray(h_ut_m, dtype=float), *_model(model).coefficients)


def path_loss_db(
    model: str,
    d2d_m: np.ndarray,
    carrier_ghz: np.ndarray | float,
    h_bs_m: np.ndarray | float,
    h_ut_m: np.ndarray | float,
    los: np.ndarray | bool,
) -> np.ndarray:
    """Path loss in dB of `model` ('umi_street_canyon' or 'uma') at LOS or NLOS."""
    return _path_loss_ufunc(np.asarray(d2d_m, dtype=float),
                            np.asarray(carrier_ghz, dtype=float),
                            np.asarray(h_bs_m, dtype=float), np.asarray(h_ut_m, dtype=float),
                            np.asarray(los, dtype=bool), *_model(model).coefficients)
