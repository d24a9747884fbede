"""AIGC generation services: a request's latency is its steps' work at the server plus the
radio and links; more steps take longer and give better images along the published curve;
a loaded server that lowers its steps cuts latency; GPU memory caps the requests served at
once; the image's downlink integrates a rate that changes during the transfer."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.workload.profiles import BUILTIN_DIR, load_profile
from tests.conftest import one_device, run_raw
from tests.test_latency import shannon_bps, umi_los_path_loss_db

FLOPS_PER_STEP = 2 * 2 * 339e9  # BK-SDM Table 1: 339G MACs per U-Net pass, 2 passes a step
# DDIM (eta = 0) on CIFAR10, Song et al. 2021, Table 1: FID at 10, 20, 50, 100, 1000 steps
DDIM_STEPS = [10, 20, 50, 100, 1000]
DDIM_FID = [13.36, 6.84, 4.67, 4.16, 4.04]


def requests(tmp_path, times, **aigc) -> dict:
    (tmp_path / "arrivals.csv").write_text(
        "t_s,device\n" + "".join(f"{t},0\n" for t in times))
    raw = one_device(horizon_s=60.0, workload={"kind": "aigc", "aigc": aigc})
    raw["devices"][0].update(arrivals={"process": "trace", "path": "arrivals.csv"},
                             split_layer=0)
    return raw


def test_the_quality_curve_follows_the_published_figures():
    sd = load_profile(BUILTIN_DIR / "sd_v1_5_512.yaml")
    published = min(DDIM_FID) / np.array(DDIM_FID)
    assert np.abs(sd.quality(DDIM_STEPS) - published).max() < 0.04
    steps = np.arange(1, 301)  # beyond, 1 - q is below double precision
    q = sd.quality(steps)
    assert (np.diff(q) > 0).all() and (np.diff(q, 2) < 0).all()  # rising, concave
    assert sd.flops_per_step == FLOPS_PER_STEP


@pytest.mark.parametrize("steps", [10, 40])
def test_more_steps_take_longer_and_look_better(tmp_path, steps):
    run = run_raw(tmp_path, requests(tmp_path, [1.0], steps=steps))
    task, image = run.tasks.iloc[0], run.generations.iloc[0]
    assert task.server == "es0" and task.status == "done" and task.bytes_up == 512
    # the edge server's core runs 1e12 FLOPS: 1.356 s a step
    assert task.t_server_done - task.t_server_start == pytest.approx(
        steps * FLOPS_PER_STEP / 1e12, rel=1e-12)
    assert (image.task_id, image.steps) == (task.task_id, steps)
    assert image.quality == pytest.approx(1 - np.exp(-steps / 24.43), abs=2e-3)
    loss = umi_los_path_loss_db(100.0, 3.5)
    radio = 512 * 8 / shannon_bps(23.0, loss, 1e7) + 786_432 * 8 / shannon_bps(30.0, loss, 1e7)
    links = 512 * 8 / 1e9 + 786_432 * 8 / 1e9 + 0.004
    assert task.latency_s == pytest.approx(radio + links + steps * FLOPS_PER_STEP / 1e12,
                                           rel=1e-9)


def test_a_loaded_server_that_lowers_its_steps_cuts_latency(tmp_path):
    raw = requests(tmp_path, [1.0, 1.0, 1.0], steps=10)
    plain = run_raw(tmp_path, raw, out="plain")
    raw["workload"]["aigc"]["lower_steps"] = {"wait_above_s": 0.5, "steps": 2}
    lowered = run_raw(tmp_path, raw, out="lowered")
    full, low = 10 * FLOPS_PER_STEP / 1e12, 2 * FLOPS_PER_STEP / 1e12
    service = lambda run: (run.tasks.sort_values("task_id").eval(  # noqa: E731
        "t_server_done - t_server_start").tolist())
    assert service(plain) == pytest.approx([full, full, full], rel=1e-12)
    # the first finds the core free; the next two would wait 13.56 s: they run 2 steps
    assert service(lowered) == pytest.approx([full, low, low], rel=1e-12)
    assert lowered.generations.sort_values("task_id").steps.tolist() == [10, 2, 2]
    assert lowered.tasks.latency_s.mean() < plain.tasks.latency_s.mean() - 8.0
    assert lowered.generations.quality.mean() < plain.generations.quality.mean()


def test_gpu_memory_caps_the_generations_served_at_once(tmp_path):
    raw = requests(tmp_path, [1.0, 1.0, 1.0], steps=5, request_memory_bytes=1_000_000_000)
    raw["edge_servers"][0].update(cores=8, gpu_memory_bytes=4_000_000_000)
    # 4e9 - 1.72e9 of parameters leaves room for 2 requests of 1e9: the third queues
    tasks = run_raw(tmp_path, raw).tasks.sort_values("t_server_start")
    assert tasks.t_server_start.iloc[2] == pytest.approx(tasks.t_server_done.iloc[0])
    assert tasks.t_server_start.iloc[1] < tasks.t_server_done.iloc[0]


def test_a_device_with_the_memory_may_generate_on_its_own(tmp_path):
    raw = requests(tmp_path, [1.0], steps=4)
    raw["devices"][0].update(split_layer=1, compute_flops=2.0e12, memory_bytes=8.0e9)
    run = run_raw(tmp_path, raw)
    task = run.tasks.iloc[0]
    assert task.latency_s == pytest.approx(4 * FLOPS_PER_STEP / 2e12, rel=1e-12)
    assert task.bytes_up == 0 and run.generations.steps.tolist() == [4]


def test_the_image_download_integrates_a_rate_that_changes_midway(tmp_path):
    raw = requests(tmp_path, [1.0], steps=1, result_bytes=20_000_000)
    t_change = 30 * 0.1  # the tick at which the degradation starts
    raw["events"] = [{"at_s": 3.0, "kind": "channel_degrade", "loss_db": 20.0}]
    task = run_raw(tmp_path, raw).tasks.iloc[0]
    loss = umi_los_path_loss_db(100.0, 3.5)
    before, after = shannon_bps(30.0, loss, 1e7), shannon_bps(30.0, loss + 20.0, 1e7)
    start = task.t_server_done + 20_000_000 * 8 / 1e9 + 0.002  # the result at the station
    assert start < t_change
    sent_before = before * (t_change - start)
    assert sent_before < 160e6  # the change falls inside the transfer
    assert task.t_done == pytest.approx(t_change + (160e6 - sent_before) / after, rel=1e-9)


def test_the_report_plots_quality_against_latency(tmp_path):
    from netsim.analysis.report import report

    raw = requests(tmp_path, [1.0, 1.0, 1.0, 2.0], steps=10,
                   lower_steps={"wait_above_s": 0.5, "steps": 2})
    run_raw(tmp_path, raw)
    assert tmp_path / "run" / "report" / "quality_latency.png" in report(tmp_path / "run")
