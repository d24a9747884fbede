"""Compiled kernels of the radio pools: per-device transfer queues and weighted processor
sharing of each band over one tick.

These loops are the engine's innermost: sharing visits every sender at every transfer start
and end, and in Python it cost more than the rest of the engine together. They are compiled
with numba and work on flat arrays that `RadioPool` owns (the pool keeps the payloads):

- transfers live in slots: `slot_ready`, `slot_bits`, and `slot_next`, which links each
  device's queue in order of readiness (ties: first queued first); `head[d]` is device d's
  first slot, or -1;
- `busy[d]`: the head is in progress, with `left[d]` bits left, since `started[d]`;
- `qlen[d]`: transfers queued, the one in progress included.
"""

from __future__ import annotations

import numba
import numpy as np

_NONE = -1


@numba.njit(cache=True, nogil=True)
def enqueue_and_collect(new_device, new_ready, new_bits, new_slot, head, busy, qlen,
                        slot_ready, slot_bits, slot_next, t1):  # pragma: no cover
    """Link the newly queued transfers into their devices' queues (in the order given), then
    return the devices that send in the tick ending at t1: busy, or with a head ready
    before t1, in device order."""
    for j in range(len(new_device)):
        d, s, ready = new_device[j], new_slot[j], new_ready[j]
        slot_ready[s] = ready
        slot_bits[s] = new_bits[j]
        qlen[d] += 1
        prev, cur = _NONE, head[d]
        if busy[d]:  # the transfer in progress stays first
            prev, cur = cur, slot_next[cur]
        while cur != _NONE and slot_ready[cur] <= ready:
            prev, cur = cur, slot_next[cur]
        slot_next[s] = cur
        if prev == _NONE:
            head[d] = s
        else:
            slot_next[prev] = s
    n = 0
    members = np.empty(len(head), np.int64)
    for d in range(len(head)):
        if busy[d] or (head[d] != _NONE and slot_ready[head[d]] < t1):
            members[n] = d
            n += 1
    return members[:n]


