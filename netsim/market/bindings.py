"""Mechanism bindings: how each mechanism meets the network, through the `MarketView`.

A binding builds its mechanism's games from the view (who leads, which devices follow, the
state), applies an outcome to the network, fills its devices-table columns and says who takes
part. Adding a mechanism is one `Mechanism` (pure, batched: netsim/mechanisms/) and one
binding registered in `BINDINGS`; the market loop never changes.

Leaders and what a decision changes:
- stackelberg, one game per edge server over the devices it serves: each device's split
  layer for its next tasks. a = FLOPs of one layer x the tasks a device expects in the epoch,
  b = the same for the stem, C^max = the device's FLOPS x epoch x availability x battery
  level, all in `compute_unit_flops`; c grows with the server's busy fraction (`queue_cost`).
- contract, one principal for all devices: devices are grouped into K types by their hidden
  efficiency (FLOP per joule); the type's chosen item q (layers per task) becomes the split
  layer of its devices, or (offers: compression) picks the compression level they run at,
  from the lightest rung of the ladder at q = 0 to the heaviest at q_max.
- auction_bandwidth, one auction per base station: valuations (a drawn base value x (1 + the
  device's queued uploads)) and full-band rates (Mbit/s) in, uplink share weights out.
- participation_auction, one auction per federated round: winners are the round's clients.
- auction_compute, one auction per edge server: fresh private values each epoch; winners
  offload with their scenario split, the others compute locally for the epoch.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from netsim.market.view import MarketView
from netsim.mechanisms.auctions import BandwidthAuction, BandwidthState, SlotAuction, SlotState
from netsim.mechanisms.base import Mechanism, Outcome
from netsim.mechanisms.contract import Contract, ContractState
from netsim.mechanisms.double_auction import DoubleAuction, DoubleAuctionState
from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState
from netsim.rng import stream
from netsim.scenario.schema import MarketSpec, ValueFamily
from netsim.workload.compression import NAMES as COMPRESSION_LEVELS

NAN = math.nan
Game = tuple[str, np.ndarray, Any, dict[str, Any]]  # (leader, follower devices, state, extra)


class MechanismBinding(ABC):
    """The network side of one mechanism (see the module docstring)."""

    mechanism_class: ClassVar[type[Mechanism]]

    def __init__(self, view: MarketView, spec: MarketSpec):
        self.view = view
        self.spec = spec
        self.initial_split = view.device_split_layers().copy()

    @abstractmethod
    def games(self, load: dict[str, float]) -> Iterator[Game]:
        """This epoch's games; `load` is each server's busy fraction over the last epoch."""

    @abstractmethod
    def apply(self, members: np.ndarray, state: Any, outcome: Outcome,
              columns: dict[str, np.ndarray]) -> None:
        """Carry out the followers' decisions and fill their devices-table columns."""

    @abstractmethod
    def taking_part(self, decisions: dict[str, np.ndarray]) -> np.ndarray:
        """Per follower of the first game in the batch: does it take part?"""

    def _members_per_server(self) -> Iterator[tuple[str, np.ndarray]]:
        """Each compute server and the devices whose base station feeds it (if any)."""
        server_of_bs = np.array(self.view.server_of_base_station())
        server_of_device = server_of_bs[self.view.serving_base_stations()]
        for name in self.view.server_names():
            members = np.flatnonzero(server_of_device == name)
            if len(members):
                yield name, members


