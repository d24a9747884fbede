"""3GPP TR 38.901 V17 path loss (Table 7.4.1-1) and LOS probability (Table 7.4.2-1), typed in
here from the standard, against netsim's vectorised models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsim.network.pathloss import los_probability, path_loss_db

C = 299_792_458.0


# Table 7.4.1-1, LOS before/after the breakpoint and NLOS: (offset, near slope, far term)
# and the NLOS law (constant, distance slope, frequency slope, height slope)
LOS = {"umi_street_canyon": (32.4, 21.0, 9.5), "uma": (28.0, 22.0, 9.0)}
NLOS = {"umi_street_canyon": (22.4, 35.3, 21.3, 0.3), "uma": (13.54, 39.08, 20.0, 0.6)}


def path_loss(model: str, d2d: float, fc: float, h_bs: float, h_ut: float, los: bool) -> float:
    offset, near, far = LOS[model]
    d3d = math.hypot(d2d, h_bs - h_ut)
    d_bp = 4 * (h_bs - 1) * (h_ut - 1) * fc * 1e9 / C  # h_E = 1 m (UMa: h_UT < 13 m)
    if d2d <= d_bp:
        pl_los = offset + near * math.log10(d3d) + 20 * math.log10(fc)
    else:
        pl_los = (offset + 40 * math.log10(d3d) + 20 * math.log10(fc)
                  - far * math.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    if los:
        return pl_los
    const, slope_d, slope_f, slope_h = NLOS[model]
    nlos = (const + slope_d * math.log10(d3d) + slope_f * math.log10(fc)
            - slope_h * (h_ut - 1.5))
    return max(pl_los, nlos)


def p_los(model: str, d2d: float, h_ut: float) -> float:
    if d2d <= 18.0:
        return 1.0
    if model == "umi_street_canyon":
        return 18 / d2d + math.exp(-d2d / 36) * (1 - 18 / d2d)
    c_prime = 0.0 if h_ut <= 13 else ((h_ut - 13) / 10) ** 1.5
    return ((18 / d2d + math.exp(-d2d / 63) * (1 - 18 / d2d))
            * (1 + c_prime * 5 / 4 * (d2d / 100) ** 3 * math.exp(-d2d / 150)))


@pytest.mark.parametrize("model, h_bs", [("umi_street_canyon", 10.0), ("uma", 25.0)])
@pytest.mark.parametrize("fc", [0.9, 3.5, 28.0, 60.0])
@pytest.mark.parametrize("los", [True, False])
def test_path_loss_matches_the_standard(model, h_bs, fc, los):
    distances = [10.0, 35.0, 120.0, 480.0, 1500.0, 4900.0]
    for h_ut in (1.5, 4.0, 12.0):
        got = path_loss_db(model, np.array(distances), fc, h_bs, h_ut, los)
        expected = [path_loss(model, d, fc, h_bs, h_ut, los) for d in distances]
        np.testing.assert_allclose(got, expected, atol=1e-9)


@pytest.mark.parametrize("model", ["umi_street_canyon", "uma"])
def test_los_probability_matches_the_standard(model):
    distances = np.array([5.0, 18.0, 19.0, 50.0, 100.0, 300.0, 1000.0])
    for h_ut in (1.5, 13.0, 18.0, 22.5):
        expected = [p_los(model, d, h_ut) for d in distances]
        np.testing.assert_allclose(los_probability(model, distances, h_ut), expected,
                                   rtol=1e-12)
    # UMa's height term raises the LOS probability of tall users (C'(22.5 m) = 0.93)
    assert los_probability("uma", np.array([200.0]), 22.5)[0] > \
        1.3 * los_probability("uma", np.array([200.0]), 1.5)[0]
