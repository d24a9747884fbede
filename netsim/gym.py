"""A Gymnasium environment over a whole simulation: one step per market decision.

The observation is what the leader observes of its market state (the mechanism's features),
normalised into (-1, 1): each feature divided by its magnitude in the first state the
scenario gives at seed 0 (1 where that is 0), then tanh. With several leaders (an auction
per cell) each step is one leader's decision, and games of every size read at one length
(netsim/observation.py). The action is a leader action in
[-1, 1]^A (mapped to the mechanism's bounds and decoded, as the learning solvers do), the
reward the leader's utility on the true state. The simulation runs between decisions, so an
external RL library trains on the full network dynamics:

    from netsim.gym import MarketEnv
    env = MarketEnv("scenarios/paper_case_study.yaml")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Each episode is a whole run. By default it is recorded in a scratch folder that holds only
the episode in progress (the previous one is deleted when the next starts, and the folder
when the environment closes); give `out_dir` to keep every episode's run folder.

Install the extra from a clone: pip install -e '.[gym]'.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from netsim.engine import Simulation
from netsim.observation import LeaderView
from netsim.scenario.loader import LoadedScenario, load_scenario
from netsim.solvers.learning import action_dim, to_action


class MarketEpisodes:
    """What both RL environments (this one and netsim/multi_agent.py) share: the scenario,
    the folder episodes are recorded in (a scratch folder holding only the one in progress,
    or `out_dir`, which keeps every one), and the run of the episode in progress."""

    def _open(self, scenario: str | Path | LoadedScenario, overrides: tuple[str, ...],
              out_dir: str | Path | None) -> list[tuple[str, Any]]:
        """Load the scenario; return each leader's first game at seed 0, and set the
        mechanism and the scenario's number of devices (read from a run never started)."""
        self.loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(
            scenario, overrides)
        if self.loaded.scenario.market is None:
            raise ValueError(f"{type(self).__name__} needs a scenario with a `market:` block")
        self._tmp = None if out_dir is not None else tempfile.TemporaryDirectory()
        self.out_dir = Path(out_dir) if out_dir is not None else Path(self._tmp.name)
        self.keep_episodes = out_dir is not None
        self.sim: Simulation | None = None
        self.episode = 0
        probe = Simulation(self.loaded, self.out_dir / "probe", seed=0, overwrite=True)
        games = [(leader, state) for leader, _, state, _ in probe.market.games()]
        self.mechanism, self.n_devices = probe.market.mechanism, probe.n_devices
        probe.movement.close()  # never started: nothing else to stop
        shutil.rmtree(self.out_dir / "probe", ignore_errors=True)
        return games

    def _start_episode(self, seed: int) -> None:
        """End the episode in progress (interrupted) and run a new one to its first
        decision."""
        if self.sim is not None:
            self._end_episode("interrupted")
        self.episode += 1
        self.sim = Simulation(self.loaded, self.out_dir / f"episode-{self.episode}", seed,
                              overwrite=True)
        self.sim.market.external = True
        self.sim.start()
        if not self._advance():
            raise RuntimeError("the scenario's horizon ends before its first market epoch")

    def _advance(self) -> bool:
        return advance(self.sim)

    def _end_episode(self, status: str) -> None:
        end_episode(self.sim, status, self.keep_episodes)
        self.sim = None

    def close(self) -> None:
        if self.sim is not None:
            self._end_episode("interrupted")
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class MarketEnv(MarketEpisodes, gym.Env):
    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, scenario: str | Path | LoadedScenario, overrides: tuple[str, ...] = (),
                 out_dir: str | Path | None = None):
        (_, state), *_ = self._open(scenario, overrides, out_dir)
        self.view = LeaderView(self.mechanism, state, self.n_devices)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (self.view.size,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (action_dim(self.mechanism, state),),
                                           np.float32)

    def _observation(self) -> np.ndarray:
        return self.view(self.sim.market.waiting[1])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._start_episode(int(self.np_random.integers(0, 2**31 - 1)) if seed is None
                            else seed)
        return self._observation(), {"t": self.sim.env.now}

    def step(self, action: np.ndarray):
        market = self.sim.market
        _, seen, answer = market.waiting
        unit = np.clip(np.asarray(action, dtype=float).reshape(1, -1), -1.0, 1.0)
        market.ask = self.sim.env.event()  # the next decision's signal
        answer.succeed(to_action(market.mechanism, seen, unit))
        more = self._advance()
        reward = market.last_reward
        info: dict[str, Any] = {"t": self.sim.env.now,
                                "optimum_utility": market.optimum_utilities[-1]}
        if not more:
            self._end_episode("complete")
            return np.zeros(self.observation_space.shape, dtype=np.float32), reward, True, \
                False, info
        return self._observation(), reward, False, False, info


def advance(sim: Simulation) -> bool:
    """Run a simulation whose market asks outside to its next decision; False when the
    horizon came first."""
    horizon = sim.env.timeout(max(sim.horizon_s - sim.env.now, 0.0))
    sim.env.run(until=sim.env.any_of([sim.market.ask, horizon]))
    return sim.market.ask.triggered and sim.env.now < sim.horizon_s


def end_episode(sim: Simulation, status: str, keep: bool) -> None:
    """Finish an episode's run; unless `keep`, delete its folder (a scratch area holds only
    the episode in progress)."""
    sim.finish(status)
    if not keep:
        shutil.rmtree(sim.out_dir, ignore_errors=True)
