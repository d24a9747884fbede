"""The market inside the simulation: a SimPy process that, every `market.epoch_s`, has the
mechanism's binding build each leader's state from the network (through the `MarketView`),
asks the configured solver (or an outside decision maker) for the leader's action, lets the
binding apply the followers' responses, and records the `epochs` table (with the exact
optimum of the same state, so every run shows its gap to it) and the devices' market
parameters (rows of the `devices` table at epoch times). What each mechanism's leaders are
and what a decision changes: netsim/market/bindings.py.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from netsim import solvers
from netsim.market.bindings import BINDINGS
from netsim.market.view import MarketView
from netsim.mechanisms import metrics
from netsim.mechanisms.base import Mechanism, followers_of, observe, stack_states
from netsim.mechanisms.metrics import random_utility
from netsim.record.tables import MARKET_DEVICE_COLUMNS
from netsim.rng import stream

if TYPE_CHECKING:
    from netsim.scenario.schema import Scenario

NAN = math.nan


class Market:
    """Re-solves the configured mechanism every epoch and applies its outcome. One loop serves
    the configured solver and an outside decision maker (the Gymnasium environment)."""

    def __init__(self, view: MarketView, env: simpy.Environment, scenario: Scenario,
                 base_dir: Path):
        self.view = view
        self.env = env
        self.spec = spec = scenario.market
        self.binding = BINDINGS[spec.mechanism](view, spec)
        self.mechanism: Mechanism = self.binding.mechanism_class()
        self.solver = build_solver(scenario, view.seed, base_dir)
        self.exact = solvers.build("exact")
        self.noise = spec.observation_noise if spec.information == "partial" else 0.0
        self.observation_rng = stream(view.seed, "market/observation")
        self.recorded: list[Any] | None = None  # set to a list to keep every game's state
        self.epoch = 0
        self.next_round_s = 0.0
        self.external = False  # set by netsim.gym.MarketEnv: decisions come from outside
        self.ask = env.event()
        self.waiting = None
        self.epoch_games: list = []  # external: this epoch's (leader, state, observed state)
        self.last_reward = NAN
        self._recent: list = []
        self.online_updates = 0
        self.leader_utilities: list[float] = []
        self.optimum_utilities: list[float] = []
        self.random_utilities: list[float] = []
        self.wall_s = 0.0
        self._busy_marks = {name: (0.0, 0.0) for name in view.server_names()}
        self.load: dict[str, float] = {}  # per server: busy fraction over the last epoch

    def process(self):
        """The SimPy process: one market round now, then every epoch."""
        while True:
            start = time.perf_counter()
            yield from self.round()
            self.wall_s += time.perf_counter() - start
            self.next_round_s = self.env.now + self.spec.epoch_s  # as SimPy will schedule it
            yield self.env.timeout(self.spec.epoch_s)

    def games(self):
        """This epoch's (leader, follower devices, state, extra columns), per leader."""
        return self.binding.games(self.load)

    def _begin_round(self) -> tuple[float, dict[str, np.ndarray]]:
        """Bring batteries up to date and read each server's load over the epoch that ended
        (from the servers themselves: recording settings never reach a decision)."""
        view = self.view
        view.sync()
        t = view.now()
        for name in view.server_names():
            t_mark, busy_mark = self._busy_marks[name]
            busy, cores = view.server_busy_core_s(name)
            span = (t - t_mark) * cores
            self.load[name] = (busy - busy_mark) / span if span > 0 else 0.0
            self._busy_marks[name] = (t, busy)
        columns = {name: np.full(view.n_devices, NAN) for name in MARKET_DEVICE_COLUMNS}
        return t, columns

    def round(self):
        """One epoch: every leader's game decided (by the solver, or from outside), applied
        and recorded; a generator, since an outside decision is awaited in simulated time."""
        t, columns = self._begin_round()
        games = list(self.games())
        if self.external:  # an outside decision maker sees every leader's game at once
            self.epoch_games = [(leader, state, observe(self.mechanism, state, self.noise,
                                                        self.observation_rng))
                                for leader, _, state, _ in games]
        for i, (leader, members, state, extra) in enumerate(games):
            seen = (self.epoch_games[i][2] if self.external else
                    observe(self.mechanism, state, self.noise, self.observation_rng))
            if self.external:
                answer = self.env.event()
                self.waiting = (state, seen, answer)
                self.ask.succeed()
                action = yield answer  # the answerer arms a fresh `ask` first
                per_decision, plugin = NAN, NAN
            else:
                if self.recorded is not None:
                    self.recorded.append(state)
                action, per_decision = solvers.timed_solve(self.solver, self.mechanism, seen)
                plugin = float(self.mechanism.utility(
                    state, self.exact.solve(self.mechanism, seen))[0]) if self.noise else NAN
            outcome = self.mechanism.outcome(state, action)  # utilities on the truth
            _, optimum = self.mechanism.optimum(state)
            self.last_reward = float(outcome.leader_utility[0])
            self.binding.apply(members, state, outcome, columns)
            if self.spec.solver.online and not self.external:
                self._learn_online(state, seen)
            self._record(t, leader, state, action, outcome, float(optimum[0]), per_decision,
                         members, {**extra, "plugin_utility": plugin})
        self.view.sample_devices(t, columns)
        self.epoch += 1

    def _learn_online(self, state, seen) -> None:
        """Keep training the solver on the market's recent states (the last 64 with the same
        number of followers), scored on the truth like every reward."""
        from netsim.solvers.learning import Problem

        recent = [(t, o) for t, o in self._recent if followers_of(t) == followers_of(state)]
        self._recent = [*recent, (state, seen)][-64:]
        truth = stack_states([t for t, _ in self._recent])
        observed = stack_states([o for _, o in self._recent])
        problem = Problem(self.mechanism, truth, observed, self.mechanism.optimum(truth)[1])
        self.solver.fit(problem, self.spec.solver.online_evaluations, resume=True)
        self.online_updates += 1

    def _record(self, t, leader, state, action, outcome, optimum, per_decision, members,
                extra) -> None:
        decisions = outcome.decisions
        leader_utility = float(outcome.leader_utility[0])
        baseline = float(random_utility(self.mechanism, state)[0])
        self.view.record_epoch({
            "epoch": self.epoch, "t": t, "leader": leader, "mechanism": self.spec.mechanism,
            "solver": self.solver.name, "action": [float(x) for x in np.ravel(action[0])],
            "leader_utility": leader_utility, "optimum_utility": optimum,
            "ratio": float(metrics.ratio(leader_utility, optimum)),
            "random_utility": baseline, "regret": optimum - leader_utility,
            "score": float(metrics.score(leader_utility, optimum, baseline)),
            "mean_follower_utility": float(outcome.follower_utility[0].mean()),
            "participation": float(np.mean(self.binding.taking_part(decisions))),
            "n_followers": len(members), "solve_time_s": per_decision,
            "a": extra.get("a", NAN), "b": extra.get("b", NAN), "c": extra.get("c", NAN),
            "L": extra.get("L"), "R": extra.get("R", NAN), "p_min": extra.get("p_min", NAN),
            "p_max": extra.get("p_max", NAN),
            "realised_revenue": (float(decisions["revenue"][0, 0]) if "revenue" in decisions
                                 else NAN),
            "plugin_utility": extra["plugin_utility"]})
        self.leader_utilities.append(leader_utility)
        self.optimum_utilities.append(optimum)
        self.random_utilities.append(baseline)

    def summary(self) -> dict[str, Any]:
        return {"mechanism": self.spec.mechanism, "solver": self.solver.name,
                "epochs": self.epoch, **metrics.summarise(
                    np.array(self.leader_utilities), np.array(self.optimum_utilities),
                    np.array(self.random_utilities)), "wall_s": self.wall_s}


def build_solver(scenario: Scenario, seed: int, base_dir) -> solvers.Solver:
    """The solver a scenario's `market.solver` names (checkpoints relative to the scenario,
    checked against it when the scenario loaded)."""
    spec = scenario.market.solver
    params = {"action": spec.action, "mode": spec.mode, "k": spec.k}
    params = {k: v for k, v in params.items() if v is not None}
    checkpoint = None
    if spec.checkpoint is not None:
        checkpoint = Path(spec.checkpoint)
        checkpoint = checkpoint if checkpoint.is_absolute() else Path(base_dir) / checkpoint
    return solvers.build(spec.name, seed=seed + spec.seed, checkpoint=checkpoint, **params)
