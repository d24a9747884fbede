"""Shared helpers: tiny scenarios written to temporary YAML files."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

import netsim

# Each pytest-xdist worker gets one torch/OpenMP thread: two workers on this 2-core machine
# with torch's default threads each oversubscribe the cores (a 2 s fit took 45 s).
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

ONE_DEVICE = {
    "name": "one-device",
    "seed": 0,
    "horizon_s": 10.0,
    "area": {"width_m": 200.0, "height_m": 200.0},
    "edge_servers": [{"id": "es0", "position_m": [100.0, 100.0], "cores": 1,
                      "core_flops": 1.0e12}],
    "base_stations": [{"id": "bs0", "position_m": [50.0, 100.0], "server": "es0",
                       "carrier_ghz": 3.5, "bandwidth_hz": 1.0e7, "tx_power_dbm": 30.0,
                       "backhaul": {"rate_bps": 1.0e9, "latency_s": 0.002}}],
    "devices": [{"group": "d", "count": 1, "compute_flops": 1.0e11, "tx_power_dbm": 23.0,
                 "placement": {"kind": "points", "points_m": [[150.0, 100.0]]},
                 "arrivals": {"process": "poisson", "rate_per_s": 1.0}, "split_layer": 4}],
    "channel": {"los": "los", "shadowing_db": 0.0, "fading": "none", "tick_s": 0.1,
                "max_spectral_efficiency": 30.0},
    "record": {"sample_s": 1.0, "device_sample_s": 1.0},
}


def one_device(**changes) -> dict:
    """A copy of the one-device scenario with top-level keys replaced."""
    raw = copy.deepcopy(ONE_DEVICE)
    raw.update(changes)
    return raw


def run_readme_block(after: str, old: str = "", new: str = "") -> dict:
    """Execute the first code block of README.md after the text `after` (with `old` made
    `new`, to keep it small) in the current folder; return the names it defined."""
    block = (ROOT / "README.md").read_text().split(after, 1)[1].split("```", 2)[1]
    block = block.split("\n", 1)[1]  # past the fence's language tag, if any
    namespace: dict = {}
    exec(compile(block.replace(old, new), "README.md", "exec"), namespace)
    return namespace


def write_scenario(folder: Path, raw: dict, name: str = "scenario.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def run_raw(folder: Path, raw: dict, seed: int | None = None, out: str = "run"):
    """Write, load and run a raw scenario; return the loaded tables."""
    loaded = netsim.load_scenario(write_scenario(folder, raw))
    netsim.run(loaded, folder / out, seed=seed)
    return netsim.load_run(folder / out)


# the part of the suite each test module belongs to (README, Development); unlisted: unit
PARTS = {
    "oracle": {"test_stackelberg", "test_contract", "test_auctions", "test_double_auction",
               "test_solvers", "test_market", "test_latency", "test_servers_links",
               "test_report"},
    "learning": {"test_learned_solvers", "test_training_saves", "test_gym",
                 "test_multi_agent", "test_checkpoints"},
    "golden": {"test_table_hashes"},
    "fuzz": {"test_fuzz", "test_hostile_input", "test_crash_safety"},
    "system": {"test_readme", "test_readme_cli", "test_cli", "test_sweep", "test_figures",
               "test_streaming", "test_imports"},
}


def pytest_collection_modifyitems(items) -> None:
    """Mark each test with its part: `pytest -m oracle` runs one part alone."""
    for item in items:
        module = item.path.stem
        if item.path.parent.name == "validation":
            part = "validation"
        else:
            part = next((name for name, modules in PARTS.items() if module in modules), "unit")
        item.add_marker(part)


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """The shipped small scenario, run once for the tests that only read its outputs."""
    out = tmp_path_factory.mktemp("small") / "run"
    netsim.run(netsim.load_scenario(SCENARIOS / "small.yaml"), out)
    return netsim.load_run(out)
