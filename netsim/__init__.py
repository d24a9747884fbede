"""netsim: a discrete-event simulator of 6G mobile edge networks.

    >>> import netsim
    >>> loaded = netsim.load_scenario("scenarios/small.yaml")
    >>> result = netsim.run(loaded, out_dir="outputs/small", seed=1)
    >>> tables = netsim.load_run("outputs/small")   # tables.tasks, .devices, .links, .servers

The names below load on first use, so that importing a part of netsim (a mechanism, the
scenario schema) does not load the engine, SimPy and the recorder.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"Simulation": "netsim.engine", "run": "netsim.engine",
            "load_run": "netsim.record.load", "ScenarioError": "netsim.scenario.loader",
            "load_scenario": "netsim.scenario.loader"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'netsim' has no attribute '{name}'")
