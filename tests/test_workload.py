"""Arrival processes, mobility models and the model profile."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.network.mobility import build_mobility
from netsim.rng import stream
from netsim.scenario.schema import (
    BurstyArrivals,
    DiurnalArrivals,
    GaussMarkovMobility,
    PoissonArrivals,
    RandomWaypointMobility,
    TraceArrivals,
    WaypointsMobility,
)
from netsim.workload.arrivals import build_arrivals
from netsim.workload.profiles import load_profile, resolve_profile_path


def draw_all(process, horizon: float, step: float):
    times, devices = [], []
    t = 0.0
    while t < horizon:
        batch = process.draw(t, min(t + step, horizon))
        times.append(batch[0])
        devices.append(batch[1])
        t += step
    return np.concatenate(times), np.concatenate(devices)


def test_poisson_rate_and_devices():
    index = np.arange(10, 60)
    process = build_arrivals(PoissonArrivals(process="poisson", rate_per_s=2.0), index,
                             stream(0, "a"), None)
    times, devices = draw_all(process, 200.0, 0.7)
    assert len(times) / (200.0 * 50) == pytest.approx(2.0, rel=0.02)
    assert set(np.unique(devices)) == set(index.tolist())
    gaps = np.diff(np.sort(times[devices == 10]))
    assert gaps.mean() == pytest.approx(0.5, rel=0.1)  # exponential gaps of mean 1/rate
    assert gaps.std() == pytest.approx(gaps.mean(), rel=0.15)


def test_bursty_mean_rate_and_burstiness():
    spec = BurstyArrivals(process="bursty", rate_low_per_s=0.5, rate_high_per_s=10.0,
                          mean_low_s=8.0, mean_high_s=2.0)
    process = build_arrivals(spec, np.arange(200), stream(1, "b"), None)
    times, devices = draw_all(process, 400.0, 1.0)
    expected = (0.5 * 8.0 + 10.0 * 2.0) / 10.0  # stationary mean rate
    assert len(times) / (400.0 * 200) == pytest.approx(expected, rel=0.05)
    # counts per second of one device are over-dispersed (a Poisson process would give 1)
    counts = np.bincount(times[devices == 0].astype(int), minlength=400)
    assert counts.var() / counts.mean() > 3.0


def test_diurnal_follows_its_rate():
    spec = DiurnalArrivals(process="diurnal", rate_per_s=1.0, amplitude=0.8, period_s=100.0,
                           peak_s=25.0)
    process = build_arrivals(spec, np.arange(500), stream(2, "c"), None)
    times, _ = draw_all(process, 100.0, 1.0)
    per_second = np.bincount(times.astype(int), minlength=100) / 500
    assert per_second.mean() == pytest.approx(1.0, rel=0.03)
    assert per_second[20:30].mean() == pytest.approx(1.8, rel=0.08)  # near the peak
    assert per_second[70:80].mean() == pytest.approx(0.2, rel=0.3)  # near the trough


def test_trace_replays_exact_times(tmp_path):
    (tmp_path / "t.csv").write_text("t_s,device\n2.5,1\n0.5,0\n1.0,1\n9.0,0\n")
    process = build_arrivals(TraceArrivals(process="trace", path="t.csv"), np.array([7, 8]),
                             stream(0, "d"), tmp_path)
    times, devices = process.draw(0.0, 3.0)
    assert times.tolist() == [0.5, 1.0, 2.5] and devices.tolist() == [7, 8, 8]
    assert process.draw(3.0, 9.0)[0].size == 0
    assert process.draw(9.0, 10.0)[1].tolist() == [7]


@pytest.mark.parametrize("spec", [
    RandomWaypointMobility(model="random_waypoint", speed_mps=(5.0, 20.0), pause_s=(0.0, 1.0)),
    GaussMarkovMobility(model="gauss_markov", speed_mps=15.0, memory=0.5),
])
def test_mobility_stays_in_the_area_and_moves(spec):
    area = (300.0, 100.0)
    rng = stream(3, "m")
    xy = rng.random((400, 2)) * area
    start = xy.copy()
    model = build_mobility(spec, np.arange(400), area, rng)
    for _ in range(200):
        model.step(xy, 0.5)
        assert (xy >= 0).all() and (xy[:, 0] <= area[0]).all() and (xy[:, 1] <= area[1]).all()
    assert np.hypot(*(xy - start).T).mean() > 20.0


def test_waypoints_walk_at_their_speed():
    spec = WaypointsMobility(model="waypoints", points_m=[(10.0, 0.0), (10.0, 10.0)],
                             speed_mps=4.0)
    xy = np.zeros((1, 2))
    model = build_mobility(spec, np.arange(1), (100.0, 100.0), stream(0, "w"))
    model.step(xy, 2.0)
    assert xy[0].tolist() == pytest.approx([8.0, 0.0])
    model.step(xy, 1.0)  # 2 m to the corner, then 2 m up
    assert xy[0].tolist() == pytest.approx([10.0, 2.0])
    model.step(xy, 10.0)
    assert xy[0].tolist() == pytest.approx([10.0, 10.0])


def test_clip_profile_numbers():
    profile = load_profile(resolve_profile_path("clip_vit_b32"))
    assert profile.n_layers == 12
    # 2 x MACs of attention and MLP with 50 tokens of width 768
    n, d = 50, 768
    assert profile.layer_flops[0] == 2 * (4 * n * d * d + 2 * n * n * d + 8 * n * d * d)
    assert profile.total_flops == pytest.approx(8.82e9, rel=0.01)
    assert profile.device_flops(0) == 0 and profile.device_flops(12) == profile.total_flops
    assert profile.upload_bytes(0) == 224 * 224 * 3
    assert profile.upload_bytes(5) == n * d * 4
    assert profile.upload_bytes(12) == 0


def test_parquet_traces_replay_like_csv(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"t_s": [2.5, 0.5, 1.0], "device": [1, 0, 1]})
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    process = build_arrivals(TraceArrivals(process="trace", path="t.parquet"), np.array([7, 8]),
                             stream(0, "d"), tmp_path)
    times, devices = process.draw(0.0, 3.0)
    assert times.tolist() == [0.5, 1.0, 2.5] and devices.tolist() == [7, 8, 8]


def test_mean_rates_per_device_are_the_long_run_means(tmp_path):
    """What the Stackelberg `a` is built from: a two-state chain's stationary mean, a
    cosine's mean (its amplitude averages out), a trace's arrivals over its span and devices."""
    bursty = BurstyArrivals(process="bursty", rate_low_per_s=0.5, rate_high_per_s=10.0,
                            mean_low_s=8.0, mean_high_s=2.0)
    diurnal = DiurnalArrivals(process="diurnal", rate_per_s=1.5, amplitude=0.8,
                              period_s=100.0, peak_s=25.0)
    (tmp_path / "t.csv").write_text("t_s,device\n1.0,0\n2.5,1\n4.0,0\n7.0,1\n9.0,0\n10.0,1\n")
    trace = TraceArrivals(process="trace", path="t.csv")
    rates = [build_arrivals(spec, np.arange(2), stream(0, "m"), tmp_path).mean_rate_per_s()
             for spec in (bursty, diurnal, trace)]
    assert rates == pytest.approx([(0.5 * 8.0 + 10.0 * 2.0) / 10.0, 1.5, 6 / 10.0 / 2],
                                  rel=1e-12)
