"""Wired links (backhaul, edge-cloud): FIFO serialisation at the link rate plus latency.

A link is full duplex: each direction is a FIFO whose next free time is one number, so a
send is exact without events: start = max(now, free), arrive = start + bits/rate + latency.
The links' state is in arrays (one row per link, one column per direction) so that the
compiled task flow (entities/flow_kernels.py) sends over them with `send`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

UP, DOWN = 0, 1


class WiredLinks:
    """Every wired link of a network, by index: capacity `rate_bps`, one-way `latency_s`."""

    def __init__(self, names: Sequence[str], rate_bps: Sequence[float],
                 latency_s: Sequence[float]):
        self.names = list(names)
        self.rate_bps = np.asarray(rate_bps, dtype=float)
        self.latency_s = np.asarray(latency_s, dtype=float)
        n = len(self.names)
        self.free_at = np.zeros((n, 2))
        self.bits_sent = np.zeros((n, 2))  # cumulative, per direction
        self.busy_s = np.zeros((n, 2))  # cumulative serialisation time, per direction

    def send(self, link: int, t: float, n_bytes: float, direction: int) -> float:
        """Send `n_bytes` at time t over `link` in `direction`; return when they arrive."""
        return send(self.free_at, self.bits_sent, self.busy_s, self.rate_bps, self.latency_s,
                    link, t, n_bytes, direction)


    def hold(self, link: int, until_s: float) -> None:
        """The link is down until `until_s` (inf: for good): what is sent waits for it, in
        order, in both directions."""
        self.free_at[link] = np.maximum(self.free_at[link], until_s)


@njit(cache=True, nogil=True)
def send(free_at, bits_sent, busy_s, rate_bps, latency_s, link, t, n_bytes,
         direction):  # pragma: no cover
    """`WiredLinks.send` on the links' arrays, for compiled callers."""
    bits = 8.0 * n_bytes
    duration = bits / rate_bps[link]
    free = free_at[link, direction]
    start = t if t > free else free
    free_at[link, direction] = start + duration
    bits_sent[link, direction] += bits
    busy_s[link, direction] += duration
    return start + duration + latency_s[link]
