"""Which problem a scenario poses to a trained solver, as a short hash."""

from __future__ import annotations

import hashlib
import json

from netsim.scenario.schema import Scenario

# parts that do not change what a solver faces: naming, recording, length, the seed (runs at
# other seeds are evaluations of the same problem), and the solver itself
_NOT_THE_PROBLEM = ("name", "record", "horizon_s", "seed")


# fields added after checkpoints existed, with their defaults ("*": every item of a list)
ADDED_LATER = {
    "events": [],
    "devices": {"*": {"compression": "fp32"}},
    "workload": {"kind": "split_inference",
                 "aigc": {"steps": None, "prompt_bytes": None, "result_bytes": None,
                          "request_memory_bytes": 1 << 30, "lower_steps": None}},
    "cloud": {"gpu_memory_bytes": None},
    "federated": None,
    "market": {"participation_auction": {"values": "uniform", "value_low": 0.0,
                                         "value_high": 1.0, "value_mean": 1.0},
               "contract": {"offers": "split_layer",
                            "compression_ladder": ["prune75", "int8", "fp32"]}},
    "edge_servers": {"*": {"gpu_memory_bytes": None}},
}


def _drop_defaults(data, defaults: dict) -> None:
    """Remove from `data` the keys whose values equal `defaults` (recursively)."""
    for key, default in defaults.items():
        if key == "*":
            for item in data:
                _drop_defaults(item, default)
        elif key not in data:
            continue
        elif isinstance(default, dict) and default:
            if data[key] is None:  # an absent section (no market)
                continue
            _drop_defaults(data[key], default)
            if data[key] == {}:
                del data[key]
        elif data[key] == default:
            del data[key]


def problem_hash(scenario: Scenario) -> str:
    """16 hex digits of the scenario without its name, recording, horizon, seed and solver
    choice: what a checkpoint records as trained on, and what loading it into a run
    compares."""
    data = scenario.model_dump(mode="json", exclude=set(_NOT_THE_PROBLEM))
    if data.get("market") is not None:
        data["market"].pop("solver", None)
    # fields added after checkpoints existed leave the hash alone while at their defaults
    _drop_defaults(data, ADDED_LATER)
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
