"""The example scenarios shipped with netsim (the repository's `scenarios/` folder, installed
as `netsim/example_scenarios`)."""

from __future__ import annotations

from pathlib import Path

REPOSITORY_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
INSTALLED_SCENARIOS = Path(__file__).resolve().parent / "example_scenarios"


def example_files() -> list[Path]:
    """The example scenario files, by name: from an installed package, else from the
    repository this module runs from."""
    for folder in (INSTALLED_SCENARIOS, REPOSITORY_SCENARIOS):
        files = sorted(folder.glob("*.yaml"))
        if files:
            return files
    raise FileNotFoundError("no example scenarios found (a broken install?)")
