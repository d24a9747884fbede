"""Large-scale path loss of 3GPP TR 38.901 (Table 7.4.1-1), vectorised with numpy.

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

import numpy as np

SPEED_OF_LIGHT_MPS = 299_792_458.0
MIN_DISTANCE_M = 10.0

SHADOWING_SIGMA_DB = {
    ("umi_street_canyon", True): 4.0,
    ("umi_street_canyon", False): 7.82,
    ("uma", True): 4.0,
    ("uma", False): 6.0,
}
# 38.901 Table 7.5-6: shadow-fading decorrelation distances (m) per scenario and LOS state
SHADOWING_DECORRELATION_M = {
    ("umi_street_canyon", True): 10.0,
    ("umi_street_canyon", False): 13.0,
    ("uma", True): 37.0,
    ("uma", False): 50.0,
}
UT_HEIGHT_RANGE_M = (1.5, 22.5)


def los_probability(model: str, d2d_m: np.ndarray,
                    h_ut_m: np.ndarray | float = 1.5) -> np.ndarray:
    """Probability of line of sight at 2-D distance d for outdoor users (38.901 Table
    7.4.2-1), with UMa's height term C'(h_UT) = ((h_UT - 13) / 10)^1.5 above 13 m."""
    d = np.maximum(d2d_m, 1e-9)
    decay = 36.0 if model == "umi_street_canyon" else 63.0
    p = 18.0 / d + np.exp(-d / decay) * (1.0 - 18.0 / d)
    if model == "uma":
        c_prime = np.maximum((np.asarray(h_ut_m, dtype=float) - 13.0) / 10.0, 0.0) ** 1.5
        p = p * (1.0 + c_prime * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
    return np.where(d <= 18.0, 1.0, p)


def path_loss_db(
    model: str,
    d2d_m: np.ndarray,
    carrier_ghz: np.ndarray | float,
    h_bs_m: np.ndarray | float,
    h_ut_m: np.ndarray | float,
    los: np.ndarray | bool,
) -> np.ndarray:
    """Path loss in dB of `model` ('umi_street_canyon' or 'uma') at LOS or NLOS."""
    d2d = np.maximum(d2d_m, MIN_DISTANCE_M)
    fc = np.asarray(carrier_ghz, dtype=float)
    h_bs, h_ut = np.asarray(h_bs_m), np.asarray(h_ut_m)
    # breakpoint distance with an effective environment height of 1 m
    d3d = np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / SPEED_OF_LIGHT_MPS
    log_d3d, log_fc = np.log10(d3d), np.log10(fc)
    dh2 = (h_bs - h_ut) ** 2
    if model == "umi_street_canyon":
        offset, near_slope, far_term = 32.4, 21.0, 9.5
        nlos = 35.3 * log_d3d + 22.4 + 21.3 * log_fc - 0.3 * (h_ut - 1.5)
    elif model == "uma":
        offset, near_slope, far_term = 28.0, 22.0, 9.0
        nlos = 13.54 + 39.08 * log_d3d + 20.0 * log_fc - 0.6 * (h_ut - 1.5)
    else:
        raise ValueError(f"unknown path-loss model '{model}' (allowed: umi_street_canyon, uma)")
    pl_los = offset + near_slope * log_d3d + 20.0 * log_fc  # before the breakpoint
    beyond = d2d > d_bp
    if np.any(beyond):
        far = offset + 40.0 * log_d3d + 20.0 * log_fc - far_term * np.log10(d_bp**2 + dh2)
        pl_los = np.where(beyond, far, pl_los)
    return np.where(los, pl_los, np.maximum(pl_los, nlos))
