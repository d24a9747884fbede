"""Scenario files: schema, loading, overrides and validation errors. The names below load on
first use, so that the schema imports without the loader's readers."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"LoadedScenario": "netsim.scenario.loader", "ScenarioError": "netsim.scenario.loader",
            "load_scenario": "netsim.scenario.loader", "Scenario": "netsim.scenario.schema"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'netsim.scenario' has no attribute '{name}'")
