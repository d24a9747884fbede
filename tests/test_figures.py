"""The run's figures draw what the tables hold: the stage breakdown equals the stage means
computed from the tasks table, the map's handovers are where a device's serving cell
changed, and a market run's own plots include its market figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import netsim
from netsim.analysis.figures import latency_breakdown, topology_map
from tests.conftest import SCENARIOS, one_device, run_raw


def test_the_stage_breakdown_equals_the_tables(tmp_path):
    run_dir = tmp_path / "run"
    netsim.run(netsim.load_scenario(SCENARIOS / "urban_6g.yaml", ["horizon_s=60"]), run_dir)
    run = netsim.load_run(run_dir)
    _, table = latency_breakdown(run, tmp_path / "breakdown.png")
    tasks = run.tasks[run.tasks.status.isin(["done", "deadline_missed"])]
    stages = {"local compute": tasks.t_local_done - tasks.t_arrival,
              "uplink": tasks.t_uplink_done - tasks.t_uplink_start,
              "server compute": tasks.t_server_done - tasks.t_server_start}
    for layer, rows in tasks.groupby("split_layer"):
        for stage, seconds in stages.items():
            assert table.loc[layer, stage] == pytest.approx(
                seconds[rows.index].fillna(0.0).mean(), rel=1e-9, abs=1e-15)
        assert table.loc[layer, "tasks"] == len(rows)
    # the stages add up to the latency
    total = table[[c for c in table.columns if c != "tasks"]].sum(axis=1)
    mean_latency = tasks.groupby("split_layer").latency_s.mean()
    assert np.allclose(total.to_numpy(), mean_latency.to_numpy(), rtol=1e-9)


def drive_past_two_stations() -> dict:
    """One device driving at 10 m/s from (20, 100) to (180, 100), past bs0 at (50, 100)
    and bs1 at (150, 100)."""
    raw = one_device(horizon_s=20.0)
    raw["area"] = {"width_m": 200.0, "height_m": 200.0}
    raw["base_stations"].append({**raw["base_stations"][0], "id": "bs1",
                                 "position_m": [150.0, 100.0]})
    raw["devices"][0].update(placement={"kind": "points", "points_m": [[20.0, 100.0]]},
                             mobility={"model": "waypoints", "points_m": [[180.0, 100.0]],
                                       "speed_mps": 10.0})
    raw["channel"]["interference"] = "none"
    return raw


def test_the_map_marks_the_handover_where_the_cell_changed(tmp_path):
    run = run_raw(tmp_path, drive_past_two_stations())
    _, handovers = topology_map(run, tmp_path / "map.png")
    assert run.manifest["counts"]["handovers"] == 1
    assert handovers[["from_bs", "to_bs"]].values.tolist() == [["bs0", "bs1"]]
    # past the midpoint (100 m) by the 3 dB margin, sampled every second (10 m)
    assert 100.0 < handovers.x_m[0] < 150.0
    devices = run.devices.sort_values("t")
    first_on_bs1 = devices[devices.bs == "bs1"].iloc[0]
    assert (handovers.t[0], handovers.x_m[0]) == (first_on_bs1.t, first_on_bs1.x_m)
    assert pd.read_csv(tmp_path / "map.csv").shape[0] == 1


def test_a_market_run_plots_its_market(tmp_path):
    netsim.run(netsim.load_scenario(SCENARIOS / "contract_aigc.yaml", ["horizon_s=120"]),
               tmp_path / "run")
    from netsim.analysis.plots import plot_run

    written = {p.name for p in plot_run(netsim.load_run(tmp_path / "run"), tmp_path / "p")}
    assert {"market.png", "topology.png", "latency_breakdown.png"} <= written


def test_the_radio_map_is_the_link_budget_at_each_point(tmp_path):
    from netsim.analysis.figures import radio_map
    from tests.test_latency import umi_los_path_loss_db

    run = run_raw(tmp_path, one_device(horizon_s=2.0))
    _, maps = radio_map(run, tmp_path / "rem.png", points=81)  # a 2.5 m grid over 200 m
    grid = maps[3.5]
    i, j = 40, 60  # y = 100 m, x = 150 m: 100 m from the station at (50, 100)
    assert (grid["x_m"][j], grid["y_m"][i]) == (150.0, 100.0)
    noise_dbm = -174 + 7 + 10 * np.log10(1e7)
    expected = 30.0 - umi_los_path_loss_db(100.0, 3.5) - noise_dbm
    assert grid["snr_db"][i, j] == pytest.approx(expected, abs=1e-9)
    assert np.array_equal(grid["sinr_db"], grid["snr_db"])  # one station: no interference


def test_a_timeline_shows_the_handover_when_the_map_does(tmp_path):
    from netsim.analysis.figures import device_timelines

    run = run_raw(tmp_path, drive_past_two_stations())
    _, samples = device_timelines(run, tmp_path / "timeline.png", (0,))
    _, handovers = topology_map(run, tmp_path / "map.png")
    cells = samples.bs.tolist()
    changes = [k for k in range(1, len(cells)) if cells[k] != cells[k - 1]]
    assert len(changes) == 1 and samples.t.iloc[changes[0]] == handovers.t[0]
    assert (samples.kind == "sample").all() and samples.t.is_monotonic_increasing


def test_the_animation_has_one_frame_per_sample(tmp_path):
    from PIL import Image

    from netsim.analysis.figures import topology_animation

    run = run_raw(tmp_path, one_device(horizon_s=12.0))  # devices sampled every 1 s
    path, frames = topology_animation(run, tmp_path / "topology.gif")
    sample_times = run.devices[run.devices.kind == "sample"].t.nunique()
    assert frames == sample_times == 13  # 0, 1, ..., 12 s
    with Image.open(path) as gif:
        assert gif.n_frames == frames