class StackelbergBinding(MechanismBinding):
    mechanism_class = Stackelberg

    def __init__(self, view: MarketView, spec: MarketSpec):
        super().__init__(view, spec)
        self.alpha = spec.stackelberg.alpha.sample(stream(view.seed, "market/alpha"),
                                                   view.n_devices)
        self.initial_battery = np.maximum(view.device_battery_j().copy(), 1e-12)
        self.rate_per_s = view.arrival_rates_per_s()

    def games(self, load: dict[str, float]) -> Iterator[Game]:
        for name, members in self._members_per_server():
            yield name, members, *self._state(name, members, load)

    def _state(self, server: str, members: np.ndarray, load: dict[str, float]):
        view, p, epoch_s = self.view, self.spec.stackelberg, self.spec.epoch_s
        profile = view.profile
        tasks = self.rate_per_s[members].mean() * epoch_s
        unit = p.compute_unit_flops
        a = float(profile.layer_flops.mean()) * tasks / unit
        b = profile.stem_flops * tasks / unit
        battery = np.clip(view.device_battery_j()[members] / self.initial_battery[members], 0, 1)
        c_max = view.device_compute_flops()[members] * epoch_s * p.availability * battery / unit
        c = p.c * (1.0 + p.queue_cost * load.get(server, 0.0))
        state = StackelbergState.create(self.alpha[members], np.maximum(c_max, b), a, b, c, p.R,
                                        p.p_min, p.p_max, profile.n_layers)
        return state, {"a": a, "b": b, "c": c, "L": profile.n_layers, "R": p.R,
                       "p_min": p.p_min, "p_max": p.p_max}

    def apply(self, members, state, outcome, columns) -> None:
        split = outcome.decisions["split_layer"][0]
        self.view.set_split_layers(members, split)
        columns["market_utility"][members] = outcome.follower_utility[0]
        columns["alpha"][members] = state.alpha[0]
        columns["c_max"][members] = state.c_max[0]
        columns["item"][members] = split

    def taking_part(self, decisions) -> np.ndarray:
        return decisions["split_layer"][0] > 0


class ContractBinding(MechanismBinding):
    mechanism_class = Contract

    def __init__(self, view: MarketView, spec: MarketSpec):
        super().__init__(view, spec)
        self.initial_compression = view.device_compression().copy()
        self.ladder = np.array([COMPRESSION_LEVELS.index(level)
                                for level in spec.contract.compression_ladder])

    def games(self, load: dict[str, float]) -> Iterator[Game]:
        p = self.spec.contract
        efficiency = 1.0 / self.view.device_energy_per_flop_j()  # hidden type: FLOP per joule
        edges = np.quantile(efficiency, np.linspace(0, 1, p.types + 1)[1:-1])
        type_of = np.searchsorted(edges, efficiency, side="right")
        types = np.unique(type_of)
        self._type_of = np.searchsorted(types, type_of)
        theta = np.array([efficiency[self._type_of == k].mean() for k in range(len(types))])
        theta = theta / theta.min()
        count = np.bincount(self._type_of, minlength=len(types)).astype(float)
        yield ("all", np.arange(self.view.n_devices),
               ContractState.create(theta, count, p.beta, p.q_max), {})

    def apply(self, members, state, outcome, columns) -> None:
        decisions = {k: v[0] for k, v in outcome.decisions.items()}
        item = decisions["item"][self._type_of]
        q = decisions["contribution"][self._type_of]
        if self.spec.contract.offers == "compression":  # q picks a rung of the ladder
            p = self.spec.contract
            rung = np.clip(np.rint(q / p.q_max * (len(self.ladder) - 1)), 0,
                           len(self.ladder) - 1).astype(int)
            self.view.set_compression(members, np.where(item >= 0, self.ladder[rung],
                                                        self.initial_compression[members]))
        else:
            split = np.clip(np.rint(q), 0, self.view.profile.n_layers).astype(int)
            self.view.set_split_layers(members, np.where(item >= 0, split,
                                                         self.initial_split[members]))
        columns["theta"][members] = state.theta[0][self._type_of]
        columns["item"][members] = item
        columns["allocation"][members] = q
        columns["payment"][members] = -decisions["reward"][self._type_of]
        columns["market_utility"][members] = outcome.follower_utility[0][self._type_of]

    def taking_part(self, decisions) -> np.ndarray:
        return decisions["item"][0] >= 0


