"""Whole runs: conservation, queueing theory, determinism, interruption, streamed tables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import netsim
from tests.conftest import ROOT, SCENARIOS, one_device, run_raw, write_scenario


def status_counts(tasks: pd.DataFrame) -> dict[str, int]:
    return tasks.status.value_counts().to_dict()


def test_conservation_at_the_horizon(small_run):
    tasks, counts = small_run.tasks, small_run.manifest["counts"]
    by_status = status_counts(tasks)
    assert counts["arrived"] == len(tasks) == tasks.task_id.nunique()
    assert counts["arrived"] == (counts["done"] + counts["deadline_missed"] + counts["dropped"]
                                 + counts["in_flight"])
    for status in ("done", "deadline_missed", "dropped", "in_flight"):
        assert by_status.get(status, 0) == counts[status]
    # 20 devices x 1/s x 60 s: Poisson with mean 1,200, so within 4 standard deviations
    # (tests/test_table_hashes.py pins the exact counts of every shipped scenario)
    assert abs(counts["arrived"] - 1200) < 4 * np.sqrt(1200)
    finished = tasks[tasks.status.isin(["done", "deadline_missed"])]
    assert (finished.t_done <= 60.0).all()
    assert np.allclose(finished.latency_s, finished.t_done - finished.t_arrival)
    stages = ["t_arrival", "t_local_done", "t_uplink_start", "t_uplink_done", "t_server_start",
              "t_server_done", "t_done"]
    assert (finished[stages].diff(axis=1).iloc[:, 1:] >= -1e-12).all().all()


def test_conservation_with_drops_and_congestion(tmp_path):
    raw = one_device(horizon_s=20.0, workload={"deadline_s": 0.05, "drop_late": True})
    raw["devices"][0]["count"] = 30
    raw["devices"][0]["placement"] = {"kind": "uniform"}
    raw["devices"][0]["arrivals"] = {"process": "poisson", "rate_per_s": 4.0}
    tables = run_raw(tmp_path, raw)
    counts = tables.manifest["counts"]
    assert counts["dropped"] > 0 and counts["in_flight"] >= 0
    assert counts["arrived"] == sum(status_counts(tables.tasks).values())
    assert counts["arrived"] == (counts["done"] + counts["deadline_missed"] + counts["dropped"]
                                 + counts["in_flight"])
    assert counts["deadline_missed"] == 0  # with drop_late, a late task is dropped instead


def test_mm1_mean_sojourn(tmp_path):
    """Poisson arrivals (50/s) to one core with exponential service (100/s): E[T] = 1/(mu-lam)."""
    lam, mu = 50.0, 100.0
    total_flops = 231_211_008 + 12 * 715_468_800 + 786_432
    raw = one_device(horizon_s=1500.0)
    raw["edge_servers"][0]["core_flops"] = total_flops * mu
    raw["base_stations"][0]["backhaul"] = {"rate_bps": 1e15, "latency_s": 0.0}
    raw["base_stations"][0]["bandwidth_hz"] = 1e9
    raw["devices"][0]["split_layer"] = 0
    raw["devices"][0]["arrivals"] = {"process": "poisson", "rate_per_s": lam}
    raw["workload"] = {"input_bytes": 1, "result_bytes": 1,
                       "flops_scale": {"exponential": {"mean": 1.0}}}
    raw["record"] = {"sample_s": 100.0, "device_sample_s": 100.0}
    tasks = run_raw(tmp_path, raw).tasks
    served = tasks.dropna(subset=["t_server_done"])
    served = served[served.t_arrival > 50.0]  # warm-up
    sojourn = served.t_server_done - served.t_uplink_done
    assert len(served) > 60_000
    assert sojourn.mean() == pytest.approx(1.0 / (mu - lam), rel=0.05)
    service = served.t_server_done - served.t_server_start
    assert service.mean() == pytest.approx(1.0 / mu, rel=0.02)


def test_same_seed_same_tables_other_seed_differs(tmp_path):
    loaded = netsim.load_scenario(SCENARIOS / "small.yaml", ["horizon_s=15"])
    netsim.run(loaded, tmp_path / "a", seed=3)
    netsim.run(loaded, tmp_path / "b", seed=3)
    netsim.run(loaded, tmp_path / "c", seed=4)
    a, b, c = (netsim.load_run(tmp_path / x) for x in "abc")
    for name in ("tasks", "devices", "links", "servers"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert len(a.tasks) != len(c.tasks) or not a.tasks.t_arrival.equals(c.tasks.t_arrival)
    assert not a.devices.x_m.equals(c.devices.x_m)


@pytest.mark.parametrize("scenario", ["paper_case_study", "auction_bandwidth"])
def test_same_seed_same_epochs_other_seed_differs(tmp_path, scenario):
    """The market's own draws (types, valuations, observation noise, a random solver's
    prices) come from seeded streams: the epochs table repeats exactly but for the measured
    solve times."""
    loaded = netsim.load_scenario(SCENARIOS / f"{scenario}.yaml", [
        "horizon_s=180", "market.solver={name: random, seed: 5}",
        "market.information=partial"])
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        netsim.run(loaded, tmp_path / name, seed=seed)
    a, b, c = (netsim.load_run(tmp_path / x).epochs.drop(columns="solve_time_s") for x in "abc")
    assert len(a) >= 3
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.leader_utility.to_numpy(), c.leader_utility.to_numpy()[:len(a)])


def test_tables_stream_in_row_groups(tmp_path):
    loaded = netsim.load_scenario(SCENARIOS / "small.yaml",
                                  ["horizon_s=20", "record.row_group_rows=100"])
    result = netsim.run(loaded, tmp_path / "run")
    parts = sorted((tmp_path / "run" / "tasks").glob("part-*.parquet"))
    rows = result.manifest["rows"]["tasks"]
    assert len(parts) == -(-rows // 100)  # ceil: full row groups plus the remainder
    assert len(netsim.load_run(tmp_path / "run").tasks) == rows


def test_interrupted_run_is_readable_and_marked(tmp_path):
    loaded = netsim.load_scenario(SCENARIOS / "small.yaml", ["record.row_group_rows=50"])

    def stop_at_20s(t, horizon):
        if t >= 20.0:
            raise KeyboardInterrupt

    result = netsim.Simulation(loaded, tmp_path / "run", progress=stop_at_20s).run()
    assert result.manifest["status"] == "interrupted"
    tables = netsim.load_run(tmp_path / "run")
    assert tables.manifest["status"] == "interrupted"
    assert 20.0 <= tables.manifest["sim_time_s"] < 21.0
    counts = tables.manifest["counts"]
    assert len(tables.tasks) == counts["arrived"] > 0
    assert tables.tasks.t_arrival.max() < 21.0
    assert len(tables.servers) > 0 and len(tables.devices) > 0


def test_failed_run_is_marked_and_reraised(tmp_path):
    loaded = netsim.load_scenario(SCENARIOS / "small.yaml")

    def explode(t, horizon):
        if t >= 5.0:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        netsim.Simulation(loaded, tmp_path / "run", progress=explode).run()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"] == "RuntimeError: boom"
    assert len(netsim.load_run(tmp_path / "run").tasks) == manifest["counts"]["arrived"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_signal_leaves_interrupted_run(tmp_path, signum):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "netsim.cli", "run", str(SCENARIOS / "urban_6g.yaml"),
           "--out", str(out), "--quiet", "--no-plots", "--set", "record.row_group_rows=2000"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 60
    while time.time() < deadline and not list((out / "tasks").glob("part-*.parquet")):
        time.sleep(0.1)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    tables = netsim.load_run(out)
    assert tables.manifest["status"] == "interrupted"
    assert 0 < tables.manifest["sim_time_s"] < 3600
    counts = tables.manifest["counts"]
    assert len(tables.tasks) == counts["arrived"] == (
        counts["done"] + counts["deadline_missed"] + counts["dropped"] + counts["in_flight"])
    assert "tasks:" in stdout.decode() and "interrupted" in stderr.decode()


def test_cli_run_prints_summary_and_writes_plots(tmp_path):
    path = write_scenario(tmp_path, one_device(horizon_s=5.0))
    proc = subprocess.run([sys.executable, "-m", "netsim.cli", "run", str(path), "--quiet",
                           "--out", str(tmp_path / "run"), "--seed", "2"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("tasks: ") and lines[1].startswith("latency: mean")
    assert lines[2].startswith("latency: p95") and lines[3].startswith("missed deadlines: 0")
    assert lines[4].startswith("uplink rate: mean")
    assert lines[5].startswith(f"outputs: {tmp_path / 'run'} (complete")
    assert netsim.load_run(tmp_path / "run").manifest["seed"] == 2
    for name in ("latency_cdf", "latency_over_time", "uplink_throughput", "server_utilisation"):
        assert (tmp_path / "run" / "plots" / f"{name}.png").stat().st_size > 5000


def test_an_empty_battery_ends_the_tasks_that_arrive_after_it(tmp_path):
    """Fully local tasks of 8,817,623,040 FLOPs at 1e-11 J/FLOP cost 0.0882 J each; a
    0.22 J battery runs three (the third takes it below zero) and the next two end
    battery_empty on arrival."""
    (tmp_path / "five.csv").write_text("t_s,device\n1.0,0\n2.0,0\n3.0,0\n4.0,0\n5.0,0\n")
    raw = one_device(horizon_s=6.0)
    raw["devices"][0].update(split_layer=12, battery_j=0.22, energy_per_flop_j=1e-11,
                             arrivals={"process": "trace", "path": "five.csv"})
    run = run_raw(tmp_path, raw)
    tasks = run.tasks.sort_values("t_arrival")
    assert tasks.status.astype(str).tolist() == ["done"] * 3 + ["battery_empty"] * 2
    empty = tasks[tasks.status == "battery_empty"]
    assert empty.t_done.tolist() == [4.0, 5.0] and (empty.device_energy_j == 0.0).all()
    assert run.manifest["counts"]["battery_empty"] == 2
    assert tasks.device_energy_j.sum() == pytest.approx(3 * 8_817_623_040 * 1e-11, rel=1e-12)
    last = run.devices.sort_values("t").iloc[-1]
    assert last.battery_j == pytest.approx(0.22 - 3 * 0.08817623040, rel=1e-9)
