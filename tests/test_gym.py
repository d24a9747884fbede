"""The Gymnasium environment: passes the env checker; random episodes run to the horizon."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import netsim
from tests.conftest import ROOT, SCENARIOS, run_readme_block

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from netsim.gym import MarketEnv  # noqa: E402


def test_env_checker_passes(tmp_path):
    env = MarketEnv(SCENARIOS / "paper_case_study.yaml", ("horizon_s=200",), out_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bounded observations: no warning left
        check_env(env, skip_render_check=True)
    assert env.observation_space.low.min() == -1.0 and env.observation_space.high.max() == 1.0
    env.close()


def test_random_episode_runs_to_the_horizon(tmp_path):
    env = MarketEnv(SCENARIOS / "paper_case_study.yaml", ("horizon_s=300",), out_dir=tmp_path)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs) and info["t"] == 0.0
    rewards, done, steps = [], False, 0
    while not done:
        obs, reward, done, truncated, info = env.step(env.action_space.sample())
        rewards.append(reward)
        steps += 1
        assert not truncated and reward <= info["optimum_utility"] + 1e-9
    assert steps == 5 and info["t"] == 300.0
    run = netsim.load_run(tmp_path / "episode-1")
    assert run.manifest["status"] == "complete" and len(run.epochs) == 5
    assert np.allclose(run.epochs.leader_utility, rewards)
    assert len(run.tasks) == run.manifest["counts"]["arrived"] > 0


def test_readme_gym_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace = run_readme_block("## Training an external RL agent", '("horizon_s=600",)',
                                 '("horizon_s=120",)')
    assert namespace["done"] and namespace["info"]["t"] == 120.0
    namespace["env"].close()


def test_by_default_only_the_episode_in_progress_is_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land here either
    env = MarketEnv(SCENARIOS / "paper_case_study.yaml", ("horizon_s=120",))
    scratch = env.out_dir
    seen = []
    for seed in (1, 2):
        env.reset(seed=seed)
        seen.append(sorted(p.name for p in scratch.iterdir()))
        done = False
        while not done:
            obs, _, done, _, _ = env.step(env.action_space.sample())
            assert np.all(np.abs(obs) <= 1.0)
    assert seen == [["episode-1"], ["episode-2"]]  # the previous episode was deleted
    assert list(scratch.iterdir()) == []  # and the finished one too
    env.close()
    assert not scratch.exists() and list(tmp_path.iterdir()) == []


def test_a_scenario_with_several_leaders_asks_each_in_turn(tmp_path):
    """Two cells, each an auction: a step per cell per epoch. At the top of the action range
    (the highest water level) the whole band goes to the bidder with the largest theta x s,
    so the reward is that bidder's theta ln(1 + s), by hand from the cell's true state."""
    env = MarketEnv(SCENARIOS / "auction_bandwidth.yaml", ("horizon_s=30",), out_dir=tmp_path)
    env.reset(seed=0)
    rewards, expected, done = [], [], False
    while not done:
        truth = env.sim.market.waiting[0]
        j = int(np.argmax(truth.theta[0] * truth.s[0]))
        expected.append(truth.theta[0, j] * np.log1p(truth.s[0, j]))
        _, reward, done, _, _ = env.step(np.ones(env.action_space.shape))
        rewards.append(reward)
    env.close()
    epochs = netsim.load_run(tmp_path / "episode-1").epochs
    assert epochs.leader.tolist() == ["bs0", "bs1"] * 3
    assert epochs.n_followers.nunique() > 1  # cells of different sizes
    assert rewards == pytest.approx(expected, rel=1e-12)
    assert rewards == pytest.approx(epochs.leader_utility.tolist(), rel=1e-12)
