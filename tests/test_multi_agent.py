"""The PettingZoo Parallel environment: one agent per leader passes PettingZoo's API test,
its rewards are the leaders' utilities the run records, and it leaves nothing on disk; the
README's stable-baselines3 example trains at a small budget."""

from __future__ import annotations

import numpy as np
import pytest

import netsim
from tests.conftest import ROOT, SCENARIOS, run_readme_block

pytest.importorskip("pettingzoo")

from pettingzoo.test import parallel_api_test

from netsim.multi_agent import MarketParallelEnv

TWO_SERVERS = ("market={mechanism: stackelberg, epoch_s: 30}", "horizon_s=150")


def test_the_parallel_api_test_passes_with_one_agent_per_leader():
    env = MarketParallelEnv(SCENARIOS / "urban_6g.yaml", TWO_SERVERS)
    assert env.possible_agents == ["es0", "es1"]
    parallel_api_test(env, num_cycles=10)
    env.close()


def test_rewards_are_the_leaders_recorded_utilities(tmp_path):
    env = MarketParallelEnv(SCENARIOS / "urban_6g.yaml", TWO_SERVERS, out_dir=tmp_path)
    observations, _ = env.reset(seed=4)
    assert all(np.all(np.abs(o) <= 1.0) for o in observations.values())
    rewards: dict[str, list[float]] = {"es0": [], "es1": []}
    while env.agents:
        step = env.step({a: env.action_space(a).sample() for a in env.agents})
        for agent, reward in step[1].items():
            rewards[agent].append(reward)
    epochs = netsim.load_run(tmp_path / "episode-1").epochs
    assert len(epochs) == 10  # 5 epochs x 2 leaders
    for leader, rows in epochs.groupby("leader"):
        assert np.allclose(rows.leader_utility, rewards[leader], rtol=1e-12)
    env.close()


def test_the_default_scratch_folder_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = MarketParallelEnv(SCENARIOS / "urban_6g.yaml", TWO_SERVERS)
    scratch = env.out_dir
    env.reset(seed=0)
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
    assert list(scratch.iterdir()) == []
    env.close()
    assert not scratch.exists() and list(tmp_path.iterdir()) == []


def test_the_readme_stable_baselines3_example_runs(monkeypatch):
    pytest.importorskip("stable_baselines3")
    monkeypatch.chdir(ROOT)
    namespace = run_readme_block("With stable-baselines3", "total_timesteps=4096",
                                 "total_timesteps=64")
    assert 0.0 < namespace["score"] <= 1.0 + 1e-9
