"""Steady links (no fading) let the engine take the ticks between changes as one step: the
same model, so the same tables as tick by tick, up to floating-point sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import netsim
from netsim.engine import Simulation
from netsim.network.radio_links import RadioLinks
from tests.conftest import one_device, write_scenario


def busy_network() -> dict:
    """20 static devices sharing one band, with queues at the server and a market."""
    raw = one_device(horizon_s=30.0)
    raw["devices"][0].update(count=20, arrivals={"process": "poisson", "rate_per_s": 3.0},
                             placement={"kind": "uniform"})
    raw["market"] = {"mechanism": "stackelberg", "solver": "exact", "epoch_s": 7.3}
    return raw


def run(tmp_path, raw, name, steps_allowed: bool, monkeypatch) -> tuple[dict, int]:
    with monkeypatch.context() as patch:
        if not steps_allowed:
            patch.setattr(RadioLinks, "steady", property(lambda self: False))
        sim = Simulation(netsim.load_scenario(write_scenario(tmp_path, raw, f"{name}.yaml")),
                         tmp_path / name)
        ticks = []
        original = sim._tick
        sim._tick = lambda k, t0, t1: (ticks.append((t0, t1)), original(k, t0, t1))
        sim.run()
    return netsim.load_run(tmp_path / name).tables, len(ticks)


def test_steps_over_steady_ticks_give_the_tables_of_tick_by_tick(tmp_path, monkeypatch):
    raw = busy_network()
    stepped, n_steps = run(tmp_path, raw, "steps", True, monkeypatch)
    ticked, n_ticks = run(tmp_path, raw, "ticks", False, monkeypatch)
    assert n_ticks == 300
    # a step ends at each large-scale update (1 s), sample (1 s) and market round (7.3 s)
    assert n_steps == 30 + 4
    assert stepped.keys() == ticked.keys()
    for name in ("tasks", "servers", "links", "devices"):
        a, b = stepped[name], ticked[name]
        assert len(a) == len(b) > 0, name
        for column in a.columns:
            if pd.api.types.is_float_dtype(a[column]):
                np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-12,
                                           err_msg=f"{name}.{column}")
            else:
                assert a[column].equals(b[column]), f"{name}.{column}"
    assert (stepped["tasks"].status == "done").sum() > 1000


def test_a_replayed_rate_change_ends_a_step_where_the_ticks_would_take_it(tmp_path,
                                                                           monkeypatch):
    raw = busy_network()
    raw["horizon_s"] = 8.0
    del raw["market"]
    # devices 0-9 replay 2 Mbit/s from 0, then 0.5 Mbit/s from 2.35 s (between ticks)
    rows = [f"{t},{d},{rate}" for t, rate in ((0.0, 2e6), (2.35, 5e5)) for d in range(10)]
    (tmp_path / "rates.csv").write_text("t_s,device,rate_bps\n" + "\n".join(rows) + "\n")
    raw["channel"]["rate_trace"] = "rates.csv"
    stepped, n_steps = run(tmp_path, raw, "steps", True, monkeypatch)
    ticked, _ = run(tmp_path, raw, "ticks", False, monkeypatch)
    assert n_steps == 8 + 1  # the change takes effect at the tick starting at 2.4 s
    a, b = stepped["tasks"], ticked["tasks"]
    assert len(a) == len(b) > 100
    for column in ("t_uplink_done", "t_done"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, err_msg=column)
    # the slower rate shows: uploads of the replaying devices take longer after the change
    up = a[a.device < 10]
    took = up.t_uplink_done - up.t_uplink_start
    assert took[up.t_uplink_start > 2.5].mean() > 2 * took[up.t_uplink_start < 2.3].mean()


def test_fading_keeps_the_steps_to_single_ticks(tmp_path, monkeypatch):
    raw = busy_network()
    raw["channel"]["fading"] = "rayleigh"
    raw["horizon_s"] = 3.0
    _, n_steps = run(tmp_path, raw, "fading", True, monkeypatch)
    assert n_steps == 30


@pytest.mark.parametrize("t, expected", [(0.3, 3), (0.30000000000000004, 3), (0.31, 4),
                                         (0.0, 0), (1e-12, 1)])
def test_first_tick_at_a_time_is_exact(t, expected):
    from netsim.engine import _first_tick_at
    assert _first_tick_at(t, 0.1) == expected
    assert expected * 0.1 >= t and (expected == 0 or (expected - 1) * 0.1 < t)
