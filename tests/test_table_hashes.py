"""The tables every shipped scenario produces, pinned by hash: a restructuring of the code
must leave them identical (issue 12's acceptance). A deliberate change of the model updates
the pins with `NETSIM_UPDATE_HASHES=1 pytest tests/test_table_hashes.py`, in the same commit
as the change, saying why."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

import netsim
from tests.conftest import ROOT, SCENARIOS

PINS = ROOT / "tests" / "data" / "table_hashes.json"
HORIZON_S = 120.0  # two market epochs of the market scenarios; every table has rows
WALL_CLOCK_COLUMNS = {"epochs": ["solve_time_s"]}  # measured, not simulated


def table_hashes(run_dir) -> dict[str, str]:
    tables = netsim.load_run(run_dir)
    out = {}
    for name, frame in tables.tables.items():
        frame = frame.drop(columns=WALL_CLOCK_COLUMNS.get(name, []))
        text = frame.to_csv(index=False)  # floats as repr: exact round trip
        out[name] = f"{len(frame)}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return out


@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_shipped_scenarios_give_the_pinned_tables(tmp_path, scenario):
    loaded = netsim.load_scenario(SCENARIOS / scenario, [f"horizon_s={HORIZON_S}"])
    netsim.run(loaded, tmp_path / "run", seed=0)
    found = table_hashes(tmp_path / "run")
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    if os.environ.get("NETSIM_UPDATE_HASHES") == "1":
        pins[scenario] = found
        PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
        return
    assert found == pins[scenario]
