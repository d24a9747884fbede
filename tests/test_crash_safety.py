"""Crash safety: a killed run is reported as crashed and keeps what it wrote, output folders
never mix two runs, stop requests are honoured within a second, sweeps stop when asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import netsim
from netsim.record.load import ForeignPartError
from netsim.record.run_folder import OutputFolderError
from tests.conftest import SCENARIOS

SMALL = str(SCENARIOS / "small.yaml")
URBAN = str(SCENARIOS / "urban_6g.yaml")


def _netsim(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "netsim.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _wait_for(predicate, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


@pytest.mark.parametrize("simulated_s", [40.0, 200.0])
def test_a_killed_run_is_crashed_and_keeps_its_flushed_rows(tmp_path, simulated_s):
    out = tmp_path / "run"
    flush_s, device_s = 20.0, 5.0
    proc = _netsim("run", URBAN, "--out", str(out), "--quiet", "--no-plots",
                   "--set", f"record.flush_s={flush_s}", "--set",
                   f"record.device_sample_s={device_s}")
    # kill once a heartbeat has reported this far (heartbeats come every 2 s of wall time)
    _wait_for(lambda: _manifest(out).get("sim_time_s", 0.0) >= simulated_s or
              proc.poll() is not None)
    reached = _manifest(out)["sim_time_s"]
    proc.kill()
    proc.wait()
    assert _manifest(out)["status"] == "running"  # what the dead process left
    status = subprocess.run([sys.executable, "-m", "netsim.cli", "status", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and f"{out}: crashed" in status.stdout
    tables = netsim.load_run(out)  # every table written so far reads
    assert tables.manifest["status"] == "crashed"
    # the documented bound: sampled rows up to flush_s (and one sample period) before the
    # last heartbeat are on disk
    assert tables.devices.t.max() >= reached - flush_s - device_s
    assert tables.links.t.max() >= reached - flush_s - 1.0
    assert len(tables.servers) > 0


def test_a_second_run_into_a_folder_is_refused_and_overwrite_leaves_no_trace(tmp_path):
    out = tmp_path / "run"
    first = subprocess.run([sys.executable, "-m", "netsim.cli", "run", SMALL, "--out", str(out),
                            "--quiet", "--set", "horizon_s=10"], capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0 and (out / "plots").exists()
    first_id = _manifest(out)["run_id"]
    again = subprocess.run([sys.executable, "-m", "netsim.cli", "run", SMALL, "--out", str(out),
                            "--quiet", "--no-plots"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "holds another run" in again.stderr
    assert "--overwrite" in again.stderr and _manifest(out)["run_id"] == first_id
    with pytest.raises(OutputFolderError, match="holds another run"):
        netsim.run(netsim.load_scenario(SMALL), out)
    replaced = subprocess.run([sys.executable, "-m", "netsim.cli", "run", SMALL, "--out",
                               str(out), "--quiet", "--no-plots", "--overwrite", "--set",
                               "seed=5"], capture_output=True, text=True, timeout=300)
    assert replaced.returncode == 0, replaced.stderr
    second_id = _manifest(out)["run_id"]
    assert second_id != first_id and not (out / "plots").exists()
    parts = list(out.rglob("part-*.parquet"))
    assert parts and all(second_id in p.name for p in parts)
    assert netsim.load_run(out).manifest["seed"] == 5


def test_two_runs_at_once_cannot_share_a_folder(tmp_path):
    out = tmp_path / "run"
    long_run = _netsim("run", URBAN, "--out", str(out), "--quiet", "--no-plots")
    try:
        _wait_for(lambda: _manifest(out).get("status") == "running")
        second = subprocess.run([sys.executable, "-m", "netsim.cli", "run", SMALL, "--out",
                                 str(out), "--quiet", "--no-plots", "--overwrite"],
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 2
        assert "another netsim run is writing here" in second.stderr
    finally:
        long_run.kill()
        long_run.wait()


def test_mixed_parts_are_refused_by_load_run(tmp_path):
    netsim.run(netsim.load_scenario(SMALL, ["horizon_s=5"]), tmp_path / "a")
    netsim.run(netsim.load_scenario(SMALL, ["horizon_s=5"]), tmp_path / "b")
    stray = next((tmp_path / "b" / "tasks").glob("part-*.parquet"))
    stray.rename(tmp_path / "a" / "tasks" / stray.name.replace("00000", "00001"))
    with pytest.raises(ForeignPartError, match="a part of another run"):
        netsim.load_run(tmp_path / "a")


def test_a_stop_request_inside_a_long_tick_is_forced_within_a_second(tmp_path):
    sim = netsim.Simulation(netsim.load_scenario(SMALL), tmp_path / "run")
    original = sim._tick

    def slow_tick(k, t0, t1):  # a tick that would take a minute
        original(k, t0, t1)
        if k == 5:
            end = time.monotonic() + 60.0
            while time.monotonic() < end:
                time.sleep(0.01)

    sim._tick = slow_tick
    sent = []
    timer = threading.Timer(1.0, lambda: (sent.append(time.monotonic()),
                                          os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    result = sim.run()
    stopped = time.monotonic()
    assert result.manifest["status"] == "interrupted"
    assert stopped - sent[0] < 1.0 + 0.5  # FORCED_STOP_S, plus slack for a busy machine
    tables = netsim.load_run(tmp_path / "run")
    counts = tables.manifest["counts"]
    assert counts["arrived"] == sum(counts[s] for s in
                                    ("done", "deadline_missed", "dropped", "in_flight",
                                     "battery_empty"))


def test_a_failure_while_finishing_marks_the_run_failed(tmp_path, monkeypatch):
    sim = netsim.Simulation(netsim.load_scenario(SMALL, ["horizon_s=5"]), tmp_path / "run")

    def broken_close():
        raise MemoryError("no memory for the last flush")

    monkeypatch.setattr(sim.task_log, "close", broken_close)
    with pytest.raises(MemoryError):
        sim.run()
    manifest = _manifest(tmp_path / "run")
    assert manifest["status"] == "failed"
    assert "while finishing: MemoryError: no memory for the last flush" in manifest["error"]
    netsim.run(netsim.load_scenario(SMALL, ["horizon_s=5"]), tmp_path / "next")  # unlocked


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("ignored_at_start", [False, True])
def test_ctrl_c_during_a_sweep_cancels_queued_runs_and_keeps_finished_ones(tmp_path,
                                                                           ignored_at_start):
    """Also when the sweep starts with SIGINT ignored (a script's background job, a test
    runner's worker), where Python installs no KeyboardInterrupt of its own."""
    out = tmp_path / "sweep"
    # one short run, then long ones: Ctrl-C lands while they run, however busy the machine
    proc = _netsim("sweep", SMALL, "--set", "horizon_s=20,600,601,602,603,604,605,606",
                   "--seeds", "0", "--workers", "1", "--out", str(out),
                   start_new_session=True,
                   preexec_fn=_ignore_sigint if ignored_at_start else None)
    results = out / "results.parquet"
    _wait_for(lambda: results.exists() and len(pd.read_parquet(results)) >= 1)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "queued runs cancelled" in stderr
    table = pd.read_parquet(results)
    finished = sorted(p.parent.name for p in out.glob("run-*/manifest.json")
                      if _manifest(p.parent).get("status") == "complete")
    assert sorted(table.run_id) == finished
    assert 1 <= len(table) < 8
    assert (table.status == "complete").all()


def test_ctrl_c_stops_a_training_of_several_seeds_and_each_keeps_its_last_epoch(tmp_path):
    """Seeds train on threads, which a signal cannot stop: each stops at the end of its
    epoch, saving its checkpoint and curves. Started with SIGINT ignored, as a background
    job is."""
    out = tmp_path / "train"
    proc = _netsim("train", str(SCENARIOS / "paper_case_study.yaml"), "--solver", "diffusion",
                   "--epochs", "100000", "--seeds", "0..1", "--states", "64", "--batch", "64",
                   "--save-every", "3", "--out", str(out), start_new_session=True,
                   preexec_fn=_ignore_sigint)
    curves = out / "curves-diffusion.parquet"
    _wait_for(curves.exists)  # the first seed to finish three epochs saved
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "training stopped" in stderr
    assert time.monotonic() - sent < 30.0
    table = pd.read_parquet(curves)
    for seed in (0, 1):
        epochs = table[table.seed == seed].epoch
        assert epochs.tolist() == list(range(len(epochs))) and len(epochs) >= 1
        assert (out / f"diffusion-seed{seed}.safetensors").exists()


def test_a_stop_request_during_a_long_band_sharing_kernel_is_forced_within_a_second(
        tmp_path, monkeypatch):
    from netsim.network import radio

    def kernel_that_takes_a_minute(*args):  # a compiled kernel holds no GIL: nor does sleep
        time.sleep(60.0)

    monkeypatch.setattr(radio, "THREADED_MEMBERS", 1)
    monkeypatch.setattr(radio, "share_bands", kernel_that_takes_a_minute)
    sim = netsim.Simulation(netsim.load_scenario(SMALL), tmp_path / "run")
    sent = []
    timer = threading.Timer(1.0, lambda: (sent.append(time.monotonic()),
                                          os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    result = sim.run()
    assert result.manifest["status"] == "interrupted"
    assert time.monotonic() - sent[0] < 1.0 + 0.5
