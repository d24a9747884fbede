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
