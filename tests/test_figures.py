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


def test_the_map_marks_the_handover_where_the_cell_changed(tmp_path):
    raw = one_device(horizon_s=20.0)
    raw["area"] = {"width_m": 200.0, "height_m": 200.0}
    raw["base_stations"].append({**raw["base_stations"][0], "id": "bs1",
                                 "position_m": [150.0, 100.0]})
    raw["devices"][0].update(placement={"kind": "points", "points_m": [[20.0, 100.0]]},
                             mobility={"model": "waypoints", "points_m": [[180.0, 100.0]],
                                       "speed_mps": 10.0})
    raw["channel"]["interference"] = "none"
    run = run_raw(tmp_path, raw)
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
