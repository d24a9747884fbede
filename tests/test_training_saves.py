"""Training saves as it goes: interrupted after some epochs, the training folder holds the
checkpoint and the curves of the epochs done, and the checkpoint drives a market."""

from __future__ import annotations

import pandas as pd
import pytest

import netsim
from netsim.solvers.diffusion import DiffusionSolver
from netsim.training import train
from tests.conftest import SCENARIOS


def test_an_interrupted_training_keeps_its_latest_checkpoint_and_curves(tmp_path):
    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml")

    def stop_in_the_third_epoch(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(loaded, "diffusion", 10, [0], tmp_path, n_states=64, batch=32,
              progress=stop_in_the_third_epoch, save_every=1)
    curves = pd.read_parquet(tmp_path / "curves-diffusion.parquet")
    assert curves.epoch.tolist() == [0, 1]  # saved after epochs 1 and 2
    solver = DiffusionSolver.load(tmp_path / "diffusion-seed0.safetensors")
    scenario = SCENARIOS / "paper_case_study.yaml"
    run = netsim.load_scenario(scenario, [
        "horizon_s=60", "market.solver={name: diffusion, checkpoint: "
        f"{tmp_path / 'diffusion-seed0.safetensors'}}}"])
    netsim.run(run, tmp_path / "run")
    assert solver is not None and len(netsim.load_run(tmp_path / "run").epochs) == 1


@pytest.mark.parametrize("solver", ["diffusion", "ppo"])
def test_an_interrupted_and_resumed_training_ends_as_an_uninterrupted_one(tmp_path, solver):
    from safetensors.torch import load_file

    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml")
    settings = {"n_states": 64, "batch": 32, "save_every": 2}
    whole = train(loaded, solver, 6, [0], tmp_path / "whole", **settings)

    def stop_in_the_fifth_epoch(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(loaded, solver, 6, [0], tmp_path / "split",
              progress=stop_in_the_fifth_epoch, **settings)
    assert (tmp_path / "split" / f"{solver}-seed0.resume.pt").exists()
    resumed = train(loaded, solver, 6, [0], tmp_path / "split", resume=True, **settings)
    assert not (tmp_path / "split" / f"{solver}-seed0.resume.pt").exists()
    first = load_file(tmp_path / "whole" / f"{solver}-seed0.safetensors")
    second = load_file(tmp_path / "split" / f"{solver}-seed0.safetensors")
    assert first.keys() == second.keys()
    for name in first:
        assert (first[name] == second[name]).all(), name
    columns = ["epoch", "seed", "evaluations", "leader_utility", "ratio"]
    assert whole[columns].equals(resumed[columns])
