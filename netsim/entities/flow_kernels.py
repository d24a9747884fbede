"""Compiled steps of the task flow (entities/tasks.py) that visit every task one at a time:
crossing the backhaul after the uplink, admission at the servers, and results crossing the
wired links back.

Both loops carry state from one task to the next (a link's FIFO, a server's cores), so numpy
cannot express them; in Python they were a third of a large run. They work on the arrays of
the task slots (`TaskSlots`), the wired links (`WiredLinks`), the servers (`ServerFarm`) and
the pending server arrivals:
- pending arrivals are kept in order of insertion (`p_time`, `p_slot`, `p_server`), so a
  stable sort by time gives the order a heap keyed by (time, insertion) would: a server
  admits its arrivals before the tick's end in that order, exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from netsim.entities.servers import admit
from netsim.network.links import UP, send


@njit(cache=True, nogil=True)
def cross_backhaul(slots, finishes, drop_late, task_device, task_deadline, task_bytes_up,
                   task_bs, bs_of, server_of_bs, free_at, bits_sent, busy_s, rate_bps,
                   latency_s, p_time, p_slot, p_server, n_pending):  # pragma: no cover
    """Uplink transfers of task `slots` ended at `finishes` (in time order): each task is
    dropped if late (with `drop_late`), else sent over its base station's backhaul (link
    index = base station index) towards that station's server. Returns the base station of
    each, which were dropped, and the new number of pending server arrivals (the caller made
    room for all of them)."""
    n = len(slots)
    bs = np.empty(n, np.int64)
    dropped = np.zeros(n, np.bool_)
    for i in range(n):
        s = slots[i]
        b = bs_of[task_device[s]]
        bs[i] = b
        if drop_late and finishes[i] > task_deadline[s]:
            dropped[i] = True
            continue
        task_bs[s] = b
        p_time[n_pending] = send(free_at, bits_sent, busy_s, rate_bps, latency_s, b,
                                 finishes[i], task_bytes_up[s], UP)
        p_slot[n_pending] = s
        p_server[n_pending] = server_of_bs[b]
        n_pending += 1
    return bs, dropped, n_pending


@njit(cache=True, nogil=True)
def admit_arrivals(t1, drop_late, p_time, p_slot, p_server, n_pending,
                   task_device, task_deadline, task_f_srv, task_bytes_up,
                   cloud_link_of, offload_wait_s, server_down, reroute_down,
                   lower_wait_s, lower_ratio, task_lowered,
                   free_at, heap_start, core_flops, flops_done, tasks_admitted,
                   interval_server, interval_start, interval_end, n_intervals,
                   link_free_at, link_bits_sent, link_busy_s, link_rate_bps,
                   link_latency_s):  # pragma: no cover
    """Admit, server by server (the cloud last) and in time order, every pending arrival
    before t1. Late ones are dropped (with `drop_late`); an edge server whose queueing wait
    exceeds its `offload_wait_s` (NaN: never) forwards the task over its link to the cloud
    (`cloud_link_of`), which admits it later in this call or in a later tick. A server that
    is down (`server_down`) forwards its arrivals the same way if `reroute_down`, else drops
    them (the cloud is never down). A server whose `lower_wait_s` is not NaN runs a task
    that would wait longer than that with its work times `lower_ratio` (fewer denoising
    steps), and marks it in `task_lowered`.

    Returns the admitted (slots, starts, ends, servers), the dropped (slots, times), and the
    new numbers of pending arrivals and intervals. The caller made room for twice the
    pending arrivals and for an interval each."""
    n_servers = len(core_flops)
    cloud = n_servers - 1
    n_in = n_pending
    out_slot = np.empty(n_in, np.int64)
    out_start = np.empty(n_in)
    out_end = np.empty(n_in)
    out_server = np.empty(n_in, np.int64)
    drop_slot = np.empty(n_in, np.int64)
    drop_time = np.empty(n_in)
    n_adm = n_drop = 0
    taken = np.zeros(len(p_time), np.bool_)
    ready = np.empty(len(p_time), np.int64)
    for server in range(n_servers):
        n_ready = 0
        for i in range(n_pending):
            if p_server[i] == server and p_time[i] < t1:
                ready[n_ready] = i
                n_ready += 1
        if n_ready == 0:
            continue
        order = np.argsort(p_time[ready[:n_ready]], kind="mergesort")  # stable: ties FIFO
        offload = offload_wait_s[server]
        for j in range(n_ready):
            i = ready[order[j]]
            taken[i] = True
            t, s = p_time[i], p_slot[i]
            down = server_down[server]
            if (drop_late and t > task_deadline[s]) or (down and not reroute_down[server]):
                drop_slot[n_drop] = s
                drop_time[n_drop] = t
                n_drop += 1
                continue
            forward = down
            if offload == offload and not down:  # not NaN: may forward to the cloud
                wait = free_at[heap_start[server]] - t
                forward = (wait if wait > 0.0 else 0.0) > offload
            if forward:
                p_time[n_pending] = send(link_free_at, link_bits_sent, link_busy_s,
                                         link_rate_bps, link_latency_s, cloud_link_of[server],
                                         t, task_bytes_up[s], UP)
                p_slot[n_pending] = s
                p_server[n_pending] = cloud
                n_pending += 1
                continue
            lower = lower_wait_s[server]
            if lower == lower and free_at[heap_start[server]] - t > lower:
                task_f_srv[s] *= lower_ratio
                task_lowered[s] = True
            start, end = admit(free_at, heap_start, core_flops, flops_done, tasks_admitted,
                               interval_server, interval_start, interval_end, n_intervals,
                               server, t, task_f_srv[s])
            n_intervals += 1
            out_slot[n_adm] = s
            out_start[n_adm] = start
            out_end[n_adm] = end
            out_server[n_adm] = server
            n_adm += 1
    kept = 0
    for i in range(n_pending):  # the arrivals left, in their order
        if not taken[i]:
            p_time[kept] = p_time[i]
            p_slot[kept] = p_slot[i]
            p_server[kept] = p_server[i]
            kept += 1
    return (out_slot[:n_adm], out_start[:n_adm], out_end[:n_adm], out_server[:n_adm],
            drop_slot[:n_drop], drop_time[:n_drop], kept, n_intervals)


@njit(cache=True, nogil=True)
def send_in_order(links, times, n_bytes, direction, free_at, bits_sent, busy_s, rate_bps,
                  latency_s):  # pragma: no cover
    """Send one message of `n_bytes` over links[i] at times[i], i in order (the caller
    sorts them by time, so each link's FIFO serves them as they became ready); return when
    each arrives."""
    arrive = np.empty(len(links))
    for i in range(len(links)):
        arrive[i] = send(free_at, bits_sent, busy_s, rate_bps, latency_s, links[i], times[i],
                         n_bytes, direction)
    return arrive
