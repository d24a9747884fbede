"""Compute servers (edge servers and the cloud): FIFO over identical cores, without events.

Tasks are admitted in order of arrival and their service time is known on arrival, so a
min-heap of core-free times per server gives each task's start and end exactly:
start = max(arrival, earliest free core). The servers' state is in arrays so that the
compiled task flow (entities/flow_kernels.py) admits tasks with `admit`; every admission
appends its (server, start, end) interval to one list, in admission order, from which the
statistics are exact. Statistics are cumulative (`busy_core_s`), so any number of observers
can each take their own windows without disturbing one another.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from netsim.slots import make_room


class ServerFarm:
    """Every compute server, by index (the cloud last): `cores` identical cores of
    `core_flops` each, serving one FIFO queue."""

    def __init__(self, names: Sequence[str], cores: Sequence[int],
                 core_flops: Sequence[float]):
        self.names = list(names)
        self.cores = np.asarray(cores, dtype=np.int64)
        self.core_flops = np.asarray(core_flops, dtype=float)
        self.heap_start = np.concatenate(([0], np.cumsum(self.cores))).astype(np.int64)
        self.free_at = np.zeros(int(self.heap_start[-1]))  # one min-heap of cores per server
        self.flops_done = np.zeros(len(self.names))  # cumulative FLOPs admitted
        self.tasks_admitted = np.zeros(len(self.names), dtype=np.int64)
        # intervals not ended by the last pruning, in admission order: see `busy_core_s`
        self.n_intervals = 0
        self.interval_server = np.zeros(1024, dtype=np.int64)
        self.interval_start = np.zeros(1024)
        self.interval_end = np.zeros(1024)
        self._ended_busy_s = np.zeros(len(self.names))  # core-seconds of pruned intervals
        self._pruned_at = 0.0

    def reserve_intervals(self, n: int) -> None:
        """Make room for n more intervals (the compiled admission cannot grow arrays)."""
        make_room(self, ("interval_server", "interval_start", "interval_end"),
                  self.n_intervals, self.n_intervals + n)

    def wait_s(self, server: int, t: float) -> float:
        """How long a task arriving at t would queue before a core is free."""
        return max(0.0, self.free_at[self.heap_start[server]] - t)

    def admit(self, server: int, t: float, flops: float) -> tuple[float, float]:
        """Admit a task of `flops` arriving at t; return (start, end) of its service."""
        self.reserve_intervals(1)
        start, end = admit(self.free_at, self.heap_start, self.core_flops, self.flops_done,
                           self.tasks_admitted, self.interval_server, self.interval_start,
                           self.interval_end, self.n_intervals, server, t, flops)
        self.n_intervals += 1
        return start, end

    def busy_core_s(self, server: int, t: float) -> float:
        """Core-seconds of service given in [0, t). Observers call it at the current
        simulated time (non-decreasing); intervals ended by then are folded into running
        totals, in admission order."""
        self._prune(t)
        return running_busy_s(self.interval_server, self.interval_start, self.n_intervals,
                              server, t, self._ended_busy_s[server])

    def busy_and_queued(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Every server's `busy_core_s(t)` and tasks admitted (admission happens on arrival)
        whose service starts at or after t."""
        self._prune(t)
        return every_server_busy_and_queued(self.interval_server, self.interval_start,
                                            self.n_intervals, t, self._ended_busy_s)

    def fail(self, server: int, t: float) -> None:
        """The server goes down at t: the service its tasks would have had after t is not
        given (intervals end at t; those not started give nothing) and its cores take nothing
        until `restore`."""
        self._prune(t)
        n = self.n_intervals
        mine = np.flatnonzero(self.interval_server[:n] == server)  # all end after t
        start, end = self.interval_start[mine], self.interval_end[mine]
        lost_s = end - np.maximum(start, t)
        self.flops_done[server] -= float(lost_s.sum()) * self.core_flops[server]
        self.interval_start[mine] = np.minimum(start, t)
        self.interval_end[mine] = t
        self.free_at[self.heap_start[server]:self.heap_start[server + 1]] = np.inf

    def restore(self, server: int, t: float) -> None:
        """The server is back at t, with every core free."""
        self.free_at[self.heap_start[server]:self.heap_start[server + 1]] = t

    def _prune(self, t: float) -> None:
        if t > self._pruned_at:
            self.n_intervals = prune(self.interval_server, self.interval_start,
                                     self.interval_end, self.n_intervals, t,
                                     self._ended_busy_s)
            self._pruned_at = t


@njit(cache=True, nogil=True)
def admit(free_at, heap_start, core_flops, flops_done, tasks_admitted, interval_server,
          interval_start, interval_end, n_intervals, server, t, flops):  # pragma: no cover
    """Admit a task of `flops` arriving at t on `server`; return (start, end). Its interval
    goes to position `n_intervals`, for which the caller has made room."""
    lo, hi = heap_start[server], heap_start[server + 1]
    earliest = free_at[lo]
    start = t if t > earliest else earliest
    end = start + flops / core_flops[server]
    # replace the heap's minimum by `end` and sift it down
    i = lo
    while True:
        child = lo + 2 * (i - lo) + 1
        if child >= hi:
            break
        if child + 1 < hi and free_at[child + 1] < free_at[child]:
            child += 1
        if free_at[child] >= end:
            break
        free_at[i] = free_at[child]
        i = child
    free_at[i] = end
    flops_done[server] += flops
    tasks_admitted[server] += 1
    interval_server[n_intervals] = server
    interval_start[n_intervals] = start
    interval_end[n_intervals] = end
    return start, end


@njit(cache=True, nogil=True)
def prune(interval_server, interval_start, interval_end, n, t,
          ended_busy_s):  # pragma: no cover
    """Fold the intervals ended by t into `ended_busy_s` (per server, in order) and keep the
    others, in order; return how many are kept."""
    kept = 0
    for i in range(n):
        if interval_end[i] <= t:
            ended_busy_s[interval_server[i]] += interval_end[i] - interval_start[i]
        else:
            interval_server[kept] = interval_server[i]
            interval_start[kept] = interval_start[i]
            interval_end[kept] = interval_end[i]
            kept += 1
    return kept


@njit(cache=True, nogil=True)
def every_server_busy_and_queued(interval_server, interval_start, n, t,
                                 ended_busy_s):  # pragma: no cover
    """`running_busy_s` of every server, and how many of its intervals start at or after t."""
    busy = np.zeros(len(ended_busy_s))
    queued = np.zeros(len(ended_busy_s), np.int64)
    for i in range(n):
        given = t - interval_start[i]
        busy[interval_server[i]] += given if given > 0.0 else 0.0
        if interval_start[i] >= t:
            queued[interval_server[i]] += 1
    return ended_busy_s + busy, queued


@njit(cache=True, nogil=True)
def running_busy_s(interval_server, interval_start, n, server, t,
                   ended_busy_s):  # pragma: no cover
    """`ended_busy_s` plus the service the server's intervals still held gave before t."""
    running = 0.0
    for i in range(n):
        if interval_server[i] == server:
            given = t - interval_start[i]  # their ends are after t: min(end, t) = t
            running += given if given > 0.0 else 0.0
    return ended_busy_s + running
