"""Radio transfers of one direction (uplink or downlink), integrated exactly over rate changes.

Each device sends one transfer at a time, in order of readiness. On every channel tick each
base station's band is split among the devices that transmit during the tick, in proportion
to their weights (equal shares by default; a market may set the weights), and the rate then
holds for the tick. A transfer's remaining bits shrink by rate x time; one that ends inside
the tick gets its exact end time. Only devices with something to send are visited, so a tick
costs in proportion to the active transfers, not to the number of devices.

Callers enqueue every transfer that becomes ready in a tick before that tick's `advance`
(the engine orders its work so), which keeps the shares of every tick consistent.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import numpy as np

RateFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rx power mW, share Hz) -> bit/s
RxFn = Callable[[np.ndarray], np.ndarray]  # device indices -> received power, mW
Completion = tuple[Any, float, float]  # (payload, t_start, t_finish)
_BY_FINISH = itemgetter(2)


class RadioPool:
    """Queued and in-progress radio transfers of every device in one direction."""

    def __init__(self, n_devices: int, bandwidth_hz: np.ndarray, tick_s: float, rate_fn: RateFn):
        self.bandwidth_hz = np.asarray(bandwidth_hz, dtype=float)
        self.tick_s = tick_s
        self.rate_fn = rate_fn
        n_bs = len(self.bandwidth_hz)
        # hot per-device state in Python lists: scalar access from the transfer loop
        self.queues: list[list[tuple]] = [[] for _ in range(n_devices)]
        self.busy = [False] * n_devices
        self.remaining_bits = [0.0] * n_devices
        self.started_at = [0.0] * n_devices
        self.active: set[int] = set()  # devices with a transfer in progress
        self.n_bs = n_bs
        self.weights: np.ndarray | None = None  # share weights; None = equal shares
        self.rate_bps = np.zeros(n_devices)  # rate in the latest tick each device sent in
        self.share_hz = np.zeros(n_devices)
        self._wake: dict[int, set[int]] = {}
        self._seq = 0
        self._next_k = 0
        # cumulative per base station, for the links table
        self.bits_sent = [0.0] * n_bs
        self.tx_s = [0.0] * n_bs  # transmitter-seconds: mean concurrent senders x time
        self.busy_hz_s = [0.0] * n_bs  # band in use: Hz x seconds

    def enqueue(self, device: int, ready_s: float, bits: float, payload: Any) -> None:
        """Queue a transfer that can start at `ready_s` (in the current tick or later)."""
        self._seq += 1
        queue = self.queues[device]
        item = (ready_s, self._seq, bits, payload)
        if self.busy[device]:
            bisect.insort(queue, item, lo=1)
            return
        if queue and queue[0][0] <= ready_s:
            bisect.insort(queue, item)  # behind a head that already has its wake-up
            return
        queue.insert(0, item)
        # a new head: a tick must look at the device then (inlined _wake_at: hot path)
        k = int(ready_s // self.tick_s)
        if k < self._next_k:
            k = self._next_k
        wake = self._wake.get(k)
        if wake is None:
            self._wake[k] = {device}
        else:
            wake.add(device)

    def _wake_at(self, t: float, device: int) -> None:
        k = max(int(t // self.tick_s), self._next_k)
        self._wake.setdefault(k, set()).add(device)

    def advance(self, k: int, t0: float, t1: float, rx_fn: RxFn,
                bs_of: np.ndarray) -> list[Completion]:
        """Share the bands and send over the tick [t0, t1); return the transfers that ended,
        in order of their end times."""
        self._next_k = k + 1
        woken = self._wake.pop(k, None)
        members = self.active | woken if woken else self.active
        if not members:
            return []
        cand = np.fromiter(members, dtype=np.int64, count=len(members))
        cand.sort()  # a fixed order, for reproducible runs
        bs = bs_of[cand]
        if self.weights is None:  # equal shares
            per_bs = self.bandwidth_hz / np.maximum(np.bincount(bs, minlength=self.n_bs), 1)
            share = per_bs[bs]
        else:
            weight = self.weights[cand]
            weight_sum = np.bincount(bs, weight, minlength=self.n_bs)[bs]
            # no np.errstate here: it costs more than the arithmetic at these sizes
            share = np.divide(self.bandwidth_hz[bs] * weight, weight_sum,
                              out=np.zeros(len(cand)), where=weight_sum > 0)
        rate = self.rate_fn(rx_fn(cand), share)
        self.rate_bps[cand] = rate
        self.share_hz[cand] = share
        done: list[Completion] = []
        # the transfer loop, inlined with hoisted lookups: it runs about twice per task
        queues, busy, remaining, started = self.queues, self.busy, self.remaining_bits, \
            self.started_at
        active, bits_sent, tx_s, busy_hz_s = self.active, self.bits_sent, self.tx_s, \
            self.busy_hz_s
        for device, r, band, b in zip(cand.tolist(), rate.tolist(), share.tolist(),
                                         bs.tolist()):
            queue = queues[device]
            sending = busy[device]
            now, sent = t0, 0.0
            while queue:
                if sending:
                    left = remaining[device]
                else:
                    ready = queue[0][0]
                    if ready >= t1:
                        self._wake_at(ready, device)
                        break
                    if ready > now:
                        now = ready
                    sending = True
                    left = queue[0][2]
                    started[device] = now
                capacity = r * (t1 - now)
                if r > 0.0 and capacity >= left:
                    now += left / r
                    sent += left
                    sending = False
                    done.append((queue.pop(0)[3], started[device], now))
                else:
                    remaining[device] = left - capacity
                    sent += capacity
                    break
            busy[device] = sending
            if sending:
                active.add(device)
            else:
                active.discard(device)
            if sent > 0.0:
                bits_sent[b] += sent
                tx_s[b] += sent / r
                busy_hz_s[b] += sent / r * band
        if len(done) > 1:
            done.sort(key=_BY_FINISH)
        return done

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Share each band in proportion to per-device weights from the next tick on
        (None: equal shares)."""
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def queue_lengths(self) -> list[int]:
        return [len(queue) for queue in self.queues]
