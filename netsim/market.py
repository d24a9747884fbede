"""The market inside the simulation: a SimPy process that, every `market.epoch_s`, builds each
leader's `MarketState` from the live network, asks the configured solver for the leader's
action, applies the followers' responses to the devices and base stations, and records the
`epochs` table (with the exact optimum of the same state, so every run shows its gap to it)
and the devices' market parameters (rows of the `devices` table at epoch times).

Leaders and what a decision changes:
- stackelberg, one game per edge server over the devices it serves: each device's split
  layer for its next tasks.
  a = FLOPs of one layer x the tasks a device expects in the epoch, b = the same for the stem,
  C^max = the device's FLOPS x epoch x availability x battery level, all in
  `compute_unit_flops`; c grows with the server's busy fraction (`queue_cost`).
- contract, one principal for all devices: devices are grouped into K types by their hidden
  efficiency (FLOP per joule); the type's chosen item q (layers per task) becomes the split
  layer of its devices.
- auction_bandwidth, one auction per base station: valuations (a drawn base value x (1 + the
  device's queued uploads)) and full-band rates (Mbit/s) in, uplink share weights out.
- auction_compute, one auction per edge server: fresh private values each epoch; winners
  offload with their scenario split, the others compute locally for the epoch.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netsim import solvers
from netsim.mechanisms import metrics
from netsim.mechanisms.auctions import BandwidthAuction, BandwidthState, SlotAuction, SlotState
from netsim.mechanisms.base import Mechanism, Outcome, followers_of, observe, stack_states
from netsim.mechanisms.contract import Contract, ContractState
from netsim.mechanisms.metrics import random_utility
from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState
from netsim.rng import stream
from netsim.workload.arrivals import mean_rate_per_s

if TYPE_CHECKING:
    from netsim.engine import Simulation
    from netsim.scenario.schema import Scenario

MECHANISMS: dict[str, type] = {"stackelberg": Stackelberg, "contract": Contract,
                               "auction_bandwidth": BandwidthAuction,
                               "auction_compute": SlotAuction}
NAN = math.nan


class Market:
    """Re-solves the configured mechanism every epoch and applies its outcome."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.spec = spec = sim.scenario.market
        self.mechanism: Mechanism = MECHANISMS[spec.mechanism]()
        self.solver = build_solver(sim.scenario, sim.seed, sim.base_dir)
        self.exact = solvers.build("exact")
        self.noise = spec.observation_noise if spec.information == "partial" else 0.0
        self.observation_rng = stream(sim.seed, "market/observation")
        self.values_rng = stream(sim.seed, "market/values")
        self.recorded: list[Any] | None = None  # set to a list to keep every game's state
        n = sim.n_devices
        self.alpha = spec.stackelberg.alpha.sample(stream(sim.seed, "market/alpha"), n)
        self.valuation = spec.auction_bandwidth.valuation.sample(
            stream(sim.seed, "market/valuation"), n)
        self.scenario_split = sim.devices.split_layer.copy()
        self.initial_battery = np.maximum(sim.devices.battery_j.copy(), 1e-12)
        self.rate_per_s = np.zeros(n)
        for process, index in zip(sim.arrivals, sim.network.group_index):
            self.rate_per_s[index] = mean_rate_per_s(process)
        self.epoch = 0
        self.external = False  # set by netsim.gym.MarketEnv
        self.ask = sim.env.event()
        self.waiting = None
        self.last_reward = NAN
        self._recent: list = []
        self.online_updates = 0
        self.leader_utilities: list[float] = []
        self.optimum_utilities: list[float] = []
        self.random_utilities: list[float] = []
        self.wall_s = 0.0
        self._busy_marks = {server.name: (0.0, 0.0) for server in sim.servers}
        self.load: dict[str, float] = {}  # per server: busy fraction over the last epoch

    def process(self):
        """The SimPy process: one market round now, then every epoch. With `external` set
        (the Gymnasium environment), each leader's decision is awaited from outside."""
        while True:
            start = time.perf_counter()
            if self.external:
                yield from self._external_round()
            else:
                self.round()
            self.wall_s += time.perf_counter() - start
            yield self.sim.env.timeout(self.spec.epoch_s)

    def _begin_round(self) -> tuple[float, dict[str, np.ndarray]]:
        """Bring batteries up to date and read each server's load over the epoch that ended
        (from the servers themselves: recording settings never reach a decision)."""
        sim = self.sim
        sim.flow.sync()
        t = sim.env.now
        for server in sim.servers:
            t_mark, busy_mark = self._busy_marks[server.name]
            busy = server.busy_core_s(t)
            span = (t - t_mark) * server.cores
            self.load[server.name] = (busy - busy_mark) / span if span > 0 else 0.0
            self._busy_marks[server.name] = (t, busy)
        columns = {name: np.full(sim.n_devices, NAN) for name in
                   ("alpha", "c_max", "theta", "item", "valuation", "allocation", "payment",
                    "market_utility")}
        return t, columns

    def _external_round(self):
        """Like `round`, but each action comes from outside: `ask` fires with `waiting`
        holding (state, what the leader sees, the event to answer with the action)."""
        sim = self.sim
        t, columns = self._begin_round()
        for leader, members, state, extra in list(self._games()):
            seen = observe(self.mechanism, state, self.noise, self.observation_rng)
            answer = sim.env.event()
            self.waiting = (state, seen, answer)
            self.ask.succeed()
            action = yield answer  # the answerer arms a fresh `ask` first
            outcome = self.mechanism.outcome(state, action)
            _, optimum = self.mechanism.optimum(state)
            self.last_reward = float(outcome.leader_utility[0])
            self._apply(members, state, outcome, columns)
            self._record(t, leader, state, action, outcome, float(optimum[0]), NAN, members,
                         {**extra, "plugin_utility": NAN})
        sim.sample_devices(t, columns)
        self.epoch += 1

    # ------------------------------------------------------------------ one round

    def round(self) -> None:
        sim = self.sim
        t, market_columns = self._begin_round()
        for leader, members, state, extra in self._games():
            if self.recorded is not None:
                self.recorded.append(state)
            seen = observe(self.mechanism, state, self.noise, self.observation_rng)
            action, per_decision = solvers.timed_solve(self.solver, self.mechanism, seen)
            outcome = self.mechanism.outcome(state, action)  # utilities on the truth
            _, optimum = self.mechanism.optimum(state)
            extra = {**extra, "plugin_utility": float(self.mechanism.utility(
                state, self.exact.solve(self.mechanism, seen))[0]) if self.noise else NAN}
            self._apply(members, state, outcome, market_columns)
            if self.spec.solver.online:
                self._learn_online(state, seen)
            self._record(t, leader, state, action, outcome, float(optimum[0]), per_decision,
                         members, extra)
        sim.sample_devices(t, market_columns)
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

    def _games(self):
        """(leader name, follower device indices, state, extra columns) per leader."""
        sim = self.sim
        if self.spec.mechanism == "contract":
            yield "all", np.arange(sim.n_devices), self._contract_state(), {}
            return
        if self.spec.mechanism == "auction_bandwidth":
            yield from self._bandwidth_games()
            return
        server_of_device = np.array([id(sim.flow.bs_server[b]) for b in sim.bs_of.tolist()])
        for server in sim.servers:
            members = np.flatnonzero(server_of_device == id(server))
            if len(members) == 0:
                continue
            if self.spec.mechanism == "stackelberg":
                yield server.name, members, *self._stackelberg_state(server, members)
            else:
                yield server.name, members, self._slot_state(members), {}

    def _stackelberg_state(self, server, members):
        sim, p = self.sim, self.spec.stackelberg
        profile = sim.profile
        tasks = self.rate_per_s[members].mean() * self.spec.epoch_s
        unit = p.compute_unit_flops
        a = float(profile.layer_flops.mean()) * tasks / unit
        b = profile.stem_flops * tasks / unit
        battery = np.clip(sim.devices.battery_j[members] / self.initial_battery[members], 0, 1)
        c_max = (sim.devices.compute_flops[members] * self.spec.epoch_s * p.availability
                 * battery / unit)
        c = p.c * (1.0 + p.queue_cost * self.load.get(server.name, 0.0))
        state = StackelbergState.create(self.alpha[members], np.maximum(c_max, b), a, b, c, p.R,
                                        p.p_min, p.p_max, profile.n_layers)
        return state, {"a": a, "b": b, "c": c, "L": profile.n_layers, "R": p.R,
                       "p_min": p.p_min, "p_max": p.p_max}

    def _contract_state(self) -> ContractState:
        sim, p = self.sim, self.spec.contract
        efficiency = 1.0 / sim.devices.energy_per_flop_j  # hidden type: FLOP per joule
        edges = np.quantile(efficiency, np.linspace(0, 1, p.types + 1)[1:-1])
        self._type_of = np.searchsorted(edges, efficiency, side="right")
        types = np.unique(self._type_of)
        self._type_of = np.searchsorted(types, self._type_of)
        theta = np.array([efficiency[self._type_of == k].mean() for k in range(len(types))])
        theta = theta / theta.min()
        count = np.bincount(self._type_of, minlength=len(types)).astype(float)
        return ContractState.create(theta, count, p.beta, p.q_max)

    def _bandwidth_games(self):
        sim = self.sim
        bss = sim.network.base_stations
        full = sim.uplink_full_band_rate_bps() / 1e6
        queued = np.array(sim.uplink.queue_lengths())
        theta = self.valuation * (1.0 + queued)
        for b, name in enumerate(bss.ids):
            members = np.flatnonzero(sim.bs_of == b)
            if len(members):
                yield name, members, BandwidthState.create(theta[members], full[members]), {}

    def _slot_state(self, members) -> SlotState:
        p = self.spec.auction_compute
        if p.values == "uniform":
            values = self.values_rng.uniform(p.value_low, p.value_high, len(members))
        else:
            values = self.values_rng.exponential(p.value_high, len(members))
        return SlotState.create(p.slots, p.value_low, p.value_high, values, p.values)

    # ------------------------------------------------------------------ decisions

    def _apply(self, members, state, outcome: Outcome, columns) -> None:
        sim, mech = self.sim, self.spec.mechanism
        decisions = {k: v[0] for k, v in outcome.decisions.items()}
        if mech != "contract":  # contract utilities are per type, mapped below
            columns["market_utility"][members] = outcome.follower_utility[0]
        if mech == "stackelberg":
            sim.devices.split_layer[members] = decisions["split_layer"]
            columns["alpha"][members] = state.alpha[0]
            columns["c_max"][members] = state.c_max[0]
            columns["item"][members] = decisions["split_layer"]
        elif mech == "contract":
            item = decisions["item"][self._type_of]
            q = decisions["contribution"][self._type_of]
            split = np.clip(np.rint(q), 0, sim.profile.n_layers).astype(int)
            sim.devices.split_layer[members] = np.where(item >= 0, split,
                                                        self.scenario_split[members])
            columns["theta"][members] = state.theta[0][self._type_of]
            columns["item"][members] = item
            columns["allocation"][members] = q
            columns["payment"][members] = -decisions["reward"][self._type_of]
            columns["market_utility"][members] = outcome.follower_utility[0][self._type_of]
        elif mech == "auction_bandwidth":
            weights = sim.uplink.weights
            if weights is None:
                weights = np.ones(sim.n_devices)
            weights = weights.copy()
            weights[members] = np.maximum(decisions["share"],
                                          self.spec.auction_bandwidth.min_share)
            sim.uplink.set_weights(weights)
            columns["valuation"][members] = state.theta[0]
            columns["allocation"][members] = decisions["share"]
            columns["payment"][members] = decisions["payment"]
        else:
            won = decisions["won"]
            sim.devices.split_layer[members] = np.where(won, self.scenario_split[members],
                                                        sim.profile.n_layers)
            columns["valuation"][members] = decisions["value"]
            columns["allocation"][members] = won
            columns["payment"][members] = decisions["payment"]

    def _record(self, t, leader, state, action, outcome, optimum, per_decision, members,
                extra) -> None:
        decisions = outcome.decisions
        if "split_layer" in decisions:
            taking = decisions["split_layer"][0] > 0
        elif "item" in decisions:
            taking = decisions["item"][0] >= 0
        elif "share" in decisions:
            taking = decisions["share"][0] > 0
        else:
            taking = decisions["won"][0]
        leader_utility = float(outcome.leader_utility[0])
        baseline = float(random_utility(self.mechanism, state)[0])
        revenue = float(decisions["revenue"][0, 0]) if "revenue" in decisions else NAN
        self.sim.recorder.epochs.rows.append((
            self.epoch, t, leader, self.spec.mechanism, self.solver.name,
            [float(x) for x in np.ravel(action[0])], leader_utility, optimum,
            float(metrics.ratio(leader_utility, optimum)), baseline, optimum - leader_utility,
            float(metrics.score(leader_utility, optimum, baseline)),
            float(outcome.follower_utility[0].mean()), float(np.mean(taking)), len(members),
            per_decision, extra.get("a", NAN), extra.get("b", NAN), extra.get("c", NAN),
            extra.get("L"), extra.get("R", NAN), extra.get("p_min", NAN),
            extra.get("p_max", NAN), revenue, extra["plugin_utility"]))
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
