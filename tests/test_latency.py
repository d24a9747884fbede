"""One device on a fixed channel: every stage of a task's latency equals the hand computation."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import netsim
from netsim.analysis.summary import summarise
from tests.conftest import one_device, run_raw, write_scenario

C = 299_792_458.0
STEM, LAYER, HEAD = 231_211_008, 715_468_800, 786_432
ACTIVATION, RESULT = 153_600, 2048


def umi_los_path_loss_db(d2d: float, fc_ghz: float, h_bs: float = 10.0, h_ut: float = 1.5):
    """3GPP TR 38.901 UMi street canyon LOS, written out independently of netsim."""
    d3d = math.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
    d_bp = 4 * (h_bs - 1) * (h_ut - 1) * fc_ghz * 1e9 / C
    assert d2d <= d_bp  # the instance stays before the breakpoint
    return 32.4 + 21 * math.log10(d3d) + 20 * math.log10(fc_ghz)


def shannon_bps(tx_dbm: float, loss_db: float, bandwidth_hz: float) -> float:
    noise_dbm = -174 + 7 + 10 * math.log10(bandwidth_hz)
    snr = 10 ** ((tx_dbm - loss_db - noise_dbm) / 10)
    return bandwidth_hz * math.log2(1 + snr)


def replaying(folder: Path, times: list[float], horizon_s: float) -> dict:
    """The one-device scenario with its tasks arriving at `times` (a replayed trace)."""
    folder.mkdir(exist_ok=True)
    rows = "".join(f"{time},0\n" for time in times)
    (folder / "arrivals.csv").write_text("t_s,device\n" + rows)
    raw = one_device(horizon_s=horizon_s)
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": "arrivals.csv"}
    return raw


@pytest.mark.parametrize("split", [0, 4, 11])
def test_latency_equals_hand_computation(tmp_path, split):
    raw = replaying(tmp_path, [1.03], 3.0)
    raw["devices"][0]["split_layer"] = split
    task = run_raw(tmp_path, raw).tasks.iloc[0]

    loss = umi_los_path_loss_db(100.0, 3.5)
    up_rate = shannon_bps(23.0, loss, 1e7)
    down_rate = shannon_bps(30.0, loss, 1e7)
    device_flops = (STEM + split * LAYER) if split else 0
    server_flops = STEM + 12 * LAYER + HEAD - device_flops
    up_bytes = ACTIVATION if split else 150_528
    local = device_flops / 1e11
    uplink = up_bytes * 8 / up_rate
    backhaul_up = up_bytes * 8 / 1e9 + 0.002
    server = server_flops / 1e12
    backhaul_down = RESULT * 8 / 1e9 + 0.002
    downlink = RESULT * 8 / down_rate
    assert task.t_local_done == pytest.approx(1.03 + local, abs=1e-12)
    assert task.t_uplink_done - task.t_uplink_start == pytest.approx(uplink, rel=1e-9)
    assert task.t_server_start == pytest.approx(task.t_uplink_done + backhaul_up, abs=1e-12)
    assert task.t_server_done - task.t_server_start == pytest.approx(server, rel=1e-12)
    expected = local + uplink + backhaul_up + server + backhaul_down + downlink
    assert task.latency_s == pytest.approx(expected, rel=1e-9)
    assert task.status == "done"
    assert task.bytes_up == up_bytes
    tx_energy = 10 ** (23 / 10) / 1000 * uplink
    assert task.device_energy_j == pytest.approx(device_flops * 1e-11 + tx_energy, rel=1e-9)


def test_fully_local_task_never_uses_the_network(tmp_path):
    raw = replaying(tmp_path, [0.5], 2.0)
    raw["devices"][0]["split_layer"] = 12
    task = run_raw(tmp_path, raw).tasks.iloc[0]
    assert task.latency_s == pytest.approx((STEM + 12 * LAYER + HEAD) / 1e11, rel=1e-12)
    assert task.bytes_up == 0 and math.isnan(task.t_uplink_done) and pd.isna(task.server)


def test_local_compute_is_fifo_on_the_device(tmp_path):
    raw = replaying(tmp_path, [0.5, 0.51], 2.0)
    raw["devices"][0]["split_layer"] = 12
    tasks = run_raw(tmp_path, raw).tasks.sort_values("t_arrival")
    service = (STEM + 12 * LAYER + HEAD) / 1e11
    assert tasks.t_done.tolist() == pytest.approx([0.5 + service, 0.5 + 2 * service])


def test_deadline_missed_and_dropped(tmp_path):
    (tmp_path / "one.csv").write_text("t_s,device\n0.5,0\n")
    raw = one_device(horizon_s=2.0, workload={"deadline_s": 0.01})
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": "one.csv"}
    late = run_raw(tmp_path, raw, out="late").tasks.iloc[0]
    assert late.status == "deadline_missed" and late.latency_s > 0.01
    raw["workload"]["drop_late"] = True
    dropped = run_raw(tmp_path, raw, out="dropped").tasks.iloc[0]
    assert dropped.status == "dropped" and math.isnan(dropped.latency_s)
    # dropped when it reached the base station, past its deadline: no server time spent
    assert math.isnan(dropped.t_server_start)
    assert dropped.t_done == pytest.approx(late.t_uplink_done)


def test_memory_caps_the_layers_a_device_runs(tmp_path):
    raw = replaying(tmp_path, [0.5], 2.0)
    raw["devices"][0]["split_layer"] = 12
    raw["devices"][0]["memory_bytes"] = 1.0e8  # 3 layers of 28.35 MB fit, 4 do not
    task = run_raw(tmp_path, raw).tasks.iloc[0]
    assert task.split_layer == 3
    assert task.t_local_done - 0.5 == pytest.approx((STEM + 3 * LAYER) / 1e11, rel=1e-12)
    assert task.bytes_up == ACTIVATION and task.status == "done"


def test_rate_trace_replaces_the_channel(tmp_path):
    """A replayed rate is the device's rate with the band to itself, piecewise constant."""
    (tmp_path / "one.csv").write_text("t_s,device\n1.0,0\n3.0,0\n")
    (tmp_path / "rates.csv").write_text("t_s,device,rate_bps\n0,0,2.0e6\n2.05,0,8.0e6\n")
    raw = one_device(horizon_s=6.0)
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": "one.csv"}
    raw["devices"][0]["split_layer"] = 0
    raw["channel"]["rate_trace"] = "rates.csv"
    tasks = run_raw(tmp_path, raw).tasks.sort_values("t_arrival")
    bits = 150_528 * 8
    durations = (tasks.t_uplink_done - tasks.t_uplink_start).tolist()
    assert durations[0] == pytest.approx(bits / 2.0e6, rel=1e-9)  # 0.60 s, inside [1, 2.05)
    assert durations[1] == pytest.approx(bits / 8.0e6, rel=1e-9)  # after the change at 2.05 s
    (tmp_path / "bad.csv").write_text("t_s,device,rate_bps\n0,0,-5\n")
    raw["channel"]["rate_trace"] = "bad.csv"
    with pytest.raises(netsim.ScenarioError, match=r"line 2, column rate_bps: -5\.0 must be > 0"):
        netsim.load_scenario(write_scenario(tmp_path, raw, "bad.yaml"))


