"""Radio transfers of one direction (uplink or downlink), integrated exactly over rate changes.

Each device sends one transfer at a time, in order of readiness. On every channel tick each
base station's band is split among the devices that transmit during the tick, in proportion
to their weights (equal shares by default; a market may set the weights); the rate then holds
until the next tick. Remaining bits shrink by rate x time, vectorised over devices; only a
transfer that ends inside the tick is visited in Python, and it gets its exact end time.
A transfer that becomes ready between ticks (a result leaving a server) joins at once with the
share it would have had counting itself; everyone is re-balanced at the next tick.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

import numpy as np

RateFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
DoneFn = Callable[[Any, float, float], None]  # (payload, t_start, t_finish)


class RadioPool:
    """Queued and in-progress radio transfers of every device in one direction."""

    def __init__(self, n_devices: int, bandwidth_hz: np.ndarray, tick_s: float,
                 rate_fn: RateFn, on_done: DoneFn):
        self.bandwidth_hz = np.asarray(bandwidth_hz, dtype=float)
        self.tick_s = tick_s
        self.rate_fn = rate_fn
        self.on_done = on_done
        n_bs = len(self.bandwidth_hz)
        self.queues: list[list[tuple]] = [[] for _ in range(n_devices)]
        self.in_progress = np.zeros(n_devices, dtype=bool)
        self.remaining_bits = np.zeros(n_devices)
        self.started_at = np.zeros(n_devices)
        self.weights = np.ones(n_devices)
        self.rate_bps = np.zeros(n_devices)  # rate in the current tick, where transmitting
        self.share_hz = np.zeros(n_devices)
        self._counted = np.full(n_devices, -1)  # tick in which the device got a share
        self._wake: dict[int, set[int]] = {}
        self._seq = 0
        self._k, self._t1, self._next_k = -1, 0.0, 0
        self._rx_mw = np.zeros(n_devices)
        self._bs = np.zeros(n_devices, dtype=int)
        self._weight_sum = np.zeros(n_bs)
        # cumulative per base station, for the links table
        self.bits_sent = np.zeros(n_bs)
        self.tx_s = np.zeros(n_bs)  # transmitter-seconds: mean concurrent users x time
        self.busy_hz_s = np.zeros(n_bs)  # band actually used: Hz x seconds

    # ------------------------------------------------------------------ queueing

    def enqueue(self, device: int, ready_s: float, bits: float, payload: Any) -> None:
        """Queue a transfer that can start at `ready_s` (now or later)."""
        self._seq += 1
        queue = self.queues[device]
        busy = bool(self.in_progress[device])
        bisect.insort(queue, (ready_s, self._seq, bits, payload), lo=1 if busy else 0)
        if busy:
            return  # picked up when the device's current transfer ends
        if ready_s < self._t1:  # joins the tick in progress
            self._run(device, ready_s, self._t1, self._join_rate(device))
        else:
            self._wake_at(queue[0][0], device)

    def _wake_at(self, t: float, device: int) -> None:
        k = max(int(t // self.tick_s), self._next_k)
        self._wake.setdefault(k, set()).add(device)

    def _join_rate(self, device: int) -> float:
        if self._counted[device] == self._k:
            return float(self.rate_bps[device])
        bs = self._bs[device]
        weight = self.weights[device]
        total = self._weight_sum[bs] + weight
        share = self.bandwidth_hz[bs] * weight / total if total > 0 else 0.0
        self.share_hz[device] = share
        return float(self.rate_fn(self._rx_mw[device:device + 1], np.array([share]))[0])

    # ------------------------------------------------------------------ ticks

    def advance(self, k: int, t0: float, t1: float, rx_mw: np.ndarray, bs_of: np.ndarray) -> None:
        """Share the bands and move every transfer forward over the tick [t0, t1)."""
        self._k, self._t1, self._next_k = k, t1, k + 1
        self._rx_mw, self._bs = rx_mw, bs_of
        candidates = self.in_progress.copy()
        woken = self._wake.pop(k, None)
        if woken:
            candidates[list(woken)] = True
        cand = np.flatnonzero(candidates)
        n_bs = len(self.bandwidth_hz)
        if cand.size == 0:
            self._weight_sum = np.zeros(n_bs)
            return
        bs = bs_of[cand]
        weight = self.weights[cand]
        self._weight_sum = np.bincount(bs, weight, minlength=n_bs)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(weight > 0, self.bandwidth_hz[bs] * weight / self._weight_sum[bs], 0.0)
        rate = self.rate_fn(rx_mw[cand], share)
        self.rate_bps[cand] = rate
        self.share_hz[cand] = share
        self._counted[cand] = k

        dt = t1 - t0
        carry = self.in_progress[cand] & (self.remaining_bits[cand] > rate * dt)
        moved = rate[carry] * dt
        self.remaining_bits[cand[carry]] -= moved
        self.bits_sent += np.bincount(bs[carry], moved, minlength=n_bs)
        self.tx_s += np.bincount(bs[carry], minlength=n_bs) * dt
        self.busy_hz_s += np.bincount(bs[carry], share[carry], minlength=n_bs) * dt
        for device, device_rate in zip(cand[~carry].tolist(), rate[~carry].tolist()):
            self._run(device, t0, t1, device_rate)

    def _run(self, device: int, start: float, t1: float, rate: float) -> None:
        """Send the device's queue in order from `start` until the tick ends at t1."""
        queue = self.queues[device]
        now, sent = start, 0.0
        while queue:
            ready, _, bits, payload = queue[0]
            if not self.in_progress[device]:
                if ready >= t1:
                    self._wake_at(ready, device)
                    break
                now = max(now, ready)
                self.in_progress[device] = True
                self.remaining_bits[device] = bits
                self.started_at[device] = now
            remaining = self.remaining_bits[device]
            capacity = rate * (t1 - now)
            if rate > 0 and capacity >= remaining:
                now += remaining / rate
                sent += remaining
                queue.pop(0)
                self.in_progress[device] = False
                self.remaining_bits[device] = 0.0
                self.on_done(payload, float(self.started_at[device]), now)
            else:
                self.remaining_bits[device] = remaining - capacity
                sent += capacity
                break
        if sent > 0:
            bs = self._bs[device]
            self.bits_sent[bs] += sent
            self.tx_s[bs] += sent / rate
            self.busy_hz_s[bs] += sent / rate * self.share_hz[device]

    @property
    def n_in_flight(self) -> int:
        return sum(len(queue) for queue in self.queues)
