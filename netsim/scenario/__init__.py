"""Scenario files: schema, loading, overrides and validation errors."""

from netsim.scenario.loader import LoadedScenario, ScenarioError, load_scenario
from netsim.scenario.schema import Scenario

__all__ = ["LoadedScenario", "Scenario", "ScenarioError", "load_scenario"]
