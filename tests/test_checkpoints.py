"""Checkpoints hold no executable data: a pickle never loads, through any entry point, and a
checkpoint only drives the problem it was trained on unless the transfer is deliberate."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import netsim
from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState
from netsim.scenario.identity import problem_hash
from netsim.solvers.checkpoint import CheckpointError, read_meta
from netsim.solvers.constant import ConstantSolver
from netsim.solvers.learning import Problem
from tests.conftest import SCENARIOS

CASE = SCENARIOS / "paper_case_study.yaml"


class _CreatesFile:
    """Unpickling this calls open(marker, 'w'): the file appears if anything unpickles it."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile_checkpoint(folder: Path) -> tuple[Path, Path]:
    marker = folder / "PWNED"
    path = folder / "evil.pt"
    torch.save({"solver": "diffusion", "config": {}, "payload": _CreatesFile(marker)}, path)
    return path, marker


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsim.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_a_pickle_checkpoint_runs_nothing_through_any_entry_point(tmp_path):
    evil, marker = _hostile_checkpoint(tmp_path)
    solver = f"market.solver={{name: diffusion, checkpoint: {evil}}}"
    run = _cli("run", str(CASE), "--set", solver, "--set", "horizon_s=60", "--no-plots",
               "--quiet", "--out", str(tmp_path / "run"), cwd=tmp_path)
    train = _cli("train", str(CASE), "--set", solver, "--solver", "constant",
                 "--epochs", "1", "--seeds", "0", "--out", str(tmp_path / "train"), cwd=tmp_path)
    for result in (run, train):
        assert result.returncode != 0
        assert "old pickle format" in result.stderr and "netsim train" in result.stderr
        assert "Traceback" not in result.stderr
    with pytest.raises(netsim.ScenarioError, match=r"market\.solver\.checkpoint(.|\n)*old pickle"):
        from netsim.gym import MarketEnv

        MarketEnv(CASE, (solver,))
    with pytest.raises(CheckpointError, match="old pickle format"):
        from netsim.solvers.diffusion import DiffusionSolver

        DiffusionSolver.load(evil)
    assert not marker.exists()


def test_the_sweep_refuses_a_pickle_checkpoint_without_loading_it(tmp_path):
    evil, marker = _hostile_checkpoint(tmp_path)
    scenario = tmp_path / "case.yaml"
    scenario.write_text(CASE.read_text().replace(
        "solver: exact ", f"solver: {{name: diffusion, checkpoint: {evil}}} "))
    result = _cli("sweep", str(scenario), "--set", "horizon_s=60", "--seeds", "0,1",
                  "--out", str(tmp_path / "sweep"), "--workers", "1", cwd=tmp_path)
    assert "old pickle format" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def _fitted_constant(mechanism_state_seed: int = 0) -> ConstantSolver:
    rng = np.random.default_rng(mechanism_state_seed)
    states = StackelbergState.create(rng.uniform(5, 15, (64, 5)), rng.uniform(25, 35, (64, 5)),
                                     2.0, 0.65, 3.0, 200.0, 0.01, 3.0, 12)
    solver = ConstantSolver(0)
    solver.fit(Problem.full_information(Stackelberg(), states), 64 * 8)
    return solver


def _load_with(checkpoint: Path, name: str = "constant", allow: bool = False,
               overrides: tuple[str, ...] = ()):
    spec = f"{{name: {name}, checkpoint: {checkpoint}, allow_other_scenario: {str(allow).lower()}}}"
    return netsim.load_scenario(CASE, [f"market.solver={spec}", *overrides])


def test_a_checkpoint_from_another_scenario_is_refused_unless_deliberate(tmp_path):
    solver = _fitted_constant()
    other = netsim.load_scenario(CASE, ["market.stackelberg.c=2.5"])
    solver.save(tmp_path / "c.safetensors",
                {"scenario_hash": problem_hash(other.scenario), "scenario": "other"})
    this_hash = problem_hash(netsim.load_scenario(CASE).scenario)
    with pytest.raises(netsim.ScenarioError) as err:
        _load_with(tmp_path / "c.safetensors")
    message = str(err.value)
    assert problem_hash(other.scenario) in message and this_hash in message
    assert "allow_other_scenario" in message
    _load_with(tmp_path / "c.safetensors", allow=True)  # a deliberate transfer loads
    # the same problem at another seed, horizon or recording is the same scenario
    solver.save(tmp_path / "same.safetensors", {"scenario_hash": this_hash})
    _load_with(tmp_path / "same.safetensors",
               overrides=("seed=9", "horizon_s=30", "record.sample_s=2"))


def test_a_checkpoint_for_another_mechanism_or_solver_is_refused(tmp_path):
    solver = _fitted_constant()
    solver.mechanism = "contract"
    solver.save(tmp_path / "c.safetensors")
    with pytest.raises(netsim.ScenarioError, match="trained for mechanism 'contract', but this "
                                                   "scenario's market runs 'stackelberg'"):
        _load_with(tmp_path / "c.safetensors", allow=True)
    with pytest.raises(netsim.ScenarioError, match="a checkpoint of solver 'constant', not "
                                                   "'diffusion'"):
        _load_with(tmp_path / "c.safetensors", name="diffusion", allow=True)


def _safetensors_bytes(header: dict) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw


@pytest.mark.parametrize("content, expected", [
    (b"", "too short"),
    (b"name: not a checkpoint\n", "no safetensors header"),
    (bytes(range(256)) * 4, "no safetensors header"),
    (_safetensors_bytes({"__metadata__": {"other": "x"}}), "without netsim's metadata"),
    (_safetensors_bytes({"__metadata__": {"netsim": json.dumps({"format": "v0"})}}),
     "format 'v0'"),
])
def test_files_that_are_not_checkpoints_get_a_clear_error(tmp_path, content, expected):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected):
        read_meta(path)
    with pytest.raises(netsim.ScenarioError, match=expected):
        _load_with(path)


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not a file"):
        read_meta(tmp_path)


def test_a_saved_solver_round_trips_with_its_problem(tmp_path):
    solver = _fitted_constant()
    this_hash = problem_hash(netsim.load_scenario(CASE).scenario)
    solver.save(tmp_path / "c.safetensors", {"scenario_hash": this_hash})
    meta = read_meta(tmp_path / "c.safetensors")
    assert meta["mechanism"] == "stackelberg" and meta["scenario_hash"] == this_hash
    again = ConstantSolver.load(tmp_path / "c.safetensors")
    assert np.array_equal(again.unit, solver.unit)
    netsim.run(_load_with(tmp_path / "c.safetensors", overrides=("horizon_s=120",)),
               tmp_path / "run")
    assert (netsim.load_run(tmp_path / "run").epochs.solver == "constant").all()
