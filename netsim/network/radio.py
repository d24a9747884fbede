"""Radio transfers of one direction (uplink or downlink): processor sharing within each tick.

Each device sends one transfer at a time, in order of readiness. A base station's band is
shared among the transfers in progress at each instant, in proportion to per-device weights
(equal shares by default; a market may set the weights), and is re-split at every transfer
start and end inside the tick (weighted processor sharing, exact). The channel (received
power, noise plus interference) is the tick's: the tick is the clock of the channel, not of
the queue. Transfers that never overlap each get the whole band.

Rate on a share W_i of a band W (Shannon, capped at the top spectral efficiency):
- uplink: the device's own power P on W_i, so SINR = P / (N W_i) and the rate is not linear
  in the share;
- downlink: the base station's power at constant spectral density, a share W_i carrying
  P W_i / W, so SINR = P / (N W) and a cell's rates sum to at most its Shannon capacity.
N is the noise plus interference spectral density the caller gives per device and tick.

Only devices with something to send are visited, so a tick costs in proportion to the
active transfers, not to the number of devices. Callers enqueue every transfer that becomes
ready in a tick before that tick's `advance` (the engine orders its work so).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import numpy as np

# device indices -> (received power over the whole band in mW, noise + interference mW/Hz)
LinkFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Completion = tuple[Any, float, float]  # (payload, t_start, t_finish)
_BY_FINISH = itemgetter(2)
_INF = math.inf


class RadioPool:
    """Queued and in-progress radio transfers of every device in one direction."""

    def __init__(self, n_devices: int, bandwidth_hz: np.ndarray, tick_s: float,
                 max_spectral_efficiency: float, constant_psd: bool):
        self.bandwidth_hz = np.asarray(bandwidth_hz, dtype=float)
        self.tick_s = tick_s
        self.max_se = max_spectral_efficiency
        self.constant_psd = constant_psd  # True on the downlink: power spread over the band
        n_bs = len(self.bandwidth_hz)
        # hot per-device state in Python lists: scalar access from the transfer loop
        self.queues: list[list[tuple]] = [[] for _ in range(n_devices)]
        self.busy = [False] * n_devices
        self.remaining_bits = [0.0] * n_devices
        self.started_at = [0.0] * n_devices
        self.active: set[int] = set()  # devices with a transfer in progress
        self.n_bs = n_bs
        self.weights: np.ndarray | None = None  # share weights; None = equal shares
        self.rate_bps = np.zeros(n_devices)  # mean rate while sending, latest tick it sent in
        self.share_hz = np.zeros(n_devices)  # mean share while sending, same tick
        self.airtime_s = np.zeros(n_devices)  # time spent sending in the latest tick
        self.bs_busy_s = np.zeros(n_bs)  # time each band was in use in the latest tick
        self.senders: list[int] = []  # devices that sent in the latest tick
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

    def advance(self, k: int, t0: float, t1: float, link_fn: LinkFn,
                bs_of: np.ndarray) -> list[Completion]:
        """Send over the tick [t0, t1) with processor sharing per band; return the transfers
        that ended, in order of their end times."""
        self._next_k = k + 1
        if self.senders:  # airtime is per tick: clear the previous tick's senders
            self.airtime_s[self.senders] = 0.0
            self.senders = []
        self.bs_busy_s[:] = 0.0
        woken = self._wake.pop(k, None)
        members = self.active | woken if woken else self.active
        if not members:
            return []
        cand = np.fromiter(members, dtype=np.int64, count=len(members))
        bs = bs_of[cand]
        order = np.lexsort((cand, bs))  # by base station, then device: a fixed order
        cand, bs = cand[order], bs[order]
        rx, noise = link_fn(cand)
        if self.constant_psd:  # the rate is linear in the share: keep its spectral efficiency
            band = self.bandwidth_hz[bs]
            quality = np.minimum(np.log2(1.0 + rx / (noise * band)), self.max_se)
        else:  # SINR on a share W_i is quality / W_i
            quality = rx / noise
        weight = np.ones(len(cand)) if self.weights is None else self.weights[cand]
        done: list[Completion] = []
        starts = np.flatnonzero(np.diff(bs)) + 1
        bounds = zip([0, *starts.tolist()], [*starts.tolist(), len(cand)])
        cand_l, quality_l, weight_l = cand.tolist(), quality.tolist(), weight.tolist()
        bs_l = bs.tolist()
        for lo, hi in bounds:
            self._share_band(bs_l[lo], cand_l[lo:hi], quality_l[lo:hi], weight_l[lo:hi],
                             t0, t1, done)
        if len(done) > 1:
            done.sort(key=_BY_FINISH)
        return done

    def _share_band(self, b: int, devices: list[int], quality: list[float],
                    weight: list[float], t0: float, t1: float, done: list[Completion]) -> None:
        """Weighted processor sharing of base station b's band over [t0, t1): an event loop
        over the transfer starts and ends inside the tick (plain Python floats: the groups
        are small and numpy's per-call cost would dominate)."""
        band, max_se, linear = float(self.bandwidth_hz[b]), self.max_se, self.constant_psd
        queues, busy, remaining, started = self.queues, self.busy, self.remaining_bits, \
            self.started_at
        sending: list[int] = []  # positions (into devices) of transfers in progress
        pending: list[tuple[float, int]] = []  # (ready time, position) of heads in the tick
        for pos, device in enumerate(devices):
            if busy[device]:
                sending.append(pos)
            elif queues[device]:  # (a stale wake-up may find the queue already empty)
                ready = queues[device][0][0]
                if ready < t1:
                    pending.append((ready if ready > t0 else t0, pos))
                else:
                    self._wake_at(ready, device)
        pending.sort()
        sent = [0.0] * len(devices)
        air = [0.0] * len(devices)
        hz_s = [0.0] * len(devices)
        busy_s = 0.0
        now = t0
        p = 0  # next pending start
        while True:
            while p < len(pending) and pending[p][0] <= now:  # transfers that start now
                pos = pending[p][1]
                p += 1
                device = devices[pos]
                busy[device] = True
                remaining[device] = queues[device][0][2]
                started[device] = now
                sending.append(pos)
            next_start = pending[p][0] if p < len(pending) else t1
            if not sending:
                if next_start >= t1:
                    break
                now = next_start
                continue
            total = 0.0
            for pos in sending:
                total += weight[pos]
            # rates of this segment, and the first end among them
            rates = []
            t_next = next_start
            for pos in sending:
                share = band * weight[pos] / total if total > 0.0 else 0.0
                if share <= 0.0:
                    rate = 0.0
                elif linear:
                    rate = share * quality[pos]
                else:
                    se = math.log2(1.0 + quality[pos] / share)
                    rate = share * (se if se < max_se else max_se)
                rates.append((pos, rate, share))
                if rate > 0.0:
                    end = now + remaining[devices[pos]] / rate
                    if end < t_next:
                        t_next = end
            dt = t_next - now
            busy_s += dt
            still = []
            for pos, rate, share in rates:
                device = devices[pos]
                left = remaining[device]
                if rate > 0.0 and now + left / rate <= t_next:  # ends now: exact end time
                    sent[pos] += left
                    air[pos] += dt
                    hz_s[pos] += share * dt
                    queue = queues[device]
                    done.append((queue.pop(0)[3], started[device], t_next))
                    busy[device] = False
                    if queue:  # the device's next transfer, back to back or later
                        ready = queue[0][0]
                        if ready < t1:
                            ready = ready if ready > t_next else t_next
                            bisect.insort(pending, (ready, pos), lo=p)
                        else:
                            self._wake_at(ready, device)
                else:
                    remaining[device] = left - rate * dt
                    sent[pos] += rate * dt
                    air[pos] += dt
                    hz_s[pos] += share * dt
                    still.append(pos)
            sending = still
            now = t_next
            if now >= t1:
                break
        active = self.active
        for pos in sending:
            active.add(devices[pos])
        total_bits = 0.0
        total_air = 0.0
        total_hz_s = 0.0
        rate_bps, share_hz, airtime = self.rate_bps, self.share_hz, self.airtime_s
        for pos, device in enumerate(devices):
            if not busy[device]:
                active.discard(device)
            a = air[pos]
            if a > 0.0:
                rate_bps[device] = sent[pos] / a
                share_hz[device] = hz_s[pos] / a
                airtime[device] = a
                self.senders.append(device)
                total_bits += sent[pos]
                total_air += a
                total_hz_s += hz_s[pos]
        self.bits_sent[b] += total_bits
        self.tx_s[b] += total_air
        self.busy_hz_s[b] += total_hz_s
        self.bs_busy_s[b] = busy_s

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Share each band in proportion to per-device weights from the next tick on
        (None: equal shares)."""
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def queue_lengths(self) -> list[int]:
        return [len(queue) for queue in self.queues]
