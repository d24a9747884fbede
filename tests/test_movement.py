"""Devices moved and re-attached one update ahead in a helper process give the very tables
the in-process path gives (the helper runs the same code on a forked copy of the state)."""

from __future__ import annotations

import pandas as pd
import pytest

import netsim
import netsim.engine as engine
from netsim.network.movement import helper_possible
from tests.conftest import SCENARIOS


@pytest.mark.skipif(not helper_possible(), reason="needs fork and a second core")
def test_the_helper_process_changes_nothing(tmp_path, monkeypatch):
    loaded = netsim.load_scenario(SCENARIOS / "urban_6g.yaml", ["horizon_s=40"])
    here = netsim.run(loaded, tmp_path / "here", second_core=False)
    monkeypatch.setattr(engine, "HELPER_MIN_DEVICES", 1)  # urban_6g has 200 devices
    sim = engine.Simulation(loaded, tmp_path / "helper")
    assert sim.movement.use_helper
    helped = sim.run()
    assert helped.manifest["counts"] == here.manifest["counts"]
    assert here.manifest["counts"]["handovers"] > 0  # devices did move between cells
    for name in ("tasks", "devices", "links", "servers"):
        pd.testing.assert_frame_equal(netsim.load_run(tmp_path / "helper")[name],
                                      netsim.load_run(tmp_path / "here")[name])
    assert not sim.movement.helper_running  # the helper was stopped with the run
