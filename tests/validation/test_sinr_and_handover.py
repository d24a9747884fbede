"""A two-cell uplink SINR and a handover on a straight line, each computed by hand from
3GPP TR 38.901 UMi street canyon LOS path loss (typed in here, not imported)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import one_device, run_raw

FC, H_BS, H_UT = 3.5, 10.0, 1.5
NOISE_DBM_PER_HZ = -174.0 + 7.0  # thermal noise plus the default noise figure


def umi_los_db(d2d: float) -> float:
    d3d = math.hypot(d2d, H_BS - H_UT)
    d_bp = 4 * (H_BS - 1) * (H_UT - 1) * FC * 1e9 / 299_792_458.0
    if d2d <= d_bp:
        return 32.4 + 21 * math.log10(d3d) + 20 * math.log10(FC)
    return (32.4 + 40 * math.log10(d3d) + 20 * math.log10(FC)
            - 9.5 * math.log10(d_bp**2 + (H_BS - H_UT) ** 2))


def two_cells(area_width: float = 500.0) -> dict:
    raw = one_device(horizon_s=6.0)
    raw["area"] = {"width_m": area_width, "height_m": 200.0}
    bs = raw["base_stations"][0]
    bs.update(position_m=[100.0, 100.0], bandwidth_hz=1e7)
    raw["base_stations"].append({**bs, "id": "bs1", "position_m": [400.0, 100.0]})
    raw["edge_servers"][0]["position_m"] = [250.0, 100.0]
    raw["channel"] = {"los": "los", "shadowing_db": 0.0, "fading": "none",
                      "handover_filter": 1.0}
    return raw


def test_two_cell_uplink_sinr_by_hand(tmp_path):
    raw = two_cells()
    # one device per cell, 50 m from its own base station, always sending (20 MB uploads)
    raw["devices"][0].update(count=2, split_layer=0, placement={
        "kind": "points", "points_m": [[150.0, 100.0], [350.0, 100.0]]},
        arrivals={"process": "poisson", "rate_per_s": 2.0})
    raw["workload"] = {"input_bytes": 20_000_000, "result_bytes": 1}
    devices = run_raw(tmp_path, raw).devices
    steady = devices[devices.t >= 2.0]  # interference is the previous interval's (1 s)
    band = 1e7
    signal_dbm = 23.0 - umi_los_db(50.0)
    interference_dbm = 23.0 - umi_los_db(250.0)  # the other cell's device, past breakpoint
    noise_mw = 10 ** (NOISE_DBM_PER_HZ / 10) * band
    sinr = 10 ** (signal_dbm / 10) / (noise_mw + 10 ** (interference_dbm / 10))
    assert 10 * math.log10(sinr) == pytest.approx(16.0, abs=0.5)  # the hand numbers' size
    np.testing.assert_allclose(steady.sinr_db, 10 * math.log10(sinr), atol=1e-6)
    np.testing.assert_allclose(steady.uplink_rate_bps, band * math.log2(1 + sinr), rtol=1e-6)
    # without interference the same devices see their SNR, 25 dB better
    raw["channel"]["interference"] = "none"
    alone = run_raw(tmp_path, raw, out="snr").devices
    snr = 10 ** (signal_dbm / 10) / noise_mw
    np.testing.assert_allclose(alone[alone.t >= 2.0].sinr_db, 10 * math.log10(snr), atol=1e-6)
    # reuse 3 puts the two cells on different sub-bands: no interference either
    raw["channel"].update(interference="co_channel", frequency_reuse=3)
    reuse = run_raw(tmp_path, raw, out="reuse").devices
    np.testing.assert_allclose(reuse[reuse.t >= 2.0].sinr_db, 10 * math.log10(snr), atol=1e-6)


def test_one_handover_at_the_predicted_position(tmp_path):
    raw = two_cells()
    speed, margin = 5.0, 3.0
    raw.update(horizon_s=60.0)
    raw["record"] = {"sample_s": 1.0, "device_sample_s": 1.0}
    raw["channel"]["handover_margin_db"] = margin
    raw["devices"][0].update(placement={"kind": "points", "points_m": [[110.0, 100.0]]},
                             mobility={"model": "waypoints", "points_m": [[390.0, 100.0]],
                                       "speed_mps": speed})
    run = run_raw(tmp_path, raw)
    # by hand: the first x at which bs1's loss is below bs0's by more than the margin
    xs = np.arange(110.0, 390.0, 0.001)
    gap = np.array([umi_los_db(x - 100.0) - umi_los_db(400.0 - x) for x in xs])
    x_star = xs[np.argmax(gap > margin)]
    assert 250.0 < x_star < 300.0
    assert run.manifest["counts"]["handovers"] == 1
    track = run.devices.sort_values("t")
    first = track[track.bs == "bs1"].iloc[0]
    before = track[track.t < first.t].iloc[-1]
    # decided at the first large-scale update (every 1 s, 5 m) past the predicted point
    assert before.x_m < x_star <= first.x_m
    assert first.x_m - x_star <= speed * 1.0 + 1e-9


def test_a_device_crossing_six_cells_measuring_two_hands_over_at_each_midpoint(tmp_path):
    """Six equal cells 200 m apart and only two base stations measured per update (the
    nearest, plus the serving one): with no margin and no filtering the device hands over
    at the first update past each midpoint between neighbours, five times in order."""
    raw = one_device(horizon_s=60.0)
    raw["area"] = {"width_m": 1200.0, "height_m": 200.0}
    bs = raw["base_stations"][0]
    raw["base_stations"] = [{**bs, "id": f"bs{i}", "position_m": [100.0 + 200.0 * i, 100.0]}
                            for i in range(6)]
    raw["edge_servers"][0]["position_m"] = [600.0, 100.0]
    raw["channel"] = {"los": "los", "shadowing_db": 0.0, "fading": "none",
                      "handover_filter": 1.0, "handover_margin_db": 0.0,
                      "handover_candidates": 2}
    raw["devices"][0].update(placement={"kind": "points", "points_m": [[110.0, 100.0]]},
                             mobility={"model": "waypoints", "points_m": [[1090.0, 100.0]],
                                       "speed_mps": 20.0})
    run = run_raw(tmp_path, raw)
    assert run.manifest["counts"]["handovers"] == 5
    track = run.devices.sort_values("t")
    firsts = track.groupby("bs", observed=True).x_m.min().sort_values()
    assert firsts.index.tolist() == [f"bs{i}" for i in range(6)]
    midpoints = 200.0 + 200.0 * np.arange(5)
    # at the first update (every 1 s, 20 m) at or past the midpoint
    assert np.all(firsts.to_numpy()[1:] >= midpoints)
    assert np.all(firsts.to_numpy()[1:] - midpoints < 20.0 + 1e-9)
