"""A PettingZoo Parallel environment over a whole simulation: one agent per market leader
(each edge server pricing its own devices, each base station auctioning its band), all
deciding at every market epoch.

An agent's observation is what it observes of its own game (the mechanism's features),
normalised into (-1, 1) as MarketEnv does (netsim/gym.py), at one length whatever the size of
its game (netsim/observation.py: auctions are padded with non-bidders to the scenario's
devices; other games are cut or zero-padded to the length of the agent's first).
Its action is a leader action in [-1, 1]^A, its reward its utility on the true state. An
agent whose game is empty in an epoch (no devices attached) gets its last observation again
and reward 0. Episodes are whole runs, recorded in a scratch folder holding only the one in
progress (or kept in `out_dir`).

    from netsim.multi_agent import MarketParallelEnv
    env = MarketParallelEnv("scenarios/urban_6g.yaml", ("market.mechanism=stackelberg",))
    observations, infos = env.reset(seed=0)
    actions = {agent: env.action_space(agent).sample() for agent in env.agents}
    observations, rewards, terminations, truncations, infos = env.step(actions)

Install the extra from a clone: pip install -e '.[rl]'.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from netsim.gym import MarketEpisodes
from netsim.observation import LeaderView
from netsim.scenario.loader import LoadedScenario
from netsim.solvers.learning import action_dim, to_action


class MarketParallelEnv(MarketEpisodes, ParallelEnv):
    metadata: ClassVar[dict] = {"name": "netsim_market_v0", "render_modes": []}

    def __init__(self, scenario: str | Path | LoadedScenario, overrides: tuple[str, ...] = (),
                 out_dir: str | Path | None = None):
        games = self._open(scenario, overrides, out_dir)
        self.possible_agents = [leader for leader, _ in games]
        self._views = {leader: LeaderView(self.mechanism, state, self.n_devices)
                       for leader, state in games}
        self._observation_spaces = {leader: spaces.Box(-1.0, 1.0, (view.size,), np.float32)
                                    for leader, view in self._views.items()}
        self._action_spaces = {leader: spaces.Box(-1.0, 1.0,
                                                  (action_dim(self.mechanism, state),),
                                                  np.float32)
                               for leader, state in games}
        self.agents: list[str] = []
        self._last: dict[str, np.ndarray] = {}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self._action_spaces[agent]

    # ------------------------------------------------------------------ the run

    def _observations(self) -> dict[str, np.ndarray]:
        """Every agent's view of this epoch's games (its last one where it has none)."""
        for leader, _, seen in self.sim.market.epoch_games:
            if leader in self._views:
                self._last[leader] = self._views[leader](seen)
        return {agent: self._last.get(agent, np.zeros(self._views[agent].size, np.float32))
                for agent in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.agents = list(self.possible_agents)
        self._last = {}
        self._start_episode(int(np.random.default_rng().integers(0, 2**31 - 1))
                            if seed is None else seed)
        t = self.sim.env.now
        return self._observations(), {agent: {"t": t} for agent in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        market = self.sim.market
        rewards = dict.fromkeys(self.agents, 0.0)
        epoch, start = market.epoch, len(market.leader_utilities)
        more = True
        while market.epoch == epoch:  # answer every game of this epoch, in order
            leader = market.epoch_games[len(market.leader_utilities) - start][0]
            _, seen, answer = market.waiting
            dims = self._action_spaces[leader].shape[0] if leader in self._action_spaces \
                else action_dim(self.mechanism, seen)
            unit = np.clip(np.asarray(actions.get(leader, np.zeros(dims)), dtype=float)
                           .reshape(1, -1), -1.0, 1.0)
            market.ask = self.sim.env.event()
            answer.succeed(to_action(market.mechanism, seen, unit))
            more = self._advance()
            if leader in rewards:
                rewards[leader] += market.last_reward
            if not more:
                break
        t = self.sim.env.now
        infos = {agent: {"t": t} for agent in self.agents}
        if not more:
            observations = {agent: self._last.get(agent, np.zeros(self._views[agent].size,
                                                                    np.float32))
                            for agent in self.agents}
            terminations = dict.fromkeys(self.agents, True)
            truncations = dict.fromkeys(self.agents, False)
            self._end_episode("complete")
            agents, self.agents = self.agents, []
            return observations, {a: rewards[a] for a in agents}, terminations, \
                truncations, infos
        return (self._observations(), rewards, dict.fromkeys(self.agents, False),
                dict.fromkeys(self.agents, False), infos)