class BandwidthAuctionBinding(MechanismBinding):
    mechanism_class = BandwidthAuction

    def __init__(self, view: MarketView, spec: MarketSpec):
        super().__init__(view, spec)
        self.valuation = spec.auction_bandwidth.valuation.sample(
            stream(view.seed, "market/valuation"), view.n_devices)

    def games(self, load: dict[str, float]) -> Iterator[Game]:
        view = self.view
        full = view.uplink_full_band_rate_bps() / 1e6
        theta = self.valuation * (1.0 + np.asarray(view.uplink_queue_lengths()))
        serving = view.serving_base_stations()
        for b, name in enumerate(view.base_station_ids()):
            members = np.flatnonzero(serving == b)
            if len(members):
                yield name, members, BandwidthState.create(theta[members], full[members]), {}

    def apply(self, members, state, outcome, columns) -> None:
        share = outcome.decisions["share"][0]
        weights = self.view.uplink_weights()
        weights = np.ones(self.view.n_devices) if weights is None else weights.copy()
        weights[members] = np.maximum(share, self.spec.auction_bandwidth.min_share)
        self.view.set_uplink_weights(weights)
        columns["market_utility"][members] = outcome.follower_utility[0]
        columns["valuation"][members] = state.theta[0]
        columns["allocation"][members] = share
        columns["payment"][members] = outcome.decisions["payment"][0]

    def taking_part(self, decisions) -> np.ndarray:
        return decisions["share"][0] > 0


