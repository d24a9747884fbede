"""Golden outputs: every shipped scenario's exact counts (tasks arrived, done, missed, dropped,
in flight, battery-empty, handovers, market epochs) and a hash of each table it writes. A
restructuring of the code must leave them identical; the counts are compared first so that a
change of the model reads as numbers. A deliberate change of the model updates the pins with
`NETSIM_UPDATE_HASHES=1 pytest tests/test_table_hashes.py`, in the same commit as the change,
saying why (README, Development)."""

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


def golden_counts(run_dir) -> dict[str, int]:
    """The run's counts, as its manifest states them, and its market epochs."""
    tables = netsim.load_run(run_dir)
    return {**tables.manifest["counts"], "epochs": len(tables.epochs)}


@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_shipped_scenarios_give_the_pinned_counts_and_tables(tmp_path, scenario):
    loaded = netsim.load_scenario(SCENARIOS / scenario, [f"horizon_s={HORIZON_S}"])
    netsim.run(loaded, tmp_path / "run", seed=0)
    found = {"counts": golden_counts(tmp_path / "run"), "tables": table_hashes(tmp_path / "run")}
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    if os.environ.get("NETSIM_UPDATE_HASHES") == "1":
        pins[scenario] = found
        PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
        return
    assert found["counts"] == pins[scenario]["counts"]
    assert found["tables"] == pins[scenario]["tables"]