def test_an_empty_battery_refuses_tasks_with_its_own_status(tmp_path):
    raw = one_device(horizon_s=10.0)
    # split at layer 4 costs (stem + 4 layers) x 1e-11 J = 0.0309 J a task on the device
    raw["devices"][0].update(battery_j=0.05, energy_per_flop_j=1e-11,
                             arrivals={"process": "poisson", "rate_per_s": 5.0})
    run = run_raw(tmp_path, raw)
    tasks = run.tasks
    first = tasks[tasks.t_arrival < 1.0]  # batteries are read once per 1 s interval
    assert len(first) >= 2 and (first.status != "battery_empty").all()
    later = tasks[tasks.t_arrival >= 1.0]  # two tasks already cost more than 0.05 J
    assert len(later) > 10 and (later.status == "battery_empty").all()
    counts = run.manifest["counts"]
    assert counts["battery_empty"] == len(later) and counts["dropped"] == 0
    lines = summarise(run).lines()
    assert f"battery empty: {len(later)} tasks refused by devices with an empty battery" in \
        "\n".join(lines)
    assert any(line.startswith("missed deadlines: 0 ") for line in lines)


def test_device_samples_show_the_battery_at_their_own_time(tmp_path):
    """Each device sample holds the energy used up to its time, not to when its part was
    written (pyarrow wraps numpy arrays without copying them)."""
    raw = one_device(horizon_s=40.0)
    raw["devices"][0].update(energy_per_flop_j=1e-11,
                             arrivals={"process": "poisson", "rate_per_s": 5.0})
    raw["record"] = {"device_sample_s": 10.0, "flush_s": 1000.0}
    run = run_raw(tmp_path, raw)
    samples = run.devices.sort_values("t")
    tasks = run.tasks
    for t, used, battery in zip(samples.t, samples.energy_used_j, samples.battery_j):
        # compute energy is charged when a 1 s interval starts, for the tasks arriving in it;
        # radio energy at the next interval's start: bounds from the tasks table
        charged = tasks[tasks.t_arrival < np.floor(t) + 1.0]
        assert used <= charged.device_energy_j.sum() + 1e-9
        assert used >= tasks[tasks.t_arrival < np.floor(t) - 1.0].device_energy_j.sum() - 1e-9
        assert used + battery == pytest.approx(samples.battery_j.iloc[0]
                                               + samples.energy_used_j.iloc[0])
    assert samples.energy_used_j.is_monotonic_increasing
    assert samples.energy_used_j.iloc[-1] > samples.energy_used_j.iloc[1] > 0