class SlotAuctionBinding(MechanismBinding):
    """What the bindings of K-slot auctions share: private values drawn every epoch from
    their own stream, and the auction's devices-table columns."""

    mechanism_class = SlotAuction
    values_stream: ClassVar[str]

    def __init__(self, view: MarketView, spec: MarketSpec):
        super().__init__(view, spec)
        self.values_rng = stream(view.seed, self.values_stream)

    def _state(self, family: ValueFamily, slots: int, n: int) -> SlotState:
        if family.values == "uniform":
            values = self.values_rng.uniform(family.value_low, family.value_high, n)
            return SlotState.create(slots, family.value_low, family.value_high, values,
                                    family.values)
        values = self.values_rng.exponential(family.value_mean, n)
        return SlotState.create(slots, 0.0, family.value_mean, values, family.values)

    def _record(self, members: np.ndarray, outcome: Outcome,
                columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Fill the columns; return the (first game's) decisions."""
        decisions = {k: v[0] for k, v in outcome.decisions.items()}
        columns["market_utility"][members] = outcome.follower_utility[0]
        columns["valuation"][members] = decisions["value"]
        columns["allocation"][members] = decisions["won"]
        columns["payment"][members] = decisions["payment"]
        return decisions

    def taking_part(self, decisions) -> np.ndarray:
        return decisions["won"][0]


class ComputeAuctionBinding(SlotAuctionBinding):
    values_stream = "market/values"

    def games(self, load: dict[str, float]) -> Iterator[Game]:
        p = self.spec.auction_compute
        for name, members in self._members_per_server():
            yield name, members, self._state(p, p.slots, len(members)), {}

    def apply(self, members, state, outcome, columns) -> None:
        won = self._record(members, outcome, columns)["won"]
        self.view.set_split_layers(members, np.where(won, self.initial_split[members],
                                                     self.view.profile.n_layers))


class DoubleAuctionBinding(MechanismBinding):
    """Per edge server, the faster half of its devices sell `spare_share` of their FLOPS for
    the epoch at a cost of the energy one unit takes; the others' tasks buy it at a value
    drawn every epoch. A trade hands the seller's share to the buyer it is matched with (the
    i-th highest trading bid with the i-th lowest trading ask), until the next epoch."""

    mechanism_class = DoubleAuction

    def __init__(self, view: MarketView, spec: MarketSpec):
        super().__init__(view, spec)
        self.values_rng = stream(view.seed, "market/double_auction_values")
        self.base_flops = view.device_compute_flops().copy()

    def games(self, load: dict[str, float]) -> Iterator[Game]:
        """Per server: followers are its buyers, then its sellers (in that order)."""
        self.view.set_compute_flops(np.arange(self.view.n_devices), self.base_flops)
        for name, members in self._members_per_server():
            buyers, sellers = self._sides(members)
            if len(buyers) and len(sellers):
                yield name, np.concatenate([buyers, sellers]), self._state(buyers, sellers), {}

    def _sides(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The faster half sells (ties: the earlier devices), the others buy."""
        order = np.argsort(-self.base_flops[members], kind="stable")
        sellers = np.sort(members[order[: len(members) // 2]])
        return np.setdiff1d(members, sellers), sellers

    def _state(self, buyers: np.ndarray, sellers: np.ndarray) -> DoubleAuctionState:
        p = self.spec.double_auction
        values = p.value.sample(self.values_rng, len(buyers))
        costs = (self.view.device_energy_per_flop_j()[sellers] * p.compute_unit_flops
                 * p.energy_price_per_j)
        return DoubleAuctionState.create(values[None], costs[None])

    def apply(self, members, state, outcome, columns) -> None:
        n_buyers = state.bids.shape[1]
        buyers, sellers = members[:n_buyers], members[n_buyers:]
        decisions = outcome.decisions
        buys, sells = decisions["buys"][0], decisions["sells"][0]
        # match the i-th highest trading bid with the i-th lowest trading ask
        winners = buyers[np.argsort(-state.bids[0], kind="stable")][:buys.sum()]
        suppliers = sellers[np.argsort(state.asks[0], kind="stable")][:sells.sum()]
        moved = self.spec.double_auction.spare_share * self.base_flops[suppliers]
        self.view.set_compute_flops(suppliers, self.base_flops[suppliers] - moved)
        self.view.set_compute_flops(winners, self.base_flops[winners] + moved)
        utility = outcome.follower_utility[0]
        columns["valuation"][buyers] = state.bids[0]
        columns["valuation"][sellers] = state.asks[0]
        columns["allocation"][buyers] = np.where(buys, 1.0, 0.0)
        columns["allocation"][sellers] = np.where(sells, -1.0, 0.0)
        columns["payment"][buyers] = np.where(buys, decisions["buyer_price"][0], 0.0)
        columns["payment"][sellers] = np.where(sells, -decisions["seller_price"][0], 0.0)
        columns["market_utility"][buyers] = utility[:n_buyers]
        columns["market_utility"][sellers] = utility[n_buyers:]

    def taking_part(self, decisions) -> np.ndarray:
        return np.concatenate([decisions["buys"][0], decisions["sells"][0]])


class ParticipationAuctionBinding(SlotAuctionBinding):
    """Federated client selection by auction, one per round: the candidates bid a value
    of taking part drawn every round; the (K+1)-th price auction with the solver's reserve
    gives the clients_per_round slots to the highest bids, and the winners are the next
    round's clients, each paying the price."""

    values_stream = "market/participation_values"

    def games(self, load: dict[str, float]) -> Iterator[Game]:
        members = self.view.federated_candidates()
        state = self._state(self.spec.participation_auction,
                            self.view.federated_clients_per_round(), len(members))
        yield "federated", members, state, {}

    def apply(self, members, state, outcome, columns) -> None:
        decisions = self._record(members, outcome, columns)
        payments = np.zeros(self.view.n_devices)
        payments[members] = decisions["payment"]
        self.view.set_federated_clients(members[decisions["won"]], payments)


BINDINGS: dict[str, type[MechanismBinding]] = {
    "stackelberg": StackelbergBinding, "contract": ContractBinding,
    "auction_bandwidth": BandwidthAuctionBinding, "auction_compute": ComputeAuctionBinding,
    "double_auction": DoubleAuctionBinding, "participation_auction": ParticipationAuctionBinding}
MECHANISMS: dict[str, type[Mechanism]] = {name: binding.mechanism_class
                                          for name, binding in BINDINGS.items()}
