"""Uplink band sharing through the whole engine against processor sharing: with Poisson
arrivals the mean time in an M/G/1-PS queue is x / (1 - rho) for jobs of length x
(Kleinrock, Queueing Systems II, 1976, sec. 4.4), insensitive to the job-size distribution.
Transfers here last 10 ms alone on the band, ten times shorter than the default 100 ms tick
(sharing the band for whole ticks would make them several times longer)."""

from __future__ import annotations

import pytest

from tests.conftest import one_device, run_raw
from tests.validation.conftest import batch_means

SE_CAP = 7.4  # bit/s/Hz: the default top spectral efficiency
BAND_HZ = 1e8
ALONE_S = 0.010


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_uplink_transfer_time_is_processor_sharing(tmp_path, rho):
    bits = ALONE_S * SE_CAP * BAND_HZ  # the rate is capped, so linear in the share
    devices = 1000
    lam = rho / ALONE_S
    raw = one_device(horizon_s=800.0 if rho == 0.5 else 500.0)
    raw["base_stations"][0].update(bandwidth_hz=BAND_HZ, position_m=[100.0, 100.0],
                                   backhaul={"rate_bps": 1e15, "latency_s": 0.0})
    raw["edge_servers"][0].update(cores=64, core_flops=1e16)
    raw["channel"] = {"los": "los", "shadowing_db": 0.0, "fading": "none",
                      "max_spectral_efficiency": SE_CAP}  # default tick_s: 0.1
    raw["devices"][0].update(
        count=devices, split_layer=0, placement={"kind": "disc", "center_m": [100.0, 100.0],
                                                 "radius_m": 15.0},
        arrivals={"process": "poisson", "rate_per_s": lam / devices})
    raw["workload"] = {"input_bytes": int(bits / 8), "result_bytes": 1}
    raw["record"] = {"sample_s": 10.0, "device_sample_s": 100.0}
    tasks = run_raw(tmp_path, raw).tasks.dropna(subset=["t_uplink_done"])
    tasks = tasks[tasks.t_arrival > 10.0]
    tasks = tasks.sort_values("t_uplink_start")
    transfer = (tasks.t_uplink_done - tasks.t_uplink_start).to_numpy()
    assert transfer.min() == pytest.approx(ALONE_S, rel=1e-6)  # alone: the whole band
    expected = ALONE_S / (1 - rho)
    mean, se = batch_means(transfer)
    assert abs(mean - expected) < 3 * se
    if rho == 0.5:  # the 3% (at 0.8 the run would need ten times the transfers)
        assert mean == pytest.approx(expected, rel=0.03)
        assert se < 0.012 * expected