def test_a_separate_downlink_band_sets_the_download_time(tmp_path):
    """downlink_bandwidth_hz = 4e6 beside a 1e7 uplink: noise and rate follow each band."""
    raw = replaying(tmp_path, [1.03], 3.0)
    raw["base_stations"][0]["downlink_bandwidth_hz"] = 4.0e6
    task = run_raw(tmp_path, raw).tasks.iloc[0]
    loss = umi_los_path_loss_db(100.0, 3.5)
    assert task.t_uplink_done - task.t_uplink_start == pytest.approx(
        ACTIVATION * 8 / shannon_bps(23.0, loss, 1e7), rel=1e-9)
    downlink = RESULT * 8 / shannon_bps(30.0, loss, 4e6)
    backhaul_down = RESULT * 8 / 1e9 + 0.002
    assert task.t_done - task.t_server_done == pytest.approx(backhaul_down + downlink, rel=1e-9)


FULL_FLOPS = STEM + 12 * LAYER + HEAD


def two_full_offloads(tmp_path, **server_fields):
    """Two full offloads 1 ms apart to one edge core of 1e10 FLOP/s (0.88 s a task)."""
    raw = replaying(tmp_path, [1.0, 1.001], 5.0)
    raw["devices"][0]["split_layer"] = 0
    raw["edge_servers"][0].update(core_flops=1.0e10, **server_fields)
    return run_raw(tmp_path, raw).tasks.sort_values("t_arrival").reset_index(drop=True)


def test_a_task_that_would_wait_too_long_is_forwarded_to_the_cloud(tmp_path):
    tasks = two_full_offloads(tmp_path, cloud_offload_wait_s=0.1)
    first, second = tasks.iloc[0], tasks.iloc[1]
    backhaul_up = 150_528 * 8 / 1e9 + 0.002
    assert first.server == "es0"
    assert first.t_server_done - first.t_server_start == pytest.approx(FULL_FLOPS / 1e10)
    # the second would wait about 0.88 s > 0.1 s: over es0's cloud link (1e10 bit/s, 20 ms)
    # to the cloud's 1e13 FLOP/s cores, and its result back the same way
    assert second.server == "cloud"
    cloud_link = 150_528 * 8 / 1e10 + 0.02
    assert second.t_server_start == pytest.approx(second.t_uplink_done + backhaul_up
                                                  + cloud_link, abs=1e-12)
    assert second.t_server_done - second.t_server_start == pytest.approx(FULL_FLOPS / 1e13)
    loss = umi_los_path_loss_db(100.0, 3.5)
    back = (RESULT * 8 / 1e10 + 0.02) + (RESULT * 8 / 1e9 + 0.002)
    assert second.t_done - second.t_server_done == pytest.approx(
        back + RESULT * 8 / shannon_bps(30.0, loss, 1e7), rel=1e-9)
    # its result came back while the first task was still computing: a link sends what is
    # ready, not what was admitted first
    assert second.t_done < first.t_server_done
    # with a threshold above the wait, it queues at the edge behind the first
    kept = two_full_offloads(tmp_path / "kept", cloud_offload_wait_s=1.0).iloc[1]
    assert kept.server == "es0" and kept.t_server_start == pytest.approx(first.t_server_done)


