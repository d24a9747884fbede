"""Which problem a scenario poses to a trained solver, as a short hash."""

from __future__ import annotations

import hashlib
import json

from netsim.scenario.schema import Scenario

# parts that do not change what a solver faces: naming, recording, length, the seed (runs at
# other seeds are evaluations of the same problem), and the solver itself
_NOT_THE_PROBLEM = ("name", "record", "horizon_s", "seed")


def problem_hash(scenario: Scenario) -> str:
    """16 hex digits of the scenario without its name, recording, horizon, seed and solver
    choice: what a checkpoint records as trained on, and what loading it into a run
    compares."""
    data = scenario.model_dump(mode="json", exclude=set(_NOT_THE_PROBLEM))
    if data.get("market") is not None:
        data["market"].pop("solver", None)
    # fields added after checkpoints existed leave the hash alone while at their defaults
    if not data.get("events"):
        data.pop("events", None)
    for group in data["devices"]:
        if group.get("compression") == "fp32":
            del group["compression"]
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