@numba.njit(cache=True, nogil=True)
def share_bands(members, member_bs, rx_mw, noise_mw_per_hz, weight, equal, linear, max_se,
                band_hz, t0, t1, head, busy, left, started, qlen, slot_ready, slot_bits,
                slot_next, rate_bps, airtime, track_airtime, bits_sent, tx_s, busy_hz_s,
                band_busy_s):  # pragma: no cover
    """Send over [t0, t1) on every band, re-splitting a band at every transfer start and end.

    Member m (a device, see `enqueue_and_collect`) is attached to band `member_bs[m]` and
    has received power `rx_mw[m]` over the whole band and noise plus interference
    `noise_mw_per_hz[m]`. Updates the queues, device states, rates, airtimes and per band
    counters in place; returns the finished transfers as (slots, start times, end times),
    in order of end time (ties: band order, then the order they ended in)."""
    n_members = len(members)
    n_bands = len(band_hz)
    # group the members by band, keeping their order within a band (a counting sort)
    group_start = np.zeros(n_bands + 1, np.int64)
    for m in range(n_members):
        group_start[member_bs[m] + 1] += 1
    for b in range(n_bands):
        group_start[b + 1] += group_start[b]
    fill = group_start[:-1].copy()
    order = np.empty(n_members, np.int64)
    for m in range(n_members):
        order[fill[member_bs[m]]] = m
        fill[member_bs[m]] += 1
    capacity = 0
    for m in range(n_members):
        capacity += qlen[members[m]]
    done_slot = np.empty(capacity, np.int64)
    done_start = np.empty(capacity)
    done_end = np.empty(capacity)
    n_done = 0
    inf = np.inf
    # per member scratch, indexed by position in `order`
    quality = np.empty(n_members)
    next_start = np.empty(n_members)  # when an idle member's next transfer starts (inf: none)
    entry_t = np.empty(n_members)  # when the current transfer entered the tick, and its
    entry_b = np.empty(n_members)  # bits then
    sent = np.zeros(n_members)
    air = np.zeros(n_members)
    ends = np.empty(n_members)
    rates = np.empty(n_members)
    sending = np.empty(n_members, np.int64)  # positions in progress, in the order they started
    for b in range(n_bands):
        lo, hi = group_start[b], group_start[b + 1]
        if lo == hi:
            continue
        band = band_hz[b]
        n_sending = 0
        for i in range(lo, hi):
            m = order[i]
            d = members[m]
            if linear:  # constant power density: the rate is the share x this efficiency
                se = np.log2(1.0 + rx_mw[m] / (noise_mw_per_hz[m] * band))
                quality[i] = se if se < max_se else max_se
            else:  # the device's own power on a share W_i: SINR = quality / W_i
                quality[i] = rx_mw[m] / noise_mw_per_hz[m]
            next_start[i] = inf
            if busy[d]:
                sending[n_sending] = i
                n_sending += 1
                entry_t[i] = t0
                entry_b[i] = left[d]
            elif head[d] != _NONE and slot_ready[head[d]] < t1:
                ready = slot_ready[head[d]]
                next_start[i] = ready if ready > t0 else t0
        busy_s = 0.0
        now = t0
        while True:
            # start every transfer due by now, earliest first (ties: first member first)
            while True:
                first, first_t = -1, inf
                for i in range(lo, hi):
                    if next_start[i] <= now and next_start[i] < first_t:
                        first, first_t = i, next_start[i]
                if first < 0:
                    break
                d = members[order[first]]
                next_start[first] = inf
                busy[d] = True
                left[d] = entry_b[first] = slot_bits[head[d]]
                entry_t[first] = started[d] = now
                sending[n_sending] = first
                n_sending += 1
            t_next = t1
            for i in range(lo, hi):
                if next_start[i] < t_next:
                    t_next = next_start[i]
            if n_sending == 0:
                if t_next >= t1:
                    break
                now = t_next
                continue
            # this segment's shares and rates, and the first end among them
            if equal:
                scale = band / n_sending
            else:
                total = 0.0
                for j in range(n_sending):
                    total += weight[members[order[sending[j]]]]
                scale = band / total if total > 0.0 else 0.0
            for j in range(n_sending):
                i = sending[j]
                d = members[order[i]]
                share = scale if equal else scale * weight[d]
                if share <= 0.0:
                    rate = 0.0
                elif linear:
                    rate = share * quality[i]
                else:
                    se = np.log2(1.0 + quality[i] / share)
                    rate = share * (se if se < max_se else max_se)
                # a withdrawn transfer (no bits left) ends at once, even on a dead link
                end = (now + left[d] / rate if rate > 0.0
                       else (now if left[d] <= 0.0 else inf))
                if end < t_next:
                    t_next = end
                rates[i] = rate
                ends[i] = end
            dt = t_next - now
            if scale > 0.0:
                busy_s += dt
            kept = 0
            for j in range(n_sending):
                i = sending[j]
                d = members[order[i]]
                if ends[i] <= t_next:  # ends now: exact end time; the next one lines up
                    s = head[d]
                    sent[i] += entry_b[i]
                    air[i] += t_next - entry_t[i]
                    done_slot[n_done] = s
                    done_start[n_done] = started[d]
                    done_end[n_done] = t_next
                    n_done += 1
                    busy[d] = False
                    qlen[d] -= 1
                    head[d] = slot_next[s]
                    if head[d] != _NONE and slot_ready[head[d]] < t1:
                        ready = slot_ready[head[d]]
                        next_start[i] = ready if ready > t_next else t_next
                else:
                    left[d] -= rates[i] * dt
                    sending[kept] = i
                    kept += 1
            n_sending = kept
            now = t_next
            if now >= t1:
                break
        total_bits = total_air = 0.0
        for j in range(n_sending):  # still sending at the end of the tick
            i = sending[j]
            d = members[order[i]]
            sent[i] += entry_b[i] - left[d]
            air[i] += t1 - entry_t[i]
        for i in range(lo, hi):
            if air[i] > 0.0:
                d = members[order[i]]
                rate_bps[d] = sent[i] / air[i]
                if track_airtime:
                    airtime[d] += air[i]
                total_bits += sent[i]
                total_air += air[i]
        # while anything sends, the whole band is in use
        bits_sent[b] += total_bits
        tx_s[b] += total_air
        busy_hz_s[b] += band * busy_s
        band_busy_s[b] += busy_s
    by_end = np.argsort(done_end[:n_done], kind="mergesort")  # stable
    return done_slot[by_end], done_start[by_end], done_end[by_end]
