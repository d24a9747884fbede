"""Wired links (backhaul, edge-cloud): FIFO serialisation at the link rate plus latency.

A link is full duplex: each direction is a FIFO whose next free time is one number, so a
send is exact without events: start = max(now, free), arrive = start + bits/rate + latency.
"""

from __future__ import annotations

UP, DOWN = 0, 1


class Link:
    """One wired link with capacity `rate_bps` and one-way `latency_s`."""

    __slots__ = ("bits_sent", "busy_s", "free_at", "latency_s", "name", "rate_bps")

    def __init__(self, name: str, rate_bps: float, latency_s: float):
        self.name = name
        self.rate_bps = rate_bps
        self.latency_s = latency_s
        self.free_at = [0.0, 0.0]
        self.bits_sent = [0.0, 0.0]  # cumulative, per direction
        self.busy_s = [0.0, 0.0]  # cumulative serialisation time, per direction

    def send(self, t: float, n_bytes: float, direction: int) -> float:
        """Send `n_bytes` at time t in `direction`; return when they arrive at the far end."""
        bits = 8.0 * n_bytes
        duration = bits / self.rate_bps
        start = t if t > self.free_at[direction] else self.free_at[direction]
        self.free_at[direction] = start + duration
        self.bits_sent[direction] += bits
        self.busy_s[direction] += duration
        return start + duration + self.latency_s
