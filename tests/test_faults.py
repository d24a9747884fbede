"""Timed faults: an edge server outage re-routes or drops its tasks during the outage and not
after, a base station outage forces handovers (or leaves its devices waiting), links held
down delay what crosses them, a flash crowd multiplies arrivals, and every task ends in
exactly one final status through all of it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tests.conftest import one_device, run_raw

FINAL = {"done", "deadline_missed", "dropped", "battery_empty"}


def traced(tmp_path, times, **changes) -> dict:
    """The one-device scenario, fully offloading, with tasks arriving at `times`; the edge
    server is slow (0.88 s a task) so that a task can be running when it fails."""
    (tmp_path / "arrivals.csv").write_text(
        "t_s,device\n" + "".join(f"{t},0\n" for t in times))
    raw = one_device(horizon_s=60.0, **changes)
    raw["devices"][0].update(arrivals={"process": "trace", "path": "arrivals.csv"},
                             split_layer=0)
    raw["edge_servers"][0]["core_flops"] = 1.0e10
    return raw


def by_arrival(tasks):
    return tasks.sort_values("t_arrival").set_index("t_arrival")


@pytest.mark.parametrize("policy", ["reroute", "drop"])
def test_a_server_outage_affects_its_tasks_during_the_outage_only(tmp_path, policy):
    raw = traced(tmp_path, [5.0, 19.5, 25.0, 45.0])
    raw["cloud"] = {"cores": 4, "core_flops": 5.0e9}  # far, and slower than the edge
    raw["events"] = [{"at_s": 20.0, "until_s": 40.0, "kind": "server_down", "target": "es0",
                      "policy": policy}]
    run = run_raw(tmp_path, raw)
    tasks = by_arrival(run.tasks)
    before, running, during, after = (tasks.loc[t] for t in (5.0, 19.5, 25.0, 45.0))
    assert before.server == "es0" and after.server == "es0"
    # the same device, channel and idle server: the same latency before and after
    assert after.latency_s == pytest.approx(before.latency_s, rel=1e-9)
    # the task at 19.5 s was running at 20 s (0.88 s of service): the fault took it
    if policy == "reroute":
        assert running.server == "cloud" and running.status == "done"
        assert running.t_server_start >= 20.0 + 0.02  # crossed the 20 ms link to the cloud
        assert during.server == "cloud" and during.status == "done"
        # the detour: 20 ms to the cloud and back, and twice the service time
        assert during.latency_s == pytest.approx(before.latency_s + 0.04 + 8.8e9 / 1e10,
                                                 rel=0.01)
    else:
        assert running.status == "dropped" and running.t_done == 20.0
        assert during.status == "dropped"
    assert set(run.tasks.status) <= FINAL
    events = run.events
    assert events.phase.tolist() == ["start", "end"] and events.t.tolist() == [20.0, 40.0]
    start = events.iloc[0]
    assert (start.tasks_rerouted, start.tasks_dropped) == ((1, 0) if policy == "reroute"
                                                           else (0, 1))


def two_stations(tmp_path, times) -> dict:
    raw = traced(tmp_path, times)
    raw["base_stations"].append({**copy.deepcopy(raw["base_stations"][0]), "id": "bs1",
                                 "position_m": [190.0, 100.0]})
    raw["devices"][0]["placement"] = {"kind": "points", "points_m": [[100.0, 100.0]]}
    raw["channel"]["interference"] = "none"
    return raw


def test_a_base_station_outage_forces_a_handover_and_back(tmp_path):
    raw = two_stations(tmp_path, [5.0, 15.0, 35.0])
    raw["events"] = [{"at_s": 10.0, "until_s": 30.0, "kind": "base_station_down",
                      "target": "bs0"}]
    run = run_raw(tmp_path, raw)
    tasks = by_arrival(run.tasks)
    assert tasks.bs.tolist() == ["bs0", "bs1", "bs0"]  # bs0 is 50 m away, bs1 90 m
    assert run.events.handovers.tolist() == [1, 1]
    assert run.manifest["counts"]["handovers"] == 2
    devices = run.devices
    assert set(devices[(devices.t > 10) & (devices.t < 30)].bs) == {"bs1"}
    assert set(run.tasks.status) == {"done"}


def test_without_another_station_devices_wait_for_theirs(tmp_path):
    raw = traced(tmp_path, [5.0, 15.0])
    raw["events"] = [{"at_s": 10.0, "until_s": 30.0, "kind": "base_station_down",
                      "target": "bs0"}]
    tasks = by_arrival(run_raw(tmp_path, raw).tasks)
    assert tasks.loc[15.0].t_uplink_done > 30.0  # no link until bs0 is back
    assert tasks.loc[15.0].status == "done"
    assert tasks.loc[5.0].t_uplink_done < 6.0


def test_a_held_link_delays_what_crosses_it(tmp_path):
    raw = traced(tmp_path, [5.0, 15.0])
    raw["events"] = [{"at_s": 10.0, "until_s": 20.0, "kind": "link_down",
                      "target": "bs0-es0"}]
    tasks = by_arrival(run_raw(tmp_path, raw).tasks)
    # the backhaul's FIFO opens at 20 s: serialisation (150,528 B at 1 Gbit/s) + 2 ms
    assert tasks.loc[15.0].t_server_start == pytest.approx(20.0 + 150_528 * 8 / 1e9 + 0.002,
                                                           rel=1e-12)
    assert tasks.loc[5.0].t_server_start < 5.1


def test_a_flash_crowd_multiplies_arrivals_in_its_window(tmp_path):
    raw = one_device(horizon_s=60.0)
    raw["devices"][0].update(count=20, arrivals={"process": "poisson", "rate_per_s": 1.0})
    raw["devices"][0]["placement"] = {"kind": "disc", "center_m": [150.0, 100.0],
                                      "radius_m": 20.0}
    raw["edge_servers"][0]["cores"] = 64
    raw["events"] = [{"at_s": 20.0, "until_s": 40.0, "kind": "arrival_scale", "target": "d",
                      "factor": 3.0}]
    t = run_raw(tmp_path, raw).tasks.t_arrival
    outside, inside = ((t < 20) | (t >= 40)).sum(), ((t >= 20) & (t < 40)).sum()
    # 20 devices x 1/s: 800 expected outside (40 s), 1,200 inside (20 s x 3); 5 sigma
    assert abs(outside - 800) < 5 * np.sqrt(800)
    assert abs(inside - 1200) < 5 * np.sqrt(1200)


def test_every_task_ends_once_through_every_kind_of_fault(tmp_path):
    raw = two_stations(tmp_path, [])
    raw["devices"][0].update(count=30, arrivals={"process": "poisson", "rate_per_s": 2.0},
                             placement={"kind": "uniform"},
                             mobility={"model": "random_waypoint", "speed_mps": [5, 10]})
    raw["workload"] = {"deadline_s": 2.0, "drop_late": True}
    raw["edge_servers"][0].update(cores=4, core_flops=2.0e10)
    raw["events"] = [
        {"at_s": 5.0, "until_s": 15.0, "kind": "server_down", "target": "es0"},
        {"at_s": 12.0, "until_s": 20.0, "kind": "server_down", "target": "es0",
         "policy": "drop"},
        {"at_s": 8.0, "until_s": 25.0, "kind": "base_station_down", "target": "bs1"},
        {"at_s": 18.0, "until_s": 22.0, "kind": "link_down", "target": "es0-cloud"},
        {"at_s": 30.0, "kind": "link_scale", "target": "bs0-es0", "factor": 0.001},
        {"at_s": 35.0, "until_s": 45.0, "kind": "arrival_scale", "target": "d",
         "factor": 4.0},
        {"at_s": 40.0, "until_s": 50.0, "kind": "channel_degrade", "loss_db": 30.0,
         "region_m": [[0, 0], [100, 200]]},
        {"at_s": 50.0, "kind": "base_station_down", "target": "bs0"},
    ]
    run = run_raw(tmp_path, raw)
    tasks, counts = run.tasks, run.manifest["counts"]
    assert tasks.task_id.is_unique and len(tasks) == counts["arrived"]
    statuses = tasks.status.value_counts().to_dict()
    for status in (*FINAL, "in_flight"):
        assert statuses.get(status, 0) == counts[status]
    assert sum(counts[s] for s in (*FINAL, "in_flight")) == counts["arrived"]
    ended = tasks[tasks.status.isin(FINAL)]
    assert ended.t_done.notna().all() and (ended.t_done >= ended.t_arrival).all()
    assert counts["dropped"] > 0 and counts["done"] > 0
    assert len(run.events) == 14  # 8 starts, 6 ends
    # overlapping outages: es0 serves nothing from 5 s until the later one ends at 20 s
    at_edge = tasks[tasks.server == "es0"]
    assert not ((at_edge.t_server_start >= 5.0) & (at_edge.t_server_start < 20.0)).any()
    assert (at_edge.t_server_start >= 20.0).any()


def test_the_report_shades_each_fault_over_its_span(tmp_path):
    from netsim.analysis.plots import fault_spans
    from netsim.analysis.report import report

    raw = traced(tmp_path, [5.0, 25.0])
    raw["events"] = [{"at_s": 20.0, "until_s": 40.0, "kind": "server_down", "target": "es0"},
                     {"at_s": 50.0, "kind": "link_scale", "target": "es0-cloud",
                      "factor": 0.5}]
    run = run_raw(tmp_path, raw)
    assert fault_spans(run) == [(20.0, 40.0, "server_down es0"),
                                (50.0, 60.0, "link_scale es0-cloud")]
    written = report(tmp_path / "run")
    assert (tmp_path / "run" / "report" / "latency_over_time.png") in written
