"""Compute servers (edge servers and the cloud): FIFO over identical cores, without events.

Tasks are admitted in order of arrival and their service time is known on arrival, so a
min-heap of core-free times gives each task's start and end exactly:
start = max(arrival, earliest free core). Start times are non-decreasing, which lets the
server keep its in-service and waiting tasks as one interval list for exact statistics.
"""

from __future__ import annotations

import heapq


class ComputeServer:
    """`cores` identical cores of `core_flops` each, serving one FIFO queue."""

    __slots__ = ("_intervals", "core_flops", "cores", "flops_done", "free_at", "name",
                 "tasks_admitted")

    def __init__(self, name: str, cores: int, core_flops: float):
        self.name = name
        self.cores = cores
        self.core_flops = core_flops
        self.free_at = [0.0] * cores  # a heap
        self.flops_done = 0.0  # cumulative FLOPs admitted
        self.tasks_admitted = 0
        self._intervals: list[tuple[float, float, float]] = []  # (arrival, start, end)

    def wait_s(self, t: float) -> float:
        """How long a task arriving at t would queue before a core is free."""
        return max(0.0, self.free_at[0] - t)

    def admit(self, t: float, flops: float) -> tuple[float, float]:
        """Admit a task of `flops` arriving at t; return (start, end) of its service."""
        earliest = self.free_at[0]
        start = t if t > earliest else earliest
        end = start + flops / self.core_flops
        heapq.heapreplace(self.free_at, end)
        self.flops_done += flops
        self.tasks_admitted += 1
        self._intervals.append((t, start, end))
        return start, end

    def window_stats(self, t0: float, t1: float) -> tuple[float, int]:
        """Busy fraction of the cores over [t0, t1), and the queue length at t1.

        Forgets tasks that ended before t1, so call it with increasing windows."""
        busy = 0.0
        waiting = 0
        for _, start, end in self._intervals:
            if start >= t1:
                waiting += 1  # arrived (admission happens at arrival) but not started
                continue
            busy += max(0.0, min(end, t1) - max(start, t0))
        self._intervals = [iv for iv in self._intervals if iv[2] > t1]
        span = (t1 - t0) * self.cores
        return (busy / span if span > 0 else 0.0), waiting
