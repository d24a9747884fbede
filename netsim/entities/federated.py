"""Federated training rounds with client selection, over the same devices, radio and
compute as the tasks.

Every `round_s` (from 0) the server selects up to `clients_per_round` clients among the
devices taking part that still have battery:
- random: uniformly, from the rounds' own stream;
- fastest: the shortest estimated time, local training at the device's FLOPS plus the model
  upload at its current full-band uplink rate (what the server can know at the start);
- market: those the market's mechanism chose at the epoch that starts with the round.
A selected client trains local_epochs x samples x flops_per_sample on its own compute, in
turn with its tasks (the device's FIFO), paying flops x energy per FLOP, then uploads the
model (model_bytes at its compression) over its uplink, shared with everything else on the
band, paying its transmit power over the upload. The round ends at the last upload, or at
the deadline: clients not done by then are stragglers, dropped (their queued upload is
withdrawn, their training time stays spent).

Convergence proxy (per round, in the `rounds` table): the data that took part is the share
of all candidates' samples whose updates arrived, times the local epochs (passes over the
data); the gap proxy after round r is 1 / (1 + the passes summed over rounds 1..r), the
O(1/T) decay of FedAvg's optimality gap on smooth, strongly convex objectives with T counted
in passes over the data (Li et al., "On the Convergence of FedAvg on Non-IID Data", ICLR
2020). It ranks selection policies by the data they aggregate; it is not an accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from netsim.entities.device_queue import fifo_finish
from netsim.entities.tasks import DeviceState
from netsim.network.radio import RadioPool
from netsim.record.tables import TableWriter
from netsim.scenario.schema import FederatedSpec
from netsim.workload.compression import LEVELS

# uplink payloads of model uploads: this plus the device number (task slots stay below)
UPLOAD_PAYLOAD = 1 << 40


class FederatedRounds:
    """The rounds of one federated training job (see the module docstring)."""

    def __init__(self, spec: FederatedSpec, candidates: np.ndarray, samples: np.ndarray,
                 devices: DeviceState, uplink: RadioPool, rng: np.random.Generator,
                 rates_bps: Callable[[], np.ndarray], deliver: Callable[[int, float], float],
                 writer: TableWriter):
        self.spec = spec
        self.candidates = candidates  # device numbers taking part
        self.samples = np.zeros(len(devices.compute_flops))
        self.samples[candidates] = samples
        self.devices = devices
        self.uplink = uplink
        self.rng = rng
        self.rates_bps = rates_bps
        self.deliver = deliver  # (device, time at its base station) -> time at the server
        self.writer = writer
        self.deadline_s = spec.deadline_s or spec.round_s
        self.upload_bits = 8.0 * math.ceil(spec.model_bytes
                                           * LEVELS[spec.compression].param_factor)
        self.work_flops = spec.local_epochs * spec.flops_per_sample * self.samples
        self.market_choice = np.zeros(0, dtype=np.int64)  # set by a market every round
        self.payments = np.zeros(len(devices.compute_flops))  # per device, by the market
        self.round = -1
        self.passes = 0.0  # summed over rounds: the convergence proxy's clock
        self._open = False
        self.next_start_s = 0.0

    # ------------------------------------------------------------------ timing

    @property
    def next_s(self) -> float:
        """The next time the rounds need a step to end: a round's start or its deadline."""
        return self.deadline_at if self._open else self.next_start_s

    def due(self, t: float) -> None:
        """At a step's start: close a round past its deadline, start one that is due."""
        if self._open and t >= self.deadline_at:
            self._close(self.deadline_at)
        if not self._open and t >= self.next_start_s:
            self._start(t)

    # ------------------------------------------------------------------ a round

    def select(self) -> np.ndarray:
        """This round's clients (see the module docstring)."""
        alive = self.candidates[self.devices.battery_j[self.candidates] > 0.0]
        k = min(self.spec.clients_per_round, len(alive))
        if self.spec.selection == "random":
            return np.sort(self.rng.choice(alive, size=k, replace=False))
        if self.spec.selection == "fastest":
            rate = self.rates_bps()[alive]
            estimate = (self.work_flops[alive] / self.devices.compute_flops[alive]
                        + np.where(rate > 0, self.upload_bits / np.maximum(rate, 1e-300),
                                   np.inf))
            return np.sort(alive[np.argsort(estimate, kind="stable")[:k]])
        return np.sort(np.intersect1d(self.market_choice, alive))

    def _start(self, t: float) -> None:
        self.round += 1
        self.t_start = t
        self.deadline_at = t + self.deadline_s
        self.next_start_s = (self.round + 1) * self.spec.round_s
        self.clients = self.select()
        self.arrived_at = np.full(len(self.clients), np.nan)
        self.energy_j = 0.0
        self._open = True
        devices, clients = self.devices, self.clients
        if not len(clients):
            self._close(t)
            return
        flops = self.work_flops[clients]
        energy = flops * devices.energy_per_flop_j[clients]
        devices.battery_j[clients] -= energy
        devices.energy_used_j[clients] += energy
        devices.local_flops[clients] += flops
        self.energy_j = float(energy.sum())
        trained = fifo_finish(np.full(len(clients), t), clients,
                              flops / devices.compute_flops[clients], devices.compute_free_at)
        self.uplink.enqueue_many(clients, trained, np.full(len(clients), self.upload_bits),
                                 UPLOAD_PAYLOAD + clients)

    def after_uplink(self, payloads: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        """Model uploads that ended at their base stations (payloads UPLOAD_PAYLOAD +
        device): they cross the wired links to the aggregating server."""
        if not self._open or not len(payloads):
            return
        devices = payloads - UPLOAD_PAYLOAD
        where = np.searchsorted(self.clients, devices)
        self.arrived_at[where] = [self.deliver(d, e) for d, e in zip(devices.tolist(),
                                                                     ends.tolist())]
        energy = self.devices.tx_power_w[devices] * (ends - starts)
        self.devices.battery_j[devices] -= energy
        self.devices.energy_used_j[devices] += energy
        self.energy_j += float(energy.sum())
        if not np.isnan(self.arrived_at).any():
            self._close(min(float(self.arrived_at.max()), self.deadline_at))

    def finish(self, t: float) -> None:
        """The run ends at t: a round still open ends there."""
        if self._open:
            self._close(t)

    def _close(self, t_end: float) -> None:
        """End the round at t_end: uploads not arrived by the deadline are stragglers."""
        self._open = False
        done = self.arrived_at <= self.deadline_at
        late = self.clients[~done]
        if len(late):
            self.uplink.withdraw(UPLOAD_PAYLOAD + late)
        completed = self.clients[done]
        share = float(self.samples[completed].sum() / self.samples[self.candidates].sum())
        passes = share * self.spec.local_epochs
        self.passes += passes
        self.writer.rows.append((
            self.round, self.t_start, t_end, t_end - self.t_start, self.spec.selection,
            len(self.clients), len(completed), len(late), self.clients.tolist(),
            completed.tolist(), int(self.samples[completed].sum()), self.energy_j,
            float(self.payments[self.clients].sum()), passes, 1.0 / (1.0 + self.passes)))

    # ------------------------------------------------------------------ market

    def choose(self, clients: np.ndarray, payments: np.ndarray) -> None:
        """A market's choice for the next round, and what each client pays (or, negative,
        is paid), indexed by device."""
        self.market_choice = np.sort(np.asarray(clients, dtype=np.int64))
        self.payments = payments
