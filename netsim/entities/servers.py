"""Compute servers (edge servers and the cloud): FIFO over identical cores, without events.

Tasks are admitted in order of arrival and their service time is known on arrival, so a
min-heap of core-free times gives each task's start and end exactly:
start = max(arrival, earliest free core). Start times are non-decreasing, which lets the
server keep its in-service and waiting tasks as one interval list for exact statistics.
Statistics are cumulative (`busy_core_s`), so any number of observers can each take their own
windows without disturbing one another.
"""

from __future__ import annotations

import heapq


class ComputeServer:
    """`cores` identical cores of `core_flops` each, serving one FIFO queue."""

    __slots__ = ("_ended_busy_s", "_intervals", "_pruned_at", "core_flops", "cores",
                 "flops_done", "free_at", "name", "tasks_admitted")

    def __init__(self, name: str, cores: int, core_flops: float):
        self.name = name
        self.cores = cores
        self.core_flops = core_flops
        self.free_at = [0.0] * cores  # a heap
        self.flops_done = 0.0  # cumulative FLOPs admitted
        self.tasks_admitted = 0
        self._intervals: list[tuple[float, float]] = []  # (start, end) not ended by _pruned_at
        self._ended_busy_s = 0.0  # core-seconds of the intervals already pruned
        self._pruned_at = 0.0

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
        self._intervals.append((start, end))
        return start, end

    def busy_core_s(self, t: float) -> float:
        """Core-seconds of service given in [0, t). Observers call it at the current simulated
        time (non-decreasing); intervals ended by then are folded into a running total."""
        if t > self._pruned_at:
            running = []
            for start, end in self._intervals:
                if end <= t:
                    self._ended_busy_s += end - start
                else:
                    running.append((start, end))
            self._intervals = running
            self._pruned_at = t
        return self._ended_busy_s + sum(max(0.0, min(end, t) - start)
                                        for start, end in self._intervals)

    def queue_length(self, t: float) -> int:
        """Tasks admitted (admission happens on arrival) whose service starts after t."""
        return sum(1 for start, _ in self._intervals if start >= t)
