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
        # per device, the latest tick it sent in: mean rate while sending
        self.rate_bps = [0.0] * n_devices
        self.airtime_s: dict[int, float] | None = None  # per device, since taken; if tracked
        self._wake: dict[int, set[int]] = {}
        self._seq = 0
        self._next_k = 0
        # cumulative per base station, for the links table
        self.bits_sent = [0.0] * n_bs
        self.tx_s = [0.0] * n_bs  # transmitter-seconds: mean concurrent senders x time
        self.busy_hz_s = [0.0] * n_bs  # band in use: Hz x seconds
        self.band_busy_s = [0.0] * n_bs  # time with at least one transfer in progress

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
        woken = self._wake.pop(k, None)
        members = self.active | woken if woken else self.active
        if not members:
            return []
        cand = np.fromiter(members, dtype=np.int64, count=len(members))
        cand.sort()  # a fixed order, for reproducible runs
        rx, noise = link_fn(cand)
        bs = bs_of[cand]
        if self.constant_psd:  # the rate is linear in the share: keep its spectral efficiency
            quality = np.minimum(np.log2(1.0 + rx / (noise * self.bandwidth_hz[bs])),
                                 self.max_se)
        else:  # SINR on a share W_i is quality / W_i
            quality = rx / noise
        # group by base station: sort once (stable: devices in order within a group) and
        # cut where the base station changes; a few numpy calls beat a Python loop here
        order = np.argsort(bs, kind="stable")
        bs = bs[order]
        cuts = (np.flatnonzero(bs[1:] != bs[:-1]) + 1).tolist()
        devices, qualities = cand[order].tolist(), quality[order].tolist()
        weights = [1.0] * len(devices) if self.weights is None else \
            self.weights[cand[order]].tolist()
        bs_l = bs.tolist()
        done: list[Completion] = []
        for lo, hi in zip([0, *cuts], [*cuts, len(devices)]):
            self._share_band(bs_l[lo], devices[lo:hi], qualities[lo:hi], weights[lo:hi], t0, t1,
                             done)
        if len(done) > 1:
            done.sort(key=_BY_FINISH)
        return done

    def _share_band(self, b: int, devices: list[int], quality: list[float],
                    weight: list[float], t0: float, t1: float, done: list[Completion]) -> None:
        """Weighted processor sharing of base station b's band over [t0, t1): an event loop
        over the transfer starts and ends inside the tick.

        Speed: this loop is the engine's largest cost, so it works on plain Python floats in
        per-position lists (no numpy: the groups are small and a call costs more than the
        arithmetic), inlines the rate formula, and touches each sender once per segment (bits
        left); airtime and bits sent follow from entry and exit times and amounts. While
        anything is sending the whole band is in use, so band use is kept per band."""
        band = float(self.bandwidth_hz[b])
        linear, max_se, log2 = self.constant_psd, self.max_se, math.log2
        queues, busy, remaining, started = self.queues, self.busy, self.remaining_bits, \
            self.started_at
        n = len(devices)
        equal = self.weights is None
        sending: list[int] = []  # positions (into devices) of transfers in progress
        pending: list[tuple[float, int]] = []  # (ready time, position) of heads in the tick
        left = [0.0] * n  # bits left of each position's transfer in progress
        entry = [0.0] * n  # when the current transfer entered the tick, and its bits then
        entry_bits = [0.0] * n
        for pos, device in enumerate(devices):
            if busy[device]:
                sending.append(pos)
                left[pos] = entry_bits[pos] = remaining[device]
                entry[pos] = t0
            elif queues[device]:  # (a stale wake-up may find the queue already empty)
                ready = queues[device][0][0]
                if ready < t1:
                    pending.append((ready if ready > t0 else t0, pos))
                else:
                    self._wake_at(ready, device)
        if len(pending) > 1:
            pending.sort()
        sent = [0.0] * n
        air = [0.0] * n
        ends = [0.0] * n  # end times of the current segment's rates
        busy_s = 0.0  # time with a positive rate on the band
        now = t0
        p = 0  # next pending start
        while True:
            while p < len(pending) and pending[p][0] <= now:  # transfers that start now
                pos = pending[p][1]
                p += 1
                device = devices[pos]
                busy[device] = True
                left[pos] = entry_bits[pos] = queues[device][0][2]
                entry[pos] = started[device] = now
                sending.append(pos)
            t_next = pending[p][0] if p < len(pending) else t1
            if not sending:
                if t_next >= t1:
                    break
                now = t_next
                continue
            # shares and rates of this segment, and the first end among them
            if equal:  # the default: one share for all
                scale = band / len(sending)
            else:
                total = 0.0
                for pos in sending:
                    total += weight[pos]
                scale = band / total if total > 0.0 else 0.0
            rates = []
            for pos in sending:
                share = scale if equal else scale * weight[pos]
                if share <= 0.0:
                    rate = 0.0
                elif linear:
                    rate = share * quality[pos]
                else:
                    se = log2(1.0 + quality[pos] / share)
                    rate = share * (se if se < max_se else max_se)
                end = now + left[pos] / rate if rate > 0.0 else _INF
                if end < t_next:
                    t_next = end
                rates.append(rate)
                ends[pos] = end
            dt = t_next - now
            if scale > 0.0:
                busy_s += dt
            ended = False
            for pos, rate in zip(sending, rates):
                if ends[pos] <= t_next:  # ends now: exact end time
                    ended = True
                    self._finish(pos, devices, t_next, t1, entry, entry_bits, sent, air,
                                 pending, p, done)
                else:
                    left[pos] -= rate * dt
            if ended:
                sending = [pos for pos in sending if busy[devices[pos]]]
            now = t_next
            if now >= t1:
                break
        for pos in sending:  # still sending at the end of the tick
            sent[pos] += entry_bits[pos] - left[pos]
            air[pos] += t1 - entry[pos]
        active = self.active
        total_bits = total_air = 0.0
        rate_bps, airtime = self.rate_bps, self.airtime_s
        for pos, device in enumerate(devices):
            if busy[device]:
                active.add(device)
                remaining[device] = left[pos]
            else:
                active.discard(device)
            a = air[pos]
            if a > 0.0:
                rate_bps[device] = sent[pos] / a
                if airtime is not None:
                    airtime[device] = airtime.get(device, 0.0) + a
                total_bits += sent[pos]
                total_air += a
        self.bits_sent[b] += total_bits
        self.tx_s[b] += total_air
        self.busy_hz_s[b] += band * busy_s
        self.band_busy_s[b] += busy_s

    def _finish(self, pos: int, devices: list[int], end: float, t1: float, entry: list[float],
                entry_bits: list[float], sent: list[float], air: list[float],
                pending: list[tuple[float, int]], p: int, done: list[Completion]) -> None:
        """The transfer of position `pos` ends at `end`: record it, and line up the device's
        next one (back to back, later in the tick, or at a later tick)."""
        device = devices[pos]
        sent[pos] += entry_bits[pos]
        air[pos] += end - entry[pos]
        queue = self.queues[device]
        done.append((queue.pop(0)[3], self.started_at[device], end))
        self.busy[device] = False
        if queue:
            ready = queue[0][0]
            if ready < t1:
                bisect.insort(pending, (ready if ready > end else end, pos), lo=p)
            else:
                self._wake_at(ready, device)

    def track_airtime(self) -> None:
        """Keep each device's time spent sending (for interference), from now on."""
        self.airtime_s = {}

    def take_airtime(self) -> tuple[np.ndarray, np.ndarray]:
        """Devices that sent since the last call and their time sending; starts anew."""
        airtime, self.airtime_s = self.airtime_s or {}, {}
        return (np.fromiter(airtime.keys(), dtype=np.int64, count=len(airtime)),
                np.fromiter(airtime.values(), dtype=float, count=len(airtime)))

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Share each band in proportion to per-device weights from the next tick on
        (None: equal shares)."""
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def queue_lengths(self) -> list[int]:
        return [len(queue) for queue in self.queues]