def test_a_base_station_whose_server_is_the_cloud_sends_over_its_own_backhaul(tmp_path):
    raw = replaying(tmp_path, [1.0], 3.0)
    raw["devices"][0]["split_layer"] = 0
    raw["base_stations"][0]["server"] = "cloud"
    raw["cloud"] = {"cores": 4, "core_flops": 2.0e12}
    task = run_raw(tmp_path, raw).tasks.iloc[0]
    assert task.server == "cloud"
    assert task.t_server_start == pytest.approx(task.t_uplink_done + 150_528 * 8 / 1e9 + 0.002,
                                                abs=1e-12)
    assert task.t_server_done - task.t_server_start == pytest.approx(FULL_FLOPS / 2e12)
    loss = umi_los_path_loss_db(100.0, 3.5)
    assert task.t_done - task.t_server_done == pytest.approx(
        RESULT * 8 / 1e9 + 0.002 + RESULT * 8 / shannon_bps(30.0, loss, 1e7), rel=1e-9)


def test_a_short_task_result_does_not_wait_for_a_longer_one_admitted_before_it(tmp_path):
    """Two cores of 1e10 FLOP/s: a full offload (0.88 s) admitted first, then a task with one
    layer and the head left (0.072 s). The short one's result crosses the backhaul when it is
    made, not after the long one's."""
    (tmp_path / "long.csv").write_text("t_s,device\n1.0,0\n")
    (tmp_path / "short.csv").write_text("t_s,device\n1.0,0\n")
    raw = one_device(horizon_s=4.0)
    raw["edge_servers"][0].update(cores=2, core_flops=1.0e10)
    long_group, short_group = raw["devices"][0], copy.deepcopy(raw["devices"][0])
    long_group.update(group="long", split_layer=0,
                      arrivals={"process": "trace", "path": "long.csv"})
    short_group.update(group="short", split_layer=11, compute_flops=1.0e13,
                       arrivals={"process": "trace", "path": "short.csv"})
    raw["devices"].append(short_group)
    tasks = run_raw(tmp_path, raw).tasks.set_index("split_layer")
    long, short = tasks.loc[0], tasks.loc[11]
    assert long.t_server_start < short.t_server_start  # admitted first
    assert short.t_server_done - short.t_server_start == pytest.approx((LAYER + HEAD) / 1e10)
    loss = umi_los_path_loss_db(100.0, 3.5)
    assert short.t_done - short.t_server_done == pytest.approx(
        RESULT * 8 / 1e9 + 0.002 + RESULT * 8 / shannon_bps(30.0, loss, 1e7), rel=1e-9)
    assert short.t_done < long.t_server_done


def test_molecular_absorption_adds_its_db_per_km_over_the_ground_distance(tmp_path):
    """absorption_db_per_km = 100 at 100 m: 10 dB more loss, both ways."""
    raw = replaying(tmp_path, [1.03], 3.0)
    raw["channel"]["absorption_db_per_km"] = 100.0
    task = run_raw(tmp_path, raw).tasks.iloc[0]
    loss = umi_los_path_loss_db(100.0, 3.5) + 10.0
    assert task.t_uplink_done - task.t_uplink_start == pytest.approx(
        ACTIVATION * 8 / shannon_bps(23.0, loss, 1e7), rel=1e-9)
    assert task.t_done - task.t_server_done == pytest.approx(
        RESULT * 8 / 1e9 + 0.002 + RESULT * 8 / shannon_bps(30.0, loss, 1e7), rel=1e-9)
