"""A split-inference task's journey: device layers -> uplink -> backhaul -> server -> back.

No SimPy process or event per task (see DESIGN 'Engine design for speed'): a task in flight
holds a slot in `TaskSlots` (arrays), and the channel tick moves every task forward with exact
times:
- device compute is a FIFO per device whose end time is known on arrival;
- radio transfers are integrated over the tick's rates by the `RadioPool`s;
- wired links are FIFOs (`WiredLinks`), exact without events: a message is sent when it
  exists, in time order (a result when its server finishes it, not when it is admitted, so a
  result made early never queues behind one still being computed);
- a server admits tasks in order of arrival time: arrivals wait as pending until the tick has
  produced every arrival earlier than its end, then are admitted in time order, so the FIFO
  over cores is exact.
The loops over single tasks are compiled (entities/flow_kernels.py). What is recorded about a
task goes to the `TaskLog` columns in batches, stage by stage. The tick calls, in order:
`arrive`, `after_uplink`, `admit`, `after_downlink`, `finish_local`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netsim.entities.device_queue import fifo_finish
from netsim.entities.flow_kernels import admit_arrivals, cross_backhaul, send_in_order
from netsim.entities.servers import ServerFarm
from netsim.network.links import DOWN, UP, WiredLinks
from netsim.network.radio import Finished, RadioPool
from netsim.record.generation_log import GenerationLog
from netsim.record.tables import TASK_STATUSES
from netsim.record.task_log import TaskLog
from netsim.slots import Slots, make_room
from netsim.workload.profiles import ModelProfile

DONE, MISSED, DROPPED, BATTERY_EMPTY = (
    TASK_STATUSES.index(s) for s in ("done", "deadline_missed", "dropped", "battery_empty"))


class TaskSlots:
    """What the tasks in flight need to be moved along, in reusable slots (arrays indexed by
    slot; a task's record is in the TaskLog). Slots are freed when tasks end, so memory follows
    the tasks in flight, not the run's length."""

    def __init__(self, capacity: int = 1024):
        self.id = np.zeros(capacity, dtype=np.int64)
        self.device = np.zeros(capacity, dtype=np.int64)
        self.deadline = np.zeros(capacity)
        self.flops_server = np.zeros(capacity)
        self.bytes_up = np.zeros(capacity, dtype=np.int64)
        self.bs = np.full(capacity, -1, dtype=np.int64)  # set when the uplink ends
        # the server that admitted the task (-1: none yet) and when its service ends there
        self.server = np.full(capacity, -1, dtype=np.int64)
        self.server_end = np.zeros(capacity)
        self.lowered = np.zeros(capacity, dtype=np.bool_)  # generations: fewer steps run
        self._slots = Slots()

    def add(self, ids: np.ndarray, devices: np.ndarray, deadlines: np.ndarray,
            flops_server: np.ndarray, bytes_up: np.ndarray) -> np.ndarray:
        """Slots for new tasks, filled; returns them."""
        slots = self._slots.take(len(ids))
        make_room(self, ("id", "device", "deadline", "flops_server", "bytes_up", "bs", "server",
                         "server_end", "lowered"), len(self.id), self._slots.used,
                  {"bs": -1, "server": -1})
        self.id[slots] = ids
        self.device[slots] = devices
        self.deadline[slots] = deadlines
        self.flops_server[slots] = flops_server
        self.bytes_up[slots] = bytes_up
        self.lowered[slots] = False
        return slots

    def held_by(self, server: int, t: float) -> np.ndarray:
        """Slots of the tasks that `server` admitted and still serves (or queues) after t."""
        used = self._slots.used
        return np.flatnonzero((self.server[:used] == server) & (self.server_end[:used] > t))

    def release(self, slots: np.ndarray) -> None:
        """The tasks in `slots` ended."""
        self.server[slots] = -1
        self._slots.give_back(slots)


class DeviceState:
    """Mutable per-device state, as arrays indexed by device number."""

    def __init__(self, compute_flops: np.ndarray, energy_per_flop_j: np.ndarray,
                 battery_j: np.ndarray, tx_power_dbm: np.ndarray, split_layer: np.ndarray,
                 max_split_by_level: np.ndarray, compression: np.ndarray | None = None):
        self.compute_flops = compute_flops
        self.energy_per_flop_j = energy_per_flop_j
        self.battery_j = battery_j.astype(float).copy()
        self.tx_power_w = np.power(10.0, tx_power_dbm / 10.0) / 1000.0
        self.split_layer = split_layer.copy()  # set by the scenario now, by a market later
        # the most layers whose parameters fit in memory, per device and compression level
        self.max_split_by_level = max_split_by_level
        n = len(compute_flops)  # each device's compression level (index into the profiles)
        self.compression = (np.zeros(n, dtype=np.int64) if compression is None
                            else np.asarray(compression, dtype=np.int64))
        self.compute_free_at = np.zeros(len(compute_flops))  # see device_queue.py
        self.energy_used_j = np.zeros(len(compute_flops))
        self.local_flops = np.zeros(len(compute_flops))


@dataclass(frozen=True)
class Routes:
    """Where tasks go: the servers (edge servers, then the cloud last), the wired links
    (base station i's backhaul is link i), the server each base station feeds, each edge
    server's link to the cloud (-1 for the cloud) and the queueing wait above which it
    forwards a task there (NaN: never); which servers are down (faults) and whether each
    sends its arrivals to the cloud meanwhile (else drops them); the wait above which a
    server runs fewer generation steps (NaN: never)."""

    servers: ServerFarm
    links: WiredLinks
    server_of_bs: np.ndarray
    cloud_link_of: np.ndarray
    offload_wait_s: np.ndarray
    down: np.ndarray
    reroute: np.ndarray
    lower_wait_s: np.ndarray


@dataclass(frozen=True)
class TaskRules:
    """How tasks are timed and sized: the deadline (and whether a late task is dropped), the
    input sent by full offloading and the result sent back; generations: the share of the
    work a server's lowered steps keep, and where generated images are recorded."""

    deadline_s: float | None
    drop_late: bool
    input_bytes: int
    result_bytes: int
    lower_ratio: float = 1.0
    generations: GenerationLog | None = None


class TaskFlow:
    """Moves tasks through devices, radio, links and servers; records them in `log`."""

    def __init__(self, profiles: list[ModelProfile], devices: DeviceState, bs_of: np.ndarray,
                 routes: Routes, rules: TaskRules, uplink: RadioPool, downlink: RadioPool,
                 log: TaskLog):
        self.devices = devices
        self.bs_of = bs_of  # shared with the engine, updated on handover
        self.routes = routes
        self.deadline_s = math.inf if rules.deadline_s is None else rules.deadline_s
        self.drop_late = rules.drop_late
        self.result_bytes = rules.result_bytes
        self.lower_ratio = rules.lower_ratio
        self.generations = rules.generations
        self.uplink = uplink
        self.downlink = downlink
        self.log = log
        self.tasks = TaskSlots()
        # per compression level (rows: `profiles`, one per level in use) and split layer
        self.n_layers = profiles[0].n_layers
        splits = np.arange(self.n_layers + 1)
        self.device_flops_by_split = np.stack([p.device_flops(splits) for p in profiles])
        self.total_flops = np.array([p.total_flops for p in profiles])
        upload = np.stack([p.upload_bytes(splits) for p in profiles])
        upload[:, 0] = rules.input_bytes
        self.upload_bytes_by_split = upload
        self._ended = np.zeros(len(TASK_STATUSES), dtype=np.int64)  # tasks ended, by status
        # radio energy, applied to batteries by sync: (devices, joules) pieces
        self._spent: list[tuple[np.ndarray, np.ndarray]] = []
        # server arrivals not yet admitted, in order of insertion (see flow_kernels.py)
        self._p_time = np.zeros(1024)
        self._p_slot = np.zeros(1024, dtype=np.int64)
        self._p_server = np.zeros(1024, dtype=np.int64)
        self._n_pending = 0
        # results not yet on the radio downlink: when each is ready to cross its next wired
        # link, its slot, and whether that link is the backhaul (else the cloud's link to
        # the edge server of the base station the task came through)
        self._r_time = np.zeros(0)
        self._r_slot = np.zeros(0, dtype=np.int64)
        self._r_at_edge = np.zeros(0, dtype=bool)
        # fully local tasks still computing: when they end, and their slots
        self._local_done = np.zeros(0)
        self._local_slot = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ arrivals

    def arrive(self, times: np.ndarray, devs: np.ndarray, scale: np.ndarray) -> None:
        """Start tasks arriving at `times` on devices `devs` (FLOPs scaled by `scale`)."""
        order = np.argsort(times, kind="stable")
        times, devs, scale = times[order], devs[order], scale[order]
        ids = np.arange(self.log.issue(len(times)), self.log.n_issued)
        state = self.devices
        level = state.compression[devs]
        split = np.minimum(state.split_layer[devs], state.max_split_by_level[devs, level])
        f_dev = self.device_flops_by_split[level, split] * scale
        alive = state.battery_j[devs] > 0.0  # battery as of the start of the tick
        energy = np.where(alive, f_dev * state.energy_per_flop_j[devs], 0.0)
        np.subtract.at(state.battery_j, devs, energy)
        np.add.at(state.energy_used_j, devs, energy)
        np.add.at(state.local_flops, devs, np.where(alive, f_dev, 0.0))
        up_bytes = self.upload_bytes_by_split[level, split]
        self.log.put(ids, t_arrival=times, device=devs, split_layer=split, bytes_up=up_bytes,
                     device_energy_j=energy)
        if not alive.all():
            self._end(ids[~alive], times[~alive], np.full(int((~alive).sum()), BATTERY_EMPTY))
            ids, times, devs, split, f_dev, scale, up_bytes, level = (
                a[alive] for a in (ids, times, devs, split, f_dev, scale, up_bytes, level))
        f_srv = self.total_flops[level] * scale - f_dev
        compute_s = f_dev / state.compute_flops[devs]
        done_at = fifo_finish(times, devs, compute_s, state.compute_free_at)
        self.log.put(ids, t_local_done=done_at)
        slots = self.tasks.add(ids, devs, times + self.deadline_s, f_srv, up_bytes)
        local = split == self.n_layers
        if local.any():  # fully local tasks end on the device; the others upload
            self._local_done = np.concatenate((self._local_done, done_at[local]))
            self._local_slot = np.concatenate((self._local_slot, slots[local]))
            sending = ~local
            devs, done_at, up_bytes, slots = (devs[sending], done_at[sending],
                                              up_bytes[sending], slots[sending])
        self.uplink.enqueue_many(devs, done_at, 8.0 * up_bytes, slots)

    def finish_local(self, t1: float) -> None:
        """Complete the fully local tasks whose device compute ends before t1."""
        if not len(self._local_done):
            return
        ending = self._local_done < t1
        if ending.any():
            self._complete(self._local_slot[ending], self._local_done[ending])
            self._local_done = self._local_done[~ending]
            self._local_slot = self._local_slot[~ending]

    # ------------------------------------------------------------------ uplink and servers

    def after_uplink(self, finished: Finished) -> None:
        """Uplink transfers ended (in time order): pay the radio energy, cross the backhaul
        towards the base station's server."""
        slots, starts, ends = finished
        if not len(slots):
            return
        tasks, links = self.tasks, self.routes.links
        self._reserve_pending(len(slots))
        bs, dropped, self._n_pending = cross_backhaul(
            slots, ends, self.drop_late, tasks.device, tasks.deadline, tasks.bytes_up,
            tasks.bs, self.bs_of, self.routes.server_of_bs, links.free_at, links.bits_sent,
            links.busy_s, links.rate_bps, links.latency_s, self._p_time, self._p_slot,
            self._p_server, self._n_pending)
        ids, devices = tasks.id[slots], tasks.device[slots]
        energy = self.devices.tx_power_w[devices] * (ends - starts)
        self.log.put(ids, t_uplink_start=starts, t_uplink_done=ends, bs=bs)
        self.log.add(ids, "device_energy_j", energy)
        self._spent.append((devices, energy))
        if dropped.any():
            self._end(ids[dropped], ends[dropped], np.full(int(dropped.sum()), DROPPED))
            tasks.release(slots[dropped])

    def _reserve_pending(self, n: int) -> None:
        """Room for n more pending server arrivals (compiled code cannot grow arrays)."""
        make_room(self, ("_p_time", "_p_slot", "_p_server"), self._n_pending,
                  self._n_pending + n)

    def admit(self, t1: float) -> None:
        """Admit, in time order, every server arrival before t1 (edge servers, then cloud);
        the results made before t1 head back towards the radio downlink."""
        if self._n_pending:
            self._admit(t1)
        if len(self._r_time):
            self._send_results(t1)

    def _admit(self, t1: float) -> None:
        tasks, links, farm, routes = self.tasks, self.routes.links, self.routes.servers, \
            self.routes
        self._reserve_pending(self._n_pending)  # an edge server may forward each to the cloud
        farm.reserve_intervals(self._n_pending)
        (slots, starts, ends, servers, drop_slots, drop_times, self._n_pending,
         farm.n_intervals) = admit_arrivals(
            t1, self.drop_late, self._p_time, self._p_slot, self._p_server,
            self._n_pending, tasks.device, tasks.deadline, tasks.flops_server, tasks.bytes_up,
            routes.cloud_link_of, routes.offload_wait_s,
            routes.down, routes.reroute, routes.lower_wait_s, self.lower_ratio, tasks.lowered,
            farm.free_at, farm.heap_start, farm.core_flops,
            farm.flops_done, farm.tasks_admitted, farm.interval_server, farm.interval_start,
            farm.interval_end, farm.n_intervals, links.free_at, links.bits_sent, links.busy_s,
            links.rate_bps, links.latency_s)
        if len(slots):
            tasks.server[slots] = servers
            tasks.server_end[slots] = ends
            self.log.put(tasks.id[slots], t_server_start=starts, t_server_done=ends,
                         server=servers)
            cloud = len(farm.names) - 1
            edge = routes.server_of_bs[tasks.bs[slots]]
            self._r_time = np.concatenate((self._r_time, ends))
            self._r_slot = np.concatenate((self._r_slot, slots))
            self._r_at_edge = np.concatenate((self._r_at_edge,
                                              (servers != cloud) | (edge == cloud)))
        if len(drop_slots):
            self._end(tasks.id[drop_slots], drop_times, np.full(len(drop_slots), DROPPED))
            tasks.release(drop_slots)

    def _send_results(self, t1: float) -> None:
        """Results ready before t1 cross the wired links in time order: the cloud's ones to
        the edge server first, then every one over its base station's backhaul, and onto the
        radio downlink in order of arrival there."""
        tasks, routes, links = self.tasks, self.routes, self.routes.links
        wired = (links.free_at, links.bits_sent, links.busy_s, links.rate_bps, links.latency_s)
        from_cloud = np.flatnonzero(~self._r_at_edge & (self._r_time < t1))
        if len(from_cloud):
            from_cloud = from_cloud[np.argsort(self._r_time[from_cloud], kind="stable")]
            edge = routes.server_of_bs[tasks.bs[self._r_slot[from_cloud]]]
            self._r_time[from_cloud] = send_in_order(
                routes.cloud_link_of[edge], self._r_time[from_cloud], self.result_bytes, DOWN,
                *wired)
            self._r_at_edge[from_cloud] = True
        due = self._r_at_edge & (self._r_time < t1)
        if not due.any():
            return
        index = np.flatnonzero(due)
        index = index[np.argsort(self._r_time[index], kind="stable")]
        slots = self._r_slot[index]
        ready = send_in_order(tasks.bs[slots], self._r_time[index], self.result_bytes, DOWN,
                              *wired)
        self._forget_results(due)
        order = np.argsort(ready, kind="stable")
        self.downlink.enqueue_many(tasks.device[slots[order]], ready[order],
                                   np.full(len(slots), 8.0 * self.result_bytes), slots[order])

    def _forget_results(self, which: np.ndarray) -> None:
        keep = ~which
        self._r_time, self._r_slot, self._r_at_edge = (
            self._r_time[keep], self._r_slot[keep], self._r_at_edge[keep])

    def after_downlink(self, finished: Finished) -> None:
        """Results arrived on their devices: the tasks are complete (withdrawn transfers,
        payload -1, carried nothing)."""
        slots = finished.payloads
        if len(slots):
            real = slots >= 0
            if not real.all():
                slots, ends = slots[real], finished.ends[real]
            else:
                ends = finished.ends
            self._complete(slots, ends)

    def fail_server(self, server: int, t: float) -> tuple[int, int]:
        """Server `server` went down at t: the tasks it holds (queued, or running past t)
        lose their service and their results, not yet made, are forgotten.
        With the server's reroute policy they go over its link to the cloud, else they end
        dropped at t. Returns (rerouted, dropped)."""
        tasks, routes = self.tasks, self.routes
        held = tasks.held_by(server, t)
        if not len(held):
            return 0, 0
        self._forget_results(np.isin(self._r_slot, held))
        tasks.server[held] = -1
        n = len(held)  # their service there never was: the record forgets it
        self.log.put(tasks.id[held], t_server_start=np.full(n, np.nan),
                     t_server_done=np.full(n, np.nan), server=np.full(n, -1))
        if not routes.reroute[server]:
            self._end(tasks.id[held], np.full(len(held), t), np.full(len(held), DROPPED))
            tasks.release(held)
            return 0, len(held)
        self._reserve_pending(len(held))
        link, cloud = int(routes.cloud_link_of[server]), len(routes.servers.names) - 1
        for slot in held.tolist():  # in slot order; the cloud admits them in time order
            self._p_time[self._n_pending] = routes.links.send(link, t, tasks.bytes_up[slot],
                                                              UP)
            self._p_slot[self._n_pending] = slot
            self._p_server[self._n_pending] = cloud
            self._n_pending += 1
        return len(held), 0

    # ------------------------------------------------------------------ endings

    def _complete(self, slots: np.ndarray, t_done: np.ndarray) -> None:
        """End the tasks in `slots` at `t_done`: done, or late (missed, or dropped with
        drop_late)."""
        late_status = DROPPED if self.drop_late else MISSED
        status = np.where(t_done > self.tasks.deadline[slots], late_status, DONE)
        self._end(self.tasks.id[slots], t_done, status)
        if self.generations is not None:  # images delivered (a late one dropped is not)
            tasks, kept = self.tasks, slots[status != DROPPED]
            self.generations.record(tasks.id[kept], tasks.device[kept], tasks.lowered[kept])
        self.tasks.release(slots)

    def _end(self, ids: np.ndarray, t_done: np.ndarray, status: np.ndarray) -> None:
        self._ended += np.bincount(status, minlength=len(self._ended))
        self.log.end(ids, t_done, status)

    def sync(self) -> None:
        """Apply buffered energy to the devices and, when enough have gathered, buffered
        records to the log. The engine calls it at every large-scale update."""
        if self._spent:
            devices = np.concatenate([d for d, _ in self._spent])
            spent = np.concatenate([j for _, j in self._spent])
            np.subtract.at(self.devices.battery_j, devices, spent)
            np.add.at(self.devices.energy_used_j, devices, spent)
            self._spent = []
        self.log.maybe_sync()

    def counts(self) -> dict[str, int]:
        ended = dict(zip(TASK_STATUSES, self._ended.tolist()))
        ended["in_flight"] = self.log.n_issued - int(self._ended.sum())
        return {"arrived": self.log.n_issued, **ended}
